"""The packed engine on torch devices (CUDA): XOR-popcount GEMM in torch, and in Triton when present.

Reference semantics (the C kernels' arithmetic, :mod:`bnn.infer.bitgemm`): operands are rows of
``kw`` 64-bit words in the layout of :mod:`bnn.infer.packing` (value ``j`` in bit ``j % 64`` of
word ``j // 64``; padding bits 0), held here as int64 tensors with the same bits.  For input row
``i`` and weight row ``j``::

    acc[i, j] = sum_w popcount(a[i, w] XOR b[j, w])                      (exact integers)
    int:   k - 2 acc                  (the +/-1 dot product, Qian & Xiang 2019 Eq. 2)
    bits:  acc <= thr[j]              (a folded BN + sign hidden layer), packed again into words
    float: float32(scale[j] * acc + bias[j])   (float64 arithmetic)

:func:`xor_popcount` computes ``acc`` with torch integer ops -- popcount by the SWAR bit-count
(Hacker's Delight 5-1) on int64, so the same code runs on CPU (where the tests check it bit for bit
against the C engine) and on CUDA.  On CUDA with ``triton`` importable (optional, not a
requirement: ``pip install triton``), :func:`xor_popcount` uses a Triton kernel with the same
arithmetic, tiled over (rows, units) with a loop over the words; without it the torch version runs
(correct, slower).  :class:`TorchPackedModel` runs a folded model (:mod:`bnn.infer.fold`) layer by
layer on a device: this is ``bnn-forward --engine packed --device cuda``.
"""
import numpy as np
import torch

from bnn.utils.errors import BnnError

M1 = 0x5555555555555555
M2 = 0x3333333333333333
M4 = 0x0F0F0F0F0F0F0F0F
H01 = 0x0101010101010101


def _i64(v: int) -> int:
    """A 64-bit pattern as the signed value torch's int64 holds."""
    return v - (1 << 64) if v >= 1 << 63 else v


def popcount64(x: torch.Tensor) -> torch.Tensor:
    """Bit count of every int64 element (two's complement bits), as int64.

    SWAR: pairs, nibbles, bytes, then a multiply that sums the 8 byte counts into the top byte.
    The arithmetic right shifts of negative values bring in ones only above the bits each mask
    keeps, and the product wraps modulo 2^64 as the C version does, so the result is exact."""
    x = x - ((x >> 1) & M1)
    x = (x & M2) + ((x >> 2) & M2)
    x = (x + (x >> 4)) & M4
    return ((x * H01) >> 56) & 0xFF


def as_words(packed: np.ndarray, device=None) -> torch.Tensor:
    """uint64 packed rows -> int64 tensor with the same bits."""
    return torch.from_numpy(np.ascontiguousarray(packed, dtype=np.uint64).view(np.int64)).to(device)


def xor_popcount_torch(a: torch.Tensor, b: torch.Tensor, block: int = 1 << 22) -> torch.Tensor:
    """``acc[i, j] = sum_w popcount(a[i, w] ^ b[j, w])`` (int64 ``(m, n)``) with torch ops,
    in row blocks of about ``block`` (i, j) pairs."""
    m, kw = a.shape
    n = b.shape[0]
    acc = torch.empty((m, n), dtype=torch.int64, device=a.device)
    rows = max(1, block // max(1, n))
    for i0 in range(0, m, rows):
        ai = a[i0:i0 + rows]
        s = torch.zeros((ai.shape[0], n), dtype=torch.int64, device=a.device)
        for w in range(kw):
            s += popcount64(ai[:, w, None] ^ b[None, :, w])
        acc[i0:i0 + rows] = s
    return acc


_TRITON = None


def _triton_kernel():
    """The Triton kernel, compiled on first use; None when triton is not importable."""
    global _TRITON
    if _TRITON is not None:
        return _TRITON or None
    try:
        import triton
        import triton.language as tl
    except ImportError:
        _TRITON = False
        return None

    @triton.jit
    def _xor_popcount_kernel(a_ptr, b_ptr, c_ptr, m, n, kw, BLOCK_M: tl.constexpr,
                             BLOCK_N: tl.constexpr):
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.int64)
        for w in range(0, kw):
            av = tl.load(a_ptr + rm * kw + w, mask=rm < m, other=0)
            bv = tl.load(b_ptr + rn * kw + w, mask=rn < n, other=0)
            x = av[:, None] ^ bv[None, :]
            x = x - ((x >> 1) & 0x5555555555555555)
            x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
            x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
            acc += ((x * 0x0101010101010101) >> 56) & 0xFF
        tl.store(c_ptr + rm[:, None] * n + rn[None, :], acc,
                 mask=(rm[:, None] < m) & (rn[None, :] < n))

    def run(a, b):
        m, kw = a.shape
        n = b.shape[0]
        c = torch.empty((m, n), dtype=torch.int64, device=a.device)
        bm = 16 if m <= 16 else 64
        grid = (triton.cdiv(m, bm), triton.cdiv(n, 64))
        _xor_popcount_kernel[grid](a, b, c, m, n, kw, BLOCK_M=bm, BLOCK_N=64)
        return c
    _TRITON = run
    return run


