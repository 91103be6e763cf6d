"""The packed inference engine: runs a folded model (:mod:`bnn.infer.fold`) with bit-packed layers.

``PackedModel.from_torch(model)`` folds an eval-mode DNN acoustic model; ``PackedModel.load(path)``
reads a deployment file written by :func:`bnn.infer.export.export`.  ``forward(x)`` maps float32
features ``(T, input_dim)`` to pre-softmax logits ``(T, num_pdfs)`` like ``model.eval()(x)``:

* float layers: one float32 GEMM (oneDNN, torch or numpy; weights stored transposed ``(k, n)``); a binary
  output is ``x @ W' > tau`` packed straight into 64-bit words;
* binary layers: packed bits in, XOR-popcount GEMM (:mod:`bnn.infer.bitgemm`) with the fused
  epilogue: thresholds -> packed bits (hidden layers, no float round trip) or
  ``scale * acc + bias`` -> float32 (binary output layer), then an optional float activation.

Packed activations stay in the layout of :mod:`bnn.infer.packing` between layers; padding bits
are zero, so ``k % 64 != 0`` needs no special handling.
"""
import numpy as np

from bnn.infer import bitgemm, fold, packing
from bnn.utils.errors import BnnError


def _sigmoid(y):
    """1 / (1 + exp(-y)); exp overflows to inf for y < -88 (float32), giving the exact 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-y))


_ACTS = {
    None: lambda y: y,
    "sigmoid": _sigmoid,
    "relu": lambda y: np.maximum(y, 0.0),
    "tanh": np.tanh,
}


FLOAT_BACKENDS = ("auto", "bnn", "onednn", "torch", "numpy")
REAL_LAYERS = ("fp32", "int8")
INT8_ENGINES = ("onednn", "x86", "fbgemm")     # torch quantized engines, preferred first


def _int8_linear(weight_kn: np.ndarray):
    """``x (T, k) @ w (k, n)`` with int8 weights (per output channel, symmetric) and dynamically
    quantized uint8 activations (per call): torch's ``quantize_dynamic`` Linear on oneDNN (or
    x86/fbgemm where oneDNN is not built in).  Returns ``mm(x) -> float32 (T, n)``.

    Weight scale per output unit ``s_j = max_i |w_ij| / 127``; activation scale/zero point from the
    batch's min/max; accumulation in int32, output ``s_x s_j (acc - zp corrections)`` in float.
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    engines = torch.backends.quantized.supported_engines
    engine = next((e for e in INT8_ENGINES if e in engines), None)
    if engine is None:
        raise BnnError(f"packed model: --real-layers int8 needs a torch quantized engine "
                       f"({', '.join(INT8_ENGINES)}); this torch has {engines}")
    k, n = weight_kn.shape
    lin = torch.nn.Linear(k, n, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight_kn.T)))
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # torch.ao's deprecation notice
            q = quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear:
                                                            per_channel_dynamic_qconfig},
                                 dtype=torch.qint8)[0]
    finally:
        torch.backends.quantized.engine = previous

    def mm(x):
        with torch.no_grad():
            return q(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()
    mm.engine = engine
    return mm


def _torch_linear(torch, onednn: bool):
    """``x (T, k) @ w (k, n)`` with torch: oneDNN's ``mkldnn_linear`` on a weight reordered once,
    or ``F.linear`` (torch's BLAS).  The (n, k) copy of each weight is cached by identity."""
    cache = {}

    def mm(x, w):
        hit = cache.get(id(w))
        if hit is None or hit[0] is not w:
            wt = torch.from_numpy(np.ascontiguousarray(w.T))
            hit = cache[id(w)] = (w, wt.to_mkldnn() if onednn else wt)
        xt = torch.from_numpy(x)
        if onednn:
            return torch._C._nn.mkldnn_linear(xt.to_mkldnn(), hit[1], None).to_dense().numpy()
        return torch.nn.functional.linear(xt, hit[1]).numpy()
    return mm


def _onednn_works(torch) -> bool:
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        x, w = torch.ones(2, 3), torch.ones(4, 3)
        y = torch._C._nn.mkldnn_linear(x.to_mkldnn(), w.to_mkldnn(), None).to_dense()
        return bool((y == 3).all())
    except (RuntimeError, AttributeError):
        return False


def _bnn_linear(num_threads: int):
    """``x (T, k) @ w (k, n)`` with the extension's float32 kernel on the binary layers' thread
    pool (:func:`bnn.infer.bitgemm.sgemm`); the panel copy of each weight is cached by identity."""
    cache = {}

    def mm(x, w):
        hit = cache.get(id(w))
        if hit is None or hit[0] is not w:
            hit = cache[id(w)] = (w, bitgemm.FloatPanels(w))
        return bitgemm.sgemm(x, hit[1], num_threads)
    return mm


def _float_matmul(backend: str, num_threads: int = 1):
    """float32 GEMM for the float layers (the real-valued input layer of a Qian/Lu net, a real
    output layer): "bnn" (the extension's kernel on the same thread pool as the binary layers:
    faster than oneDNN on the AMD test machine at 1 and 2 threads for 1-64 frames, and it scales
    where oneDNN's threads do not at 16-frame batches), "onednn" (torch's oneDNN), "torch"
    (``F.linear``; torch's MKL takes a non-AVX-512 path on AMD), "numpy" (its BLAS), or "auto"
    (bnn when the extension is built and the CPU has AVX-512 -- elsewhere its kernel is portable
    C -- else oneDNN, torch, numpy).  Returns ``mm(x, w)``."""
    if backend not in FLOAT_BACKENDS:
        raise BnnError(f"packed model: float backend {backend!r} is not one of "
                       f"{', '.join(FLOAT_BACKENDS)}")
    fast_sgemm = bitgemm.sgemm_available() and "avx512" in bitgemm.available_kernels()
    if backend == "bnn" or (backend == "auto" and fast_sgemm):
        if not bitgemm.sgemm_available():
            raise BnnError("packed model: float backend bnn requested but the bnn.infer._bitgemm "
                           "extension is not built")
        return _bnn_linear(num_threads)
    if backend == "numpy":
        return np.matmul
    try:
        import torch
    except ImportError:
        if backend != "auto":
            raise BnnError(f"packed model: float backend {backend} requested but torch is not "
                           f"installed")
        return np.matmul
    onednn = backend in ("auto", "onednn") and _onednn_works(torch)
    if backend == "onednn" and not onednn:
        raise BnnError("packed model: float backend onednn requested but torch has no oneDNN")
    return _torch_linear(torch, onednn)


class PackedModel:
    """A folded model ready to run.  ``kernel``: None (BNN_KERNEL / best), or a kernel name."""

    def __init__(self, layers, input_dim: int = None, num_pdfs: int = None, kernel=None,
                 num_threads: int = 1, float_backend: str = "auto", real_layers: str = "fp32"):
        if not layers:
            raise BnnError("packed model: no layers")
        for layer in layers:
            layer.check()
        for prev, nxt in zip(layers, layers[1:]):
            if prev.out_dim != nxt.in_dim or prev.out_values != nxt.in_values:
                raise BnnError(f"packed model: layer {prev.name} outputs {prev.out_dim} "
                               f"{prev.out_values} but {nxt.name} expects {nxt.in_dim} "
                               f"{nxt.in_values}")
        if layers[0].in_values != "float" or layers[-1].out_values != "float":
            raise BnnError("packed model: the input and the output must be float")
        self.layers = list(layers)
        self.input_dim = int(input_dim if input_dim is not None else layers[0].in_dim)
        self.num_pdfs = int(num_pdfs if num_pdfs is not None else layers[-1].out_dim)
        self.num_threads = int(num_threads)
        self.kernel = kernel if kernel is not None else bitgemm.default_kernel()
        self._weights = [bitgemm.PackedWeights(L.weight_bits, L.in_dim)
                         if L.kind == "binary" else None for L in self.layers]
        self._matmul = _float_matmul(float_backend, self.num_threads)
        if real_layers not in REAL_LAYERS:
            raise BnnError(f"packed model: real layers {real_layers!r}: expected fp32 or int8")
        self.real_layers = real_layers
        # int8: every float-weight layer (a Lu/Qian net's real input and output layers)
        self._int8 = [(_int8_linear(L.weight) if real_layers == "int8" and L.kind != "binary"
                       else None) for L in self.layers]

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_torch(cls, model, kernel=None, num_threads: int = 1, table: bool = True,
                   float_backend: str = "auto", real_layers: str = "fp32"):
        """Fold a :class:`bnn.nn.models.AcousticModel` (DNN) into a packed model."""
        layers = fold.fold_model(model, table=table)
        return cls(layers, model.input_dim, model.num_pdfs, kernel=kernel, num_threads=num_threads,
                   float_backend=float_backend, real_layers=real_layers)

    @classmethod
    def load(cls, path, kernel=None, num_threads: int = 1, float_backend: str = "auto",
             real_layers: str = "fp32"):
        """Read a deployment file written by :func:`bnn.infer.export.export`."""
        from bnn.infer import export
        layers, meta = export.read_packed(path)
        model = cls(layers, meta.get("input_dim"), meta.get("num_pdfs"), kernel=kernel,
                    num_threads=num_threads, float_backend=float_backend,
                    real_layers=real_layers)
        model.meta, model.extra = meta.get("meta", {}), meta.get("extra", {})
        return model

    def save(self, path) -> dict:
        """Write the deployment file; returns the size report of :func:`bnn.infer.export.write_packed`."""
        from bnn.infer import export
        return export.write_packed(self.layers, path, self.input_dim, self.num_pdfs)

    # ------------------------------------------------------------------ running
    def _layer(self, i, x):
        """Run layer i on x (float32 (T, k) or packed uint64 (T, kw)); returns float or packed."""
        L = self.layers[i]
        if L.kind == "binary":
            w = self._weights[i]
            if L.out_bits:
                return bitgemm.bitgemm_bits(x, w, L.in_dim, L.thr, kernel=self.kernel,
                                            num_threads=self.num_threads)
            y = bitgemm.bitgemm_float(x, w, L.in_dim, L.scale, L.bias, kernel=self.kernel,
                                      num_threads=self.num_threads)
            return _ACTS[L.act](y).astype(np.float32, copy=False)
        if L.in_values != "float":
            x = (packing.unpack_pm1(x, L.in_dim) if L.in_values == "-1,1"
                 else packing.unpack_01(x, L.in_dim))
        y = self._int8[i](x) if self._int8[i] is not None else self._matmul(x, L.weight)
        if L.out_bits:
            return packing.pack_bits(y > L.tau[None, :])
        y += L.bias[None, :]
        return _ACTS[L.act](y).astype(np.float32, copy=False)

    def _check_input(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise BnnError(f"packed model input: expected (frames, {self.input_dim}) features, "
                           f"got {x.shape}")
        return x

    def forward(self, x: np.ndarray) -> np.ndarray:
        """float32 features ``(T, input_dim)`` -> float32 logits ``(T, num_pdfs)`` (pre-softmax)."""
        x = self._check_input(x)
        for i in range(len(self.layers)):
            x = self._layer(i, x)
        return x

    __call__ = forward

    def hidden_bits(self, x: np.ndarray) -> list:
        """Output bits (uint8 0/1, ``(T, n)``) of every layer with a binary output, in order."""
        x = self._check_input(x)
        out = []
        for i, L in enumerate(self.layers):
            x = self._layer(i, x)
            if L.out_bits:
                out.append(packing.unpack_bits(x, L.out_dim))
        return out

    def describe(self) -> str:
        return fold.describe(self.layers)
