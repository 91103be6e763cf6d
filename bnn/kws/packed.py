"""Packed inference of the binary D-FSMN (BiFSMNv2) on the XOR-popcount GEMM of :mod:`bnn.infer`.

Every binarized layer of :mod:`bnn.kws.model` computes ``y = W_b x_b + bias`` with
``W_b = alpha_o Sign(k3 W)`` and the dual-scale input ``x_b = b1 + a s2 - t2``
(:class:`bnn.kws.binarize.DualScaleAct`).  With ``sw = Sign(k3 W)`` (+/-1) this is::

    y_o = alpha_o (D1_o + a D2_o - T_o) + bias_o,    D1 = sw . b1,  D2 = sw . s2,  T = sw . t2

``D1`` and ``D2`` are +/-1 dot products: the two bit-planes ``b1`` and ``s2`` are packed
(bit 1 = +1, :func:`bnn.infer.packing.pack_pm1` convention, Sign(0) = -1) as the rows of one
matrix and go through one :func:`bnn.infer.bitgemm.bitgemm` call (``k - 2 popcount(a XOR w)``).
``T`` and the batch-norm that follows (inference BN is affine) fold into a per-output scale and
constant: ``y_bn = s_o (D1 + a D2) + c_o`` with ``s = g alpha``, ``c = g (bias - alpha T - mu) +
beta`` and ``g = gamma / sqrt(var + eps)``.  The thresholds fold too: ``Sign(k1 (x - t0))`` is
``x - t0 > 0`` for ``k1 > 0`` and ``x - t0 < 0`` for ``k1 < 0``.

* The binarized 5x5 stride-2 convolution (16 -> 32 channels) runs as one GEMM over im2col
  rows of 400 bits.  torch pads the *binarized* input with zeros, which a +/-1 bit cannot hold:
  padded taps are packed as -1 and the per-(position, output) correction ``sum_padded sw`` is
  added back (exact); ``T`` becomes a per-position map.
* The 256 -> 128 linear layer and the 1x1 convolutions of each D-FSMN layer are GEMMs with the
  ``B x 8`` frames as rows.
* The depthwise memory convolutions (5 taps per channel) are not GEMMs: they run as five
  shifted multiply-adds of ``b1 + a s2`` (float, +/-1 and +/-a values) with the +/-1 weights;
  the zero-padded ``t2`` term is a per-(frame, channel) constant.
* The real layers (first convolution, classifier) run in float32 numpy with BN folded.

Numerics: the binary dot products are exact integers where torch sums float32 products, and
the per-sample scale ``a`` is a float32 mean in another summation order, so the outputs agree
with torch ``eval()`` to float32 rounding (about 1e-6 relative); a threshold decision taken on a
value within rounding of its threshold may flip a bit (rare; measured by the tests and
``bnn-kws-eval --compare-torch``).

Storage (:meth:`PackedKWS.storage`): 1 bit per binary weight (uint64 words), float32 for each
per-channel constant (thresholds, folded scales/constants, PReLU slopes) and for the real layers.
"""
import os

import numpy as np

from bnn.infer import bitgemm, packing
from bnn.utils.errors import BnnError

FORMAT = "bnn-kws-packed-v1"
F32 = np.float32


def _prelu(x, w, unit=False):
    """PReLU ``x if x > 0 else w x``; ``max(x, w x)`` (the same value in 2 operations) when every
    slope is in [0, 1] (``unit``)."""
    if unit:
        return np.maximum(x, x * w)
    return np.where(x > 0, x, x * w)


def _bn_affine(bn):
    g = (bn.weight.detach().double() / (bn.running_var.double() + bn.eps).sqrt()).numpy()
    return g, bn.bias.detach().double().numpy() - g * bn.running_mean.double().numpy()


def _act_params(act):
    """``(t0, s1, t1, s2)``: thresholds and slope signs of a DualScaleAct."""
    k1, k2 = float(act.k1.detach()), float(act.k2.detach())
    return (act.t0.detach().numpy().astype(F32), int(np.sign(k1)),
            act.t1.detach().numpy().astype(F32), int(np.sign(k2)), act.t2.detach().double().numpy())


