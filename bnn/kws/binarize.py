"""Binarizers and binary layers of BiFSMNv2 (Qin et al., TNNLS 2023) and of its baselines.

Sign convention: ``Sign(u) = +1 if u > 0 else -1`` (Sign(0) = -1, as :mod:`bnn.nn.quantizers`
and the packed engine's ``pack_pm1``), so a binarizer never returns 0.

Binarizers (forward value / gradient):

* :func:`ste_sign` (BNN, Courbariaux et al. 2016; XNOR-Net): ``Sign(u)`` /
  ``dL/du = dL/dy 1{|u| <= 1}``.
* :func:`slope_sign`, the learnable-slope binarizer (BiFSMNv2's Learning Propagation Binarizer as
  in the released code): ``Sign(k u)`` / the gradient of ``clamp(k u, -1, 1)``:
  ``dL/du = dL/dy k 1{|k u| <= 1}`` and ``dL/dk = sum dL/dy u 1{|k u| <= 1}``.
* :class:`DualScaleAct`, the dual-scale threshold activation (BiFSMNv2, "dual-scale activation
  binarization"): with learnable per-input-channel thresholds ``t0, t1, t2`` and slopes ``k1, k2``::

      b1 = Sign(k1 (x - t0)),   r = x - b1 - t1,   a = mean|r|   (per sample, no gradient)
      x_b = b1 + a Sign(k2 r) - t2

  so ``x_b`` takes 4 values per channel (of ``x / s`` with a fixed input scale ``s``, 1 by
  default, see :func:`init_input_scales_from_data`) and is stored as two bit-planes ``b1`` and
  ``s2 = Sign(k2 r)`` plus one float ``a`` per sample and the channel constant ``t2``.  The code
  takes ``a`` as the mean over the whole tensor; we take it per sample (per 1 s window), so that a
  window's output does not depend on the other windows of its batch (needed for batch-1 and
  streaming inference).

Weights (all binary layers keep a real latent weight ``w``, clipped to [-1, 1] after every
optimiser step by :func:`clip_latent_weights`):

* ``bnn``:    ``w_b = Sign(w)`` (STE), activations ``ste_sign``;
* ``xnor``:   ``w_b = alpha_o Sign(w)``, ``alpha_o = mean |w_o|`` per output channel (XNOR-Net
  Eq. 4, the scaling factor of each filter), activations ``ste_sign``;
* ``bifsmn``: ``w_b = alpha_o Sign(k3 w)`` with the learnable slope ``k3`` and ``alpha_o`` the
  mean over input channels and taps of output channel ``o`` (no gradient), activations
  :class:`DualScaleAct`.

**Difference from the released code**: there ``alpha`` is the mean of ``|w|`` per (output,
input) pair over the kernel taps.  For the 1x1 convolutions and linear layers (most of the
weights) that mean is ``|w|`` itself, so ``Sign(w) |w| = w`` and those weights stay full precision
in the forward pass.  Here one ``alpha`` per output channel multiplies a +/-1 matrix: exactly 1
bit per weight plus one float per output channel (:func:`weight_storage_bits`).
"""
import torch
from torch import nn

from bnn.utils.errors import BnnError

MODES = ("float", "bnn", "xnor", "bifsmn")


def sign(u: torch.Tensor) -> torch.Tensor:
    """``+1 if u > 0 else -1`` (no gradient)."""
    return torch.where(u > 0, torch.ones_like(u), -torch.ones_like(u))


def ste_sign(u: torch.Tensor) -> torch.Tensor:
    """Forward ``Sign(u)``; backward ``g 1{|u| <= 1}`` (straight-through estimator)."""
    c = torch.clamp(u, -1.0, 1.0)
    return c + (sign(u) - c).detach()


