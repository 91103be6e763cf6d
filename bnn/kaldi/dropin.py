"""Use an existing Kaldi ``s5`` experiment as it is: its data dirs, alignments and graph.

A Kaldi recipe directory (``--kaldi-dir``) holds data dirs whose ``feats.scp``/``cmvn.scp`` name
archives relative to that directory (Kaldi resolves rxfilenames against the working directory,
and recipes run from ``s5``), an alignment dir (``final.mdl`` + ``ali.N.gz``, N = 1..num_jobs, as
written by steps/align_si.sh) and a graph dir (``HCLG.fst``, ``words.txt``, ``num_pdfs`` as
written by utils/mkgraph.sh; the graph's model is ``<graph-dir>/../final.mdl``).

Nothing here writes into the Kaldi dir.  :func:`import_data_dir` writes a copy of a data dir
whose scp entries are absolute (archives resolved against the Kaldi dir), so the toolkit's
commands can read it from any working directory.  The ``check_*`` functions raise one-line
:class:`BnnError` messages naming the offending file.

CMVN as Kaldi applied it: the GMM scripts (steps/train_mono.sh, align_si.sh, decode.sh) run
``apply-cmvn $cmvn_opts --utt2spk=ark:utt2spk scp:cmvn.scp scp:feats.scp ark:-`` where
``cmvn_opts`` is the one line in ``<exp>/cmvn_opts``; an empty line therefore means apply-cmvn's
defaults ``--norm-means=true --norm-vars=false`` (src/transform/cmvn.h, src/featbin/apply-cmvn.cc),
not "no CMVN".  :func:`kaldi_cmvn_opts` turns that line into explicit options.
"""
from __future__ import annotations

import glob
import logging
import os
import re
import shlex
from typing import Dict, List, Optional, Sequence, Tuple

from bnn.kaldi.alignments import ali_dir_files
from bnn.kaldi.model_io import read_transition_model
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

log = logging.getLogger(__name__)

# Defaults of issue 8: Kaldi's egs/wsj/s5 names.
WSJ_DEFAULTS = {
    "train_set": "train_si284",
    "dev_set": "test_dev93",
    "test_sets": "test_dev93 test_eval92",
    "ali_dir": "exp/tri4b_ali_si284",
    "graph_dir": "exp/tri4b/graph_tgpr",
    "lang_dir": "data/lang",
}

# Files of a data dir copied unchanged (they hold no paths).  segments/reco2file_and_channel
# describe the recordings of wav.scp (AMI, Switchboard); stm/glm are the NIST references of
# eval2000/rt03 (kept beside the data for scoring by subset).
PLAIN_FILES = ("utt2spk", "spk2utt", "text", "utt2num_frames", "utt2dur", "frame_shift",
               "spk2gender", "utt2lang", "segments", "reco2file_and_channel", "stm", "glm")
# Files whose values are rxfilenames relative to the Kaldi dir.
SCP_FILES = ("feats.scp", "cmvn.scp")

# Where Kaldi's path.sh puts the tools that wav.scp pipes name ($KALDI_ROOT relative): the
# recipes' path.sh add tools/sph2pipe_v2.5 (WSJ, Switchboard) and openfst; sox comes from the
# system (AMI's wav.scp, Switchboard's eval2000 sph2pipe | sox).
KALDI_TOOL_DIRS = ("tools/sph2pipe_v2.5", "tools/sph2pipe", "tools/openfst/bin",
                   "src/featbin", "src/bin")
# Audio file extensions whose presence is checked when they appear in a pipe command.
_AUDIO_EXT = (".wv1", ".wv2", ".sph", ".wav", ".flac", ".WV1", ".WV2", ".SPH", ".WAV")


# ----------------------------------------------------------------------------- the Kaldi dir
def check_kaldi_dir(kaldi_dir: str) -> str:
    """The absolute path of ``kaldi_dir``; error when it is not a directory."""
    if not os.path.isdir(kaldi_dir):
        what = "is not a directory" if os.path.exists(kaldi_dir) else "does not exist"
        raise BnnError(f"{kaldi_dir}: Kaldi experiment dir {what} (give --kaldi-dir <s5 dir>)")
    return os.path.abspath(kaldi_dir)


