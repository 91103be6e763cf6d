"""Test WER against deployed model bytes and against inference frames/s, Pareto fronts marked.

Inputs, per system ``exp/<system>`` and decode variant (``decode_<test><suffix>``: ``""`` for the
torch engine, ``"_packed"`` for the bit-packed XOR-popcount engine):

* WER: the test WER at the LM weight/penalty best on dev (:func:`bnn.results.paper_tables.system_result`);
* bytes: the ``total`` row's "bytes as deployed" of ``model_size.txt`` (``bnn-model-report``:
  1 bit per binary weight, 4 bytes per float parameter);
* frames/s: the network throughput the decode jobs log (``bnn-forward``: "Done N utterances,
  F frames, ... (network R frames/s, engine E)"), combined over jobs as total frames over total
  network time.  These are measured while decoding, on whatever load the machine had.

A point is on the Pareto front when no other point is at least as good on both axes and better
on one (lower WER and fewer bytes; lower WER and more frames/s).
"""
import glob
import os
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence

from bnn.utils.errors import BnnError

_DONE = re.compile(r"Done (\d+) utterances, (\d+) frames, [0-9.]+ frames/s \(network ([0-9.]+) "
                   r"frames/s, engine (\w+)\)")


@dataclass(frozen=True)
class Point:
    system: str
    engine: str          # "torch" | "packed" | ...
    wer: float           # test WER, percent
    deployed_bytes: Optional[int]
    frames_per_sec: Optional[float]

    @property
    def label(self) -> str:
        return self.system if self.engine == "torch" else f"{self.system} ({self.engine})"


