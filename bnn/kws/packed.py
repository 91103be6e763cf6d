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

Storage: the deployment file (:meth:`PackedKWS.to_bytes`) is one binary blob -- a short JSON
index, the binary weights as 64-bit words (1 bit per weight, rows padded to 64), and only the
constants the forward needs: per layer thresholds ``t0``, ``t1``, the folded scale and constant
(``alpha``, the ``T`` term and the BN are folded in at export; the 5x5 convolution and the
memory convolutions keep ``t2`` (one per input channel) instead of their per-position constant
maps, rebuilt at load) and the PReLU slopes, stacked over the D-FSMN layers.  Constants are
stored as float16 by default (``const_dtype``) and the real classifier as int8 with one float
scale per class (``cls_dtype``); the model runs on exactly the stored (rounded) values, so the
export *is* the deployed model and its accuracy is measured as such (``bnn-kws-eval --packed``).
:meth:`PackedKWS.storage` counts the bytes of that file.

Speed: :meth:`PackedKWS.forward` runs the whole network in one C call per batch
(``bnn/kws/csrc/dfsmn.c``, the same arithmetic window by window); the numpy path
(:meth:`PackedKWS.forward_numpy`) is the reference and the fallback without the extension.
"""
import json
import os
import re
import struct

import numpy as np

from bnn.infer import bitgemm, packing
from bnn.utils.errors import BnnError

FORMAT = "bnn-kws-packed-v2"
MAGIC = b"BNNKWS2\n"
F32 = np.float32
CONST_DTYPES = ("float32", "float16")
CLS_DTYPES = ("float32", "float16", "int8")
# stored at full precision whatever const_dtype says: input normalisation, 1-value scales
_KEEP_F32 = ("feat_mean", "feat_std")

try:
    from bnn.kws import _dfsmn
except ImportError:  # optional C extension (setup.py); the numpy path is used without it
    _dfsmn = None


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
        meta = dict(meta)
        meta.setdefault("const_dtype", "float16")
        meta.setdefault("cls_dtype", "int8")
        if meta["const_dtype"] not in CONST_DTYPES or meta["cls_dtype"] not in CLS_DTYPES:
            raise BnnError(f"packed KWS: const_dtype {meta['const_dtype']} / cls_dtype "
                           f"{meta['cls_dtype']}: expected one of {CONST_DTYPES} / {CLS_DTYPES}")
        self.meta = meta
        self.a = self._stored_form(arrays, meta)
        self.kernel = bitgemm.default_kernel()
        self.threads = 1
        self.use_c = _dfsmn is not None
        self._build()

    @staticmethod
    def _stored_form(arrays: dict, meta: dict) -> dict:
        """The arrays as the file holds them: bits uint64, signs int8, constants in
        ``const_dtype`` (1-value input scales and the feature normalisation float32), the
        classifier in ``cls_dtype`` (int8: ``cls_q`` and one float32 scale per class)."""
        cd = np.dtype(meta["const_dtype"])
        out = {}
        for k, v in arrays.items():
            v = np.asarray(v)
            if v.dtype in (np.uint64, np.int8) or k in ("cls_q",):
                out[k] = v
            elif k in _KEEP_F32 or k.endswith("_inscale") or k == "cls_s":
                out[k] = v.astype(F32)
            elif k == "cls_w" and meta["cls_dtype"] == "int8":
                w = v.astype(np.float64)                                   # (T*M, classes)
                sc = np.abs(w).max(0) / 127
                sc[sc == 0] = 1
                out["cls_q"] = np.clip(np.rint(w / sc), -127, 127).astype(np.int8)
                out["cls_s"] = sc.astype(F32)
            elif k == "cls_w":
                out[k] = v.astype(meta["cls_dtype"])
            else:
                out[k] = v.astype(cd)
        return out

    # ---------------------------------------------------------------- export from torch
    @classmethod
    def from_torch(cls, model, option: int = 0, const_dtype: str = "float16",
                   cls_dtype: str = "int8"):
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
        cls._bin(arr, "c2", model.conv2, g, h, det(model.conv2.bias), keep_t2=True)
        arr["c2_prelu"] = det(model.act2.weight)
        cls._bin(arr, "lin", model.linear, 1.0, 0.0, det(model.linear.bias))
        arr["lin_prelu"] = det(model.lin_act.weight)
        for i, j in enumerate(keep):
            L = model.layers[j]
            g, h = _bn_affine(L.mem_bn)
            cls._bin(arr, f"l{i}_mem", L.mem_conv, g, h, 0.0, depthwise=True, keep_t2=True)
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
                "num_classes": model.cfg["num_classes"], "t_out": t,
                "const_dtype": const_dtype, "cls_dtype": cls_dtype}
        return cls(arr, meta)

    @staticmethod
    def _bin(arr, name, layer, g, h, bias, depthwise=False, keep_t2=False):
        """Sign weights as bits, the folded scale ``g alpha`` and constant, the activation's
        thresholds, slope signs and input scale.  Dense layers (1x1 convolutions, linear) fold
        ``T = sw . t2`` into the constant (``{name}_cst``); the 5x5 and memory convolutions,
        whose ``T`` depends on the output position through the zero padding, keep ``t2`` and
        the constant without it (``{name}_const``), and the position maps are rebuilt at load."""
        w = layer.weight.detach().double()
        alpha = w.abs().flatten(1).mean(1).numpy()
        sw = np.where((float(layer.k3.detach()) * w).numpy() > 0, 1, -1).astype(np.int8)
        t0, s1, t1, s2, t2 = _act_params(layer.act)
        sw = sw.reshape(len(sw), -1)
        # depthwise (5 taps): one row per tap over the channels, so no word is mostly padding
        arr[f"{name}_bits"] = packing.pack_pm1(sw.T if depthwise else sw)
        arr[f"{name}_scale"] = g * alpha
        const = g * bias + h                                 # without the -alpha T term
        if keep_t2:
            arr[f"{name}_const"], arr[f"{name}_t2"] = const, t2
        else:
            arr[f"{name}_cst"] = const - g * alpha * (sw.astype(np.float64) @ t2)
        arr[f"{name}_t0"], arr[f"{name}_t1"] = t0, t1
        arr[f"{name}_sign"] = np.array([s1, s2], dtype=np.int8)
        arr[f"{name}_inscale"] = np.array([float(layer.act.in_scale)], dtype=F32)

    # ---------------------------------------------------------------- file format
    def to_bytes(self) -> bytes:
        """The deployment file: ``MAGIC``, a little-endian uint32 header length, a JSON header
        (meta and the index: name, dtype, shape of each array in order) and the raw arrays.
        Per-layer arrays ``l{i}_*`` are stacked into one ``L_*`` array each."""
        groups, order = {}, []
        for k, v in self.a.items():
            mt = re.fullmatch(r"l(\d+)_(.*)", k)
            if mt:
                key = "L_" + mt.group(2)
                if key not in groups:
                    groups[key] = []
                    order.append(key)
                groups[key].append(v)
            else:
                order.append(k)
        index, blobs = [], []
        for k in order:
            v = np.stack(groups[k]) if k in groups else self.a[k]
            v = np.ascontiguousarray(v)
            index.append([k, v.dtype.str, list(v.shape)])
            blobs.append(v.tobytes())
        head = json.dumps({"meta": self.meta, "index": index}, separators=(",", ":")).encode()
        return MAGIC + struct.pack("<I", len(head)) + head + b"".join(blobs)

    @classmethod
    def from_bytes(cls, data: bytes, what: str = "packed KWS model"):
        try:
            if data[:len(MAGIC)] != MAGIC:
                raise ValueError("magic")
            n = struct.unpack("<I", data[len(MAGIC):len(MAGIC) + 4])[0]
            pos = len(MAGIC) + 4
            head = json.loads(data[pos:pos + n].decode())
            pos += n
            meta, arrays = head["meta"], {}
            for name, dt, shape in head["index"]:
                dt = np.dtype(dt)
                cnt = int(np.prod(shape)) if shape else 1
                v = np.frombuffer(data, dtype=dt, count=cnt, offset=pos).reshape(shape).copy()
                pos += cnt * dt.itemsize
                if name.startswith("L_"):
                    for i in range(len(v)):
                        arrays[f"l{i}_{name[2:]}"] = v[i]
                else:
                    arrays[name] = v
            if pos != len(data):
                raise ValueError("trailing bytes")
        except Exception as err:  # noqa: BLE001
            raise BnnError(f"{what}: not a packed KWS model ({type(err).__name__})") from None
        if meta.get("format") != FORMAT:
            raise BnnError(f"{what}: not a packed KWS model (format {meta.get('format')})")
        return cls(arrays, meta)

    def save(self, path: str) -> int:
        """Write the deployment file atomically; returns its size in bytes."""
        data = self.to_bytes()
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return len(data)

    @classmethod
    def load(cls, path: str):
        if not os.path.isfile(path):
            raise BnnError(f"{path}: packed KWS model not found")
        with open(path, "rb") as f:
            return cls.from_bytes(f.read(), path)

    def storage(self) -> dict:
        """Bytes of the deployment file by kind: ``bits`` (binary weights), ``const`` (the
        stored constants and real layers), ``header`` (magic, length, JSON index) and ``total``
        (= the file size, :meth:`to_bytes`)."""
        total = len(self.to_bytes())
        bits = sum(v.nbytes for k, v in self.a.items() if k.endswith("_bits"))
        const = sum(v.nbytes for k, v in self.a.items() if not k.endswith("_bits"))
        return {"bits": int(bits), "const": int(const), "header": int(total - bits - const),
                "total": int(total)}

    def storage_table(self) -> list:
        """``(tensor kind, dtype, values, bytes)`` per stored kind, per-layer tensors summed
        over the layers (``l*_exp_t0`` ...), largest first: where the bytes go."""
        rows = {}
        for k, v in self.a.items():
            kind = re.sub(r"^l\d+_", "l*_", k)
            r = rows.setdefault(kind, [kind, v.dtype.name, 0, 0])
            r[2] += int(v.size)
            r[3] += int(v.nbytes)
        return sorted((tuple(r) for r in rows.values()), key=lambda r: -r[3])

    # ---------------------------------------------------------------- inference
    def _build(self):
        """Runtime float32 tensors from the stored form (the rounded values are what runs),
        the folded position maps, the GEMM weights and the C buffers."""
        a, m = self.a, self.meta
        f = lambda k: np.ascontiguousarray(a[k], dtype=F32)  # noqa: E731
        self.f = {k: f(k) for k in a if not k.endswith(("_bits", "_sign"))
                  and k not in ("cls_q", "cls_s")}
        if "cls_q" in a:
            self.f["cls_w"] = (a["cls_q"].astype(F32) * a["cls_s"]).astype(F32)
        self.g = {}
        for name, taps in [("c2", 25), ("lin", 1)] + \
                [(f"l{i}_{s}", 1) for i in range(m["layers"]) for s in ("exp", "prj")]:
            k = len(a[f"{name}_t0"]) * taps
            self.g[name] = _Gemm(packing.unpack_pm1(a[f"{name}_bits"], k), k)
        # conv2: padded-tap correction and the T map per output position (8 x 8)
        sw = packing.unpack_pm1(a["c2_bits"], 400).astype(np.float64)           # (32, 400)
        valid = self._im2col(np.ones((1, 16, 16, 1), dtype=bool).repeat(16, 3))[0] > 0
        t2 = np.repeat(self.f["c2_t2"].astype(np.float64), 25)                  # (400,) c-major
        self.c2_corr = ((~valid).astype(np.float64) @ sw.T).astype(F32)      # (64, 32), integers
        tmap = (valid * t2) @ sw.T
        self.c2_const = (self.f["c2_const"].astype(np.float64)
                         - self.f["c2_scale"].astype(np.float64) * tmap).astype(F32)
        # depthwise memory convolutions: taps (5, C) and the zero-padded t2 map (T, C)
        lo, ro, t = m["lorder"], m["rorder"], m["t_out"]
        self.mem = []
        for i in range(m["layers"]):
            n = f"l{i}_mem"
            c = len(a[f"{n}_t0"])
            sw = packing.unpack_pm1(a[f"{n}_bits"], c).astype(np.float64)          # (5, C)
            t2 = self.f[f"{n}_t2"].astype(np.float64)
            tm = np.zeros((t, c))
            for tt in range(t):
                for kk in range(lo + ro + 1):
                    if 0 <= tt + kk - lo < t:
                        tm[tt] += sw[kk] * t2
            cst = (self.f[f"{n}_const"].astype(np.float64)
                   - self.f[f"{n}_scale"].astype(np.float64) * tm).astype(F32)
            self.mem.append((sw.astype(F32), cst))
        self.unit = {k: bool(v.min() >= 0 and v.max() <= 1) for k, v in self.f.items()
                     if k.endswith("_prelu")}
        self.sign = {k[:-5]: tuple(int(s) for s in v) for k, v in a.items() if k.endswith("_sign")}
        self._c = self._c_buffers()

    def _c_buffers(self):
        """``(fbuf, bbuf, signs, dims)`` for ``_dfsmn.forward``, in the order dfsmn.c reads:
        feat_mean, feat_std, c1_w (25, 16), c1_b, c1_prelu; c2: inscale, t0, t1, scale,
        corr (64, 32), const map (64, 32), prelu; lin: inscale, t0, t1, scale, cst, prelu; per
        layer mem: inscale, t0, t1, taps (K, M), scale, const map (T, M), prelu, then exp and prj:
        inscale, t0, t1, scale, cst, prelu; cls_w (T*M, classes), cls_b.  Bits: the weight rows
        of c2, lin, then per layer exp and prj."""
        f, m = self.f, self.meta
        fl = [f["feat_mean"], f["feat_std"], f["c1_w"], f["c1_b"], f["c1_prelu"],
              f["c2_inscale"], f["c2_t0"], f["c2_t1"], f["c2_scale"], self.c2_corr,
              self.c2_const, f["c2_prelu"]]
        dense = lambda n: [f[f"{n}_inscale"], f[f"{n}_t0"], f[f"{n}_t1"], f[f"{n}_scale"],  # noqa
                           f[f"{n}_cst"], f[f"{n}_prelu"]]
        fl += dense("lin")
        bits = [self.a["c2_bits"], self.a["lin_bits"]]
        signs = list(self.sign["c2"]) + list(self.sign["lin"])
        for i, (taps, cst) in enumerate(self.mem):
            n = f"l{i}_mem"
            fl += [f[f"{n}_inscale"], f[f"{n}_t0"], f[f"{n}_t1"], taps, f[f"{n}_scale"], cst,
                   f[f"{n}_prelu"]] + dense(f"l{i}_exp") + dense(f"l{i}_prj")
            bits += [self.a[f"l{i}_exp_bits"], self.a[f"l{i}_prj_bits"]]
            signs += list(self.sign[n]) + list(self.sign[f"l{i}_exp"]) + list(self.sign[f"l{i}_prj"])
        fl += [f["cls_w"], f["cls_b"]]
        fbuf = np.concatenate([np.asarray(v, dtype=F32).ravel() for v in fl])
        bbuf = np.concatenate([np.asarray(v, dtype=np.uint64).ravel() for v in bits])
        dims = np.array([m["layers"], m["memory"], m["hidden"], m["t_out"], m["lorder"],
                         m["rorder"], m["num_classes"]], dtype=np.int32)
        return fbuf, bbuf, np.array(signs, dtype=np.int32), dims

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
        """Logits ``(B, classes)`` of features ``(B, 32, 32)`` (time x mel): one C call
        (``bnn/kws/csrc/dfsmn.c``) when the extension is built, else :meth:`forward_numpy`."""
        if not self.use_c:
            return self.forward_numpy(feats)
        x = np.ascontiguousarray(feats, dtype=F32)
        if x.ndim != 3 or x.shape[1:] != (32, 32):
            raise BnnError(f"packed KWS: features of shape {x.shape}, expected (B, 32, 32)")
        out = np.empty((len(x), self.meta["num_classes"]), dtype=F32)
        fbuf, bbuf, signs, dims = self._c
        _dfsmn.forward(x, len(x), fbuf, bbuf, signs, dims, out)
        return out

    def forward_numpy(self, feats: np.ndarray) -> np.ndarray:
        """The numpy reference of :meth:`forward` (vectorised over the batch)."""
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


def export(model, path: str, option: int = 0, const_dtype: str = "float16",
           cls_dtype: str = "int8") -> dict:
    """Fold ``model`` at thinning ``option``, write ``path``; return storage and file bytes."""
    pk = PackedKWS.from_torch(model, option, const_dtype, cls_dtype)
    size = pk.save(path)
    return dict(pk.storage(), file=size)