def _cmp(u, s):
    if s > 0:
        return u > 0
    if s < 0:
        return u < 0
    return np.zeros(u.shape, dtype=bool)


def planes(x, t0, s1, t1, s2):
    """Bit-planes ``b1``, ``s2`` (bool) and the per-sample scale ``a`` of the dual-scale activation
    of ``x`` (channels last, batch first).

    ``x - t0 > 0`` is ``x > t0`` exactly (IEEE subtraction is 0 only for equal operands), and
    ``r = (x - b1) - t1`` in torch's order and rounding."""
    b1 = (x > t0) if s1 > 0 else (x < t0) if s1 < 0 else np.zeros(x.shape, dtype=bool)
    r = (x - np.where(b1, F32(1), F32(-1))) - t1
    a = np.abs(r).reshape(len(x), -1).mean(1, dtype=F32)
    return b1, (r > 0) if s2 > 0 else (r < 0) if s2 < 0 else np.zeros(x.shape, dtype=bool), a


def pack_rows(bits: np.ndarray) -> np.ndarray:
    """:func:`bnn.infer.packing.pack_bits` of a bool matrix; one ``np.packbits`` when ``k % 64 ==
    0`` (the same little-endian layout, see bnn.infer.packing)."""
    if bits.shape[1] % 64 == 0 and bits.dtype == bool:
        return np.packbits(bits, axis=1, bitorder="little").view("<u8")
    return packing.pack_bits(bits)


class _Gemm:
    """One binarized GEMM: ``y = scale (D1 + a D2) + const`` over packed bit-plane rows."""

    def __init__(self, sw, k):
        self.k = int(k)
        self.w = bitgemm.PackedWeights(packing.pack_pm1(sw), self.k)

    def dots(self, b1_rows, s2_rows, kernel=None, threads=1):
        """``(D1, D2)`` as float32 (exact integers)."""
        m = len(b1_rows)
        a = pack_rows(np.concatenate([b1_rows, s2_rows]))
        d = bitgemm.bitgemm(a, self.w, self.k, kernel=kernel, num_threads=threads).astype(F32)
        return d[:m], d[m:]


