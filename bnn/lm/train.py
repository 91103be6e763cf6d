"""Training and evaluation of LSTM LMs.

* Loss: cross entropy on the next word; with a teacher (soft binarization, Ma, Liu & Yu 2019 as
  described in Yu et al. TASLP 2020: float scalars + knowledge distillation) the loss is
  ``(1 - lambda) * CE(y, p_s) + lambda * KL(p_t || p_s)``, ``p_t`` the float teacher's next-word
  distribution on the same input, ``p_s`` the student's (temperature 1; KL summed over the
  vocabulary, averaged over tokens).
* Optimiser Adam; gradient norm clipped; after each update the latent binary weights are clipped
  to [-1, 1].  After every epoch the held-out perplexity is measured: when it does not improve the
  model returns to the best epoch and the learning rate is halved (Liu, Cao & Yu 2018 halve the
  learning rate when validation perplexity does not improve); training stops after
  ``max_halvings`` halvings or ``epochs`` epochs.  The best-on-held-out model is ``final.pt``.
* Resumable: ``last.pt`` holds model, optimiser, learning rate and epoch; a rerun continues.
"""
import json
import logging
import math
import os
import time
from typing import Optional

import torch
from torch.nn import functional as F

from bnn.lm.data import batchify, chunks
from bnn.lm.model import LMConfig, LSTMLM, detach_state
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

log = logging.getLogger("bnn.lm")


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """``KL(p_t || p_s)`` summed over words, averaged over tokens."""
    lt = F.log_softmax(teacher_logits.reshape(-1, teacher_logits.size(-1)), dim=-1)
    ls = F.log_softmax(student_logits.reshape(-1, student_logits.size(-1)), dim=-1)
    return (lt.exp() * (lt - ls)).sum(-1).mean()


@torch.no_grad()
def evaluate(model: LSTMLM, ids: torch.Tensor, batch: int = 10, bptt: int = 35) -> float:
    """Perplexity ``exp(-1/N sum log p(w_t | w_<t))`` over the ``batch`` streams of ``ids``
    (every token including ``<eos>``; the state is carried across chunks)."""
    model.eval()
    data = batchify(ids, batch)
    state, nll, n = None, 0.0, 0
    for x, y in chunks(data, bptt):
        logits, state = model(x, state)
        nll += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
        n += y.numel()
    return math.exp(nll / n)


def load_model(path: str) -> LSTMLM:
    """A ``final.pt``/``last.pt`` checkpoint of :func:`train_lm`, in eval mode."""
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
        model = LSTMLM(LMConfig.from_dict(ck["config"]))
        model.load_state_dict(ck["model"])
    except (OSError, KeyError, RuntimeError) as err:
        raise BnnError(f"{path}: cannot load LM checkpoint ({err})") from None
    model.eval()
    return model


