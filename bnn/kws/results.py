"""RESULTS.md of a KWS recipe: accuracy, per-class errors, FA/FR rates per system and thinning
option, the packed engine's accuracy, and the benchmark table, with the protocol of each number."""
import datetime
import json
import os
import subprocess
import sys

from bnn.kws.manifests import classes as task_classes
from bnn.utils.errors import BnnError


def _git_hash() -> str:
    try:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        return subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def _load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise BnnError(f"{path}: cannot read results JSON ({err})") from None


def layers_of(num_layers: int, option: int) -> int:
    from bnn.kws.model import kept_layers
    return len(kept_layers(num_layers, option))


def make_results(title: str, systems, protocol: str, bench: str = None, command: str = "",
                 notes: str = None) -> str:
    """``systems``: list of ``(name, eval_json, model_dir)``."""
    import numpy as np
    import torch
    rows, per_class, cls, info = [], [], None, []
    for name, ev_path, mdir in systems:
        ev = _load(ev_path)
        summ = _load(os.path.join(mdir, "train_summary.json"))
        cls = task_classes(ev["task"])
        nl = summ["model"]["num_layers"]
        t = summ["train"]
        info.append(f"| {name} | {summ['model']['mode']} | {t['epochs']} | {t['batch_size']} | "
                    f"{t['optimizer']} {t['lr']} | {t['thin_weights']} | {t['kd_alpha']} | "
                    f"{max(summ['history'], key=lambda r: r['dev_acc'][0])['epoch']} | "
                    f"{summ['best_dev_acc']:.4f} |")
        for o, r in ev["options"].items():
            far = "n/a" if r["far"] is None else f"{100 * r['far']:.2f}"
            pk, pf = r.get("packed"), r.get("packed_f32")
            pkacc = f"{100 * pk['accuracy']:.2f}" if pk else "-"
            pfacc = f"{100 * pf['accuracy']:.2f}" if pf else "-"
            pv = r.get("packed_vs_torch") or {}
            agree = (f"{pv['max_abs_diff']:.1e} ({pv['windows_over_1e-4']} > 1e-4)" if pv else "-")
            rows.append(f"| {name} | {o} ({layers_of(nl, int(o))} layers) | "
                        f"{100 * r['accuracy']:.2f} | {r['errors']}/{r['n']} | "
                        f"{100 * r['frr']:.2f} | {far} | {100 * r['mean_class_far']:.2f} | "
                        f"{pfacc} | {agree} | {pkacc} |")
            if o == "0":
                per_class.append(f"| {name} | " + " | ".join(
                    f"{r['per_class'][c]['errors']}/{r['per_class'][c]['count']}" for c in cls)
                    + " |")
    out = [f"# {title}", "",
           f"Generated {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} by `{command}` at git "
           f"{_git_hash()} (python {sys.version.split()[0]}, torch {torch.__version__}, "
           f"numpy {np.__version__}).", "", "## Protocol", "", protocol, "",
           "## Training", "",
           "| system | binarization | epochs | batch | optimiser, lr | thinning loss weights | "
           "FID alpha | best epoch (dev) | dev acc (option 0) |",
           "|---|---|---:|---:|---|---|---:|---:|---:|"] + info + [
           "", "## Test accuracy", "",
           "Accuracy on the test set (torch `eval()`), errors, keyword false-reject rate (FRR: "
           "keyword clips not recognised as their keyword), false-alarm rate (FAR: `_unknown_`/"
           "`_silence_` clips recognised as a keyword; n/a without filler classes), the mean "
           "per-class false-alarm rate, the packed engine's accuracy (`bnn.kws.packed`, "
           "XOR-popcount GEMMs) with the exact fold (float32 constants) and the largest |logit "
           "difference| between it and torch with the number of test windows where it exceeds "
           "1e-4 (a binarizer input within float32 rounding of its threshold flips one bit), and "
           "the accuracy of the deployed file (float16 constants, int8 classifier; the bytes "
           "counted by the benchmark).", "",
           "| system | thinning option | accuracy % | errors | FRR % | FAR % | mean class FA % | "
           "packed f32 accuracy % | max packed f32-torch diff (windows over 1e-4) | "
           "deployed file accuracy % |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"] + rows + [
           "", "## Per-class errors (option 0, errors/clips)", "",
           "| system | " + " | ".join(cls or []) + " |",
           "|---|" + "---:|" * len(cls or [])] + per_class
    if bench:
        out += ["", "## Speed and storage", "", "From `bnn-bench --kws` in the same run "
                "(numbers measured on a shared, loaded machine: ratios are side by side in one "
                "process, absolute times are disturbed by other load):", "", "```"]
        with open(bench) as f:
            out += [line.rstrip("\n") for line in f]
        out += ["```"]
    if notes:
        out += ["", "## Notes", "", notes.strip()]
    return "\n".join(out) + "\n"
