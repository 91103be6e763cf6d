"""Is a trained net converged?  A check on the CV frame accuracy of the last epochs.

Binary nets at small sizes keep improving long after a float net has levelled off (Qian & Xiang
2019 train their BDNNs for many more epochs than the float baseline), so a recipe that stops after
a fixed number of epochs can report a binary net far from what it would reach.  The rule here:

    gain = max(acc[-W:]) - max(acc[:-W])

with ``acc`` the CV frame accuracies (%) of the initial model (when measured) and of every epoch,
and ``W`` the window (default 2 epochs).  ``gain > threshold`` (default 1.0 % absolute) means the
last ``W`` epochs still improved CV accuracy by more than the threshold: training has not
converged.  A config may set ``convergence: {window: W, threshold: T}`` (top level).
"""
from typing import Optional

from bnn.utils.errors import BnnError

DEFAULT_WINDOW = 2
DEFAULT_THRESHOLD = 1.0


def options(cfg: dict) -> tuple:
    """(window, threshold) from a config's optional ``convergence:`` section."""
    sect = (cfg or {}).get("convergence") or {}
    if not isinstance(sect, dict) or set(sect) - {"window", "threshold"}:
        raise BnnError(f"convergence: expected {{window: int, threshold: float}}, got {sect!r}")
    window = int(sect.get("window", DEFAULT_WINDOW))
    threshold = float(sect.get("threshold", DEFAULT_THRESHOLD))
    if window < 1 or threshold < 0:
        raise BnnError(f"convergence: window must be >= 1 and threshold >= 0, got {sect!r}")
    return window, threshold


def check(history: dict, window: int = DEFAULT_WINDOW,
          threshold: float = DEFAULT_THRESHOLD) -> Optional[dict]:
    """The convergence record of a training history (``history.json``), or None without epochs.

    Returns ``{"converged", "gain", "window", "threshold", "cv_acc_before", "cv_acc_last"}``;
    ``window`` is reduced to the number of earlier accuracies available."""
    accs = []
    if isinstance(history.get("initial_cv"), dict) and "acc" in history["initial_cv"]:
        accs.append(float(history["initial_cv"]["acc"]))
    accs += [float(e["cv_acc"]) for e in history.get("epochs", []) if "cv_acc" in e]
    if not history.get("epochs") or len(accs) < 2:
        return None
    w = min(window, len(accs) - 1)
    before, last = max(accs[:-w]), max(accs[-w:])
    gain = last - before
    return {"converged": gain <= threshold, "gain": round(gain, 4), "window": w,
            "threshold": threshold, "cv_acc_before": round(before, 4),
            "cv_acc_last": round(last, 4)}


def message(rec: dict) -> str:
    """The one-line warning for a record that is not converged."""
    return (f"NOT CONVERGED: CV frame accuracy still rose by {rec['gain']:.2f}% "
            f"({rec['cv_acc_before']:.2f}% -> {rec['cv_acc_last']:.2f}%) in the last "
            f"{rec['window']} epoch(s), more than the {rec['threshold']:g}% threshold: train longer "
            f"(more epochs) before comparing this system")