def triton_available() -> bool:
    return torch.cuda.is_available() and _triton_kernel() is not None


def xor_popcount(a: torch.Tensor, b: torch.Tensor, use_triton: bool = True) -> torch.Tensor:
    """``acc`` of the module docstring; the Triton kernel on CUDA when available."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"operands of {a.shape[1]} and {b.shape[1]} words")
    if use_triton and a.is_cuda:
        kern = _triton_kernel()
        if kern is not None:
            return kern(a.contiguous(), b.contiguous())
    return xor_popcount_torch(a, b)


def pack_bits_torch(bits: torch.Tensor) -> torch.Tensor:
    """``(T, n)`` bool -> ``(T, ceil(n / 64))`` int64 words (bit j of word j // 64; padding 0)."""
    t, n = bits.shape
    kw = (n + 63) // 64
    padded = torch.zeros((t, kw * 64), dtype=torch.int64, device=bits.device)
    padded[:, :n] = bits.to(torch.int64)
    shifts = torch.arange(64, device=bits.device, dtype=torch.int64)
    return (padded.view(t, kw, 64) << shifts).sum(dim=2)       # disjoint bits: sum == OR


def unpack_torch(words: torch.Tensor, n: int, values: str) -> torch.Tensor:
    """Words -> float32 ``(T, n)`` of +/-1 (``values`` "-1,1") or 0/1 ("0,1")."""
    shifts = torch.arange(64, device=words.device, dtype=torch.int64)
    bits = ((words[:, :, None] >> shifts) & 1).view(words.shape[0], -1)[:, :n].to(torch.float32)
    return bits * 2 - 1 if values == "-1,1" else bits


_ACTS = {None: lambda y: y, "sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}


class TorchPackedModel:
    """A folded model (:class:`bnn.infer.engine.PackedModel`'s layers) on a torch device."""

    def __init__(self, layers, device="cuda", use_triton: bool = True):
        self.device = torch.device(device)
        self.use_triton = use_triton
        self.layers = []
        dev = self.device
        for L in layers:
            d = {"L": L}
            if L.kind == "binary":
                d["w"] = as_words(L.weight_bits, dev)
                if L.out_bits:
                    d["thr"] = torch.from_numpy(np.asarray(L.thr, np.int64)).to(dev)
                else:
                    d["scale"] = torch.from_numpy(np.asarray(L.scale, np.float64)).to(dev)
                    d["bias"] = torch.from_numpy(np.asarray(L.bias, np.float64)).to(dev)
            else:
                d["w"] = torch.from_numpy(np.ascontiguousarray(L.weight, np.float32)).to(dev)
                if L.out_bits:
                    d["tau"] = torch.from_numpy(np.asarray(L.tau, np.float32)).to(dev)
                else:
                    d["bias"] = torch.from_numpy(np.asarray(L.bias, np.float32)).to(dev)
            self.layers.append(d)

    @classmethod
    def from_packed(cls, packed, device="cuda", use_triton: bool = True):
        return cls(packed.layers, device, use_triton)

    def _layer(self, d, x):
        L = d["L"]
        if L.kind == "binary":
            acc = xor_popcount(x, d["w"], self.use_triton)
            if L.out_bits:
                return pack_bits_torch(acc <= d["thr"][None, :])
            y = (d["scale"][None, :] * acc.to(torch.float64) + d["bias"][None, :]).float()
            return _ACTS[L.act](y)
        if L.in_values != "float":
            x = unpack_torch(x, L.in_dim, L.in_values)
        y = x @ d["w"]
        if L.out_bits:
            return pack_bits_torch(y > d["tau"][None, :])
        return _ACTS[L.act](y + d["bias"][None, :])

    def forward(self, x: np.ndarray) -> np.ndarray:
        """float32 features ``(T, D)`` -> float32 logits ``(T, P)`` (copied back to the host)."""
        h = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
        with torch.no_grad():
            for d in self.layers:
                h = self._layer(d, h)
        return h.float().cpu().numpy()

    __call__ = forward

    def hidden_bits(self, x: np.ndarray) -> list:
        """0/1 uint8 ``(T, n)`` of every layer with a binary output (as PackedModel's)."""
        h = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
        out = []
        with torch.no_grad():
            for d in self.layers:
                h = self._layer(d, h)
                if d["L"].out_bits:
                    out.append(unpack_torch(h, d["L"].out_dim, "0,1").to(torch.uint8).cpu().numpy())
        return out


def require_cuda() -> None:
    if not torch.cuda.is_available():
        raise BnnError("--device cuda: torch sees no CUDA device (torch "
                       f"{torch.__version__}, CUDA build {torch.version.cuda})")
