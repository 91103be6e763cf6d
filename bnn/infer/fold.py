"""Module reforming for inference (Qian & Xiang 2019, Section 4.2): fold batch-norm and binarizers.

A model is reduced to a list of :class:`FoldedLayer` (the documented intermediate description that
:mod:`bnn.infer.engine` runs and :mod:`bnn.infer.export` stores).  Each layer has an input
representation ``in_values`` ("float", "-1,1" or "0,1" bits), a kind, and an output:

``kind="binary"`` (bits in, +/-1 weights): with packed input ``x`` and weight-row bits ``b_j``
(bit 1 = +1) the kernel computes ``acc_j = popcount(x XOR b_j)`` over the k valid bits, and

* +/-1 inputs: ``dot_j = k - 2 acc_j`` (Qian Eq. 6);
* 0/1 inputs:  ``dot_j = sum_i x_i w_ji = #{x_i=1, w=+1} - #{x_i=1, w=-1}``.  With ``P_j =
  popcount(b_j)`` one has ``popcount(x AND b_j) = (popcount(x) + P_j - acc_j) / 2``, hence
  ``dot_j = 2 popcount(x AND b_j) - popcount(x) = P_j - acc_j``: again affine and decreasing
  in ``acc_j``, with a per-unit constant instead of ``k`` (a 0/1 input is *not* a +/-1 input:
  using ``k - 2 acc`` there would be wrong).

Batch-norm in inference is an affine map (Qian Eq. 12): with ``c = dot + bias``,
``BN(c) = gamma (c - mu) / sqrt(var + eps) + beta = xi c + delta'``, so the pre-activation is
``h_j = xi_j dot_j + delta_j`` with ``xi = gamma / sqrt(var + eps)`` and
``delta = beta + xi (bias - mu)`` (no BN: ``xi = 1``, ``delta = bias``).  A binary kernel with
a fixed scale ``H`` (``W_b = H Sign(W)``, see :mod:`bnn.nn.layers`) has ``c = H dot + bias``:
``xi`` is multiplied by ``H`` and the rest is unchanged.

Binarize after BN (HardTanh dropped: ``Sign(HardTanh(h)) = Sign(h)``) and Lu's sign activation
are ``bit_j = 1{h_j > 0}`` (Sign(0) = -1, see :mod:`bnn.nn.quantizers`; the (0,1) activation
``1{h > 0}`` has the same bit).  Since ``h_j`` is monotone in ``acc_j`` this is one integer
threshold per unit: for ``xi_j > 0``, ``bit_j = 1{acc_j <= thr_j}``; for ``xi_j < 0`` the weight
row's k valid bits are flipped (``acc' = k - acc``, ``dot' = -dot``; for 0/1 inputs ``P' = k -
P``) which turns the comparison around, so every unit uses ``acc <= thr``; ``xi_j = 0`` gives a
constant (``thr = k`` for always 1, ``thr = -1`` for always 0).  Closed form
(:func:`binary_thresholds`), ``t = -delta / xi``:

* +/-1 inputs: ``k - 2 acc > t  <=>  acc <= ceil((k - t) / 2) - 1``;
* 0/1 inputs:  ``P - acc > t    <=>  acc <= ceil(P - t) - 1``.

Exactness against torch: :func:`fold_model` does not trust float64 algebra at ties; it evaluates
the block's own eval-mode modules (bias add in float32, ``bn``, activation) on every attainable
``acc`` value 0..k per unit and reads the threshold off that table (:func:`thresholds_from_table`),
so the folded bits are those torch computes for ``fl32(dot + bias)``.  (torch's addmm may add
the bias inside the GEMM with a different rounding, which can only matter when ``h`` is within a
few float32 ulps of 0.)  The closed form is used for descriptions without torch modules and is
checked against the table in the tests.

``kind="float"``: real (or +/-1 unpacked, for binary weights fed by real inputs) weights ``W``
``(k, n)`` applied with a float GEMM to float input (bits are unpacked to their values first).
Float output: BN folded into the weights (``W xi``, ``xi b + delta``) then the activation
(``None``/sigmoid/relu/tanh).  Bits output: ``h = xi (x W) + delta > 0``; with ``s = sign(xi)`` folded into the
columns of ``W`` this is ``bit = 1{x W' > tau}``, ``tau = -delta / |xi|`` (``delta`` includes the
bias).
"""
import dataclasses
import logging

from typing import Optional

import numpy as np

from bnn.infer import packing
from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)

VALUES = ("float", "-1,1", "0,1")
FLOAT_ACTS = (None, "sigmoid", "relu", "tanh")