def _save(path: str, obj) -> None:
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_lm(cfg: LMConfig, train_ids: torch.Tensor, heldout_ids: torch.Tensor, out_dir: str,
             epochs: int = 6, lr: float = 2e-3, batch: int = 20, bptt: int = 35, clip: float = 0.25,
             teacher: Optional[LSTMLM] = None, kd_weight: float = 0.0, max_halvings: int = 3,
             seed: int = 1, init_from: Optional[LSTMLM] = None) -> float:
    """Train (or resume) an LM in ``out_dir``; returns the best held-out perplexity."""
    os.makedirs(out_dir, exist_ok=True)
    if not 0.0 <= kd_weight <= 1.0:
        raise BnnError(f"KD weight must be in [0, 1], got {kd_weight}")
    if kd_weight > 0 and teacher is None:
        raise BnnError("a KD weight > 0 needs a teacher model")
    if teacher is not None and teacher.cfg.vocab_size != cfg.vocab_size:
        raise BnnError(f"teacher vocabulary {teacher.cfg.vocab_size} != student vocabulary {cfg.vocab_size}")
    torch.manual_seed(seed)
    model = LSTMLM(cfg)
    if init_from is not None:  # start the binary student from the float teacher's weights
        missing = model.load_state_dict(init_from.state_dict(), strict=False)
        if missing.unexpected_keys:
            raise BnnError(f"cannot initialise from a model with {missing.unexpected_keys}")
        model.clip_latents_()
        for name, w in model.binary_latents().items():
            model.binarizers[name.replace(".", "__")].init_from(w)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    state = {"epoch": 0, "lr": lr, "best": math.inf, "halvings": 0, "history": []}
    last, final = os.path.join(out_dir, "last.pt"), os.path.join(out_dir, "final.pt")
    if os.path.isfile(last):
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        state = ck["state"]
        log.info("resuming %s after epoch %d (lr %g, best held-out ppl %.2f)", out_dir, state["epoch"],
                 state["lr"], state["best"])
    data = batchify(train_ids, batch)
    if teacher is not None:
        teacher.eval()
    while state["epoch"] < epochs and state["halvings"] <= max_halvings:
        epoch = state["epoch"] + 1
        torch.manual_seed(seed * 1000 + epoch)  # seed per epoch (dropout)
        for g in opt.param_groups:
            g["lr"] = state["lr"]
        model.train()
        t0, tot, n, hs, ts = time.time(), 0.0, 0, None, None
        for x, y in chunks(data, bptt):
            hs = None if hs is None else detach_state(hs)
            logits, hs = model(x, hs)
            ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            loss = ce
            if teacher is not None and kd_weight > 0:
                with torch.no_grad():
                    t_logits, ts = teacher(x, ts)
                loss = (1.0 - kd_weight) * ce + kd_weight * kd_loss(logits, t_logits)
            opt.zero_grad()
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            model.clip_latents_()
            tot += ce.item() * y.numel()
            n += y.numel()
        ppl = evaluate(model, heldout_ids)
        rec = {"epoch": epoch, "lr": state["lr"], "train_ppl": math.exp(tot / n), "heldout_ppl": ppl,
               "seconds": round(time.time() - t0, 1)}
        state["history"].append(rec)
        log.info("epoch %d lr %g train ppl %.2f held-out ppl %.2f (%.0f s)", epoch, state["lr"],
                 rec["train_ppl"], ppl, rec["seconds"])
        if ppl < state["best"]:
            state["best"] = ppl
            _save(final, {"config": cfg.to_dict(), "model": model.state_dict(), "epoch": epoch, "heldout_ppl": ppl})
        else:
            best = torch.load(final, map_location="cpu", weights_only=False)
            model.load_state_dict(best["model"])
            state["lr"] /= 2
            state["halvings"] += 1
            log.info("held-out perplexity did not improve: back to epoch %d, lr halved to %g", best["epoch"],
                     state["lr"])
        state["epoch"] = epoch
        _save(last, {"model": model.state_dict(), "optim": opt.state_dict(), "state": state})
    with atomic_write(os.path.join(out_dir, "history.json")) as f:
        json.dump(state["history"], f, indent=1)
    return state["best"]


def load_lm(path: str):
    """(model, vocab) from an LM dir (``final.pt`` + ``words.txt``) or a packed export ``*.npz``
    (with ``words.txt`` beside it)."""
    from bnn.lm.data import Vocab
    from bnn.lm.export import load_packed
    if os.path.isdir(path):
        model, vdir = load_model(os.path.join(path, "final.pt")), path
    elif path.endswith(".npz"):
        model, vdir = load_packed(path), os.path.dirname(path) or "."
    else:
        raise BnnError(f"{path}: expected an LM dir or a packed .npz export")
    vocab = Vocab.read(os.path.join(vdir, "words.txt"))
    if len(vocab) != model.cfg.vocab_size:
        raise BnnError(f"{vdir}/words.txt: {len(vocab)} words but the model has {model.cfg.vocab_size}")
    return model, vocab
