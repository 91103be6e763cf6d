"""Gather ``exp/*/decode_*`` scoring results into one markdown table (a recipe's ``RESULTS.md``).

For each system ``exp/<sys>`` with a dev decode (``decode_<dev>``) the LM weight and penalty are
those chosen on dev (``scoring_kaldi/wer_details/{lmwt,wip}``, written by steps/score.sh) and the
test WER is read from the test decode's ``wer_<lmwt>_<wip>`` at that same pair (pick on dev, apply
to test).  Without a dev decode the test's own best is shown and marked "(best on test)".

Every decode dir of a system is a row: ``decode_<set>`` and ``decode_<set><suffix>`` (e.g.
``decode_test_packed`` from ``steps/train_decode_nnet.sh --engine packed --decode-suffix
_packed``); the ``engine`` column is the suffix without its ``_`` (``packed``), or ``torch`` /
``gmm`` for the unsuffixed decode of an nnet / GMM system.  Rows of nnets whose
``history.json`` says training had not converged (:mod:`bnn.train.convergence`) are marked.

The generated part (title excepted) lies between :data:`BEGIN` and :data:`END` marker lines.
When the output file exists and holds the markers, only that block is replaced, so notes written
above or below it survive a rerun.  An existing file without the markers (hand-written, or from an
older version) is not overwritten silently: it is kept as ``<output>.bak`` with a warning, and
the new file starts with the generated block.  Files are written atomically.
"""
import glob
import json
import logging
import os
import platform
import re
import subprocess
from dataclasses import dataclass
from typing import List, Optional

from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

log = logging.getLogger(__name__)

BEGIN = "<!-- bnn-make-results-table: begin (generated: edits inside are replaced on every run) -->"
END = "<!-- bnn-make-results-table: end -->"
WER_RE = re.compile(r"%WER (\S+) \[ (\d+) / (\d+), (\d+) ins, (\d+) del, (\d+) sub \]")


@dataclass
class SetResult:
    wer_line: str       # "%WER 4.80 [ 43 / 896, 5 ins, 12 del, 26 sub ]"
    wer_file: str
    wer: float
    lmwt: str
    wip: str


def read_wer_file(path: str) -> Optional[str]:
    try:
        with open(path) as f:
            for line in f:
                if WER_RE.search(line):
                    return WER_RE.search(line).group(0)
    except OSError:
        return None
    return None


def best_of(decode_dir: str) -> Optional[SetResult]:
    """The result at the setting steps/score.sh chose (bnn.decode.scoring.pick_best)."""
    from bnn.decode.scoring import chosen_setting
    chosen = chosen_setting(decode_dir)
    return at(decode_dir, *chosen) if chosen else None


def at(decode_dir: str, lmwt: str, wip: str) -> Optional[SetResult]:
    path = os.path.join(decode_dir, f"wer_{lmwt}_{wip}")
    line = read_wer_file(path)
    if line is None:
        return None
    return SetResult(line, path, float(WER_RE.search(line).group(1)), lmwt, wip)


def git_hash(repo: str) -> str:
    try:
        out = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def versions() -> str:
    parts = [f"python {platform.python_version()}"]
    for mod in ("torch", "kaldi_hmm_gmm", "kaldifst", "kaldialign", "kaldiio"):
        try:
            from importlib.metadata import version
            name = {"kaldi_hmm_gmm": "kaldi-hmm-gmm"}.get(mod, mod)
            parts.append(f"{mod} {version(name)}")
        except Exception:  # noqa: BLE001 - a missing package is just not listed
            pass
    return ", ".join(parts)


def _history(sysdir: str) -> dict:
    path = os.path.join(sysdir, "history.json")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path) as f:
            hist = json.load(f)
        return hist if isinstance(hist, dict) else {}
    except (OSError, ValueError):
        return {}


def history_notes(sysdir: str) -> List[str]:
    """Notes from the nnet's history.json: initial model kept, training not converged."""
    hist = _history(sysdir)
    notes = []
    if hist.get("best_epoch") == -1:
        notes.append("initial model kept: no epoch improved CV")
    conv = hist.get("convergence")
    if isinstance(conv, dict) and conv.get("converged") is False:
        notes.append(f"NOT CONVERGED: CV acc +{conv.get('gain', 0):.2f}% in the last "
                     f"{conv.get('window', '?')} epoch(s)")
    return notes


def _suffixes(sysdir: str, sets) -> List[str]:
    """Decode-dir suffixes of a system: '' for ``decode_<set>``, '_packed' for
    ``decode_<set>_packed``..., the unsuffixed one first."""
    found = set()
    for s in sets:
        if not s:
            continue
        prefix = os.path.join(sysdir, f"decode_{s}")
        for d in glob.glob(glob.escape(prefix) + "*"):
            suffix = d[len(prefix):]
            if suffix and (not suffix.startswith("_") or s + suffix in sets):
                continue  # another set's decode (decode_test_clean beside decode_test)
            if os.path.isdir(d):
                found.add(suffix)
    return sorted(found, key=lambda x: (x != "", x))


