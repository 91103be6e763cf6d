"""Python API of the XOR-popcount GEMM: the C extension ``bnn.infer._bitgemm`` or a numpy fallback.

For packed operands (layout in :mod:`bnn.infer.packing`) ``A`` (m rows) and ``B`` (n rows) of
``k`` bits, the kernels compute ``acc[i, j] = popcount(A_i XOR B_j)`` and then one of

* :func:`bitgemm`:        ``C = k - 2 * acc``, the +/-1 dot product (Qian & Xiang 2019, Eq. 2);
* :func:`bitgemm_bits`:   packed bits ``acc <= thr[j]`` (a folded BN + Binarize hidden layer);
* :func:`bitgemm_float`:  ``scale[j] * acc + bias[j]`` as float32 (a folded binary output layer).

Kernel choice: ``kernel=None`` means the environment variable ``BNN_KERNEL``
(``avx512|avx2|generic|numpy``) or, unset, the best path the CPU supports.  ``"numpy"`` (also used,
with a warning, when the extension is not built) computes ``np.bitwise_count`` on the XOR.
Threads: ``num_threads`` pthreads split the output units; 1 by default (no competing pool).
"""
import os
import warnings

import numpy as np

from bnn.infer.packing import PANEL, to_panels, words_for

try:  # pragma: no cover - depends on the build
    from bnn.infer import _bitgemm as _ext
except ImportError as _err:  # noqa: N816
    _ext = None
    _EXT_ERROR = str(_err)
else:
    _EXT_ERROR = ""

KERNEL_IDS = {"generic": 0, "avx2": 1, "avx512": 2}
_warned = False


def extension_available() -> bool:
    return _ext is not None


def extension_status() -> tuple:
    """``(built, buildable, reason)`` of the C extension on this machine.

    ``buildable`` is True where ``pip install -e .`` is expected to compile it: an x86-64 CPU
    (the kernels' SIMD paths; other CPUs get the portable C path, but CI is x86-64), a C compiler
    on PATH (``sysconfig``'s ``CC``, else ``cc``/``gcc``) and the Python headers.  Tests use it to
    fail, not skip, when a buildable machine has no extension (a broken build); ``reason`` says
    why it is missing or cannot be built.
    """
    import platform
    import shutil
    import sysconfig
    if _ext is not None:
        return True, True, "built"
    machine = platform.machine().lower()
    cc = (sysconfig.get_config_var("CC") or "").split()
    compiler = next((c for c in ([cc[0]] if cc else []) + ["cc", "gcc"] if shutil.which(c)), None)
    header = os.path.join(sysconfig.get_paths().get("include", ""), "Python.h")
    if machine not in ("x86_64", "amd64"):
        return False, False, f"not an x86-64 machine ({machine})"
    if compiler is None:
        return False, False, "no C compiler on PATH (cc/gcc)"
    if not os.path.isfile(header):
        return False, False, f"no Python headers ({header})"
    return False, True, (f"bnn.infer._bitgemm failed to import ({_EXT_ERROR}) although this "
                         f"x86-64 machine has a C compiler ({compiler}) and Python headers: "
                         "rebuild with 'pip install --no-deps --no-build-isolation -e .'")


def available_kernels() -> list:
    """Kernels usable on this machine, fastest first (``"numpy"`` always last)."""
    return (list(_ext.kernels()) if _ext is not None else []) + ["numpy"]


def default_kernel() -> str:
    """The kernel used for ``kernel=None``: ``BNN_KERNEL`` if set, else the best available."""
    env = os.environ.get("BNN_KERNEL", "").strip()
    if env and env != "auto":
        if env not in KERNEL_IDS and env != "numpy":
            raise ValueError(f"BNN_KERNEL={env}: expected avx512, avx2, generic, numpy or auto")
        return env if (env == "numpy" or _ext is not None) else _fallback()
    return _ext.default_kernel() if _ext is not None else _fallback()


def _fallback() -> str:
    global _warned
    if not _warned:
        warnings.warn(f"bnn.infer._bitgemm C extension not available ({_EXT_ERROR}); using the slow "
                      "numpy bitwise_count fallback. Rebuild with "
                      "'python setup.py build_ext --inplace'.", RuntimeWarning, stacklevel=3)
        _warned = True
    return "numpy"


def _resolve(kernel):
    name = default_kernel() if kernel is None else kernel
    if name == "numpy":
        return "numpy"
    if name not in KERNEL_IDS:
        raise ValueError(f"unknown kernel {name!r}; expected one of {sorted(KERNEL_IDS)} or numpy")
    if _ext is None:
        return _fallback()
    if name not in _ext.kernels():
        raise RuntimeError(f"kernel {name} is not supported by this CPU")
    return name


class PackedWeights:
    """Binary weights ``(n, k)`` repacked once into kernel panels (``(ceil(n/32), kw, 32)`` uint64)."""

    def __init__(self, packed: np.ndarray, k: int):
        packed = np.ascontiguousarray(packed, dtype=np.uint64)
        if packed.ndim != 2 or packed.shape[1] != words_for(k):
            raise ValueError(f"packed weights of shape {packed.shape} do not hold k={k} bits per row")
        self.n, self.kw = packed.shape
        self.k = int(k)
        self.rows = packed
        self.panels = to_panels(packed)


