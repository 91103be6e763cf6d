"""Peak memory of ``bnn-train`` against corpus size (issue: streaming frame trainer).

Builds an N-times larger copy of a training data dir *without copying audio or features*:
``feats.scp``/``utt2spk``/``text`` and the pdf-target scp are repeated with new utterance ids
(``<id>-copyK``) pointing at the same archive offsets, so the trainer really reads N times as
many utterances and frames.  Runs one epoch of ``bnn-train`` on the original and on the copy in
child processes, and reports each child's peak resident set size (``wait4`` rusage ``ru_maxrss``)
and their ratio.  A streaming trainer stays near 1.0; one that loads the corpus grows ~N-fold.
"""
import os
import shutil
import subprocess
import sys
import time
from typing import List

from bnn.utils.errors import BnnError

FILES_REPEATED = ("feats.scp", "utt2spk", "text", "utt2dur", "utt2num_frames")


def _repeat_table(src: str, dst: str, times: int) -> None:
    with open(src) as f:
        lines = [ln.split(None, 1) for ln in f if ln.strip()]
    out = []
    for k in range(times):
        for fields in lines:
            key = fields[0] if k == 0 else f"{fields[0]}-copy{k}"
            out.append(f"{key} {fields[1].strip() if len(fields) > 1 else ''}\n")
    out.sort(key=lambda s: s.split(None, 1)[0].encode())
    with open(dst, "w") as f:
        f.writelines(out)


def scale_data_dir(data: str, targets_scp: str, times: int, out_dir: str):
    """Write ``out_dir/data`` and ``out_dir/targets.scp``: ``times`` copies of every utterance."""
    dst = os.path.join(out_dir, "data")
    os.makedirs(dst, exist_ok=True)
    for name in FILES_REPEATED:
        if os.path.isfile(os.path.join(data, name)):
            _repeat_table(os.path.join(data, name), os.path.join(dst, name), times)
    for name in ("cmvn.scp", "spk2utt"):
        if os.path.isfile(os.path.join(data, name)):
            shutil.copy(os.path.join(data, name), os.path.join(dst, name))
    if os.path.isfile(os.path.join(dst, "utt2spk")):
        spk2utt = {}
        with open(os.path.join(dst, "utt2spk")) as f:
            for line in f:
                utt, spk = line.split()
                spk2utt.setdefault(spk, []).append(utt)
        with open(os.path.join(dst, "spk2utt"), "w") as f:
            for spk in sorted(spk2utt):
                f.write(spk + " " + " ".join(spk2utt[spk]) + "\n")
    tgt = os.path.join(out_dir, "targets.scp")
    _repeat_table(targets_scp, tgt, times)
    return dst, tgt


def run_child(cmd: List[str]) -> dict:
    """Run ``cmd``; return its exit code, wall time and peak RSS in MiB (Linux: ru_maxrss KiB)."""
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise BnnError(f"{' '.join(cmd[:3])}... failed ({proc.returncode}): "
                       f"{err.strip().splitlines()[-1] if err.strip() else ''}")
    return {"seconds": time.time() - start, "max_rss_mib": usage.ru_maxrss / 1024.0}


def measure(data: str, targets_scp: str, num_pdfs: int, config: str, work_dir: str,
            times: int = 4, extra: List[str] = ()) -> dict:
    """One epoch on ``data`` and on a ``times``-fold copy; peak RSS of each and their ratio."""
    os.makedirs(work_dir, exist_ok=True)
    big_data, big_targets = scale_data_dir(data, targets_scp, times, os.path.join(work_dir, "big"))
    results = {}
    for name, d, t in (("1x", data, targets_scp), (f"{times}x", big_data, big_targets)):
        cmd = [sys.executable, "-m", "bnn.bin.train", "--config", config, "--train-data", d,
               "--train-targets", "scp:" + t, "--num-pdfs", str(num_pdfs), "--set",
               "train.epochs=1", *extra, os.path.join(work_dir, f"exp_{name}")]
        results[name] = run_child(cmd)
        with open(t) as f:
            results[name]["utterances"] = sum(1 for _ in f)
    results["ratio"] = results[f"{times}x"]["max_rss_mib"] / results["1x"]["max_rss_mib"]
    return results
