"""A model directory describes itself (Kaldi steps/nnet/train.sh style).

``exp/<model>/`` holds ``final.pt`` (network config + weights + the input normalisation +
feature options), ``final.mdl`` and ``tree`` (the transition model the targets came from),
``ali_train_pdf.counts`` (pdf counts, the priors), ``cmvn_opts``, ``delta_opts``,
``splice_opts``, ``num_pdfs``, ``history.json`` and ``log/``.  ``bnn-forward`` and
``steps/decode.sh`` need only this directory and a graph.

The feature front end applied to raw features of an utterance is, in Kaldi's order:
per-speaker CMVN (``apply-cmvn``), deltas (``add-deltas``), splicing ±N (``splice-feats``),
then a global per-dimension mean/variance normalisation estimated on training frames (what
nnet1 stores in ``final.feature_transform``).
"""
import logging
import os
from typing import Callable, Dict, Optional

import kaldiio
import numpy as np

from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

DEFAULT_FEATURE_OPTS = {"norm_means": True, "norm_vars": False, "delta_order": 0,
                        "splice": 5}


def feature_opts_from_args(cmvn_opts: str, delta_order: int, splice: int) -> dict:
    """Parse Kaldi ``cmvn_opts`` text (``--norm-means=true --norm-vars=false``) plus delta/splice."""
    opts = dict(DEFAULT_FEATURE_OPTS)
    for tok in (cmvn_opts or "").split():
        if "=" not in tok:
            raise BnnError(f"cmvn_opts: cannot parse '{tok}' (expected --name=value)")
        name, value = tok.split("=", 1)
        key = name.lstrip("-").replace("-", "_")
        if key not in ("norm_means", "norm_vars"):
            raise BnnError(f"cmvn_opts: unsupported option '{name}'")
        opts[key] = value.lower() in ("true", "1", "yes")
    opts["delta_order"] = int(delta_order)
    opts["splice"] = int(splice)
    return opts


def read_table(path: str) -> Dict[str, str]:
    table = {}
    with open(path) as f:
        for line in f:
            fields = line.split(None, 1)
            if fields:
                table[fields[0]] = fields[1].strip() if len(fields) > 1 else ""
    return table


class FeatureFrontend:
    """Raw features of one utterance -> network input frames.

    Args:
        opts: feature options (``norm_means``, ``norm_vars``, ``delta_order``, ``splice``).
        data_dir: a Kaldi data dir with ``cmvn.scp`` (+ ``utt2spk`` when stats are per speaker);
            needed when CMVN is on.  ``cmvn_rspecifier``/``utt2spk`` override those files.
        input_mean, input_std: the global normalisation of the spliced frames (may be None
            while it is being estimated).
    """

    def __init__(self, opts: dict, data_dir: Optional[str] = None,
                 cmvn_rspecifier: Optional[str] = None, utt2spk: Optional[str] = None,
                 input_mean: Optional[np.ndarray] = None, input_std: Optional[np.ndarray] = None):
        self.opts = dict(opts)
        self.input_mean = input_mean
        self.input_std = input_std
        self._cmvn = None
        self._utt2spk = None
        self._cmvn_name = None
        if self.opts["norm_means"] or self.opts["norm_vars"]:
            if cmvn_rspecifier is None:
                if data_dir is None:
                    raise BnnError("CMVN is on but no data dir / cmvn stats were given")
                cmvn_path = os.path.join(data_dir, "cmvn.scp")
                if not os.path.isfile(cmvn_path):
                    raise BnnError(f"{cmvn_path}: missing (CMVN stats; run "
                                   "steps/compute_cmvn_stats.sh)")
                cmvn_rspecifier = "scp:" + cmvn_path
                u2s = os.path.join(data_dir, "utt2spk")
                utt2spk = utt2spk or (u2s if os.path.isfile(u2s) else None)
            self._cmvn_name = cmvn_rspecifier
            if cmvn_rspecifier.startswith("scp:"):
                self._cmvn = kaldiio.load_scp(cmvn_rspecifier[4:])
            else:
                self._cmvn = dict(kaldiio.ReadHelper(cmvn_rspecifier))
            self._utt2spk = read_table(utt2spk) if utt2spk else None

    def cmvn_stats(self, utt: str) -> np.ndarray:
        key = self._utt2spk.get(utt, utt) if self._utt2spk is not None else utt
        if self._utt2spk is not None and utt not in self._utt2spk:
            raise BnnError(f"utt2spk: no speaker for utterance {utt}")
        try:
            return np.asarray(self._cmvn[key], dtype=np.float64)
        except KeyError:
            raise BnnError(f"{self._cmvn_name}: no CMVN stats for '{key}' (utterance {utt})") \
                from None

    def unnormalised(self, utt: str, feats: np.ndarray) -> np.ndarray:
        from bnn.feats.cmvn import apply_cmvn
        from bnn.feats.deltas import add_deltas
        from bnn.feats.splice import splice_feats
        x = np.asarray(feats, dtype=np.float32)
        if self._cmvn is not None:
            stats = self.cmvn_stats(utt)
            if stats.shape[1] - 1 != x.shape[1]:
                raise BnnError(f"{self._cmvn_name}: CMVN stats of dim {stats.shape[1] - 1} but "
                               f"features of utterance {utt} have dim {x.shape[1]}")
            x = apply_cmvn(x, stats, norm_means=self.opts["norm_means"],
                           norm_vars=self.opts["norm_vars"])
        if self.opts["delta_order"] > 0:
            x = add_deltas(x, order=self.opts["delta_order"])
        if self.opts["splice"] > 0:
            x = splice_feats(x, self.opts["splice"], self.opts["splice"])
        return np.asarray(x, dtype=np.float32)

    def __call__(self, utt: str, feats: np.ndarray) -> np.ndarray:
        x = self.unnormalised(utt, feats)
        if self.input_mean is not None:
            if x.shape[1] != self.input_mean.shape[0]:
                raise BnnError(f"utterance {utt}: network input dim {self.input_mean.shape[0]} "
                               f"but the feature pipeline gives {x.shape[1]}")
            x = (x - self.input_mean) / self.input_std
        return x.astype(np.float32, copy=False)

    def input_dim(self, raw_dim: int) -> int:
        dim = raw_dim * (self.opts["delta_order"] + 1)
        return dim * (2 * self.opts["splice"] + 1)