def _acc_numpy(a: np.ndarray, w: PackedWeights) -> np.ndarray:
    """popcount(A_i XOR B_j) with numpy, in row blocks to bound memory."""
    m = a.shape[0]
    acc = np.empty((m, w.n), dtype=np.int64)
    block = max(1, (1 << 22) // max(1, w.n * w.kw))
    for i0 in range(0, m, block):
        x = a[i0:i0 + block, None, :] ^ w.rows[None, :, :]
        acc[i0:i0 + block] = np.bitwise_count(x).sum(axis=2, dtype=np.int64)
    return acc


def _check_a(a: np.ndarray, w: PackedWeights) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.uint64)
    if a.ndim != 2 or a.shape[1] != w.kw:
        raise ValueError(f"packed input of shape {a.shape} does not match weights with kw={w.kw}")
    return a


def as_weights(b, k: int) -> PackedWeights:
    return b if isinstance(b, PackedWeights) else PackedWeights(b, k)


def bitgemm(a: np.ndarray, b, k: int, kernel=None, num_threads: int = 1) -> np.ndarray:
    """``C[i, j] = k - 2 popcount(a_i XOR b_j)`` (int32, ``(m, n)``): the +/-1 dot product."""
    w = as_weights(b, k)
    a = _check_a(a, w)
    name = _resolve(kernel)
    if name == "numpy":
        return (w.k - 2 * _acc_numpy(a, w)).astype(np.int32)
    out = np.empty((a.shape[0], w.n), dtype=np.int32)
    _ext.gemm(a, a.shape[0], w.kw, w.panels, w.n, w.k, 0, None, None, None, out,
              KERNEL_IDS[name], num_threads)
    return out


def bitgemm_bits(a: np.ndarray, b, k: int, thr: np.ndarray, kernel=None,
                 num_threads: int = 1) -> np.ndarray:
    """Packed ``(m, ceil(n/64))`` uint64 output bits: bit j of row i is ``acc[i, j] <= thr[j]``.

    ``thr`` holds n int64 thresholds on the popcount (``-1``: always 0).  Output padding bits are 0.
    """
    w = as_weights(b, k)
    a = _check_a(a, w)
    thr = np.asarray(thr, dtype=np.int64)
    if thr.shape != (w.n,):
        raise ValueError(f"thresholds of shape {thr.shape}, expected ({w.n},)")
    name = _resolve(kernel)
    m = a.shape[0]
    okw = words_for(w.n)
    if name == "numpy":
        from bnn.infer.packing import pack_bits
        return pack_bits(_acc_numpy(a, w) <= thr[None, :])
    thr_pad = np.full(((w.n + PANEL - 1) // PANEL) * PANEL, -1, dtype=np.int64)
    thr_pad[:w.n] = thr
    out = np.zeros((m, okw), dtype=np.uint64)
    _ext.gemm(a, m, w.kw, w.panels, w.n, w.k, 1, thr_pad, None, None, out,
              KERNEL_IDS[name], num_threads)
    return out


def bitgemm_float(a: np.ndarray, b, k: int, scale: np.ndarray, bias: np.ndarray, kernel=None,
                  num_threads: int = 1) -> np.ndarray:
    """float32 ``(m, n)``: ``scale[j] * popcount(a_i XOR b_j) + bias[j]`` (computed in float64)."""
    w = as_weights(b, k)
    a = _check_a(a, w)
    scale = np.ascontiguousarray(scale, dtype=np.float64)
    bias = np.ascontiguousarray(bias, dtype=np.float64)
    if scale.shape != (w.n,) or bias.shape != (w.n,):
        raise ValueError(f"scale/bias of shapes {scale.shape}/{bias.shape}, expected ({w.n},)")
    name = _resolve(kernel)
    if name == "numpy":
        return (scale[None, :] * _acc_numpy(a, w) + bias[None, :]).astype(np.float32)
    out = np.empty((a.shape[0], w.n), dtype=np.float32)
    _ext.gemm(a, a.shape[0], w.kw, w.panels, w.n, w.k, 2, None, scale, bias, out,
              KERNEL_IDS[name], num_threads)
    return out


# ---- float32 layers on the same thread pool --------------------------------------------------

class FloatPanels:
    """float32 weights ``W (k, n)`` repacked once into ``(ceil(n/32), k, 32)`` column panels for
    :func:`sgemm` (zero columns past ``n``)."""

    def __init__(self, w_kn: np.ndarray):
        w = np.asarray(w_kn, dtype=np.float32)
        if w.ndim != 2:
            raise ValueError(f"float weights of shape {w.shape}: expected (k, n)")
        self.k, self.n = w.shape
        self.panels = to_panels(w.T, dtype=np.float32)   # panels[p][k][c] = W[k, 32p + c]


def sgemm_available() -> bool:
    return _ext is not None and hasattr(_ext, "sgemm")


def sgemm(x: np.ndarray, w: FloatPanels, num_threads: int = 1) -> np.ndarray:
    """float32 ``x (m, k) @ W (k, n)`` on the extension's thread pool (FMAs in k order, so
    results match a float32 BLAS to rounding, not bit for bit)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != w.k:
        raise ValueError(f"sgemm input of shape {x.shape}, expected (m, {w.k})")
    out = np.empty((x.shape[0], w.n), dtype=np.float32)
    _ext.sgemm(x, x.shape[0], w.k, w.panels, w.n, out, int(num_threads))
    return out
