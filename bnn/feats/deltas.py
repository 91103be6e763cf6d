"""Kaldi's ``add-deltas`` (src/feat/feature-functions.cc, ``DeltaFeatures``).

With window ``N`` (default 2) the first-order filter is ``w1_j = j / (2 * sum_{k=1..N} k^2)``
for ``j = -N..N`` (``j / 10`` for N = 2); order ``i`` uses ``w_i = w_{i-1} * w1`` (convolution),
so ``delta_i[t] = sum_j w_i[j] * x[clamp(t + j)]`` with frame indices clamped to
``[0, T-1]`` (edge frames repeated).  Output rows are ``[x, delta_1, ..., delta_order]``:
dimension ``dim * (order + 1)``.  The arithmetic is kaldi-native-fbank's ``compute_deltas``.
"""
from __future__ import annotations

import kaldi_native_fbank as knf
import numpy as np

from bnn.utils.errors import BnnError


def add_deltas(feats: np.ndarray, order: int = 2, window: int = 2) -> np.ndarray:
    """Append delta features of orders 1..``order`` (Kaldi defaults: order 2, window 2)."""
    if order < 0 or window < 1:
        raise BnnError(f"add-deltas: need --delta-order >= 0 and --delta-window >= 1, got "
                       f"{order} and {window}")
    feats = np.ascontiguousarray(feats, dtype=np.float32)
    if feats.ndim != 2:
        raise BnnError(f"add-deltas: expected a (frames x dim) matrix, got shape {feats.shape}")
    if feats.shape[0] == 0:
        return np.zeros((0, feats.shape[1] * (order + 1)), dtype=np.float32)
    return knf.compute_deltas(knf.DeltaOptions(order=order, window=window), feats)


__all__ = ["add_deltas"]