def estimate_input_norm(frontend: FeatureFrontend, source_feats, utts, max_utts: int = 500,
                        seed: int = 0):
    """Global mean / std of the spliced frames over a seeded sample of ``max_utts`` utterances."""
    rng = np.random.default_rng(seed)
    pick = utts if len(utts) <= max_utts else [utts[i] for i in
                                               sorted(rng.choice(len(utts), max_utts, False))]
    s1 = s2 = None
    n = 0
    for utt in pick:
        x = frontend.unnormalised(utt, np.asarray(source_feats[utt])).astype(np.float64)
        s1 = x.sum(0) if s1 is None else s1 + x.sum(0)
        s2 = (x * x).sum(0) if s2 is None else s2 + (x * x).sum(0)
        n += len(x)
    if not n:
        raise BnnError("cannot estimate input normalisation: no frames")
    mean = s1 / n
    std = np.sqrt(np.maximum(s2 / n - mean * mean, 1e-8))
    return mean.astype(np.float32), std.astype(np.float32)


def load_model(path_or_dir: str):
    """Load ``final.pt`` (or a given .pt) into ``(model, payload)`` in eval mode."""
    import torch
    from bnn.nn.models import build_model
    from bnn.train import checkpoint
    path = os.path.join(path_or_dir, "final.pt") if os.path.isdir(path_or_dir) else path_or_dir
    payload = checkpoint.load(path)
    model = build_model(payload["config"]["model"], payload["input_dim"], payload["num_pdfs"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise BnnError(f"{path}: weights do not fit the config: {str(err).splitlines()[0]}") \
            from None
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    torch.set_grad_enabled(True)
    return model, payload


def frontend_from_payload(payload: dict, data_dir: Optional[str] = None,
                          cmvn_rspecifier: Optional[str] = None,
                          utt2spk: Optional[str] = None) -> FeatureFrontend:
    mean = payload["input_mean"].numpy() if payload.get("input_mean") is not None else None
    std = payload["input_std"].numpy() if payload.get("input_std") is not None else None
    return FeatureFrontend(payload["feature_opts"], data_dir=data_dir,
                           cmvn_rspecifier=cmvn_rspecifier, utt2spk=utt2spk,
                           input_mean=mean, input_std=std)


def write_kaldi_opts(out_dir: str, opts: dict) -> None:
    """Write ``cmvn_opts``, ``delta_opts``, ``splice_opts`` as Kaldi nnet1 does."""
    with open(os.path.join(out_dir, "cmvn_opts"), "w") as f:
        f.write(f"--norm-means={str(opts['norm_means']).lower()} "
                f"--norm-vars={str(opts['norm_vars']).lower()}\n")
    with open(os.path.join(out_dir, "delta_opts"), "w") as f:
        f.write(f"--delta-order={opts['delta_order']}\n" if opts["delta_order"] else "\n")
    with open(os.path.join(out_dir, "splice_opts"), "w") as f:
        f.write(f"--left-context={opts['splice']} --right-context={opts['splice']}\n")
