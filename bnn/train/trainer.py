"""Frame-level cross-entropy training of (binary) acoustic models — Kaldi nnet1 style.

One trainer serves the float baseline and every binarized config: the model supplies
``before_optimizer_step()`` (per-layer gradient-norm clipping, Lu et al. Eq. 7) and
``after_optimizer_step(generator)`` (weight clipping, Lu Eq. 4; semi-stochastic binarization,
Lu Alg. 1 lines 19-21); the loss is cross-entropy or knowledge distillation (Qian & Xiang
Eq. 16) with teacher posteriors computed on the fly.

Reproducibility: epoch ``e`` shuffles with ``default_rng([seed, e])`` and re-seeds torch with
``seed * 1000 + e``, so a run resumed from the checkpoint of epoch ``e - 1`` replays epoch ``e``
exactly.  Multi-process training (``torchrun``) shards utterances by rank and wraps the model in
DistributedDataParallel; only rank 0 writes files.
"""
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from bnn.data.batched import sequential_batches, shuffled_batches, tensor_frontend_for
from bnn.data.frames import UtteranceSource, sequential_minibatches, shuffled_minibatches
from bnn.train import checkpoint
from bnn.train.schedule import Newbob, exponential_lr
from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

TRAIN_DEFAULTS = {
    "optimizer": "sgd",       # sgd | adam
    "lr": 0.008,              # Lu et al.: 0.008 for the float baseline, 0.001 for binary nets
    "momentum": 0.0,          # Kaldi nnet1's default
    "loss_reduction": "sum",  # sum: gradient summed over the minibatch (Kaldi nnet1, so lr 0.008
                              # means what it means in Kaldi/Lu et al.); mean: PyTorch's usual
    "weight_decay": 0.0,
    "schedule": "newbob",     # newbob | exponential | constant
    "lr_decay": 0.5,          # exponential: lr_e = lr * lr_decay ** e
    "epochs": 20,             # maximum number of epochs
    "min_epochs": 1,
    "patience": 0,            # early stopping after this many epochs without CV gain (0: off)
    "batch_size": 256,
    "buffer_frames": 100000,  # frame-shuffling buffer (bounded memory)
    "cv_batch_size": 4096,
    "kd": None,               # {"lambda": 0.5}: J = lambda J_hard + (1 - lambda) J_soft
    "bn_reestimate_frames": 0,  # >0: after each epoch, batch-norm statistics of the eval-mode
                              # (deterministic) net on this many training frames (issue 14)
    # training at scale (issue 16; docs/training.md)
    "input_pipeline": "batched",  # batched: bnn.data.batched (tensor ops on the training device,
                              # bit-identical minibatches); numpy: bnn.data.frames
    "input_workers": 0,       # reader processes of the batched pipeline (0: in the trainer)
    "autocast": "none",       # none | bf16 | fp16: mixed precision on CUDA (ignored on CPU)
    "compile": False,         # torch.compile the model (CUDA; slow first steps)
    "lr_batch_rule": "none",  # none | linear | sqrt: lr * (batch_size / lr_base_batch) ** (1 | 1/2)
    "lr_base_batch": 256,     # the minibatch size the configured lr was tuned for
}


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Join a torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank=dist.get_rank(), world=dist.get_world_size())


def _allreduce(values: List[float], dist_info: DistInfo, op: str = "sum") -> List[float]:
    if dist_info.world == 1:
        return values
    import torch.distributed as dist
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MIN)
    return t.tolist()


def train_config(cfg: dict) -> dict:
    out = dict(TRAIN_DEFAULTS)
    out.update(cfg.get("train") or {})
    if out["loss_reduction"] not in ("sum", "mean"):
        raise BnnError(f"train.loss_reduction: expected sum or mean, got {out['loss_reduction']!r}")
    unknown = set(out) - set(TRAIN_DEFAULTS) - {"init_from", "seed", "grad_clip", "notes",
                                                "teacher"}
    if unknown:
        raise BnnError(f"unknown train options in config: {sorted(unknown)}")
    return out


