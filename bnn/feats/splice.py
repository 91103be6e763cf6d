"""Kaldi's ``splice-feats`` (src/feat/feature-functions.cc, ``SpliceFrames``).

Output frame ``t`` is the concatenation ``[x[clamp(t-L)], ..., x[t], ..., x[clamp(t+R)]]`` with
indices clamped to ``[0, T-1]`` (edge frames repeated); dimension ``dim * (L + 1 + R)``.  The
arithmetic is kaldi-native-fbank's ``splice_frames``.
"""
from __future__ import annotations

import kaldi_native_fbank as knf
import numpy as np

from bnn.utils.errors import BnnError


def splice_feats(feats: np.ndarray, left_context: int = 4, right_context: int = 4) -> np.ndarray:
    """Splice ``left_context`` frames before and ``right_context`` after each frame (Kaldi defaults 4/4)."""
    if left_context < 0 or right_context < 0:
        raise BnnError(f"splice-feats: contexts must be >= 0, got --left-context={left_context} "
                       f"--right-context={right_context}")
    feats = np.ascontiguousarray(feats, dtype=np.float32)
    if feats.ndim != 2:
        raise BnnError(f"splice-feats: expected a (frames x dim) matrix, got shape {feats.shape}")
    if feats.shape[0] == 0:
        return np.zeros((0, feats.shape[1] * (left_context + 1 + right_context)), dtype=np.float32)
    return knf.splice_frames(feats, knf.SpliceOptions(left_context=left_context,
                                                      right_context=right_context))


__all__ = ["splice_feats"]
