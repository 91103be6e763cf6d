"""Binary layers with latent float weights, and the BN + HardTanh + Binarize block.

Parameters and buffers are plainly named so that an exporter can fold them (see
``bnn/infer``):

* :class:`BinaryLinear` / :class:`BinaryConv2d`: ``weight`` is the **latent real-valued** kernel
  (``[out, in]`` / ``[out, in, kt, kf]``), ``bias`` is real.  When ``kernel_quantizer`` is set the
  forward pass uses ``Binarize(weight)`` (Lu Alg. 1, Qian Alg. 2); with no quantizer the layer is
  an ordinary full-precision ``nn.Linear`` / ``nn.Conv2d``.  ``input_quantizer`` (optional)
  binarizes the layer's input first.  ``kernel_clip`` (default 1.0) is the clip constraint
  applied by :meth:`clip_weights_` after each optimizer step (Lu Eq. 4); like larq, a binary
  kernel without a clip constraint triggers a warning, because latent weights then drift out of
  [-1, 1] and their sign stops changing ("starved" weights).  ``kernel_scale`` (default None,
  i.e. 1) multiplies the binarized kernel by a **fixed** positive constant, ``W_b = H Sign(W)``;
  ``"glorot"`` gives ``H = sqrt(1.5 / (fan_in + fan_out))``, the value of the binary weights in
  Courbariaux et al.'s BinaryConnect (2015).  Without batch-norm it keeps ``c = W_b a + b`` inside
  HardTanh's linear window ``|c| <= 1`` (with ``H = 1`` a fan-in of 256 gives ``|c| ~ 16``, every
  unit saturates and Eq. 10 passes no gradient); with batch-norm after the layer it changes
  nothing but the bias scale.  A positive scale does not change any ``Sign`` downstream, so the
  packed engine folds it into the per-unit threshold.
* :class:`BNActivation`: ``bn`` (``nn.BatchNorm1d``/``2d`` or absent) then ``act``.
* :class:`BNHardTanhBinarize` (Qian & Xiang 2019 Algorithms 2-3): ``d = BatchNorm(c)``,
  ``a = HardTanh(d) = clip(d, -1, 1)``, ``a_hat = Binarize(a)``.  In evaluation mode with a
  deterministic binarizer, ``a_hat = Sign(d)`` (HardTanh does not change the sign), so with
  ``c = W x + b`` the block folds into a per-unit threshold: ``a_hat = +1`` iff
  ``gamma * (c - running_mean) / sqrt(running_var + eps) + beta > 0``.
"""
import math
import warnings
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from bnn.nn.quantizers import Quantizer, get_quantizer
from bnn.utils.errors import BnnError

STARVED_WARNING = ("{name}: binary kernel (kernel_quantizer={q}) without a clip constraint; "
                   "latent weights may leave [-1, 1] and starve (set kernel_clip, Lu Eq. 4)")


class _BinaryKernelMixin:
    """Shared logic of BinaryLinear / BinaryConv2d (kernel quantizer, clip constraint)."""

    def _init_quant(self, kernel_quantizer, input_quantizer, kernel_clip, kernel_scale=None):
        self.kernel_quantizer: Optional[Quantizer] = get_quantizer(kernel_quantizer)
        self.input_quantizer: Optional[Quantizer] = get_quantizer(input_quantizer)
        self.kernel_clip = None if kernel_clip is None else float(kernel_clip)
        self.kernel_scale = self._resolve_scale(kernel_scale)
        if self.kernel_quantizer is not None and self.kernel_clip is None:
            warnings.warn(STARVED_WARNING.format(name=type(self).__name__,
                                                 q=self.kernel_quantizer.alias), stacklevel=3)

    def _resolve_scale(self, kernel_scale) -> float:
        """``kernel_scale`` as a float: None -> 1, ``"glorot"`` -> BinaryConnect's H, or a number."""
        if kernel_scale is None:
            return 1.0
        if kernel_scale == "glorot":
            receptive = self.weight[0, 0].numel()
            fan_in, fan_out = self.weight.shape[1] * receptive, self.weight.shape[0] * receptive
            return math.sqrt(1.5 / (fan_in + fan_out))
        try:
            value = float(kernel_scale)
        except (TypeError, ValueError):
            value = -1.0
        if not value > 0.0 or isinstance(kernel_scale, bool):
            raise BnnError(f"binary_weight_scale must be null, 'glorot' or a positive number, "
                           f"got {kernel_scale!r}")
        return value

    @property
    def is_binary(self) -> bool:
        """True when the forward pass uses binarized weights."""
        return self.kernel_quantizer is not None

    def binary_kernel(self) -> torch.Tensor:
        """``Binarize(weight)`` (values +/-1, before ``kernel_scale``); binary layers only."""
        return self.kernel_quantizer(self.weight)

    def effective_weight(self) -> torch.Tensor:
        """The kernel used in the forward pass: ``H Binarize(weight)`` or ``weight``."""
        if self.kernel_quantizer is None:
            return self.weight
        if self.kernel_scale == 1.0:
            return self.binary_kernel()
        return self.binary_kernel() * self.kernel_scale

    def _maybe_quantize_input(self, x):
        return x if self.input_quantizer is None else self.input_quantizer(x)

    @torch.no_grad()
    def clip_weights_(self) -> None:
        """``w <- Clip(w, -kernel_clip, +kernel_clip)`` for binary kernels (Lu Eq. 4)."""
        if self.kernel_quantizer is not None and self.kernel_clip is not None:
            self.weight.clamp_(-self.kernel_clip, self.kernel_clip)


