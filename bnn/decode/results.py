"""Gather ``exp/*/decode_*`` scoring results into one markdown table (a recipe's ``RESULTS.md``).

For each system ``exp/<sys>`` with a dev decode (``decode_<dev>``) the LM weight and penalty are
those chosen on dev (``scoring_kaldi/wer_details/{lmwt,wip}``, written by steps/score.sh) and the
test WER is read from the test decode's ``wer_<lmwt>_<wip>`` at that same pair (pick on dev, apply
to test).  Without a dev decode the test's own best is shown and marked "(best on test)".
The page holds the table, the Kaldi ``%WER ... <file>`` lines, the command, versions and git hash,
and is written atomically.
"""
import glob
import json
import os
import platform
import re
import subprocess
from dataclasses import dataclass
from typing import List, Optional

from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

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


def _kept_initial_model(sysdir: str) -> bool:
    """True when the nnet's history.json says no epoch beat its initial model on CV."""
    path = os.path.join(sysdir, "history.json")
    if not os.path.isfile(path):
        return False
    try:
        with open(path) as f:
            return json.load(f).get("best_epoch") == -1
    except (OSError, ValueError):
        return False


def gather(exp_dir: str, dev: str, test: str):
    """Rows (system, dev SetResult or None, test SetResult or None, note) for every exp/<sys>."""
    rows = []
    for sysdir in sorted(glob.glob(os.path.join(exp_dir, "*"))):
        if not os.path.isdir(sysdir):
            continue
        d_dev, d_test = os.path.join(sysdir, f"decode_{dev}"), os.path.join(sysdir, f"decode_{test}")
        r_dev = best_of(d_dev) if os.path.isdir(d_dev) else None
        r_test, note = None, ""
        if os.path.isdir(d_test):
            if r_dev is not None:
                r_test = at(d_test, r_dev.lmwt, r_dev.wip)
                if r_test is None:
                    note = f"test not scored at dev's LM weight {r_dev.lmwt}/{r_dev.wip}"
            else:
                r_test = best_of(d_test)
                note = "best on test (no dev decode)" if r_test else ""
        if (r_dev or r_test) and _kept_initial_model(sysdir):
            note = "; ".join(x for x in (note, "initial model kept: no epoch improved CV") if x)
        if r_dev or r_test:
            rows.append((os.path.basename(sysdir), r_dev, r_test, note))
    return rows


def markdown(rows, dev: str, test: str, title: str, command: str, repo: str) -> str:
    fmt = lambda r: f"{r.wer:.2f}" if r else "-"  # noqa: E731
    dev_col = [f"{dev} WER"] if dev else []
    lines = [f"# {title}", "",
             "| " + " | ".join(["system"] + dev_col + [f"{test} WER", "LM weight", "penalty",
                                                       "note"]) + " |",
             "| --- |" + " ---: |" * (len(dev_col) + 3) + " --- |"]
    for name, rd, rt, note in rows:
        pick = rd or rt
        cells = [name] + ([fmt(rd)] if dev else []) + [
            fmt(rt), str(pick.lmwt if pick else "-"), str(pick.wip if pick else "-"), note]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "```"]
    for _, rd, rt, _ in rows:
        for r in (rd, rt):
            if r:
                lines.append(f"{r.wer_line} {r.wer_file}")
    lines += ["```", "", f"Command: `{command}`", "", f"Versions: {versions()}; git {git_hash(repo)}.", ""]
    return "\n".join(lines)


def make_results(exp_dir: str, output: str, dev: str = "dev", test: str = "test", title: str = "Results",
                 command: str = "", repo: str = ".") -> str:
    if not os.path.isdir(exp_dir):
        raise BnnError(f"{exp_dir}: no such experiment directory")
    rows = gather(exp_dir, dev, test)
    if not rows:
        raise BnnError(f"{exp_dir}: no scored decode_{dev} or decode_{test} directories (run steps/score.sh)")
    text = markdown(rows, dev, test, title, command, repo)
    with atomic_write(output) as f:
        f.write(text)
    return text
