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

import numpy as np

from bnn.feats.pipeline import FeaturePipeline
from bnn.feats.tables import load_entry, load_scp, read_matrices
from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

def pipeline_from_args(cmvn_opts: str, delta_order: int, splice: int) -> FeaturePipeline:
    """The Kaldi pipeline ``apply-cmvn $cmvn_opts | add-deltas | splice-feats +-splice``."""
    return FeaturePipeline.from_opts(
        cmvn_opts or "",
        f"--delta-order={delta_order}" if delta_order > 0 else "",
        f"--left-context={splice} --right-context={splice}" if splice > 0 else "")


def pipeline_to_opts(pipeline: FeaturePipeline) -> dict:
    """The option strings stored in ``final.pt`` (and written as the model dir's *_opts)."""
    return {"cmvn_opts": pipeline.cmvn_opts(), "delta_opts": pipeline.delta_opts(),
            "splice_opts": pipeline.splice_opts()}


def pipeline_from_opts(opts: dict) -> FeaturePipeline:
    return FeaturePipeline.from_opts(opts["cmvn_opts"], opts["delta_opts"], opts["splice_opts"])


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
        pipeline: CMVN / deltas / splicing (:class:`bnn.feats.pipeline.FeaturePipeline`).
        data_dir: a Kaldi data dir with ``cmvn.scp`` (+ ``utt2spk`` when stats are per speaker);
            needed when CMVN is on.  ``cmvn_rspecifier``/``utt2spk`` override those files.
        input_mean, input_std: the global normalisation of the spliced frames (None while it
            is being estimated).
    """

    def __init__(self, pipeline: FeaturePipeline, data_dir: Optional[str] = None,
                 cmvn_rspecifier: Optional[str] = None, utt2spk: Optional[str] = None,
                 input_mean: Optional[np.ndarray] = None, input_std: Optional[np.ndarray] = None):
        self.pipeline = pipeline
        self.input_mean = input_mean
        self.input_std = input_std
        self._cmvn = None
        self._utt2spk = None
        self._cmvn_name = None
        if pipeline.cmvn:
            if cmvn_rspecifier is None:
                if data_dir is None:
                    raise BnnError("CMVN is on (cmvn_opts) but no data dir / CMVN stats were given")
                cmvn_path = os.path.join(data_dir, "cmvn.scp")
                if not os.path.isfile(cmvn_path):
                    raise BnnError(f"{cmvn_path}: missing (CMVN stats; run "
                                   "steps/compute_cmvn_stats.sh)")
                cmvn_rspecifier = "scp:" + cmvn_path
                u2s = os.path.join(data_dir, "utt2spk")
                utt2spk = utt2spk or (u2s if os.path.isfile(u2s) else None)
            self._cmvn_name = cmvn_rspecifier
            if cmvn_rspecifier.startswith("scp:"):
                self._cmvn = load_scp(cmvn_rspecifier[4:])
            else:
                self._cmvn = dict(read_matrices(cmvn_rspecifier))
            self._utt2spk = read_table(utt2spk) if utt2spk else None

    def cmvn_stats(self, utt: str) -> np.ndarray:
        if self._utt2spk is not None and utt not in self._utt2spk:
            raise BnnError(f"utt2spk: no speaker for utterance {utt}")
        key = self._utt2spk[utt] if self._utt2spk is not None else utt
        if key not in self._cmvn:
            raise BnnError(f"{self._cmvn_name}: no CMVN stats for '{key}' (utterance {utt})")
        if isinstance(self._cmvn, dict):
            return np.asarray(self._cmvn[key], dtype=np.float64)
        return np.asarray(load_entry(self._cmvn, key, self._cmvn_name), dtype=np.float64)

    def unnormalised(self, utt: str, feats: np.ndarray) -> np.ndarray:
        stats = self.cmvn_stats(utt) if self._cmvn is not None else None
        return self.pipeline.apply(feats, stats, utt)

    def __call__(self, utt: str, feats: np.ndarray) -> np.ndarray:
        x = self.unnormalised(utt, feats)
        if self.input_mean is not None:
            if x.shape[1] != self.input_mean.shape[0]:
                raise BnnError(f"utterance {utt}: network input dim {self.input_mean.shape[0]} "
                               f"but the feature pipeline gives {x.shape[1]}")
            x = (x - self.input_mean) / self.input_std
        return x.astype(np.float32, copy=False)

    def input_dim(self, raw_dim: int) -> int:
        return self.pipeline.output_dim(raw_dim)


def estimate_input_norm(frontend: FeatureFrontend, source_feats, utts, max_utts: int = 500,
                        seed: int = 0):
    """Global mean / std of the spliced frames over a seeded sample of ``max_utts`` utterances."""
    rng = np.random.default_rng(seed)
    pick = utts if len(utts) <= max_utts else [utts[i] for i in
                                               sorted(rng.choice(len(utts), max_utts, False))]
    s1 = s2 = None
    n = 0
    for utt in pick:
        raw = load_entry(source_feats, utt, "feats.scp")
        x = frontend.unnormalised(utt, np.asarray(raw)).astype(np.float64)
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
    return FeatureFrontend(pipeline_from_opts(payload["feature_opts"]), data_dir=data_dir,
                           cmvn_rspecifier=cmvn_rspecifier, utt2spk=utt2spk,
                           input_mean=mean, input_std=std)