@dataclasses.dataclass
class FoldedLayer:
    """One inference layer.  Arrays by kind and output (all others None):

    * binary + bits out:  ``weight_bits`` (n, kw) uint64 (rows flipped where xi < 0), ``thr`` (n,)
      int64: ``bit = acc <= thr``.
    * binary + float out: ``weight_bits``, ``scale``/``bias`` (n,) float64: ``h = scale*acc + bias``,
      then ``act``.
    * float + bits out:   ``weight`` (k, n) float32 (columns negated where xi < 0), ``tau`` (n,)
      float32: ``bit = x @ weight > tau``.
    * float + float out:  ``weight`` (k, n) float32, ``bias`` (n,) float32: ``act(x @ weight + bias)``.
    """

    name: str
    kind: str                   # "binary" | "float"
    in_dim: int
    out_dim: int
    in_values: str              # "float" | "-1,1" | "0,1"
    out_values: str             # "float" | "-1,1" | "0,1"
    act: Optional[str] = None   # float activation for float outputs
    weight_bits: Optional[np.ndarray] = None
    thr: Optional[np.ndarray] = None
    scale: Optional[np.ndarray] = None
    bias: Optional[np.ndarray] = None
    weight: Optional[np.ndarray] = None
    tau: Optional[np.ndarray] = None

    @property
    def out_bits(self) -> bool:
        return self.out_values != "float"

    def check(self) -> None:
        if self.kind not in ("binary", "float") or self.in_values not in VALUES \
                or self.out_values not in VALUES or self.act not in FLOAT_ACTS:
            raise BnnError(f"layer {self.name}: bad description (kind={self.kind}, "
                           f"in={self.in_values}, out={self.out_values}, act={self.act})")
        n, k = self.out_dim, self.in_dim
        if self.kind == "binary":
            if self.in_values == "float":
                raise BnnError(f"layer {self.name}: a binary layer needs binary inputs")
            _shape(self, "weight_bits", (n, packing.words_for(k)))
            if self.out_bits:
                _shape(self, "thr", (n,))
            else:
                _shape(self, "scale", (n,))
                _shape(self, "bias", (n,))
        else:
            _shape(self, "weight", (k, n))
            _shape(self, "tau" if self.out_bits else "bias", (n,))


def _shape(layer, attr, shape):
    arr = getattr(layer, attr)
    if arr is None or tuple(arr.shape) != tuple(shape):
        got = None if arr is None else tuple(arr.shape)
        raise BnnError(f"layer {layer.name}: {attr} has shape {got}, expected {tuple(shape)}")


# ----------------------------------------------------------------------------- algebra
def fold_bn(n: int, bias=None, bn: Optional[dict] = None):
    """Eq. 12: ``(xi, delta)`` float64 with ``BN(dot + bias) = xi * dot + delta``.

    ``bn``: mapping with ``mean``, ``var``, ``eps`` and optional ``gamma``/``beta`` (None: 1/0).
    """
    b = np.zeros(n) if bias is None else np.asarray(bias, dtype=np.float64)
    if bn is None:
        return np.ones(n), b.copy()
    gamma = np.ones(n) if bn.get("gamma") is None else np.asarray(bn["gamma"], np.float64)
    beta = np.zeros(n) if bn.get("beta") is None else np.asarray(bn["beta"], np.float64)
    xi = gamma / np.sqrt(np.asarray(bn["var"], np.float64) + float(bn["eps"]))
    return xi, beta + xi * (b - np.asarray(bn["mean"], np.float64))