def read_deployed_bytes(path: str) -> int:
    """The ``total`` row's "bytes as deployed" of a bnn-model-report table."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    header = next((ln for ln in lines if ln.startswith("| layer |")), None)
    total = next((ln for ln in lines if ln.startswith("| total |")), None)
    if header is None or total is None:
        raise BnnError(f"{path}: no bnn-model-report table with a 'total' row")
    cols = [c.strip() for c in header.strip().strip("|").split("|")]
    cells = [c.strip() for c in total.strip().strip("|").split("|")]
    try:
        return int(cells[cols.index("bytes as deployed")])
    except (ValueError, IndexError):
        raise BnnError(f"{path}: 'total' row has no integer 'bytes as deployed'") from None


def read_decode_throughput(decode_dir: str) -> Optional[tuple]:
    """``(network frames/s, engine)`` over the decode jobs' logs; None if no job logged it."""
    frames, seconds, engines = 0, 0.0, set()
    for log in sorted(glob.glob(os.path.join(decode_dir, "log", "decode.*.log"))):
        with open(log, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = _DONE.search(line)
                if m and float(m.group(3)) > 0:
                    n = int(m.group(2))
                    frames += n
                    seconds += n / float(m.group(3))
                    engines.add(m.group(4))
    if frames == 0:
        return None
    return frames / seconds, ",".join(sorted(engines))


def collect_points(exp_dir: str, dev_set: str = "dev", test_set: str = "test",
                   systems: Optional[Sequence[str]] = None) -> List[Point]:
    """One point per (system, decode variant) with a scored test decode."""
    from bnn.results.paper_tables import system_result
    if not os.path.isdir(exp_dir):
        raise BnnError(f"{exp_dir}: no such experiment directory")
    names = systems or sorted(d for d in os.listdir(exp_dir)
                              if os.path.isfile(os.path.join(exp_dir, d, "model_size.txt")))
    points = []
    for name in names:
        sysdir = os.path.join(exp_dir, name)
        size_file = os.path.join(sysdir, "model_size.txt")
        nbytes = read_deployed_bytes(size_file) if os.path.isfile(size_file) else None
        prefix = f"decode_{test_set}"
        variants = sorted(d[len(prefix):] for d in os.listdir(sysdir)
                          if d.startswith(prefix) and os.path.isdir(os.path.join(sysdir, d))) \
            if os.path.isdir(sysdir) else []
        for suffix in variants:
            res = _variant_result(exp_dir, name, dev_set, test_set, suffix, system_result)
            if res is None:
                continue
            tp = read_decode_throughput(os.path.join(sysdir, prefix + suffix))
            engine = tp[1] if tp else (suffix.lstrip("_") or "torch")
            points.append(Point(name, engine, res, nbytes, tp[0] if tp else None))
    return points


def _variant_result(exp_dir, name, dev_set, test_set, suffix, system_result):
    """Test WER of decode_<test><suffix> at the pair best on decode_<dev><suffix> (or on the
    torch dev decode when the variant has no dev decode of its own)."""
    dev = f"{dev_set}{suffix}" if dev_set and os.path.isdir(
        os.path.join(exp_dir, name, f"decode_{dev_set}{suffix}")) else dev_set
    try:
        res = system_result(exp_dir, name, dev, f"{test_set}{suffix}")
    except BnnError:
        return None
    return None if res.test is None else res.test.percent


def pareto_front(points: Sequence[Point], x: str, larger_is_better: bool) -> List[Point]:
    """Points not dominated on (WER lower, ``x`` smaller or larger as said)."""
    pts = [p for p in points if getattr(p, x) is not None]
    front = []
    for p in pts:
        px = getattr(p, x) * (-1 if larger_is_better else 1)
        dominated = False
        for q in pts:
            qx = getattr(q, x) * (-1 if larger_is_better else 1)
            if q is not p and q.wer <= p.wer and qx <= px and (q.wer < p.wer or qx < px):
                dominated = True
                break
        if not dominated:
            front.append(p)
    return sorted(front, key=lambda p: getattr(p, x))


def plot(points: Sequence[Point], path: str, title: str = "") -> None:
    """Two panels: WER vs deployed bytes, WER vs frames/s (log x), fronts drawn and labelled."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bnn.utils.fileio import atomic_write
    if not points:
        raise BnnError("no system has a scored test decode: nothing to plot")
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    panels = (("deployed_bytes", False, "deployed model size (bytes, log)"),
              ("frames_per_sec", True, "network throughput while decoding (frames/s, log)"))
    for ax, (attr, larger, xlabel) in zip(axes, panels):
        pts = [p for p in points if getattr(p, attr) is not None]
        front = pareto_front(pts, attr, larger)
        on_front = {id(p) for p in front}
        for p in pts:
            ax.scatter(getattr(p, attr), p.wer, marker="s" if p.engine == "packed" else "o",
                       color="tab:red" if id(p) in on_front else "tab:gray", zorder=3)
            ax.annotate(p.label, (getattr(p, attr), p.wer), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        if front:
            ax.plot([getattr(p, attr) for p in front], [p.wer for p in front], color="tab:red",
                    lw=1, zorder=2, label="Pareto front")
            ax.legend(loc="upper right", fontsize=8)
        if pts:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test WER (%)")
        ax.grid(True, alpha=0.3)
    fig.suptitle(title or "test WER vs size and speed (o torch, s packed engine)")
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=90)
    plt.close(fig)


def table(points: Sequence[Point]) -> str:
    """Markdown table of the points, front membership marked."""
    fb = {id(p) for p in pareto_front(points, "deployed_bytes", False)}
    ff = {id(p) for p in pareto_front(points, "frames_per_sec", True)}
    lines = ["| system | engine | test WER | deployed bytes | frames/s | Pareto (bytes / speed) |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for p in sorted(points, key=lambda p: (p.system, p.engine)):
        lines.append(f"| {p.system} | {p.engine} | {p.wer:.2f} | "
                     f"{p.deployed_bytes if p.deployed_bytes is not None else '—'} | "
                     f"{f'{p.frames_per_sec:.0f}' if p.frames_per_sec else '—'} | "
                     f"{'yes' if id(p) in fb else 'no'} / {'yes' if id(p) in ff else 'no'} |")
    return "\n".join(lines) + "\n"
