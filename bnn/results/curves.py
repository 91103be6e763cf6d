"""Training curves: train and CV frame accuracy (or loss) per epoch for several model dirs.

The figure of Lu et al. 2017 (Figs. 2-3) and Qian & Xiang 2019 (Figs. 1-2): one panel for the
training set, one for the cross-validation set, one line per model.  Input is each model dir's
``history.json`` as written by bnn.train.trainer.run_training::

    {"epochs": [{"epoch": 0, "lr": ..., "train_loss": ..., "train_acc": ..., "cv_loss": ...,
                 "cv_acc": ..., ...}, ...],
     "initial_cv": {"loss": ..., "acc": ..., "frames": ...},   # CV before the first update
     "config": {...}}

Epoch ``e`` (0-based in the file) is drawn at x = e + 1; ``initial_cv`` at x = 0 on the CV
panel, so a binary model initialised from the float baseline starts where the baseline ended.
Accuracies are percentages of frames.  Rendering uses matplotlib's Agg backend (no display);
the PNG is written atomically.
"""
import io
import json
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

METRICS = ("acc", "loss")


@dataclass
class Curve:
    label: str
    epochs: List[int]                 # 1-based x positions
    train: List[float]
    cv: List[float]
    initial_cv: Optional[float]


def read_history(model_dir: str, metric: str = "acc", label: Optional[str] = None) -> Curve:
    """The train/CV ``metric`` per epoch of ``model_dir/history.json`` (or a history.json path)."""
    if metric not in METRICS:
        raise BnnError(f"metric must be one of {', '.join(METRICS)}, got '{metric}'")
    path = model_dir if model_dir.endswith(".json") else os.path.join(model_dir, "history.json")
    try:
        with open(path, encoding="utf-8") as f:
            hist = json.load(f)
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror}); was the model trained?") from None
    except json.JSONDecodeError as err:
        raise BnnError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(hist, dict) or not isinstance(hist.get("epochs"), list):
        raise BnnError(f"{path}: expected an object with an 'epochs' list")
    epochs, train, cv = [], [], []
    for i, row in enumerate(hist["epochs"]):
        try:
            epochs.append(int(row["epoch"]) + 1)
            train.append(float(row[f"train_{metric}"]))
            cv.append(float(row[f"cv_{metric}"]))
        except (KeyError, TypeError, ValueError):
            raise BnnError(f"{path}: epochs[{i}] lacks numeric 'epoch', 'train_{metric}', "
                           f"'cv_{metric}'") from None
    if not epochs:
        raise BnnError(f"{path}: no epochs recorded (training has not finished an epoch)")
    init = hist.get("initial_cv")
    initial = None
    if isinstance(init, dict) and isinstance(init.get(metric), (int, float)):
        initial = float(init[metric])
    if label is None:
        label = os.path.basename(os.path.normpath(os.path.dirname(path)))
    return Curve(label, epochs, train, cv, initial)


def plot_curves(curves: Sequence[Curve], output: str, metric: str = "acc",
                title: str = "") -> None:
    """Two panels (train, CV) of ``metric`` per epoch, one line per curve; PNG written atomically."""
    if not curves:
        raise BnnError("no models to plot")
    import matplotlib
    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), dpi=100)
    ax_tr, ax_cv = fig.subplots(1, 2, sharey=True)
    ylabel = "frame accuracy (%)" if metric == "acc" else "cross-entropy per frame"
    for c in curves:
        line, = ax_tr.plot(c.epochs, c.train, marker="o", markersize=3, label=c.label)
        xs, ys = list(c.epochs), list(c.cv)
        if c.initial_cv is not None:
            xs, ys = [0] + xs, [c.initial_cv] + ys
        ax_cv.plot(xs, ys, marker="o", markersize=3, color=line.get_color(), label=c.label)
    for ax, name in ((ax_tr, "training set"), (ax_cv, "cross-validation set")):
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    ax_tr.set_ylabel(ylabel)
    ax_cv.legend(fontsize="small", loc="best")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    with atomic_write(output, "wb") as f:
        f.write(buf.getvalue())