def _read_one_line(path: str) -> str:
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    if len(lines) > 1:
        raise BnnError(f"{path}: expected one line, found {len(lines)}")
    return lines[0].strip() if lines else ""


# ----------------------------------------------------------------------------- alignments
def check_ali_dir(ali_dir: str):
    """Check a Kaldi alignment dir; returns ``(ali files in job order, TransitionModel)``.

    Errors: the dir, ``final.mdl`` or any ``ali.N.gz`` missing; ``num_jobs`` disagreeing with the
    ``ali.N.gz`` files (via :func:`bnn.kaldi.alignments.ali_dir_files`).
    """
    if not os.path.isdir(ali_dir):
        raise BnnError(f"{ali_dir}: alignment dir does not exist")
    mdl = os.path.join(ali_dir, "final.mdl")
    if not os.path.isfile(mdl):
        raise BnnError(f"{mdl}: missing (an alignment dir needs the model that wrote ali.N.gz)")
    if not glob.glob(os.path.join(ali_dir, "ali.*.gz")):
        raise BnnError(f"{ali_dir}: no ali.N.gz alignment files (run steps/align_si.sh)")
    nj_file = os.path.join(ali_dir, "num_jobs")
    if not os.path.isfile(nj_file):
        raise BnnError(f"{nj_file}: missing (Kaldi's align scripts write the number of ali.N.gz)")
    files = ali_dir_files(ali_dir)
    return files, read_transition_model(mdl)


# ----------------------------------------------------------------------------- graph
def _read_words(path: str) -> List[Tuple[str, int]]:
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != 2 or not re.fullmatch(r"-?\d+", fields[1]):
                    raise BnnError(f"{path}: line {n}: expected '<word> <integer-id>', got "
                                   f"'{line.rstrip()}'")
                out.append((fields[0], int(fields[1])))
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    return out


def check_graph_dir(graph_dir: str, lang_dir: Optional[str], trans) -> int:
    """Check a Kaldi graph dir against the lang dir and the alignment model ``trans``.

    * ``HCLG.fst`` and ``words.txt`` exist;
    * ``words.txt`` equals ``<lang_dir>/words.txt`` (same word -> id pairs), when ``lang_dir``;
    * the graph's pdf count (``num_pdfs`` written by utils/mkgraph.sh, and the pdf count of
      ``<graph_dir>/../final.mdl`` when present) equals the alignment model's; the graph's
      input labels are transition-ids, so the transition-id counts must agree too.

    Returns the number of pdfs.
    """
    if not os.path.isdir(graph_dir):
        raise BnnError(f"{graph_dir}: graph dir does not exist")
    for name in ("HCLG.fst", "words.txt"):
        p = os.path.join(graph_dir, name)
        if not os.path.isfile(p):
            raise BnnError(f"{p}: missing (run utils/mkgraph.sh)")
    gwords = os.path.join(graph_dir, "words.txt")
    if lang_dir:
        lwords = os.path.join(lang_dir, "words.txt")
        if not os.path.isfile(lwords):
            raise BnnError(f"{lwords}: missing (lang dir of the graph)")
        a, b = _read_words(gwords), _read_words(lwords)
        if a != b:
            da, db = dict(a), dict(b)
            diff = sorted(set(da.items()) ^ set(db.items()), key=lambda x: (x[1], x[0]))
            first = f"e.g. '{diff[0][0]} {diff[0][1]}'" if diff else "different order"
            raise BnnError(f"{gwords}: differs from {lwords} ({len(a)} vs {len(b)} entries, "
                           f"{first}); the graph was not built with this lang dir")
    n = trans.num_pdfs
    num_pdfs_file = os.path.join(graph_dir, "num_pdfs")
    if os.path.isfile(num_pdfs_file):
        text = _read_one_line(num_pdfs_file)
        if not text.isdigit():
            raise BnnError(f"{num_pdfs_file}: expected an integer, got '{text}'")
        if int(text) != n:
            raise BnnError(f"{num_pdfs_file}: the graph was built for {text} pdfs but the "
                           f"alignment model has {n}")
    gmdl = os.path.join(os.path.dirname(os.path.abspath(graph_dir)), "final.mdl")
    if os.path.isfile(gmdl):
        gtrans = read_transition_model(gmdl)
        if gtrans.num_pdfs != n:
            raise BnnError(f"{gmdl}: the graph's model has {gtrans.num_pdfs} pdfs but the "
                           f"alignment model has {n}")
        if gtrans.num_transition_ids != trans.num_transition_ids:
            raise BnnError(f"{gmdl}: the graph's model has {gtrans.num_transition_ids} "
                           f"transition-ids but the alignment model has "
                           f"{trans.num_transition_ids}")
    elif not os.path.isfile(num_pdfs_file):
        raise BnnError(f"{num_pdfs_file}: missing, and no {gmdl}: cannot check the graph's "
                       "pdf count against the alignment model")
    return n


