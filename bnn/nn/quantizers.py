"""Binarizers ("quantizers") for weights and activations, larq style.

Each binarizer is a small function (``sign``, ``ste_sign``, ``masked_sign``, ``stochastic_sign``),
a class wrapper (an ``nn.Module`` without parameters, so that ``model.train()/eval()`` reaches it)
and a string alias usable in configs (``"ste_sign"``).  :func:`get_quantizer` turns a config value
(``None``, a name, or a mapping ``{name: masked_sign, k: 2, values: "0,1"}``) into a module.

Conventions (all binarizers):

* ``Sign(x) = +1 if x > 0 else -1``: **Sign(0) = -1**, as Lu, Rao & Renals 2017 Eq. 3 and
  Qian & Xiang 2019 Eq. 8 define it (larq instead maps 0 to +1; we follow the papers).  A
  binarizer therefore never returns 0.
* The forward value is computed exactly; the backward pass is a straight-through estimator
  written with the detach trick ``y = q(x).detach() + (x - x.detach()) * m(x)``, so ``dy/dx = m(x)``
  and the forward value is exactly ``q(x)`` (``x - x.detach()`` is exactly zero).
* Values ``"-1,1"`` (default) or ``"0,1"``: the (0,1) form is ``(Sign(x) + 1) / 2 = 1{x > 0}``,
  the hard-sigmoid binarization of Lu et al. Section 3.2; its gradient uses the same mask as the
  (-1,+1) form (issue 6, A.3), i.e. the factor 1/2 of the affine map is not applied.

Aliases:

=====================  =====================================================================
``"sign"``             forward ``Sign(x)``; backward identity ``g_x = g_y`` (Lu Alg. 1: the
                       gradient computed for ``w_b = Sign(w)`` updates the real ``w``).  The
                       weight binarizer (alias ``"binary_weight"``); also Qian Eq. 8.
                       ``values: "0,1"`` gives (0,1) weights ``1{w > 0}`` (Lu Table 3, the
                       "(0,1) binary weights" row the paper reports as not converged).
``"ste_sign"``         forward ``Sign(x)``; backward ``g_x = g_y * 1{|x| <= 1}`` (Qian Eq. 10).
``"masked_sign"``      forward ``Sign(x)`` or ``1{x>0}``; backward ``g_x = g_y * Mask(x, k)`` with
                       ``Mask = 0 if |x| > k else 1`` (Lu Eqs. 5-6), ``k`` in {1, 2, 3, 4}.
``"stochastic_sign"``  training: ``+1 if x - p > 0 else -1``, ``p ~ N(0, 1)`` drawn per element
                       (Qian Eq. 9); evaluation: deterministic ``Sign(x)``.  Backward as Eq. 10.
=====================  =====================================================================
"""
from typing import Optional

import torch
from torch import nn

from bnn.utils.errors import BnnError

VALUE_SETS = ("-1,1", "0,1")


def _check_values(values: str) -> str:
    values = str(values).replace(" ", "").replace("(", "").replace(")", "").replace("+", "")
    if values not in VALUE_SETS:
        raise BnnError(f"binarizer values must be one of {VALUE_SETS}, got {values!r}")
    return values


def sign(x: torch.Tensor) -> torch.Tensor:
    """``Sign(x) = +1 if x > 0 else -1`` (Lu Eq. 3, Qian Eq. 8); Sign(0) = -1.  No gradient."""
    return torch.where(x > 0, torch.ones_like(x), -torch.ones_like(x))


def _straight_through(x: torch.Tensor, forward: torch.Tensor, mask: Optional[torch.Tensor]):
    """Value ``forward``, gradient ``mask`` (1 when ``mask`` is None) with respect to ``x``."""
    passthrough = x - x.detach()
    if mask is not None:
        passthrough = passthrough * mask
    return forward.detach() + passthrough


def _to_values(s: torch.Tensor, values: str) -> torch.Tensor:
    return (s + 1) * 0.5 if values == "0,1" else s


def sign_ste_identity(x: torch.Tensor) -> torch.Tensor:
    """Forward ``Sign(x)``; backward ``g_x = g_y`` (identity straight-through, Lu Alg. 1)."""
    return _straight_through(x, sign(x), None)


def ste_sign(x: torch.Tensor, values: str = "-1,1") -> torch.Tensor:
    """Forward ``Sign(x)``; backward ``g_x = g_y * 1{|x| <= 1}`` (Qian & Xiang 2019 Eq. 10)."""
    return masked_sign(x, k=1.0, values=values)


def masked_sign(x: torch.Tensor, k: float = 1.0, values: str = "-1,1") -> torch.Tensor:
    """Lu et al. 2017 Eqs. 5-6: ``h = Sign(h_hat)``; ``g_hhat = g_h * Mask(h_hat, k)``.

    ``Mask(h_hat, k) = 0 if |h_hat| > k else 1``.  With ``values="0,1"`` the forward value is
    ``1{h_hat > 0}`` and the gradient uses the same mask.
    """
    values = _check_values(values)
    mask = (x.detach().abs() <= k).to(x.dtype)
    return _straight_through(x, _to_values(sign(x), values), mask)