def flip_rows(bits: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    """Complement the k valid bits of the selected rows (padding bits stay 0)."""
    out = np.array(bits, dtype=np.uint64, copy=True)
    valid = packing.pack_bits(np.ones((1, k), dtype=np.uint8))[0]
    out[rows] ^= valid[None, :]
    return out


def binary_thresholds(xi, delta, k: int, in_values: str, wpop=None):
    """Closed-form integer thresholds (module docstring): returns ``(thr int64, flip bool)``.

    ``bit = 1{xi * dot + delta > 0}`` becomes ``acc <= thr`` on the popcount of the (flipped
    where ``flip``) weight rows.  ``wpop`` = popcount of the *unflipped* rows (0/1 inputs only).
    """
    xi = np.asarray(xi, np.float64)
    delta = np.asarray(delta, np.float64)
    n = xi.shape[0]
    flip = xi < 0
    thr = np.empty(n, dtype=np.int64)
    const = xi == 0
    thr[const] = np.where(delta[const] > 0, k, -1)
    nz = ~const
    # h > 0  <=>  s*dot > s*t with s = sign(xi), t = -delta/xi;  after flipping, dot' = s*dot.
    t = np.zeros(n)
    t[nz] = -delta[nz] / xi[nz]
    tp = np.where(flip, -t, t)                  # dot' > tp
    if in_values == "-1,1":
        bound = np.ceil((k - tp) / 2.0) - 1     # acc <= bound  <=>  k - 2 acc > tp
    elif in_values == "0,1":
        if wpop is None:
            raise ValueError("binary_thresholds: 0/1 inputs need wpop")
        p = np.where(flip, k - np.asarray(wpop, np.float64), np.asarray(wpop, np.float64))
        bound = np.ceil(p - tp) - 1             # acc <= bound  <=>  P' - acc > tp
    else:
        raise ValueError(f"binary_thresholds: in_values {in_values!r}")
    thr[nz] = np.clip(bound[nz], -1, k).astype(np.int64)
    # a threshold outside 0..k-1 is a constant unit: keep its row unflipped (canonical form)
    flip = flip & nz & (thr >= 0) & (thr < k)
    return thr, flip


def thresholds_from_table(bits: np.ndarray):
    """Threshold from a table ``bits[a, j]`` = output bit of unit j when ``acc = a`` (a = 0..k).

    Each column must be monotone.  Non-increasing: ``thr = #ones - 1``, no flip.  Non-decreasing
    (xi < 0): the row is flipped (``acc' = k - acc``) and ``thr = #ones - 1`` again.
    Returns ``(thr int64, flip bool)``.
    """
    bits = np.asarray(bits, dtype=bool)
    d = np.diff(bits.astype(np.int8), axis=0)
    nonincr = (d <= 0).all(axis=0)
    nondecr = (d >= 0).all(axis=0)
    if not (nonincr | nondecr).all():
        bad = int(np.flatnonzero(~(nonincr | nondecr))[0])
        raise BnnError(f"unit {bad}: activation is not monotone in the popcount; cannot fold")
    ones = bits.sum(axis=0).astype(np.int64)
    flip = ~nonincr            # strictly non-decreasing and not constant
    return ones - 1, flip


def dots_for_acc(k: int, in_values: str, wpop=None) -> np.ndarray:
    """``dot[a, j]`` for a = 0..k: ``k - 2a`` (+/-1 inputs) or ``P_j - a`` (0/1 inputs)."""
    acc = np.arange(k + 1, dtype=np.int64)[:, None]
    if in_values == "-1,1":
        return k - 2 * acc
    return np.asarray(wpop, np.int64)[None, :] - acc


def binary_float_affine(xi, delta, k: int, in_values: str, wpop=None):
    """``h = xi*dot + delta`` as ``scale*acc + bias`` (float64), for binary layers with float output."""
    xi = np.asarray(xi, np.float64)
    delta = np.asarray(delta, np.float64)
    if in_values == "-1,1":
        return -2.0 * xi, xi * k + delta
    return -xi, xi * np.asarray(wpop, np.float64) + delta


# ----------------------------------------------------------------------------- torch models
def fold_model(model, table: bool = True) -> list:
    """Fold an eval-mode :class:`bnn.nn.models.AcousticModel` (DNN) into :class:`FoldedLayer` s.

    ``table=True`` reads binary thresholds off the block's own torch modules (exact, see the
    module docstring); ``False`` uses the closed form only.
    """
    import torch

    blocks = getattr(model, "blocks", None)
    if blocks is None or getattr(model, "input_shape", None) is not None:
        raise BnnError("packed engine: only DNN acoustic models (bnn.nn.models, type dnn) "
                       "can be folded")
    layers = []
    in_values = "float"
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for block in blocks:
                layer = _fold_block(block, in_values, table)
                layer.check()
                layers.append(layer)
                in_values = layer.out_values
    finally:
        model.train(was_training)
    return layers


def _post_kind(post):
    """(out_values, float act name) of a BNActivation's ``act``."""
    from torch import nn

    from bnn.nn.layers import HardTanhBinarize
    from bnn.nn.quantizers import Quantizer

    act = post.act
    if act is None:
        return "float", None
    if isinstance(act, HardTanhBinarize):
        return getattr(act.quantizer, "values", "-1,1"), None
    if isinstance(act, Quantizer):
        return getattr(act, "values", "-1,1"), None
    for name, cls in (("sigmoid", nn.Sigmoid), ("relu", nn.ReLU), ("tanh", nn.Tanh)):
        if isinstance(act, cls):
            return "float", name
    raise BnnError(f"packed engine: unsupported activation {type(act).__name__}")


def _bn_dict(bn):
    if bn is None:
        return None
    if not bn.track_running_stats or bn.running_mean is None:
        raise BnnError("packed engine: batch-norm without running statistics cannot be folded")
    return {"mean": bn.running_mean.double().numpy(), "var": bn.running_var.double().numpy(),
            "eps": float(bn.eps),
            "gamma": None if bn.weight is None else bn.weight.double().numpy(),
            "beta": None if bn.bias is None else bn.bias.double().numpy()}


def _fold_block(block, in_values: str, table: bool) -> FoldedLayer:
    import torch

    name = getattr(block, "name", "layer")
    affine = block.affine
    if getattr(block, "pool", None) is not None or not isinstance(affine, torch.nn.Linear):
        raise BnnError(f"packed engine: block {name} is not a fully connected layer")
    if getattr(affine, "input_quantizer", None) is not None:
        raise BnnError(f"packed engine: block {name}: input quantizers are not supported")
    quantized = getattr(affine, "kernel_quantizer", None) is not None
    # binary kernels as +/-1; their fixed scale H (W_b = H Sign(W)) multiplies xi below
    weight = (affine.binary_kernel() if quantized else affine.weight).detach().float()
    scale = float(getattr(affine, "kernel_scale", 1.0)) if quantized else 1.0
    n, k = weight.shape
    is_binary = quantized and bool(((weight == 1) | (weight == -1)).all())
    bias = None if affine.bias is None else affine.bias.detach().double().numpy()
    out_values, act = _post_kind(block.post)
    xi, delta = fold_bn(n, bias, _bn_dict(block.post.bn))
    xi = xi * scale          # h = xi (H dot + bias - mu) + beta = (xi H) dot + delta
    layer = FoldedLayer(name=name, kind="binary" if (is_binary and in_values != "float")
                        else "float", in_dim=k, out_dim=n, in_values=in_values,
                        out_values=out_values, act=act)
    w = weight.numpy()
    if layer.kind == "binary":
        bits = packing.pack_pm1(w)
        wpop = packing.popcount_rows(bits) if in_values == "0,1" else None
        if out_values == "float":
            layer.scale, layer.bias = binary_float_affine(xi, delta, k, in_values, wpop)
            layer.weight_bits = bits
            return layer
        thr, flip = binary_thresholds(xi, delta, k, in_values, wpop)
        if table:
            dots = torch.from_numpy(np.broadcast_to(dots_for_acc(k, in_values, wpop),
                                                    (k + 1, n)).astype(np.float32))
            if scale != 1.0:
                dots = dots * scale
            c = dots + affine.bias.detach().float()[None, :] if affine.bias is not None else dots
            bits_tab = (block.post(c) > 0).numpy()
            thr_t, flip_t = thresholds_from_table(bits_tab)
            # constant units: keep the closed form's (no-)flip; both thresholds mean the same
            const = bits_tab.all(axis=0) | (~bits_tab).all(axis=0)
            flip_t[const] = False
            differ = int(((thr_t != thr) | (flip_t != flip))[~const].sum())
            if differ:
                log.info("layer %s: %d unit thresholds corrected by the torch table (float ties)",
                         name, differ)
            thr, flip = thr_t, flip_t
        layer.weight_bits = flip_rows(bits, k, np.flatnonzero(flip))
        layer.thr = thr
        return layer
    # float GEMM layer
    if out_values == "float":
        layer.weight = np.ascontiguousarray((w * xi[:, None]).T.astype(np.float32))
        layer.bias = delta.astype(np.float32)
        return layer
    s = np.where(xi < 0, -1.0, 1.0)
    const = xi == 0
    # delta already holds the bias (Eq. 12), so h = xi * (x . w) + delta
    tau = np.where(const, np.where(delta > 0, -1.0, 1.0), -delta / np.where(const, 1.0, np.abs(xi)))
    wt = w * s[:, None]
    wt[const] = 0.0
    layer.weight = np.ascontiguousarray(wt.T.astype(np.float32))
    layer.tau = tau.astype(np.float32)
    return layer


def describe(layers) -> str:
    """One line per layer: name, kind, shape, input/output representation."""
    lines = []
    for L in layers:
        lines.append(f"{L.name}: {L.kind} {L.in_dim}->{L.out_dim} in={L.in_values} "
                     f"out={L.out_values}" + (f" act={L.act}" if L.act else ""))
    return "\n".join(lines)


