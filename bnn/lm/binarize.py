"""Scaled binary weights for LSTM LMs (Liu, Cao & Yu, NAACL 2018; Ma, Liu & Yu, ASRU 2019).

A binary weight matrix ``W`` (embedding, output layer, LSTM ``W_ih``/``W_hh``) keeps a real latent
matrix ``W~`` for training and is used as::

    W_b = alpha_g * Sign(W~)          Sign(x) = +1 if x > 0 else -1   (Sign(0) = -1, bnn.nn.quantizers)

with one float scale ``alpha_g`` per group ``g`` of weights.  Groups (``granularity``):

* ``matrix``: one scale for the whole matrix;
* ``row``:    one scale per output row (per word for an embedding/output matrix);
* ``gate``:   one scale per LSTM gate block (i, f, g, o) of a ``4H x in`` matrix; a matrix that
  is not an LSTM gate stack (embedding, output layer) gets one scale (as ``matrix``).

Scale modes (``scale``):

* ``const``:   ``alpha = 1 / sqrt(fan_in)`` (BinaryConnect-style fixed +-H, the same for every
  group; no gradient).  With ``granularity`` ignored it is the hard-binarized LM of this toolkit.
* ``mean``:    ``alpha_g = mean_{w in g} |W~|`` recomputed every step, no gradient through it
  (XNOR-Net, Rastegari et al. 2016, Eq. 4 applied per group).
* ``learned``: ``alpha_g`` is a trainable parameter initialised to ``mean |W~|`` of its group:
  the "small number of float scalars" of soft binarization (Yu, Ma, Shi & Liu, TASLP 2020).
* ``stored``:  a fixed ``alpha_g`` buffer (what an exported model loads back).

Gradients (straight-through estimator of Courbariaux et al. 2016 with the |x| <= 1 window, Qian &
Xiang 2019 Eq. 10), for ``y = alpha_g * Sign(w)`` and upstream gradient ``g_y``::

    dL/dw       = g_y * alpha_g * 1{|w| <= 1}
    dL/dalpha_g = sum_{w in g} g_y * Sign(w)          (learned scales only)

Latent weights are clipped to [-1, 1] after every update (:meth:`BinaryWeight.clip_`), so the
window never starves them (larq warns about binary kernels without a clip constraint).
"""
import math
from typing import Optional

import torch
from torch import nn

from bnn.nn.quantizers import sign, ste_sign
from bnn.utils.errors import BnnError

SCALES = ("const", "mean", "learned", "stored")
GRANULARITIES = ("matrix", "row", "gate")


class BinaryWeight(nn.Module):
    """Scale-and-sign view of one latent weight matrix (rows = outputs); see the module docstring.

    ``gates``: number of gate blocks stacked along the rows (4 for an LSTM matrix, else 1).
    """

    def __init__(self, shape, scale: str = "learned", granularity: str = "matrix", gates: int = 1):
        super().__init__()
        if scale not in SCALES:
            raise BnnError(f"binary scale must be one of {SCALES}, got {scale!r}")
        if granularity not in GRANULARITIES:
            raise BnnError(f"scale granularity must be one of {GRANULARITIES}, got {granularity!r}")
        rows, cols = shape
        if rows % gates:
            raise BnnError(f"{rows} rows cannot be split into {gates} gates")
        self.shape = (rows, cols)
        self.scale = scale
        self.granularity = granularity if not (granularity == "gate" and gates == 1) else "matrix"
        self.gates = gates
        if scale in ("learned", "stored"):
            self.alpha = nn.Parameter(torch.ones(self.alpha_shape()), requires_grad=scale == "learned")
        else:
            self.register_parameter("alpha", None)

    def alpha_shape(self):
        """Shape of the scale tensor, broadcastable to the grouped weight view (see :meth:`_grouped`)."""
        if self.scale == "const":
            return (1, 1, 1)
        return {"matrix": (1, 1, 1), "row": (1, self.shape[0], 1), "gate": (self.gates, 1, 1)}[self.granularity]

    def num_scales(self) -> int:
        """Float scalars stored for this matrix (``const`` stores its one value too)."""
        return int(math.prod(self.alpha_shape()))

    def _grouped(self, w: torch.Tensor) -> torch.Tensor:
        if self.granularity == "gate" and self.scale != "const":
            return w.view(self.gates, self.shape[0] // self.gates, self.shape[1])
        return w.view(1, self.shape[0], self.shape[1])

    def init_from(self, w: torch.Tensor) -> None:
        """Set a learned/stored scale to ``mean |w|`` of each group."""
        if self.alpha is not None:
            with torch.no_grad():
                self.alpha.copy_(self.current_alpha(w).detach())

    def current_alpha(self, w: torch.Tensor) -> torch.Tensor:
        """``alpha`` for latent ``w`` (without the straight-through parts)."""
        if self.scale == "const":
            return torch.full((1, 1, 1), 1.0 / math.sqrt(self.shape[1]), dtype=w.dtype)
        if self.scale == "mean" or self.alpha is None:
            g = self._grouped(w.detach()).abs()
            return g.mean(dim=(2,) if self.granularity == "row" else (1, 2), keepdim=True)
        return self.alpha

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """``alpha_g * Sign(w)``, straight-through gradient to ``w`` within |w| <= 1."""
        if tuple(w.shape) != self.shape:
            raise BnnError(f"binary weight of shape {tuple(w.shape)}, expected {self.shape}")
        b = self._grouped(ste_sign(w))
        return (self.current_alpha(w) * b).reshape(self.shape)

    def binary(self, w: torch.Tensor) -> torch.Tensor:
        """The bits: ``Sign(w)`` in {-1, +1} (no gradient)."""
        return sign(w.detach())

    def extra_repr(self) -> str:
        return f"shape={self.shape}, scale={self.scale}, granularity={self.granularity}, gates={self.gates}"


def clip_(w: torch.Tensor, bound: float = 1.0) -> None:
    """Clip latent binary weights to [-bound, bound] in place (BinaryConnect, Courbariaux 2015)."""
    with torch.no_grad():
        w.clamp_(-bound, bound)


def validate(scale: Optional[str], granularity: str) -> None:
    if scale is not None and scale not in SCALES:
        raise BnnError(f"binary scale must be one of {SCALES}, got {scale!r}")
    if granularity not in GRANULARITIES:
        raise BnnError(f"scale granularity must be one of {GRANULARITIES}, got {granularity!r}")