def stochastic_sign(x: torch.Tensor, training: bool = True, values: str = "-1,1",
                    generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Qian & Xiang 2019 Eq. 9: ``+1 if x - p > 0 else -1`` with ``p ~ N(0, 1)`` (training only).

    At evaluation (``training=False``) it is the deterministic ``Sign(x)`` (Eq. 8).  Backward in
    both cases is Eq. 10: ``g_x = g_y * 1{|x| <= 1}``.  ``p`` is drawn from ``generator`` (or the
    global torch RNG) on the generator's device and moved to ``x``'s device.
    """
    values = _check_values(values)
    if training:
        gen_device = generator.device if generator is not None else x.device
        p = torch.randn(x.shape, generator=generator, device=gen_device, dtype=x.dtype).to(x.device)
        forward = sign(x.detach() - p)
    else:
        forward = sign(x.detach())
    mask = (x.detach().abs() <= 1).to(x.dtype)
    return _straight_through(x, _to_values(forward, values), mask)


class Quantizer(nn.Module):
    """Base class: a parameter-free module; ``config()`` returns the mapping that rebuilds it."""

    alias = ""

    def config(self) -> dict:
        return {"name": self.alias}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config().items() if k != "name")


class Sign(Quantizer):
    """``"sign"`` / ``"binary_weight"``: forward ``Sign(x)`` (Sign(0) = -1), backward identity.

    The weight binarizer of Lu Alg. 1 and Qian Eq. 8: forward and backward propagation use
    ``w_b = Sign(w)``, and the gradient computed for ``w_b`` is applied unchanged to the real
    latent ``w`` (which the layer keeps clipped to [-1, 1], Lu Eq. 4).
    """

    alias = "sign"

    def __init__(self, values: str = "-1,1"):
        super().__init__()
        self.values = _check_values(values)

    def forward(self, x):
        if self.values == "0,1":
            return _straight_through(x, _to_values(sign(x), "0,1"), None)
        return sign_ste_identity(x)

    def config(self):
        return {"name": self.alias} if self.values == "-1,1" else \
            {"name": self.alias, "values": self.values}


class SteSign(Quantizer):
    """``"ste_sign"``: forward ``Sign(x)``, backward ``g * 1{|x| <= 1}`` (Qian Eq. 10)."""

    alias = "ste_sign"

    def __init__(self, values: str = "-1,1"):
        super().__init__()
        self.values = _check_values(values)

    def forward(self, x):
        return ste_sign(x, self.values)

    def config(self):
        return {"name": self.alias, "values": self.values}


class MaskedSign(Quantizer):
    """``"masked_sign"``: Lu Eqs. 5-6, forward ``Sign`` (or ``1{x>0}``), backward ``g * 1{|x|<=k}``."""

    alias = "masked_sign"

    def __init__(self, k: float = 1.0, values: str = "-1,1"):
        super().__init__()
        if not float(k) > 0:
            raise BnnError(f"masked_sign: k must be > 0, got {k}")
        self.k = float(k)
        self.values = _check_values(values)

    def forward(self, x):
        return masked_sign(x, self.k, self.values)

    def config(self):
        return {"name": self.alias, "k": self.k, "values": self.values}


class StochasticSign(Quantizer):
    """``"stochastic_sign"``: Qian Eq. 9 in training mode, deterministic Eq. 8 in eval mode.

    ``generator`` (attribute, default None = global RNG) may be set for reproducible draws.
    """

    alias = "stochastic_sign"

    def __init__(self, values: str = "-1,1"):
        super().__init__()
        self.values = _check_values(values)
        self.generator: Optional[torch.Generator] = None

    def forward(self, x):
        return stochastic_sign(x, self.training, self.values, self.generator)

    def config(self):
        return {"name": self.alias, "values": self.values}


QUANTIZERS = {
    "sign": Sign,
    "binary_weight": Sign,
    "ste_sign": SteSign,
    "masked_sign": MaskedSign,
    "stochastic_sign": StochasticSign,
}


def get_quantizer(spec) -> Optional[Quantizer]:
    """A quantizer module from a config value: None, an alias, a mapping, or a Quantizer.

    Mappings name the alias under ``name`` (or ``quantizer``) and pass the rest as keyword
    arguments, e.g. ``{name: masked_sign, k: 2, values: "0,1"}``.
    """
    if spec is None or isinstance(spec, Quantizer):
        return spec
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif isinstance(spec, dict):
        kwargs = dict(spec)
        name = kwargs.pop("name", None) or kwargs.pop("quantizer", None)
        kwargs.pop("quantizer", None)
    else:
        raise BnnError(f"quantizer: expected a name or a mapping, got {spec!r}")
    if name not in QUANTIZERS:
        raise BnnError(f"unknown quantizer {name!r}; known: {', '.join(sorted(QUANTIZERS))}")
    try:
        return QUANTIZERS[name](**kwargs)
    except TypeError as err:
        raise BnnError(f"quantizer {name}: bad options {kwargs}: {err}") from None
