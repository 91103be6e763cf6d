"""Training of the KWS models (float teacher, BNN/XNOR baselines, BiFSMNv2 with thinnable depth
and optional frequency-independent distillation).

Config (``conf/kws/*.yaml``, ``base:`` inheritance and ``--set`` as :mod:`bnn.train.config`)::

    task: sc12                     # class list (bnn.kws.manifests.TASKS)
    features: {type: logmel}       # or fbank
    model: {mode: bifsmn, num_layers: 8, hidden: 256, memory: 128, ...}   (bnn.kws.model)
    train:
      epochs, batch_size, optimizer (adam|sgd), lr, momentum, weight_decay, schedule (cosine|none)
      thin_weights: [1, 0.5, 0.25] # loss weight per thinning option trained jointly
      slope_lr_scale: 0.1          # learning-rate factor of thresholds t* and slopes k*
      init_from_teacher: true      # student starts from the teacher's weights
      input_scale_init: data       # BiFSMNv2 binarizer inputs divided by their std (binarize.py)
      kd_alpha: 0.01               # FID weight (0: no distillation); needs --teacher
      augment: {...}               # bnn.kws.augment options; null disables augmentation
      seed: 1

Model selection: the epoch with the best dev accuracy of option 0 is ``best.pt``, copied to
``final.pt`` at the end (BiFSMN code: best validation accuracy of o=0).  ``epoch.pt`` (model,
optimiser, epoch, history) is written after every epoch; a rerun resumes from it.  ``.done``
marks a finished model directory.  Learning rate: cosine from ``lr`` to 0 over ``epochs``.
"""
import json
import logging
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from bnn.kws import data as kdata
from bnn.kws import manifests
from bnn.kws.augment import Augmenter
from bnn.kws.binarize import (binary_layers, clip_latent_weights, init_input_scales_from_data,
                              slope_and_threshold_params)
from bnn.kws.distill import fid_loss
from bnn.kws.features import make_extractor
from bnn.kws.model import DFSMN, init_from_teacher
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

log = logging.getLogger(__name__)
FORMAT = "bnn-kws-v1"
TRAIN_DEFAULTS = {"epochs": 20, "batch_size": 96, "optimizer": "adam", "lr": 1e-3,
                  "momentum": 0.9, "weight_decay": 1e-4, "schedule": "cosine",
                  "thin_weights": [1.0], "slope_lr_scale": 0.1, "init_from_teacher": False,
                  "kd_alpha": 0.0, "augment": {}, "seed": 1, "limit_train": None,
                  "input_scale_init": None}


