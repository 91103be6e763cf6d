"""Bit-packing of binary matrices into 64-bit words (the layout of the XOR-popcount kernels).

Layout (little-endian, row-major): a ``(rows, k)`` binary matrix becomes a ``(rows, kw)`` uint64
array with ``kw = ceil(k / 64)``.  Element ``[i, j]`` is bit ``j % 64`` (bit 0 = least significant)
of word ``[i, j // 64]``.  Bit 1 encodes +1 for a +/-1 matrix and 1 for a 0/1 matrix; bit 0 encodes
-1 (or 0).  Padding bits ``j >= k`` are always 0, in inputs and weights alike, so they drop out of
``popcount(a XOR b)`` and the kernels are exact for any ``k`` (``k % 64 != 0`` included).

The byte image of a packed row is exactly ``np.packbits(bits, bitorder="little")`` padded to a
multiple of 8 bytes: byte ``b`` holds elements ``8b .. 8b+7``, lowest bit first.

Weights are additionally repacked once, at load time, into panels of :data:`PANEL` = 32 output
units (:func:`to_panels`): ``panels[p, w, c] = packed[32 p + c, w]``, so the kernel loads word ``w``
of 8 consecutive units with one 64-byte vector load (rows beyond ``n`` are zero).
"""
import numpy as np

PANEL = 32


def words_for(k: int) -> int:
    """Number of uint64 words holding ``k`` bits."""
    return (int(k) + 63) // 64


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a boolean-like ``(rows, k)`` matrix (nonzero = bit 1) into ``(rows, ceil(k/64))`` uint64."""
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise ValueError(f"pack_bits: expected a 2-D matrix, got shape {bits.shape}")
    rows, k = bits.shape
    kw = words_for(k)
    packed = np.packbits(bits != 0, axis=1, bitorder="little")          # (rows, ceil(k/8))
    out = np.zeros((rows, kw * 8), dtype=np.uint8)
    out[:, :packed.shape[1]] = packed
    return out.view("<u8").astype(np.uint64, copy=False).reshape(rows, kw)


def pack_pm1(x: np.ndarray) -> np.ndarray:
    """Pack a +/-1 matrix: ``x > 0`` -> bit 1 (+1), otherwise bit 0 (-1).

    Zeros map to -1, the papers' convention ``Sign(0) = -1`` for values already binarized.
    """
    return pack_bits(np.asarray(x) > 0)


def pack_01(x: np.ndarray) -> np.ndarray:
    """Pack a 0/1 matrix: ``x != 0`` -> bit 1."""
    return pack_bits(np.asarray(x) != 0)


def unpack_bits(packed: np.ndarray, k: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(rows, kw)`` uint64 -> ``(rows, k)`` uint8 of 0/1."""
    packed = np.ascontiguousarray(packed, dtype=np.uint64)
    rows = packed.shape[0]
    as_bytes = packed.astype("<u8", copy=False).view(np.uint8).reshape(rows, -1)
    return np.unpackbits(as_bytes, axis=1, count=int(k), bitorder="little")


def unpack_pm1(packed: np.ndarray, k: int, dtype=np.float32) -> np.ndarray:
    """Unpack to a +/-1 matrix of ``dtype`` (bit 1 -> +1, bit 0 -> -1)."""
    return unpack_bits(packed, k).astype(dtype) * 2 - 1


def unpack_01(packed: np.ndarray, k: int, dtype=np.float32) -> np.ndarray:
    """Unpack to a 0/1 matrix of ``dtype``."""
    return unpack_bits(packed, k).astype(dtype)


def popcount_rows(packed: np.ndarray) -> np.ndarray:
    """Number of set bits per row (int64)."""
    packed = np.asarray(packed, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(packed).sum(axis=1, dtype=np.int64)
    return unpack_bits(packed, packed.shape[1] * 64).sum(axis=1, dtype=np.int64)


def to_panels(packed: np.ndarray, dtype=np.uint64) -> np.ndarray:
    """Repack ``(n, kw)`` weight words into ``(ceil(n/32), kw, 32)`` panels (zero rows past ``n``).
    ``dtype`` float32 gives the float kernel's panels of ``W.T`` (:class:`bitgemm.FloatPanels`)."""
    packed = np.asarray(packed, dtype=dtype)
    n, kw = packed.shape
    npan = (n + PANEL - 1) // PANEL
    padded = np.zeros((npan * PANEL, kw), dtype=dtype)
    padded[:n] = packed
    return np.ascontiguousarray(padded.reshape(npan, PANEL, kw).transpose(0, 2, 1))


def from_panels(panels: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`to_panels`: ``(npan, kw, 32)`` -> ``(n, kw)``."""
    npan, kw, _ = panels.shape
    return np.ascontiguousarray(panels.transpose(0, 2, 1).reshape(npan * PANEL, kw)[:n])