def engine_name(sysdir: str, suffix: str) -> str:
    if suffix:
        return suffix[1:]
    return "torch" if os.path.isfile(os.path.join(sysdir, "final.pt")) else "gmm"


def gather(exp_dir: str, dev: str, test: str):
    """Rows (system, engine, dev SetResult or None, test SetResult or None, note): one per
    scored decode dir pair ``decode_<dev><suffix>`` / ``decode_<test><suffix>`` of every exp/<sys>."""
    rows = []
    for sysdir in sorted(glob.glob(os.path.join(exp_dir, "*"))):
        if not os.path.isdir(sysdir):
            continue
        extra = history_notes(sysdir)
        for suffix in _suffixes(sysdir, (dev, test)):
            d_dev = os.path.join(sysdir, f"decode_{dev}{suffix}") if dev else ""
            d_test = os.path.join(sysdir, f"decode_{test}{suffix}")
            r_dev = best_of(d_dev) if d_dev and os.path.isdir(d_dev) else None
            r_test, note = None, ""
            if os.path.isdir(d_test):
                if r_dev is not None:
                    r_test = at(d_test, r_dev.lmwt, r_dev.wip)
                    if r_test is None:
                        note = f"test not scored at dev's LM weight {r_dev.lmwt}/{r_dev.wip}"
                else:
                    r_test = best_of(d_test)
                    note = "best on test (no dev decode)" if r_test else ""
            if r_dev or r_test:
                note = "; ".join(x for x in [note] + extra if x)
                rows.append((os.path.basename(sysdir), engine_name(sysdir, suffix), r_dev, r_test,
                             note))
    return rows


def markdown_block(rows, dev: str, test: str, command: str, repo: str) -> str:
    """The generated block (between the markers, without the title)."""
    fmt = lambda r: f"{r.wer:.2f}" if r else "-"  # noqa: E731
    dev_col = [f"{dev} WER"] if dev else []
    lines = [BEGIN, "",
             "| " + " | ".join(["system", "engine"] + dev_col + [f"{test} WER", "LM weight",
                                                                 "penalty", "note"]) + " |",
             "| --- | --- |" + " ---: |" * (len(dev_col) + 3) + " --- |"]
    for name, engine, rd, rt, note in rows:
        pick = rd or rt
        cells = [name, engine] + ([fmt(rd)] if dev else []) + [
            fmt(rt), str(pick.lmwt if pick else "-"), str(pick.wip if pick else "-"), note]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "```"]
    for _, _, rd, rt, _ in rows:
        for r in (rd, rt):
            if r:
                lines.append(f"{r.wer_line} {r.wer_file}")
    lines += ["```", "", f"Command: `{command}`", "",
              f"Versions: {versions()}; git {git_hash(repo)}.", "", END]
    return "\n".join(lines) + "\n"


def markdown(rows, dev: str, test: str, title: str, command: str, repo: str) -> str:
    """A whole new page: title, then the generated block."""
    return f"# {title}\n\n" + markdown_block(rows, dev, test, command, repo)


def merge(existing: str, block: str) -> str:
    """``existing`` with its generated block replaced by ``block``; None when it has no markers."""
    b, e = existing.find(BEGIN), existing.find(END)
    if b < 0 or e < b:
        return None
    tail = existing[e + len(END):]
    if tail.startswith("\n"):
        tail = tail[1:]
    return existing[:b] + block + tail


def make_results(exp_dir: str, output: str, dev: str = "dev", test: str = "test", title: str = "Results",
                 command: str = "", repo: str = ".") -> str:
    """Write (or update the generated block of) ``output``; returns the generated page text."""
    if not os.path.isdir(exp_dir):
        raise BnnError(f"{exp_dir}: no such experiment directory")
    rows = gather(exp_dir, dev, test)
    if not rows:
        raise BnnError(f"{exp_dir}: no scored decode_{dev} or decode_{test} directories (run steps/score.sh)")
    page = markdown(rows, dev, test, title, command, repo)
    text = page
    if os.path.exists(output):
        try:
            with open(output, encoding="utf-8") as f:
                existing = f.read()
        except (OSError, UnicodeDecodeError) as err:
            raise BnnError(f"{output}: cannot read ({err})") from None
        merged = merge(existing, markdown_block(rows, dev, test, command, repo))
        if merged is not None:
            text = merged
        elif existing.strip():
            backup = output + ".bak"
            with atomic_write(backup) as f:
                f.write(existing)
            log.warning("%s has no '%s' marker: not overwriting it silently, its old contents are "
                        "kept in %s (put hand notes outside the generated block)", output, BEGIN,
                        backup)
    with atomic_write(output) as f:
        f.write(text)
    return page
