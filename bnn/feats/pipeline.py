"""The feature pipeline a model was trained with: CMVN -> deltas -> splicing.

A model directory describes its own input features with three one-line files, as Kaldi's
steps/nnet/train.sh (``cmvn_opts``, ``delta_opts``) and steps/train_lda_mllt.sh
(``splice_opts``) write them, each holding the options of the Kaldi program it configures:

* ``cmvn_opts``  -- apply-cmvn options, e.g. ``--norm-means=true --norm-vars=false``; an empty
  (or absent) file means no CMVN, as in nnet1's decode.sh.
* ``delta_opts`` -- add-deltas options, e.g. ``--delta-order=2 --delta-window=2``; empty or
  absent means no deltas; a non-empty file without ``--delta-order`` uses add-deltas' default 2.
* ``splice_opts`` -- splice-feats options, e.g. ``--left-context=5 --right-context=5``; empty
  or absent means no splicing (0/0).

:meth:`FeaturePipeline.apply` runs apply-cmvn (speaker stats), add-deltas, splice-feats on one
``(frames x dim)`` matrix, i.e. the same as the Kaldi pipe
``apply-cmvn $cmvn_opts --utt2spk=... | add-deltas $delta_opts | splice-feats $splice_opts``.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Dict, Optional

import numpy as np

from bnn.feats.cmvn import apply_cmvn
from bnn.feats.deltas import add_deltas
from bnn.feats.options import parse_bool, split_option
from bnn.feats.splice import splice_feats
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

OPTS_FILES = ("cmvn_opts", "delta_opts", "splice_opts")


def _parse_opts(text: str, allowed: Dict[str, type], where: str) -> Dict[str, object]:
    out: Dict[str, object] = {}
    for token in text.split():
        name, value = split_option(token, where)
        if name not in allowed:
            raise BnnError(f"{where}: unknown option --{name} (allowed: "
                           + ", ".join("--" + a for a in allowed) + ")")
        typ = allowed[name]
        if typ is bool:
            out[name] = True if value is None else parse_bool(value, f"{where}: --{name}")
        else:
            try:
                out[name] = int(value) if value is not None else None
            except ValueError:
                out[name] = None
            if out[name] is None:
                raise BnnError(f"{where}: --{name} needs an integer value, got '{value}'")
    return out


@dataclasses.dataclass
class FeaturePipeline:
    """CMVN, delta and splicing settings; ``delta_order`` 0 / contexts 0 mean "not applied"."""
    cmvn: bool = True
    norm_means: bool = True
    norm_vars: bool = False
    delta_order: int = 0
    delta_window: int = 2
    splice_left: int = 0
    splice_right: int = 0

    def __post_init__(self):
        if self.delta_order < 0 or self.delta_window < 1:
            raise BnnError(f"bad delta settings: order {self.delta_order}, window {self.delta_window}")
        if self.splice_left < 0 or self.splice_right < 0:
            raise BnnError(f"bad splice contexts: {self.splice_left}/{self.splice_right}")
        if self.cmvn and self.norm_vars and not self.norm_means:
            raise BnnError("--norm-vars=true needs --norm-means=true")

    # ---- the three option strings --------------------------------------------------------
    def cmvn_opts(self) -> str:
        if not self.cmvn:
            return ""
        return (f"--norm-means={'true' if self.norm_means else 'false'} "
                f"--norm-vars={'true' if self.norm_vars else 'false'}")

    def delta_opts(self) -> str:
        if self.delta_order == 0:
            return ""
        return f"--delta-order={self.delta_order} --delta-window={self.delta_window}"

    def splice_opts(self) -> str:
        if self.splice_left == 0 and self.splice_right == 0:
            return ""
        return f"--left-context={self.splice_left} --right-context={self.splice_right}"

    @classmethod
    def from_opts(cls, cmvn_opts: str = "", delta_opts: str = "", splice_opts: str = "",
                  source: str = "") -> "FeaturePipeline":
        """Build from the option strings (Kaldi defaults for options a non-empty string omits)."""
        pre = f"{source}/" if source else ""
        c = _parse_opts(cmvn_opts, {"norm-means": bool, "norm-vars": bool}, pre + "cmvn_opts")
        d = _parse_opts(delta_opts, {"delta-order": int, "delta-window": int}, pre + "delta_opts")
        s = _parse_opts(splice_opts, {"left-context": int, "right-context": int},
                        pre + "splice_opts")
        return cls(
            cmvn=bool(cmvn_opts.strip()),
            norm_means=c.get("norm-means", True),
            norm_vars=c.get("norm-vars", False),
            delta_order=d.get("delta-order", 2) if delta_opts.strip() else 0,
            delta_window=d.get("delta-window", 2),
            splice_left=s.get("left-context", 4 if splice_opts.strip() else 0),
            splice_right=s.get("right-context", 4 if splice_opts.strip() else 0),
        )

    def write(self, model_dir: str) -> None:
        """Write ``cmvn_opts``, ``delta_opts``, ``splice_opts`` (one line each) into ``model_dir``."""
        for name, text in zip(OPTS_FILES, (self.cmvn_opts(), self.delta_opts(), self.splice_opts())):
            with atomic_write(os.path.join(model_dir, name)) as f:
                f.write(text + "\n")

    @classmethod
    def read(cls, model_dir: str) -> "FeaturePipeline":
        """Read the three files from ``model_dir`` (an absent file counts as empty)."""
        if not os.path.isdir(model_dir):
            raise BnnError(f"{model_dir}: no such model directory")
        texts = []
        for name in OPTS_FILES:
            path = os.path.join(model_dir, name)
            try:
                with open(path, encoding="utf-8") as f:
                    texts.append(f.read().strip())
            except FileNotFoundError:
                texts.append("")
        return cls.from_opts(*texts, source=model_dir)

    # ---- applying it ---------------------------------------------------------------------
    def output_dim(self, input_dim: int) -> int:
        return input_dim * (self.delta_order + 1) * (self.splice_left + 1 + self.splice_right)

    def apply(self, feats: np.ndarray, cmvn_stats: Optional[np.ndarray] = None,
              utt: str = "") -> np.ndarray:
        """apply-cmvn (with the speaker's stats) -> add-deltas -> splice-feats on one matrix."""
        x = np.ascontiguousarray(feats, dtype=np.float32)
        if self.cmvn:
            if cmvn_stats is None:
                raise BnnError(f"utterance {utt}: the pipeline applies CMVN but no stats were given")
            x = apply_cmvn(x, cmvn_stats, self.norm_means, self.norm_vars, utt)
        if self.delta_order > 0:
            x = add_deltas(x, self.delta_order, self.delta_window)
        if self.splice_left or self.splice_right:
            x = splice_feats(x, self.splice_left, self.splice_right)
        return x


__all__ = ["FeaturePipeline", "OPTS_FILES"]