class BinaryLinear(_BinaryKernelMixin, nn.Linear):
    """``y = x_q W_b^T + b`` with ``W_b = kernel_quantizer(W)`` (Lu Alg. 1, Qian Alg. 2).

    Args: ``in_features``, ``out_features``, ``bias``; ``kernel_quantizer`` (alias/mapping or
    None for a real layer), ``input_quantizer`` (None: inputs used as they are), ``kernel_clip``
    (float or None).  Backward: ``g_W = g_{W_b}`` through the ``"sign"`` estimator.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 kernel_quantizer=None, input_quantizer=None, kernel_clip: Optional[float] = 1.0,
                 kernel_scale=None):
        super().__init__(in_features, out_features, bias=bias)
        self._init_quant(kernel_quantizer, input_quantizer, kernel_clip, kernel_scale)

    def forward(self, x):
        return F.linear(self._maybe_quantize_input(x), self.effective_weight(), self.bias)

    def extra_repr(self):
        return (super().extra_repr() + f", kernel_quantizer={self.kernel_quantizer}, "
                f"kernel_clip={self.kernel_clip}"
                + (f", kernel_scale={self.kernel_scale:.4g}" if self.kernel_scale != 1.0 else ""))


class BinaryConv2d(_BinaryKernelMixin, nn.Conv2d):
    """2-D convolution with binarized kernels stored and updated in float (Qian Sec. 4.3).

    Input layout ``(B, C, T, F)``: time on the first spatial axis, frequency on the second, so
    ``kernel_size=(kt, kf)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, kernel_quantizer=None, input_quantizer=None,
                 kernel_clip: Optional[float] = 1.0, kernel_scale=None):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         bias=bias)
        self._init_quant(kernel_quantizer, input_quantizer, kernel_clip, kernel_scale)

    def forward(self, x):
        return self._conv_forward(self._maybe_quantize_input(x), self.effective_weight(), self.bias)

    def extra_repr(self):
        return (super().extra_repr() + f", kernel_quantizer={self.kernel_quantizer}, "
                f"kernel_clip={self.kernel_clip}"
                + (f", kernel_scale={self.kernel_scale:.4g}" if self.kernel_scale != 1.0 else ""))


class HardTanhBinarize(nn.Module):
    """``a_hat = Binarize(HardTanh(d))``; gradient ``g_d = g_ahat * 1{|d| <= 1}`` (Qian Eq. 10).

    ``quantizer`` is the activation binarizer (``stochastic_sign``: Eq. 9 in training,
    ``ste_sign``: deterministic).  The HardTanh output lies in [-1, 1], so the binarizer's own
    mask is 1 and the whole gradient is HardTanh's ``1{|d| <= 1}``.
    """

    def __init__(self, quantizer="stochastic_sign"):
        super().__init__()
        self.quantizer = get_quantizer(quantizer)

    def forward(self, d):
        return self.quantizer(F.hardtanh(d, -1.0, 1.0))


class BNActivation(nn.Module):
    """``y = act(BatchNorm(c))`` with optional BN (``bn`` is None when disabled) and act.

    ``conv=True`` uses ``nn.BatchNorm2d`` over channels of ``(B, C, T, F)``, else
    ``nn.BatchNorm1d`` over features.  BN buffers: ``bn.running_mean``, ``bn.running_var``,
    parameters ``bn.weight`` (gamma), ``bn.bias`` (beta), ``eps = bn.eps``.
    """

    def __init__(self, num_features: int, batchnorm: bool = False, act: Optional[nn.Module] = None,
                 conv: bool = False, dropout: float = 0.0):
        super().__init__()
        bn_cls = nn.BatchNorm2d if conv else nn.BatchNorm1d
        self.bn = bn_cls(num_features) if batchnorm else None
        self.act = act
        # Dropout of the activations while training (Srivastava et al. 2014); identity in eval
        # mode, no parameters, so inference and exported models are unchanged.
        self.drop = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, c):
        if self.bn is not None:
            c = self.bn(c)
        if self.act is not None:
            c = self.act(c)
        if self.drop is not None:
            c = self.drop(c)
        return c


class BNHardTanhBinarize(BNActivation):
    """Qian & Xiang 2019 Algorithms 2-3: ``d = BatchNorm(c); a = HardTanh(d); a_hat = Binarize(a)``.

    ``batchnorm=False`` gives the BDNN-noBN variant (``d = c``).  See the module docstring for
    the threshold folding used at inference.
    """

    def __init__(self, num_features: int, batchnorm: bool = True, quantizer="stochastic_sign",
                 conv: bool = False):
        super().__init__(num_features, batchnorm=batchnorm, act=HardTanhBinarize(quantizer),
                         conv=conv)