def make_optimizer(params, tcfg: dict) -> torch.optim.Optimizer:
    if tcfg["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=tcfg["lr"], momentum=tcfg["momentum"],
                               weight_decay=tcfg["weight_decay"])
    if tcfg["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=tcfg["lr"], weight_decay=tcfg["weight_decay"])
    raise BnnError(f"unknown optimizer '{tcfg['optimizer']}' (sgd or adam)")


def frame_loss(logits, targets, teacher_logits, kd_lambda):
    """Cross-entropy, or Qian & Xiang Eq. 16 when a teacher is given."""
    if teacher_logits is None:
        return F.cross_entropy(logits, targets, reduction="sum")
    from bnn.train.losses import kd_loss
    return kd_loss(logits, targets, teacher_logits, kd_lambda) * logits.shape[0]


def lr_batch_factor(tcfg: dict) -> float:
    """Learning-rate multiplier for a minibatch of ``batch_size`` frames when ``lr`` was tuned at
    ``lr_base_batch``: 1 (rule none), ``B / B0`` (linear: Goyal et al. 2017, SGD with mean
    gradients) or ``sqrt(B / B0)`` (sqrt: Krizhevsky 2014 / Malladi et al. 2022, Adam).  With
    ``loss_reduction: sum`` SGD already scales its step with B, so keep ``none`` there."""
    rule = tcfg.get("lr_batch_rule", "none")
    ratio = tcfg["batch_size"] / float(tcfg.get("lr_base_batch", 256))
    if rule == "none":
        return 1.0
    if rule == "linear":
        return ratio
    if rule == "sqrt":
        return math.sqrt(ratio)
    raise BnnError(f"train.lr_batch_rule: expected none, linear or sqrt, got {rule!r}")


def _tensor_frontend(source, device, tcfg):
    """The batched input pipeline's front end, or None for the numpy one (bnn.data.frames)."""
    choice = (tcfg or {}).get("input_pipeline", "batched")
    if choice not in ("batched", "numpy"):
        raise BnnError(f"train.input_pipeline: expected batched or numpy, got {choice!r}")
    return tensor_frontend_for(source, device) if choice == "batched" else None


def evaluate(model, source: UtteranceSource, utts, batch_size, device, dist_info,
             tcfg=None) -> dict:
    """Cross-entropy and frame accuracy on held-out utterances (eval mode)."""
    model.eval()
    tot_loss, tot_correct, tot_frames = 0.0, 0.0, 0.0
    tf = _tensor_frontend(source, device, tcfg)
    batches = (sequential_batches(source, utts, batch_size, tf) if tf is not None
               else sequential_minibatches(source, utts, batch_size))
    with torch.no_grad():
        for x, y in batches:
            xt = torch.as_tensor(x).to(device)
            yt = torch.as_tensor(y).to(device)
            logits = model(xt)
            tot_loss += F.cross_entropy(logits, yt, reduction="sum").item()
            tot_correct += (logits.argmax(dim=1) == yt).sum().item()
            tot_frames += len(y)
    tot_loss, tot_correct, tot_frames = _allreduce([tot_loss, tot_correct, tot_frames], dist_info)
    if tot_frames == 0:
        raise BnnError("no cross-validation frames: check the CV data and its alignments")
    return {"loss": tot_loss / tot_frames, "acc": 100.0 * tot_correct / tot_frames,
            "frames": int(tot_frames)}


class Progress:
    """A one-line progress display on a terminal; silent when stderr is a log file."""

    def __init__(self, epoch: int):
        self.enabled = sys.stderr.isatty()
        self.epoch = epoch
        self.last = 0.0

    def update(self, frames: int, loss: float, acc: float):
        now = time.time()
        if self.enabled and now - self.last > 0.5:
            self.last = now
            print(f"\repoch {self.epoch}: {frames} frames, loss {loss:.4f}, acc {acc:.2f}%",
                  end="", file=sys.stderr, flush=True)

    def close(self):
        if self.enabled:
            print(file=sys.stderr)


def train_epoch(model, raw_model, optimizer, source, utts, tcfg, epoch, seed, device,
                dist_info, teacher=None) -> dict:
    """One pass over the shuffled training frames; returns mean loss, accuracy, frames."""
    model.train()
    rng = np.random.default_rng([seed, epoch])
    torch.manual_seed(seed * 1000 + epoch)
    gen = torch.Generator().manual_seed(seed * 1000 + epoch)
    kd = tcfg.get("kd") or None
    kd_lambda = float(kd["lambda"]) if kd else 1.0
    tf = _tensor_frontend(source, device, tcfg)
    if tf is not None:
        batches = shuffled_batches(source, utts, tcfg["batch_size"], tcfg["buffer_frames"], rng,
                                   tf, drop_last=dist_info.world > 1,
                                   num_workers=tcfg.get("input_workers", 0))
    else:
        batches = shuffled_minibatches(source, utts, tcfg["batch_size"], tcfg["buffer_frames"],
                                       rng, drop_last=dist_info.world > 1)
    amp = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}.get(
        tcfg.get("autocast", "none"), "bad")
    if amp == "bad":
        raise BnnError(f"train.autocast: expected none, bf16 or fp16, got {tcfg['autocast']!r}")
    amp = amp if device.type == "cuda" else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp is torch.float16)
    tot_loss = tot_correct = tot_frames = 0.0
    progress = Progress(epoch)
    start = time.time()
    while True:
        batch = next(batches, None)
        # Ranks stop together at the first exhausted shard, so DDP all-reduces stay matched.
        if _allreduce([0.0 if batch is None else 1.0], dist_info, op="min")[0] == 0.0:
            break
        x, y = batch
        xt = torch.as_tensor(x).to(device, non_blocking=True)
        yt = torch.as_tensor(y).to(device, non_blocking=True)
        teacher_logits = None
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            if teacher is not None:
                with torch.no_grad():
                    teacher_logits = teacher(xt)
            logits = model(xt)
            loss = frame_loss(logits.float(), yt, teacher_logits, kd_lambda)
        if not torch.isfinite(loss):
            raise BnnError(f"training diverged: loss {loss.item()} at epoch {epoch} after "
                           f"{int(tot_frames)} frames (lower train.lr in the config)")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss if tcfg["loss_reduction"] == "sum" else loss / len(y)).backward()
        scaler.unscale_(optimizer)      # fp16: true gradients for the per-layer clipping
        raw_model.before_optimizer_step()
        scaler.step(optimizer)
        scaler.update()
        raw_model.after_optimizer_step(gen)
        tot_loss += loss.item()
        tot_correct += (logits.detach().argmax(dim=1) == yt).sum().item()
        tot_frames += len(y)
        progress.update(int(tot_frames), tot_loss / tot_frames, 100.0 * tot_correct / tot_frames)
    progress.close()
    tot_loss, tot_correct, tot_frames = _allreduce([tot_loss, tot_correct, tot_frames], dist_info)
    if tot_frames == 0:
        raise BnnError("no training frames: check the training data and its alignments")
    elapsed = time.time() - start
    return {"loss": tot_loss / tot_frames, "acc": 100.0 * tot_correct / tot_frames,
            "frames": int(tot_frames), "seconds": round(elapsed, 2),
            "frames_per_sec": round(tot_frames / max(elapsed, 1e-9), 1),
            "skipped_utts": source.num_skipped}


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def run_training(*, model, model_payload: dict, out_dir: str, tcfg: dict, train_source,
                 train_utts, cv_source, cv_utts, seed: int, device: torch.device,
                 resume: bool, teacher=None, dist_info: Optional[DistInfo] = None) -> dict:
    """Train ``model`` and write ``out_dir/final.pt`` (best on CV), per-epoch checkpoints,
    ``history.json``.  ``model_payload`` holds the non-weight fields of ``final.pt``.
    Returns the history dict."""
    dist_info = dist_info or DistInfo()
    raw_model = model
    model.to(device)
    if dist_info.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        model = DDP(raw_model, device_ids=[device.index] if device.type == "cuda" else None)
    if tcfg.get("compile"):
        model = torch.compile(model)    # the hooks (clipping, binarisation) stay on raw_model
    params = [p for p in raw_model.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, tcfg)
    newbob = Newbob(lr=tcfg["lr"], min_epochs=tcfg["min_epochs"])
    ckpt_dir = os.path.join(out_dir, "checkpoints")
    history = {"epochs": [], "config": model_payload["config"]}
    start_epoch = 0
    best_state = None
    best_cv = math.inf
    best_epoch = None        # -1: the initial (--init-from) model was never beaten on CV
    bad_epochs = 0

    last = latest_checkpoint(ckpt_dir) if resume else None
    if last is not None:
        state = checkpoint.load(last)
        raw_model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        newbob.load_state_dict(state["newbob"])
        history = state["history"]
        start_epoch = state["epoch"] + 1
        best_cv = state["best_cv"]
        bad_epochs = state["bad_epochs"]
        best_state = state["best_state"]
        best_epoch = state.get("best_epoch")
        logger.info("resuming from %s (epoch %d done)", last, state["epoch"])
    elif resume:
        logger.info("--resume: no checkpoint in %s, starting from scratch", ckpt_dir)

    if start_epoch == 0:
        cv0 = evaluate(model, cv_source, cv_utts, tcfg["cv_batch_size"], device, dist_info,
                       tcfg)
        logger.info("initial CV: loss %.4f acc %.2f%% (%d frames)", cv0["loss"], cv0["acc"],
                    cv0["frames"])
        history["initial_cv"] = cv0
        if teacher is None and "init_from" in model_payload:
            best_cv = cv0["loss"]
            best_epoch = -1
            best_state = {k: v.detach().cpu().clone() for k, v in raw_model.state_dict().items()}

    for epoch in range(start_epoch, tcfg["epochs"]):
        lr = (exponential_lr(tcfg["lr"], tcfg["lr_decay"], epoch)
              if tcfg["schedule"] == "exponential"
              else newbob.lr if tcfg["schedule"] == "newbob" else tcfg["lr"])
        set_lr(optimizer, lr * lr_batch_factor(tcfg))
        tr = train_epoch(model, raw_model, optimizer, train_source, train_utts, tcfg, epoch,
                         seed, device, dist_info, teacher)
        if tcfg["bn_reestimate_frames"]:   # bnn.nn.models.AcousticModel.reestimate_bn_stats_
            order = np.random.default_rng([seed, epoch, 1]).permutation(len(train_utts))
            n = raw_model.reestimate_bn_stats_(
                (torch.from_numpy(x).to(device) for x, _ in sequential_minibatches(
                    train_source, [train_utts[i] for i in order], tcfg["batch_size"])),
                max_frames=int(tcfg["bn_reestimate_frames"]))
            logger.info("epoch %d: batch-norm statistics re-estimated on %d frames of the "
                        "eval-mode net", epoch, n)
        cv = evaluate(model, cv_source, cv_utts, tcfg["cv_batch_size"], device, dist_info,
                       tcfg)
        accept = True
        stop = False
        if tcfg["schedule"] == "newbob":
            accept, stop = newbob.step(epoch, cv["loss"])
            if not accept and best_state is not None:
                raw_model.load_state_dict(best_state)  # nnet1: reject the epoch
        if cv["loss"] < best_cv:
            best_cv = cv["loss"]
            best_epoch = epoch
            best_state = {k: v.detach().cpu().clone() for k, v in raw_model.state_dict().items()}
            bad_epochs = 0
        else:
            bad_epochs += 1
        if tcfg["patience"] and bad_epochs >= tcfg["patience"] and epoch + 1 >= tcfg["min_epochs"]:
            stop = True
        row = {"epoch": epoch, "lr": lr, "train_loss": tr["loss"], "train_acc": tr["acc"],
               "cv_loss": cv["loss"], "cv_acc": cv["acc"], "train_frames": tr["frames"],
               "cv_frames": cv["frames"], "seconds": tr["seconds"],
               "frames_per_sec": tr["frames_per_sec"], "skipped_utts": tr["skipped_utts"],
               "accepted": accept}
        history["epochs"].append(row)
        logger.info("epoch %d: lr %.6g train loss %.4f acc %.2f%% | cv loss %.4f acc %.2f%% | "
                    "%.0f frames/s%s", epoch, lr, tr["loss"], tr["acc"], cv["loss"], cv["acc"],
                    tr["frames_per_sec"], "" if accept else " (rejected)")
        if dist_info.is_main:
            checkpoint.save({"format": checkpoint.FORMAT, "epoch": epoch,
                             "state_dict": raw_model.state_dict(),
                             "optimizer": optimizer.state_dict(), "newbob": newbob.state_dict(),
                             "history": history, "best_cv": best_cv, "bad_epochs": bad_epochs,
                             "best_state": best_state, "best_epoch": best_epoch},
                            os.path.join(ckpt_dir, f"epoch_{epoch}.pt"))
            write_json(os.path.join(out_dir, "history.json"), history)
        if stop:
            logger.info("stopping after epoch %d (%s)", epoch,
                        "newbob" if tcfg["schedule"] == "newbob" else "early stopping")
            break

    if best_state is None:
        best_state = raw_model.state_dict()
    history["best_cv_loss"] = best_cv
    history["best_epoch"] = best_epoch
    if best_epoch == -1:
        logger.warning("no epoch improved the CV loss of the initial model (%.4f): final.pt is "
                       "the initial model", best_cv)
    if dist_info.is_main:
        payload = dict(model_payload)
        payload["state_dict"] = best_state
        checkpoint.save(payload, os.path.join(out_dir, "final.pt"))
        write_json(os.path.join(out_dir, "history.json"), history)
    return history


def latest_checkpoint(ckpt_dir: str) -> Optional[str]:
    if not os.path.isdir(ckpt_dir):
        return None
    epochs = []
    for name in os.listdir(ckpt_dir):
        if name.startswith("epoch_") and name.endswith(".pt"):
            try:
                epochs.append(int(name[len("epoch_"):-3]))
            except ValueError:
                continue
    return os.path.join(ckpt_dir, f"epoch_{max(epochs)}.pt") if epochs else None


def write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)