class PackedKWS:
    """A binary D-FSMN at one thinning option, folded for the packed engine."""

    def __init__(self, arrays: dict, meta: dict):
        # what is stored is what runs: float constants are float32 from the start
        self.a = {k: (v if v.dtype in (np.uint64, np.int8) else np.asarray(v, dtype=F32))
                  for k, v in arrays.items()}
        self.meta = meta
        self.kernel = bitgemm.default_kernel()
        self.threads = 1
        self._build()

    # ---------------------------------------------------------------- export from torch
    @classmethod
    def from_torch(cls, model, option: int = 0):
        from bnn.kws.model import kept_layers
        if model.cfg["mode"] != "bifsmn":
            raise BnnError(f"packed export needs a BiFSMNv2 (mode bifsmn) model, got "
                           f"{model.cfg['mode']}")
        model = model.eval()
        arr, keep = {}, kept_layers(len(model.layers), option)
        det = lambda t: t.detach().double().numpy()  # noqa: E731
        arr["feat_mean"], arr["feat_std"] = det(model.feat_mean), det(model.feat_std)
        g, h = _bn_affine(model.bn1)
        arr["c1_w"] = det(model.conv1.weight).reshape(16, 25).T * g          # (25, 16)
        arr["c1_b"] = g * det(model.conv1.bias) + h
        arr["c1_prelu"] = det(model.act1.weight)
        g, h = _bn_affine(model.bn2)
        cls._bin(arr, "c2", model.conv2, g, h, det(model.conv2.bias))
        arr["c2_prelu"] = det(model.act2.weight)
        cls._bin(arr, "lin", model.linear, 1.0, 0.0, det(model.linear.bias))
        arr["lin_prelu"] = det(model.lin_act.weight)
        for i, j in enumerate(keep):
            L = model.layers[j]
            g, h = _bn_affine(L.mem_bn)
            cls._bin(arr, f"l{i}_mem", L.mem_conv, g, h, 0.0, depthwise=True)
            arr[f"l{i}_mem_prelu"] = det(L.mem_act.weight)
            g, h = _bn_affine(L.exp_bn)
            cls._bin(arr, f"l{i}_exp", L.expand, g, h, det(L.expand.bias))
            arr[f"l{i}_exp_prelu"] = det(L.exp_act.weight)
            g, h = _bn_affine(L.out_bn[option])
            cls._bin(arr, f"l{i}_prj", L.project, g, h, det(L.project.bias))
            arr[f"l{i}_prj_prelu"] = det(L.out_act[option].weight)
        t = model.t_out
        w = det(model.classifier.weight)                                      # (cls, C*T)
        arr["cls_w"] = w.reshape(len(w), -1, t).transpose(0, 2, 1).reshape(len(w), -1).T
        arr["cls_b"] = det(model.classifier.bias)
        meta = {"format": FORMAT, "option": option, "layers": len(keep),
                "memory": model.cfg["memory"], "hidden": model.cfg["hidden"],
                "lorder": model.cfg["lorder"], "rorder": model.cfg["rorder"],
                "num_classes": model.cfg["num_classes"], "t_out": t}
        return cls(arr, meta)

    @staticmethod
    def _bin(arr, name, layer, g, h, bias, depthwise=False):
        """Sign weights as bits, folded scale ``g alpha``, ``g (bias - mu') + beta`` and the
        activation's thresholds, slope signs and ``t2`` (the ``T`` term is built at load)."""
        w = layer.weight.detach().double()
        alpha = w.abs().flatten(1).mean(1).numpy()
        sw = np.where((float(layer.k3.detach()) * w).numpy() > 0, 1, -1).astype(np.int8)
        t0, s1, t1, s2, t2 = _act_params(layer.act)
        sw = sw.reshape(len(sw), -1)
        # depthwise (5 taps): one row per tap over the channels, so no word is mostly padding
        arr[f"{name}_bits"] = packing.pack_pm1(sw.T if depthwise else sw)
        arr[f"{name}_scale"] = g * alpha
        arr[f"{name}_alpha"] = alpha
        arr[f"{name}_const"] = g * bias + h                  # without the -alpha T term
        arr[f"{name}_t0"], arr[f"{name}_t1"], arr[f"{name}_t2"] = t0, t1, t2
        arr[f"{name}_sign"] = np.array([s1, s2], dtype=np.int8)
        arr[f"{name}_inscale"] = np.array([float(layer.act.in_scale)], dtype=F32)

    # ---------------------------------------------------------------- file format
    def save(self, path: str) -> int:
        """Write the deployment file (numpy ``.npz``: bits as uint64, constants as float32)."""
        out = {"meta": np.frombuffer(repr(self.meta).encode(), dtype=np.uint8)}
        for k, v in self.a.items():
            out[k] = v
        tmp = path + ".tmp.npz"
        np.savez(tmp, **out)
        os.replace(tmp, path)
        return os.path.getsize(path)

    @classmethod
    def load(cls, path: str):
        if not os.path.isfile(path):
            raise BnnError(f"{path}: packed KWS model not found")
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
            import ast
            meta = ast.literal_eval(bytes(arrays.pop("meta")).decode())
        except Exception as err:  # noqa: BLE001
            raise BnnError(f"{path}: not a packed KWS model ({type(err).__name__})") from None
        if meta.get("format") != FORMAT:
            raise BnnError(f"{path}: not a packed KWS model (format {meta.get('format')})")
        return cls(arrays, meta)

    def storage(self) -> dict:
        """Bytes by kind: ``bits`` (binary weights), ``float`` (float32 constants and real
        layers) and their ``total``; ``alpha`` and ``t2`` are folded into scale/const and
        are not counted (:meth:`save` keeps them only to rebuild the fold)."""
        bits = sum(v.size * 8 for k, v in self.a.items() if k.endswith("_bits"))
        fl = sum(v.size * 4 for k, v in self.a.items()
                 if not k.endswith(("_bits", "_sign", "_alpha", "_t2")))
        return {"bits": int(bits), "float": int(fl), "total": int(bits + fl)}

    # ---------------------------------------------------------------- inference
    def _build(self):
        a, m = self.a, self.meta
        f = lambda k: np.ascontiguousarray(a[k], dtype=F32)  # noqa: E731
        self.f = {k: f(k) for k in a if not k.endswith(("_bits", "_sign"))}
        self.g = {}
        for name, n_in, taps in [("c2", 16, 25), ("lin", None, 1)] + \
                [(f"l{i}_{s}", None, 1) for i in range(m["layers"]) for s in ("exp", "prj")]:
            bits = a[f"{name}_bits"]
            k = len(a[f"{name}_t0"]) * taps
            self.g[name] = _Gemm(packing.unpack_pm1(bits, k), k)
        # conv2: padded-tap correction and the T map per output position (8 x 8)
        sw = packing.unpack_pm1(a["c2_bits"], 400).astype(np.float64)           # (32, 400)
        valid = self._im2col(np.ones((1, 16, 16, 1), dtype=bool).repeat(16, 3))[0] > 0
        t2 = np.repeat(a["c2_t2"].astype(np.float64), 25)                       # (400,) c-major
        self.c2_corr = ((~valid).astype(np.float64) @ sw.T).astype(F32)      # (64, 32), integers
        tmap = (valid * t2) @ sw.T
        self.c2_const = (a["c2_const"] - a["c2_scale"] * tmap).astype(F32)
        # linear and 1x1 convolutions: T = sw . t2 per output
        for name in self.g:
            if name == "c2":
                continue
            k = len(a[f"{name}_t0"])
            sw = packing.unpack_pm1(a[f"{name}_bits"], k).astype(np.float64)
            self.f[f"{name}_cst"] = (a[f"{name}_const"]
                                     - a[f"{name}_scale"] * (sw @ a[f"{name}_t2"])).astype(F32)
        # depthwise memory convolutions: taps (5, C) and the zero-padded t2 map (T, C)
        lo, ro, t = m["lorder"], m["rorder"], m["t_out"]
        self.mem = []
        for i in range(m["layers"]):
            n = f"l{i}_mem"
            c = len(a[f"{n}_t0"])
            sw = packing.unpack_pm1(a[f"{n}_bits"], c).astype(np.float64)          # (5, C)
            tm = np.zeros((t, c))
            for tt in range(t):
                for kk in range(lo + ro + 1):
                    if 0 <= tt + kk - lo < t:
                        tm[tt] += sw[kk] * a[f"{n}_t2"]
            cst = (a[f"{n}_const"] - a[f"{n}_scale"] * tm).astype(F32)
            self.mem.append((sw.astype(F32), cst))
        self.unit = {k: bool(v.min() >= 0 and v.max() <= 1) for k, v in self.f.items()
                     if k.endswith("_prelu")}
        self.sign = {k[:-5]: tuple(int(s) for s in v) for k, v in a.items() if k.endswith("_sign")}

    @staticmethod
    def _im2col(x):
        """(B, 16, 16, C) channels-last -> (B, 64, C * 25) rows of the 5x5 stride-2 pad-2 conv."""
        b, _, _, c = x.shape
        p = np.zeros((b, 20, 20, c), dtype=x.dtype)
        p[:, 2:18, 2:18] = x
        win = np.lib.stride_tricks.sliding_window_view(p, (5, 5), axis=(1, 2))[:, :15:2, :15:2]
        return win.reshape(b, 64, c * 25)       # (B, 8, 8, C, 5, 5): order c, kh, kw

    def _planes(self, name, x):
        f, (s1, s2) = self.f, self.sign[name]
        sc = f[f"{name}_inscale"]
        if sc[0] != 1:
            x = x / sc[0]
        return planes(x, f[f"{name}_t0"], s1, f[f"{name}_t1"], s2)

    def _dense(self, name, x, prelu):
        """Binarized 1x1 conv / linear on ``x`` (B, T, C): scale (D1 + a D2) + const, PReLU."""
        b, t, _ = x.shape
        b1, s2, a = self._planes(name, x)
        d1, d2 = self.g[name].dots(b1.reshape(b * t, -1), s2.reshape(b * t, -1), self.kernel,
                                   self.threads)
        n = d1.shape[1]
        dd = d1.reshape(b, t, n) + a[:, None, None] * d2.reshape(b, t, n)
        return _prelu(dd * self.f[f"{name}_scale"] + self.f[f"{name}_cst"], self.f[prelu],
                      self.unit[prelu])

    def forward(self, feats: np.ndarray) -> np.ndarray:
        """Logits ``(B, classes)`` of features ``(B, 32, 32)`` (time x mel)."""
        f = self.f
        x = (np.asarray(feats, dtype=F32) - f["feat_mean"]) / f["feat_std"]
        b = len(x)
        # conv1 (real): im2col of the single input channel
        p = np.zeros((b, 36, 36), dtype=F32)
        p[:, 2:34, 2:34] = x
        win = np.lib.stride_tricks.sliding_window_view(p, (5, 5), axis=(1, 2))[:, :31:2, :31:2]
        h = _prelu(win.reshape(b, 256, 25) @ f["c1_w"] + f["c1_b"], f["c1_prelu"],
                    self.unit["c1_prelu"])
        h = h.reshape(b, 16, 16, 16)                                          # (B, t, f, c)
        # conv2 (binary): two bit-planes of im2col rows, padded taps corrected
        b1, s2, a = self._planes("c2", h)
        d1, d2 = self.g["c2"].dots(self._im2col(b1).reshape(b * 64, 400),
                                   self._im2col(s2).reshape(b * 64, 400), self.kernel, self.threads)
        d1 = d1.reshape(b, 64, 32) + self.c2_corr
        d2 = d2.reshape(b, 64, 32) + self.c2_corr
        h = _prelu((d1 + a[:, None, None] * d2) * f["c2_scale"] + self.c2_const, f["c2_prelu"],
                    self.unit["c2_prelu"])
        t = self.meta["t_out"]
        h = h.reshape(b, t, 8, 32).transpose(0, 1, 3, 2).reshape(b, t, 256)   # (B, t, c*8+f)
        x = self._dense("lin", np.ascontiguousarray(h), "lin_prelu")
        lo = self.meta["lorder"]
        for i, (taps, cst) in enumerate(self.mem):
            n = f"l{i}_mem"
            b1, s2, a = self._planes(n, x)
            a3 = a[:, None, None]
            z = np.where(b1, F32(1), F32(-1)) + np.where(s2, a3, -a3)
            zp = np.zeros((b, t + len(taps) - 1, z.shape[2]), dtype=F32)
            zp[:, lo:lo + t] = z
            acc = zp[:, 0:t] * taps[0]
            for kk in range(1, len(taps)):
                acc += zp[:, kk:kk + t] * taps[kk]
            m = _prelu(acc * f[f"{n}_scale"] + cst, f[f"{n}_prelu"], self.unit[f"{n}_prelu"]) + x
            h = self._dense(f"l{i}_exp", m, f"l{i}_exp_prelu")
            x = self._dense(f"l{i}_prj", h, f"l{i}_prj_prelu") + m
        return x.reshape(b, -1) @ f["cls_w"] + f["cls_b"]

    def stream(self, wav: np.ndarray, sr: int, hop: float = 0.25, batch: int = 16):
        """Posteriors of every 1 s window of ``wav`` with a hop of ``hop`` seconds (the last
        window is zero-padded): ``(starts in seconds, probabilities (W, classes))``."""
        from bnn.kws.features import LogMel
        import torch
        wav = np.asarray(wav, dtype=F32)
        step = max(1, int(round(hop * sr)))
        starts = list(range(0, max(1, len(wav) - sr + step), step))
        ext = LogMel(sr)
        probs = []
        for s in range(0, len(starts), batch):
            wins = []
            for st in starts[s:s + batch]:
                w = wav[st:st + sr]
                wins.append(np.pad(w, (0, sr - len(w))) if len(w) < sr else w)
            z = self.forward(ext(torch.from_numpy(np.stack(wins))).numpy())
            z = np.exp(z - z.max(1, keepdims=True))
            probs.append(z / z.sum(1, keepdims=True))
        return np.array(starts) / sr, np.concatenate(probs)


def export(model, path: str, option: int = 0) -> dict:
    """Fold ``model`` at thinning ``option``, write ``path``; return storage and file bytes."""
    pk = PackedKWS.from_torch(model, option)
    size = pk.save(path)
    return dict(pk.storage(), file=size)


