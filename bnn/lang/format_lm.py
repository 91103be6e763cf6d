"""ARPA language model -> ``G.fst`` in a copy of a lang directory (Kaldi ``utils/format_lm.sh``).

As Kaldi (egs/wsj/s5/utils/format_lm.sh): the lang directory is copied to the output directory,
then ``arpa2fst --disambig-symbol=#0 --read-symbol-table=<out>/words.txt`` writes ``G.fst``: the
back-off arcs carry ``#0`` on the input side, ``<s>``/``</s>`` become epsilons, the FST is
ilabel-sorted.  kaldilm's ``arpa2fst`` is Kaldi's own compiler.

OOVs (words of the ARPA file not in ``words.txt``) are listed in ``<out>/oovs_<lm-name>.txt``;
n-grams containing them are removed (Kaldi's arpa2fst does the same with ``--read-symbol-table``:
``ArpaParseOptions::kSkipNGram``), or, with ``map_oov=<word>``, they are mapped to that word
(e.g. ``<UNK>``) and kept.  Removing n-grams rewrites the ``\\data\\`` counts.
"""
import gzip
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import List, Optional, Set, Tuple

from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)
SPECIAL = {"<s>", "</s>"}


def _open_text(path: str):
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
        if magic == b"\x1f\x8b":
            return gzip.open(path, "rt", encoding="utf-8")
        return open(path, encoding="utf-8")
    except OSError as err:
        raise BnnError(f"{path}: cannot read ARPA file ({err.strerror})") from None


def read_words(path: str) -> Set[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return {line.split()[0] for line in f if line.split()}
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None


def filter_arpa(arpa_path: str, vocab: Set[str], map_oov: Optional[str] = None) -> Tuple[str, List[str]]:
    """The ARPA text with OOV n-grams removed (or OOVs mapped to ``map_oov``), and the OOV list."""
    with _open_text(arpa_path) as f:
        lines = f.read().split("\n")
    if "\\data\\" not in (ln.strip() for ln in lines):
        raise BnnError(f"{arpa_path}: not an ARPA file (no \\data\\ section)")
    oovs, out, counts = [], [], {}
    order = 0
    seen_oov = set()
    for ln in lines:
        s = ln.strip()
        m = re.match(r"^\\(\d+)-grams:$", s)
        if m:
            order = int(m.group(1))
            counts[order] = 0
            out.append(ln)
            continue
        if s == "\\end\\" or s == "\\data\\" or s.startswith("ngram ") or not s or order == 0:
            if s == "\\end\\":
                order = 0
            out.append(ln)
            continue
        fields = s.split()
        if len(fields) < order + 1:
            raise BnnError(f"{arpa_path}: bad {order}-gram line '{s}'")
        words = fields[1:order + 1]
        bad = [w for w in words if w not in vocab and w not in SPECIAL]
        for w in bad:
            if w not in seen_oov:
                seen_oov.add(w)
                oovs.append(w)
        if bad:
            if map_oov is None:
                continue
            words = [map_oov if w in bad else w for w in words]
            fields = fields[:1] + words + fields[order + 1:]
        counts[order] += 1
        out.append("\t".join([fields[0], " ".join(words)] + fields[order + 1:]))
    text = "\n".join(out)
    for n, c in counts.items():
        text = re.sub(rf"(?m)^ngram {n}=\d+$", f"ngram {n}={c}", text)
    if map_oov is not None and oovs:
        log.warning("%s: %d OOV words mapped to %s; duplicate n-grams may result", arpa_path, len(oovs), map_oov)
    return text, oovs


def run_arpa2fst(arpa: str, fst: str, words_txt: str) -> None:
    """kaldilm.arpa2fst in a child process: importing kaldilm into a process that has (or later
    gets) kaldifst / kaldi_hmm_gmm loaded deadlocks at import time (kaldilm 1.15.5 with kaldifst
    1.7.17 and kaldi-hmm-gmm 1.1.4), so the conversion is isolated."""
    code = ("import sys, kaldilm; kaldilm.arpa2fst(sys.argv[1], sys.argv[2], disambig_symbol='#0', "
            "read_symbol_table=sys.argv[3], max_arpa_warnings=-1)")
    try:
        proc = subprocess.run([sys.executable, "-c", code, arpa, fst, words_txt], capture_output=True,
                              text=True, timeout=3600)
    except subprocess.TimeoutExpired:
        raise BnnError(f"{arpa}: arpa2fst did not finish") from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BnnError(f"{arpa}: arpa2fst failed: {tail}")


def format_lm(lang_dir: str, arpa_path: str, out_dir: str, map_oov: Optional[str] = None) -> List[str]:
    """Copy ``lang_dir`` to ``out_dir`` and write ``out_dir/G.fst`` from the ARPA LM; returns OOVs."""
    words_txt = os.path.join(lang_dir, "words.txt")
    for f in (words_txt, arpa_path):
        if not os.path.isfile(f):
            raise BnnError(f"{f}: no such file")
    vocab = read_words(words_txt)
    if "#0" not in vocab:
        raise BnnError(f"{words_txt}: no #0 disambiguation symbol (not a prepare_lang output?)")
    if map_oov is not None and map_oov not in vocab:
        raise BnnError(f"{words_txt}: --map-oov word {map_oov} is not in the vocabulary")
    text, oovs = filter_arpa(arpa_path, vocab, map_oov)
    if os.path.abspath(lang_dir) != os.path.abspath(out_dir):
        os.makedirs(out_dir, exist_ok=True)
        for name in os.listdir(lang_dir):
            src, dst = os.path.join(lang_dir, name), os.path.join(out_dir, name)
            if name == "G.fst":
                continue
            if os.path.isdir(src):
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)
    lm_name = re.sub(r"(\.arpa)?(\.gz)?$", "", os.path.basename(arpa_path))
    with open(os.path.join(out_dir, f"oovs_{lm_name}.txt"), "w", encoding="utf-8") as f:
        f.writelines(w + "\n" for w in oovs)
    if oovs:
        log.warning("%s: %d words not in %s (%s)", arpa_path, len(oovs), words_txt,
                    "mapped to " + map_oov if map_oov else "their n-grams removed")
    fd, tmp_arpa = tempfile.mkstemp(suffix=".arpa")
    tmp_fst = os.path.join(out_dir, ".G.fst.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        run_arpa2fst(tmp_arpa, tmp_fst, words_txt)
        if not os.path.isfile(tmp_fst) or os.path.getsize(tmp_fst) == 0:
            raise BnnError(f"{arpa_path}: arpa2fst produced no G.fst")
        os.replace(tmp_fst, os.path.join(out_dir, "G.fst"))
    finally:
        os.unlink(tmp_arpa)
        if os.path.exists(tmp_fst):
            os.unlink(tmp_fst)
    return oovs