# ----------------------------------------------------------------------------- CMVN
_APPLY_CMVN_BOOLS = ("norm-means", "norm-vars")


def kaldi_cmvn_opts(candidates: Sequence[str]) -> Tuple[str, str]:
    """Explicit apply-cmvn options from the first existing ``cmvn_opts`` file of ``candidates``.

    Returns ``(options, file)``: options as ``--norm-means=B --norm-vars=B`` with apply-cmvn's
    defaults (true, false) filled in, so an empty file gives means-only CMVN as in Kaldi's GMM
    scripts; ``file`` is "" when none exists (then the defaults are used, as steps/train_mono.sh
    does without --cmvn-opts).  Other options (e.g. ``--reverse``) are errors: our pipeline
    does not implement them.
    """
    for path in candidates:
        if not os.path.isfile(path):
            continue
        vals = {"norm-means": True, "norm-vars": False}
        for tok in _read_one_line(path).split():
            m = re.fullmatch(r"--([a-z-]+)(?:=(\S*))?", tok)
            name = m.group(1).replace("_", "-") if m else None
            if name not in _APPLY_CMVN_BOOLS:
                raise BnnError(f"{path}: unsupported apply-cmvn option '{tok}' (supported: "
                               "--norm-means, --norm-vars)")
            v = (m.group(2) or "true").lower()
            if v not in ("true", "false", "1", "0"):
                raise BnnError(f"{path}: {tok}: expected true or false")
            vals[name] = v in ("true", "1")
        if vals["norm-vars"] and not vals["norm-means"]:
            raise BnnError(f"{path}: --norm-vars=true needs --norm-means=true (apply-cmvn)")
        b = {True: "true", False: "false"}
        return f"--norm-means={b[vals['norm-means']]} --norm-vars={b[vals['norm-vars']]}", path
    return "--norm-means=true --norm-vars=false", ""


# ----------------------------------------------------------------------------- data dirs
def _absolutize(value: str, kaldi_dir: str, where: str, key: str) -> str:
    """Resolve one scp value (``path[:offset]`` or ``command |``) against ``kaldi_dir``."""
    v = value.strip()
    if v.endswith("|"):
        # A pipe runs in the Kaldi dir, as it did there.
        return f"cd {shlex.quote(kaldi_dir)} && {v}"
    m = re.fullmatch(r"(.+?)(:\d+(?:\[[^\]]*\])?)?", v)
    path, rest = m.group(1), m.group(2) or ""
    if path == "-":
        raise BnnError(f"{where}: utterance {key}: '-' (stdin) cannot be read from a scp")
    full = path if os.path.isabs(path) else os.path.normpath(os.path.join(kaldi_dir, path))
    if not os.path.isfile(full):
        raise BnnError(f"{where}: utterance {key}: archive {path} is missing "
                       f"(looked for {full})")
    return full + rest