def slope_sign(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Forward ``Sign(k u)``; backward the gradient of ``clamp(k u, -1, 1)`` w.r.t. ``u`` and ``k``."""
    c = torch.clamp(k * u, -1.0, 1.0)
    return c + (sign(k * u) - c).detach()


def _chan_shape(x: torch.Tensor, feat_dim: int):
    shape = [1] * x.dim()
    shape[feat_dim] = x.shape[feat_dim]
    return shape


class DualScaleAct(nn.Module):
    """Dual-scale threshold activation (module docstring); channels on dimension 1 (or the last
    dimension of a 2-D input)."""

    def __init__(self, channels: int):
        super().__init__()
        self.t0 = nn.Parameter(torch.rand(channels) * 1e-3)
        self.t1 = nn.Parameter(torch.rand(channels) * 1e-3)
        self.t2 = nn.Parameter(torch.rand(channels) * 1e-3)
        self.k1 = nn.Parameter(torch.ones(()))
        self.k2 = nn.Parameter(torch.ones(()))
        # fixed input scale: x is divided by it first (1 = the released code; see
        # init_input_scales_from_data)
        self.register_buffer("in_scale", torch.ones(()))

    def planes(self, x: torch.Tensor):
        """``(b1, s2, a, t2)`` with ``x_b = b1 + a s2 - t2`` (``a`` shaped to broadcast), on
        ``x / in_scale``."""
        x = x / self.in_scale
        shp = _chan_shape(x, 1)
        t0, t1, t2 = (t.view(shp) for t in (self.t0, self.t1, self.t2))
        b1 = slope_sign(x - t0, self.k1)
        r = x - b1 - t1
        a = r.detach().abs().flatten(1).mean(1).view([-1] + [1] * (x.dim() - 1))
        s2 = slope_sign(r, self.k2)
        return b1, s2, a, t2

    def forward(self, x):
        b1, s2, a, t2 = self.planes(x)
        return b1 + a * s2 - t2


class SteSignAct(nn.Module):
    def forward(self, x):
        return ste_sign(x)


def binarize_weight(w: torch.Tensor, mode: str, k3=None) -> torch.Tensor:
    if mode == "bnn":
        return ste_sign(w)
    alpha = w.detach().abs().flatten(1).mean(1).view([-1] + [1] * (w.dim() - 1))
    if mode == "xnor":
        return alpha * ste_sign(w)
    if mode == "bifsmn":
        return alpha * slope_sign(w, k3)
    raise BnnError(f"binarize_weight: mode {mode!r} has no binary weights")


class _BinaryMixin:
    """Binarized input and weight before the float op (``mode`` one of :data:`MODES`)."""

    def _setup(self, mode: str, in_channels: int):
        if mode not in MODES:
            raise BnnError(f"unknown binarization mode {mode!r}; expected one of {MODES}")
        self.mode = mode
        if mode == "bifsmn":
            self.act = DualScaleAct(in_channels)
            self.k3 = nn.Parameter(torch.ones(()))
        elif mode in ("bnn", "xnor"):
            self.act = SteSignAct()
        else:
            self.act = nn.Identity()

    def binary_weight(self):
        if self.mode == "float":
            return self.weight
        return binarize_weight(self.weight, self.mode, getattr(self, "k3", None))


class BConv1d(nn.Conv1d, _BinaryMixin):
    def __init__(self, in_ch, out_ch, kernel_size, mode="float", **kw):
        nn.Conv1d.__init__(self, in_ch, out_ch, kernel_size, **kw)
        self._setup(mode, in_ch)

    def forward(self, x):
        return self._conv_forward(self.act(x), self.binary_weight(), self.bias)


class BConv2d(nn.Conv2d, _BinaryMixin):
    def __init__(self, in_ch, out_ch, kernel_size, mode="float", **kw):
        nn.Conv2d.__init__(self, in_ch, out_ch, kernel_size, **kw)
        self._setup(mode, in_ch)

    def forward(self, x):
        return self._conv_forward(self.act(x), self.binary_weight(), self.bias)


def binary_layers(model: nn.Module):
    return [m for m in model.modules() if isinstance(m, _BinaryMixin) and m.mode != "float"]


@torch.no_grad()
def clip_latent_weights(model: nn.Module, bound: float = 1.0) -> None:
    """Clip every binary layer's latent weight to [-bound, bound] (larq's clip constraint)."""
    for m in binary_layers(model):
        m.weight.clamp_(-bound, bound)


def weight_storage_bits(layer) -> int:
    """Bits a deployed binary layer needs for its weights: 1 per weight + 32 per output scale."""
    n = layer.weight.numel()
    return n + (32 * layer.weight.shape[0] if layer.mode in ("xnor", "bifsmn") else 0)


def slope_and_threshold_params(model: nn.Module):
    """The thresholds ``t*`` and slopes ``k*`` (trained at a scaled learning rate)."""
    out = []
    for m in binary_layers(model):
        if m.mode == "bifsmn":
            out += [m.act.t0, m.act.t1, m.act.t2, m.act.k1, m.act.k2, m.k3]
    return out




@torch.no_grad()
def init_input_scales_from_data(model: nn.Module, *inputs) -> int:
    """Set each dual-scale activation's fixed input scale ``s`` to the standard deviation of its
    input in one eval-mode forward pass (in layer order, so each sees the already standardised
    earlier layers).

    Why: the dual-scale levels ``+/-1 +/- a`` with ``a = mean|x - b1 - t1|`` are monotone in ``x``
    only while ``a < 1``.  Deep D-FSMN layers of a float teacher see residual sums with standard
    deviations of 2-4 (measured on Speech Commands), where ``a > 1`` maps ``0 < x < 1`` to the
    negative level ``1 - a`` and ``-1 < x < 0`` to the positive ``a - 1``, and a +/-1 STE window
    passes gradients for only 15-30% of the elements.  Dividing by ``s`` (not in the released
    code) puts every binarizer's input at unit scale; the batch-norm after each binary layer
    absorbs the output scale.  Returns the number of activations set."""
    acts = [m.act for m in binary_layers(model) if m.mode == "bifsmn"]
    was = model.training
    model.eval()
    n = 0
    try:
        for a in acts:
            seen = {}
            h = a.register_forward_pre_hook(lambda mod, inp: seen.setdefault("x", inp[0].detach()))
            try:
                model(*inputs)
            finally:
                h.remove()
            if "x" in seen:
                a.in_scale.fill_(float(seen["x"].std().clamp_min(1e-3)))
                n += 1
    finally:
        model.train(was)
    return n
