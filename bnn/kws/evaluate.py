"""KWS scoring: accuracy, per-class errors, false-alarm and false-reject rates.

For predictions ``p`` and references ``r`` over the classes of a task:

* accuracy = #(p = r) / N; per class ``c``: errors = #(r = c, p != c) and the error rate
  (the false-reject rate of ``c``) over #(r = c); the false-alarm rate of ``c`` is
  #(r != c, p = c) / #(r != c);
* keyword false-reject rate FRR = #(r keyword, p != r) / #(r keyword) and false-alarm rate
  FAR = #(r filler, p keyword) / #(r filler), with keywords = every class but ``_unknown_`` and
  ``_silence_`` and fillers = those two (tasks without fillers report FAR as null and the mean
  per-class false-alarm rate instead).
"""
from typing import List

import numpy as np

from bnn.kws.manifests import SILENCE, UNKNOWN


def score(pred, ref, classes: List[str]) -> dict:
    pred, ref = np.asarray(pred), np.asarray(ref)
    n = len(ref)
    per = {}
    for c, name in enumerate(classes):
        pos, neg = ref == c, ref != c
        per[name] = {"count": int(pos.sum()), "errors": int((pos & (pred != c)).sum()),
                     "frr": float((pos & (pred != c)).sum() / max(1, pos.sum())),
                     "far": float((neg & (pred == c)).sum() / max(1, neg.sum()))}
    fill = np.array([classes[c] in (SILENCE, UNKNOWN) for c in range(len(classes))])
    kw_ref, kw_pred = ~fill[ref], ~fill[pred]
    res = {"n": int(n), "accuracy": float((pred == ref).mean()) if n else 0.0,
           "errors": int((pred != ref).sum()),
           "frr": float((kw_ref & (pred != ref)).sum() / max(1, kw_ref.sum())),
           "far": (float((~kw_ref & kw_pred).sum() / max(1, (~kw_ref).sum()))
                   if fill.any() else None),
           "mean_class_far": float(np.mean([v["far"] for v in per.values()])),
           "per_class": per}
    conf = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(conf, (ref, pred), 1)
    res["confusion"] = conf.tolist()
    return res


def evaluate_dir(model_path: str, cuts_path: str, options=None, packed: bool = False,
                 packed_dir: str = None) -> dict:
    """Score a trained model on a cut set at each thinning option (torch ``eval()``), and with
    ``packed`` also through :class:`bnn.kws.packed.PackedKWS`: the exact fold with float32
    constants (``packed_f32``, with its agreement with torch: max |logit difference|, windows
    over 1e-4, argmax agreement) and the deployed file (``packed``: float16 constants, int8
    classifier, reloaded from its bytes; accuracy, argmax agreement with torch, storage)."""
    import os

    import torch

    from bnn.kws import data as kdata
    from bnn.kws import manifests
    from bnn.kws.train import load_model
    model, payload = load_model(model_path)
    task, fkind = payload["task"], payload["features"]
    clips = kdata.ClipSet(cuts_path, task)
    x, y = kdata.features_of(clips, fkind)
    classes = manifests.classes(task)
    if options is None:
        options = list(range(int(payload.get("thin_options", 1))))
    out = {"task": task, "features": fkind, "cuts": cuts_path, "mode": model.cfg["mode"],
           "options": {}}
    for o in options:
        with torch.no_grad():
            z = torch.cat([model(x[i:i + 256], o) for i in range(0, len(x), 256)]).numpy()
        res = score(z.argmax(1), y.numpy(), classes)
        if packed:
            from bnn.kws.packed import PackedKWS

            def run(pk):
                return np.concatenate([pk.forward(x[i:i + 256].numpy())
                                       for i in range(0, len(x), 256)])
            # the exact fold (float32 constants): agreement with torch eval()
            zf = run(PackedKWS.from_torch(model, o, "float32", "float32"))
            diff = np.abs(zf - z).max(1)
            res["packed_f32"] = score(zf.argmax(1), y.numpy(), classes)
            res["packed_f32"].pop("confusion")
            res["packed_vs_torch"] = {"max_abs_diff": float(diff.max()),
                                      "windows_over_1e-4": int((diff > 1e-4).sum()),
                                      "argmax_agree": float((zf.argmax(1) == z.argmax(1)).mean())}
            # the deployed file (float16 constants, int8 classifier), reloaded from its bytes
            pk = PackedKWS.from_torch(model, o)
            if packed_dir:
                os.makedirs(packed_dir, exist_ok=True)
                pk.save(os.path.join(packed_dir, f"packed_o{o}.bin"))
            pk = PackedKWS.from_bytes(pk.to_bytes())
            zp = run(pk)
            res["packed"] = score(zp.argmax(1), y.numpy(), classes)
            res["packed"].pop("confusion")
            res["packed"]["argmax_agree_torch"] = float((zp.argmax(1) == z.argmax(1)).mean())
            res["packed"]["storage"] = pk.storage()
        out["options"][str(o)] = res
    return out