def save_model(model: DFSMN, path: str, extra=None) -> None:
    obj = {"format": FORMAT, "model_cfg": dict(model.cfg), "state_dict": model.state_dict()}
    obj.update(extra or {})
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_model(path: str) -> tuple:
    """``(model in eval mode, payload)`` from a KWS checkpoint or a model directory."""
    if os.path.isdir(path):
        path = os.path.join(path, "final.pt")
    if not os.path.isfile(path):
        raise BnnError(f"{path}: KWS model not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001
        raise BnnError(f"{path}: not a readable checkpoint ({type(err).__name__})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise BnnError(f"{path}: not a bnn KWS checkpoint")
    cfg = dict(obj["model_cfg"])
    model = DFSMN(cfg.pop("num_classes"), **cfg)
    model.load_state_dict(obj["state_dict"])
    return model.eval(), obj


def _optimizer(model, t):
    slopes = {id(p) for p in slope_and_threshold_params(model)}
    groups = [{"params": [p for p in model.parameters() if id(p) not in slopes], "lr": t["lr"]}]
    if slopes:
        groups.append({"params": slope_and_threshold_params(model),
                       "lr": t["lr"] * t["slope_lr_scale"], "weight_decay": 0.0})
    for g in groups:
        g["base_lr"] = g["lr"]
    if t["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=t["lr"], momentum=t["momentum"],
                               weight_decay=t["weight_decay"])
    if t["optimizer"] == "adam":
        return torch.optim.AdamW(groups, lr=t["lr"], weight_decay=t["weight_decay"])
    raise BnnError(f"unknown optimizer {t['optimizer']!r} (sgd or adam)")


@torch.no_grad()
def accuracy(model, feats, labels, option=0, batch=512) -> float:
    model.eval()
    pred = torch.cat([model(feats[i:i + batch], option).argmax(1)
                      for i in range(0, len(feats), batch)])
    return float((pred == labels).float().mean())


def train(cfg: dict, train_cuts: str, dev_cuts: str, out_dir: str, teacher_path=None) -> dict:
    t = dict(TRAIN_DEFAULTS, **(cfg.get("train") or {}))
    unknown = set(t) - set(TRAIN_DEFAULTS)
    if unknown:
        raise BnnError(f"unknown train options {sorted(unknown)}")
    task = cfg.get("task", "sc12")
    fkind = (cfg.get("features") or {}).get("type", "logmel")
    classes = manifests.classes(task)
    os.makedirs(out_dir, exist_ok=True)
    if os.path.isfile(os.path.join(out_dir, ".done")):
        log.info("%s is complete (.done); nothing to do", out_dir)
        return json.load(open(os.path.join(out_dir, "train_summary.json")))
    torch.manual_seed(t["seed"])
    trn = kdata.ClipSet(train_cuts, task, t["limit_train"])
    dev = kdata.ClipSet(dev_cuts, task)
    log.info("train %d clips, dev %d clips, %d classes, %d Hz, features %s",
             len(trn), len(dev), len(classes), trn.sr, fkind)
    extractor = make_extractor(fkind, trn.sr)
    dev_x, dev_y = kdata.features_of(dev, fkind)
    mcfg = dict(cfg.get("model") or {})
    model = DFSMN(len(classes), **mcfg)
    teacher = None
    kd = float(t["kd_alpha"])
    if t["init_from_teacher"] or kd > 0:
        if not teacher_path:
            raise BnnError("this config needs a teacher model (--teacher): init_from_teacher "
                           "or kd_alpha > 0")
        teacher, _ = load_model(teacher_path)
        if teacher.cfg["num_classes"] != len(classes):
            raise BnnError(f"{teacher_path}: teacher has {teacher.cfg['num_classes']} outputs, "
                           f"task {task} has {len(classes)} classes")
        for p in teacher.parameters():
            p.requires_grad_(False)
    if t["init_from_teacher"]:
        init_from_teacher(model, teacher)
    else:
        # per-bin input normalisation from the un-augmented training features
        tr_x, _ = kdata.features_of(trn, fkind)
        model.feat_mean.copy_(tr_x.mean((0, 1)))
        model.feat_std.copy_(tr_x.std((0, 1)).clamp_min(1e-3))
    if t["input_scale_init"] == "data":
        idx = np.random.default_rng(t["seed"]).permutation(len(trn))[:256]
        sub = [trn.audio(i) for i in idx]
        n = init_input_scales_from_data(model, extractor(torch.from_numpy(np.stack(sub))))
        log.info("input scales of %d dual-scale activations set to their input std", n)
    elif t["input_scale_init"] is not None:
        raise BnnError(f"train.input_scale_init {t['input_scale_init']!r}: expected data or null")
    weights = [float(w) for w in t["thin_weights"]]
    if len(weights) > model.num_options:
        raise BnnError(f"thin_weights has {len(weights)} entries, the model {model.num_options}")
    if model.cfg["mode"] != "float" and not binary_layers(model):
        raise BnnError("binary mode without binary layers")
    opt = _optimizer(model, t)
    aug = None
    if t["augment"] is not None:
        aug = Augmenter(trn.sr, trn.noise_clips(), **t["augment"])
        log.info("augmentation %s, %d noise clips", aug.o, len(aug.noises))
    hist, start, best = [], 0, -1.0
    ep_path = os.path.join(out_dir, "epoch.pt")
    if os.path.isfile(ep_path):
        st = torch.load(ep_path, map_location="cpu", weights_only=True)
        model.load_state_dict(st["state_dict"])
        opt.load_state_dict(st["optimizer"])
        hist, start, best = st["history"], st["epoch"], st["best"]
        log.info("resuming after epoch %d", start)
    for epoch in range(start, t["epochs"]):
        frac = epoch / t["epochs"]
        scale = 0.5 * (1 + math.cos(math.pi * frac)) if t["schedule"] == "cosine" else 1.0
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * scale
        model.train()
        rng = np.random.default_rng([t["seed"], epoch])
        tic, tot, n = time.time(), 0.0, 0
        for x, y in kdata.batches(trn, extractor, t["batch_size"], rng, aug):
            opt.zero_grad()
            tfeats = tlogits = None
            if kd > 0:
                with torch.no_grad():
                    tlogits, tfeats = teacher(x, 0, True)
            loss = 0.0
            for o, w in enumerate(weights):
                if kd > 0:
                    z, feats = model(x, o, True)
                    lo = F.cross_entropy(z, y) + kd * fid_loss(feats, tfeats, z, tlogits)
                else:
                    lo = F.cross_entropy(model(x, o), y)
                loss = loss + w * lo
            loss.backward()
            opt.step()
            clip_latent_weights(model)
            tot += float(loss.detach()) * len(y)
            n += len(y)
        accs = [accuracy(model, dev_x, dev_y, o) for o in range(len(weights))]
        rec = {"epoch": epoch + 1, "loss": tot / n, "dev_acc": accs, "lr": opt.param_groups[0]["lr"],
               "seconds": round(time.time() - tic, 1)}
        hist.append(rec)
        log.info("epoch %d loss %.4f dev acc %s (%.0fs)", epoch + 1, rec["loss"],
                 " ".join(f"o{o}={a:.4f}" for o, a in enumerate(accs)), rec["seconds"])
        if accs[0] > best:
            best = accs[0]
            save_model(model, os.path.join(out_dir, "best.pt"), {"epoch": epoch + 1, "task": task,
                                                                  "features": fkind})
        torch.save({"state_dict": model.state_dict(), "optimizer": opt.state_dict(),
                    "epoch": epoch + 1, "history": hist, "best": best}, ep_path + ".tmp")
        os.replace(ep_path + ".tmp", ep_path)
    best_model, _ = load_model(os.path.join(out_dir, "best.pt"))
    save_model(best_model, os.path.join(out_dir, "final.pt"),
               {"task": task, "features": fkind, "thin_options": len(weights),
                "best_epoch": max(hist, key=lambda r: r["dev_acc"][0])["epoch"]})
    summary = {"task": task, "features": fkind, "model": best_model.cfg, "train": t,
               "history": hist, "best_dev_acc": best, "train_clips": len(trn),
               "dev_clips": len(dev)}
    with atomic_write(os.path.join(out_dir, "train_summary.json")) as f:
        json.dump(summary, f, indent=1)
    with atomic_write(os.path.join(out_dir, ".done")) as f:
        f.write("done\n")
    return summary