def import_data_dir(kaldi_dir: str, src: str, dest: str, need_feats: bool = True) -> int:
    """Copy the Kaldi data dir ``<kaldi_dir>/<src>`` to ``dest`` with absolute scp entries.

    Copies :data:`PLAIN_FILES` as they are and rewrites :data:`SCP_FILES` so that every
    rxfilename resolves without the Kaldi dir as working directory (``path:offset`` becomes
    ``/abs/path:offset``; a ``cmd |`` entry becomes ``cd <kaldi_dir> && cmd |``).  Every archive
    must exist.  ``wav.scp`` is copied the same way (:func:`import_wav_scp`; its tools and audio
    files are checked later, by :func:`check_wav_scp`, at the start of the feature stage).
    With ``need_feats`` false a data dir without ``feats.scp`` (only ``wav.scp``) is accepted.
    Returns the number of utterances.  Each file is written atomically.
    """
    kaldi_dir = os.path.abspath(kaldi_dir)
    sdir = os.path.join(kaldi_dir, src)
    if not os.path.isdir(sdir):
        raise BnnError(f"{sdir}: data dir does not exist")
    has_wav = os.path.isfile(os.path.join(sdir, "wav.scp"))
    for name in ("feats.scp", "utt2spk"):
        p = os.path.join(sdir, name)
        if name == "feats.scp" and not need_feats and has_wav:
            continue
        if not os.path.isfile(p):
            raise BnnError(f"{p}: missing (a data dir with features is needed)")
    if os.path.abspath(dest).startswith(kaldi_dir + os.sep) or \
            os.path.realpath(dest).startswith(os.path.realpath(kaldi_dir) + os.sep):  # via a symlink
        raise BnnError(f"{dest}: refusing to write inside the Kaldi dir {kaldi_dir}")
    os.makedirs(dest, exist_ok=True)
    num_utts = 0
    for name in SCP_FILES:
        p = os.path.join(sdir, name)
        if not os.path.isfile(p):
            continue
        lines = []
        with open(p, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                parts = line.strip().split(None, 1)
                if len(parts) != 2:
                    raise BnnError(f"{p}: line {n}: expected '<key> <rxfilename>'")
                lines.append(f"{parts[0]} {_absolutize(parts[1], kaldi_dir, p, parts[0])}\n")
        with atomic_write(os.path.join(dest, name)) as f:
            f.writelines(lines)
        if name == "feats.scp":
            num_utts = len(lines)
    for name in PLAIN_FILES:
        p = os.path.join(sdir, name)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                data = f.read()
            with atomic_write(os.path.join(dest, name), "wb") as f:
                f.write(data)
        elif os.path.exists(os.path.join(dest, name)):
            # A previous import of another layout must not leave files that no longer apply.
            os.remove(os.path.join(dest, name))
    if has_wav:
        import_wav_scp(kaldi_dir, os.path.join(sdir, "wav.scp"), os.path.join(dest, "wav.scp"))
    elif os.path.exists(os.path.join(dest, "wav.scp")):
        os.remove(os.path.join(dest, "wav.scp"))
    if num_utts == 0:
        with open(os.path.join(sdir, "utt2spk"), encoding="utf-8") as f:
            num_utts = sum(1 for line in f if line.strip())
    if num_utts == 0:
        raise BnnError(f"{os.path.join(sdir, 'utt2spk')}: no utterances")
    return num_utts


# ----------------------------------------------------------------------------- wav.scp
def _wav_entries(path: str) -> List[Tuple[str, str]]:
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                parts = line.strip().split(None, 1)
                if len(parts) != 2:
                    raise BnnError(f"{path}: line {n}: expected '<recording-id> <wav-path-or-command |>'")
                out.append((parts[0], parts[1].strip()))
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    return out


def import_wav_scp(kaldi_dir: str, src: str, dest: str) -> int:
    """Write ``src`` (a Kaldi ``wav.scp``) to ``dest`` so that it reads the same audio from any
    working directory: a file path becomes absolute (resolved against ``kaldi_dir``), a pipe
    ``cmd |`` becomes ``cd <kaldi_dir> && cmd |`` (run where Kaldi ran it, from s5).  Nothing
    is checked here; see :func:`check_wav_scp`.  Returns the number of entries."""
    lines = []
    for key, value in _wav_entries(src):
        if value.endswith("|"):
            lines.append(f"{key} cd {shlex.quote(kaldi_dir)} && {value}\n")
        else:
            m = re.fullmatch(r"(.+?)(:\d+)?", value)
            path, rest = m.group(1), m.group(2) or ""
            full = path if os.path.isabs(path) else os.path.normpath(os.path.join(kaldi_dir, path))
            lines.append(f"{key} {full}{rest}\n")
    with atomic_write(dest) as f:
        f.writelines(lines)
    return len(lines)


def kaldi_root(kaldi_dir: str) -> str:
    """``$KALDI_ROOT`` if set, else ``<kaldi_dir>/../../..`` (s5 lives in egs/<corpus>/s5, as
    Kaldi's path.sh assumes)."""
    env = os.environ.get("KALDI_ROOT")
    if env:
        return os.path.abspath(env)
    return os.path.normpath(os.path.join(os.path.abspath(kaldi_dir), "..", "..", ".."))


def kaldi_tool_dirs(kaldi_dir: str) -> List[str]:
    """The directories Kaldi's path.sh adds to PATH for wav.scp pipes (:data:`KALDI_TOOL_DIRS`)."""
    root = kaldi_root(kaldi_dir)
    return [os.path.join(root, d) for d in KALDI_TOOL_DIRS]


def _pipe_programs(command: str) -> List[str]:
    """The program of each stage of a shell pipeline (``a -x f | b - |`` -> ``[a, b]``)."""
    try:
        lex = shlex.shlex(command, posix=True, punctuation_chars="|&;")
        lex.whitespace_split = True
        tokens = list(lex)
    except ValueError:
        return []
    progs, expect = [], True
    for tok in tokens:
        if tok and set(tok) <= set("|&;"):
            expect = True
            continue
        if expect:
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", tok):  # VAR=value prefix
                continue
            progs.append(tok)
            expect = False
    return progs


def check_wav_scp(wav_scp: str, kaldi_dir: str, max_files: Optional[int] = None) -> int:
    """Check that every entry of a Kaldi ``wav.scp`` can run, as Kaldi would run it from
    ``kaldi_dir``: a plain path must exist; each program of a pipe (``sph2pipe -f wav -p -c 1
    x.wv1 |``) must exist (absolute or relative path) or be found on PATH or in the tool dirs of
    Kaldi's path.sh (:func:`kaldi_tool_dirs`), and the audio files the pipe names must exist.
    Raises a one-line :class:`BnnError` naming ``wav_scp``, the recording, the tool and where it
    is expected.  Returns the number of entries."""
    import shutil
    kd = os.path.abspath(kaldi_dir)
    search = os.pathsep.join([os.environ.get("PATH", "")] + kaldi_tool_dirs(kd))
    seen_tools: Dict[str, bool] = {}
    entries = _wav_entries(wav_scp)
    checked_files = 0
    for key, value in entries:
        where = f"{wav_scp}: recording {key}"
        if not value.endswith("|"):
            path = re.fullmatch(r"(.+?)(:\d+)?", value).group(1)
            full = path if os.path.isabs(path) else os.path.join(kd, path)
            if not os.path.isfile(full):
                raise BnnError(f"{where}: audio file {path} not found (looked for {full})")
            continue
        cmd = value[:-1].strip()
        if cmd.startswith("cd ") and "&&" in cmd:  # an imported entry: cd <kaldi dir> && cmd
            cmd = cmd.split("&&", 1)[1].strip()
        for prog in _pipe_programs(cmd):
            if prog in seen_tools:
                continue
            if "/" in prog:
                full = prog if os.path.isabs(prog) else os.path.join(kd, prog)
                ok = os.path.isfile(full) and os.access(full, os.X_OK)
            else:
                ok = shutil.which(prog, path=search) is not None
            if not ok:
                name = os.path.basename(prog)
                hint = _tool_hint(name, kd)
                raise BnnError(f"{where}: pipe tool {prog} not found{hint}")
            seen_tools[prog] = True
        if max_files is None or checked_files < max_files:
            try:
                toks = shlex.split(cmd)
            except ValueError:
                toks = cmd.split()
            for tok in toks:
                if tok.endswith(_AUDIO_EXT) and not tok.startswith("-"):
                    full = tok if os.path.isabs(tok) else os.path.join(kd, tok)
                    if not os.path.isfile(full):
                        raise BnnError(f"{where}: audio file {tok} named in the pipe not found "
                                       f"(looked for {full})")
                    checked_files += 1
    if not entries:
        raise BnnError(f"{wav_scp}: no recordings")
    return len(entries)


def _tool_hint(name: str, kaldi_dir: str) -> str:
    root = kaldi_root(kaldi_dir)
    if name.startswith("sph2pipe"):
        return (f" (expected on PATH or in $KALDI_ROOT/tools/sph2pipe_v2.5 = "
                f"{os.path.join(root, 'tools/sph2pipe_v2.5')}; build it with "
                f"'make sph2pipe' in $KALDI_ROOT/tools or set KALDI_ROOT)")
    if name in ("sox", "flac", "ffmpeg"):
        return f" (expected on PATH; install the system package '{name}')"
    return (f" (expected on PATH or in {', '.join(kaldi_tool_dirs(kaldi_dir))}; "
            f"set KALDI_ROOT if Kaldi lives elsewhere)")


def num_speakers(data_dir: str) -> int:
    with open(os.path.join(data_dir, "utt2spk")) as f:
        return len({line.split()[1] for line in f if len(line.split()) >= 2})


# ----------------------------------------------------------------------------- results
_WER_RE = re.compile(r"^%WER\s+([0-9.]+)\s+\[\s*(\d+)\s*/\s*(\d+)")


def best_wer(decode_dir: str) -> Tuple[float, str, str]:
    """The best ``%WER`` line among ``<decode_dir>/wer_*`` (Kaldi utils/best_wer.sh).

    Returns ``(wer, line, file)``; ties go to the first file in sorted order.
    """
    best = None
    for path in sorted(glob.glob(os.path.join(decode_dir, "wer_*"))):
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = _WER_RE.match(line)
                if m:
                    wer = float(m.group(1))
                    if best is None or wer < best[0]:
                        best = (wer, line.strip(), path)
                    break
    if best is None:
        raise BnnError(f"{decode_dir}: no wer_* file with a %WER line (was it scored?)")
    return best


def find_kaldi_decode_dir(graph_dir: str, test_set: str, overrides: str = "") -> str:
    """Kaldi's GMM decode dir of ``test_set`` for the graph ``graph_dir`` ("" if none is scored).

    ``overrides`` ("<set>:<dir> ...") wins.  Otherwise the model dir of the graph is searched, in
    this order, for a dir with ``wer_*`` files named as Kaldi's recipes name them: ``decode_<set>``
    (rm, an4), ``decode_<g>_<set>`` and ``decode_<g>_<set minus test_>`` (wsj:
    ``graph_tgpr`` -> ``decode_tgpr_dev93``), ``decode_<set>_<g>`` (swbd: ``graph_sw1_tg`` ->
    ``decode_eval2000_sw1_tg``; ami: ``graph_<LM>`` -> ``decode_dev_<LM>`` for ``ihm/dev``), where
    ``<g>`` is the graph dir's name without ``graph_`` and a set in a sub-dir counts by its last
    component."""
    for item in overrides.split():
        name, _, d = item.partition(":")
        if name in (test_set, local_set_name(test_set)) and d:
            return d
    test_set = test_set.rstrip("/").split("/")[-1]  # AMI: ihm/dev -> decode_dev_<lm>
    gdir = os.path.abspath(graph_dir)
    mdir, gname = os.path.dirname(gdir), os.path.basename(gdir)
    g = gname[len("graph_"):] if gname.startswith("graph_") else ""
    short = test_set[len("test_"):] if test_set.startswith("test_") else test_set
    cands = [f"decode_{test_set}"]
    if g:
        cands += [f"decode_{g}_{test_set}", f"decode_{g}_{short}", f"decode_{test_set}_{g}"]
    for c in cands:
        d = os.path.join(mdir, c)
        if glob.glob(os.path.join(d, "wer_*")):
            return d
    return ""


def results_table(rows: Sequence[Tuple[str, str, str]]) -> str:
    """Markdown for ``(system, test set, decode dir)`` rows: %WER lines and a table."""
    lines, table = [], ["| system | test set | %WER | errors / words | scoring file |",
                        "| --- | --- | --- | --- | --- |"]
    for system, tset, ddir in rows:
        wer, line, path = best_wer(ddir)
        m = _WER_RE.match(line)
        path = os.path.relpath(path)  # as the recipe sees it (Kaldi prints paths from s5)
        lines.append(f"{line} {path}")
        table.append(f"| {system} | {tset} | {wer:.2f} | {m.group(2)} / {m.group(3)} | "
                     f"`{path}` |")
    return "```\n" + "\n".join(lines) + "\n```\n\n" + "\n".join(table) + "\n"


CHECKS = ("ali", "graph", "data", "wav")


def local_set_name(kaldi_set: str) -> str:
    """The name of an imported set in our data/: Kaldi's sub-dir sets flattened (AMI's
    ``ihm/train`` -> ``ihm_train``), so decode dirs and tables get one-word names."""
    return kaldi_set.strip("/").replace("/", "_")


def check_all(kaldi_dir: str, *, train_set: str, test_sets: Sequence[str], ali_dir: str,
              graph_dir: str, dev_set: str = "", lang_dir: str = "data/lang",
              data_out: Optional[str] = None, checks: Sequence[str] = ("ali", "graph", "data"),
              need_feats: bool = True) -> Dict[str, object]:
    """Checks of a drop-in run; paths other than ``kaldi_dir`` are relative to it.

    ``checks`` selects what is checked, so that each recipe stage checks what it needs at its
    start: ``ali`` (:func:`check_ali_dir`, also gives the pdf count and CMVN options), ``graph``
    (:func:`check_graph_dir` against the alignment model), ``data`` (the data dirs: with
    ``data_out`` imported to ``<data_out>/<set>`` by :func:`import_data_dir`, otherwise their
    ``feats.scp`` archives only checked), ``wav`` (every set's ``wav.scp``: :func:`check_wav_scp`).
    Returns a dict: ``kaldi_dir``, ``num_pdfs``, ``cmvn_opts``, ``cmvn_opts_file``, ``ali_files``,
    ``num_utts`` (set -> utterances imported).
    """
    unknown = set(checks) - set(CHECKS)
    if unknown:
        raise BnnError(f"unknown check(s) {sorted(unknown)} (known: {', '.join(CHECKS)})")
    kd = check_kaldi_dir(kaldi_dir)
    j = lambda p: p if os.path.isabs(p) else os.path.join(kd, p)  # noqa: E731
    info: Dict[str, object] = {"kaldi_dir": kd, "num_pdfs": None, "cmvn_opts": None,
                               "cmvn_opts_file": "", "ali_files": [], "num_utts": {}}
    if "ali" in checks or "graph" in checks:
        files, trans = check_ali_dir(j(ali_dir))
        info["ali_files"], info["num_pdfs"] = files, trans.num_pdfs
        graph_model_dir = os.path.dirname(os.path.abspath(j(graph_dir)))
        info["cmvn_opts"], info["cmvn_opts_file"] = kaldi_cmvn_opts(
            [os.path.join(j(ali_dir), "cmvn_opts"), os.path.join(graph_model_dir, "cmvn_opts")])
        if "graph" in checks:
            info["num_pdfs"] = check_graph_dir(j(graph_dir), j(lang_dir) if lang_dir else None,
                                               trans)
    sets = [train_set] + ([dev_set] if dev_set else []) + [s for s in test_sets if s != dev_set]
    for s in sets:
        if "data" in checks:
            if data_out:
                info["num_utts"][s] = import_data_dir(kd, os.path.join("data", s),
                                                      os.path.join(data_out, local_set_name(s)),
                                                      need_feats)
            elif need_feats:
                import_check_only(kd, os.path.join("data", s))
        if "wav" in checks:
            wav = os.path.join(kd, "data", s, "wav.scp")
            if not os.path.isfile(wav):
                raise BnnError(f"{wav}: missing (features are computed from the recordings; "
                               "or use the Kaldi dir's own features)")
            check_wav_scp(wav, kd)
    return info


def import_check_only(kaldi_dir: str, src: str) -> None:
    """The checks of :func:`import_data_dir` without writing anything."""
    p = os.path.join(kaldi_dir, src, "feats.scp")
    if not os.path.isfile(p):
        raise BnnError(f"{p}: missing (a data dir with features is needed)")
    with open(p, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                _absolutize(parts[1], kaldi_dir, p, parts[0])
            elif parts:
                raise BnnError(f"{p}: line {n}: expected '<key> <rxfilename>'")
