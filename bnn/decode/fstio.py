"""OpenFst binary FST reading/writing for decoding graphs (``vector`` and ``const`` types).

kaldifst 1.7.17 reads and writes ``vector`` FSTs and can *write* ``const`` FSTs, but its ``Fst::Read``
has no ``const`` type registered, so Kaldi's usual ``HCLG.fst`` (``fstconvert --fst_type=const``
in ``utils/mkgraph.sh``) cannot be read with it.  :func:`read_fst_arrays` parses both layouts with
numpy, following OpenFst 1.7 ``fst/fst.h`` (``FstHeader::Read``), ``fst/vector-fst.h``
(``VectorFst::Read``) and ``fst/const-fst.h`` (``ConstFstImpl::Read``):

* header: int32 magic ``2125659606``, string fst type, string arc type (int32 length + bytes),
  int32 version, int32 flags (1 = input symbols, 2 = output symbols, 4 = aligned), uint64
  properties, int64 start, int64 #states, int64 #arcs, then the symbol tables named by the flags;
* ``vector`` (version 2): per state float final weight, int64 #arcs, then #arcs arcs;
* ``const`` (version 2): #states records ``{float final, uint32 pos, uint32 narcs, uint32 niepsilons,
  uint32 noepsilons}``, then #arcs arcs; when aligned, each block starts at a multiple of 16 bytes;
* a standard arc is ``{int32 ilabel, int32 olabel, float weight, int32 nextstate}``.

:func:`arrays_to_vector_fst` writes the arrays as a ``vector`` file image and reads it back with
kaldifst, so the result is a real ``kaldifst.StdVectorFst``.
"""
import os
import struct
import tempfile

import numpy as np

from bnn.utils.errors import BnnError

FST_MAGIC = 2125659606
ARC_DTYPE = np.dtype([("ilabel", "<i4"), ("olabel", "<i4"), ("weight", "<f4"), ("nextstate", "<i4")])
CONST_STATE_DTYPE = np.dtype([("final", "<f4"), ("pos", "<u4"), ("narcs", "<u4"),
                              ("niepsilons", "<u4"), ("noepsilons", "<u4")])
K_EXPANDED = 0x1
K_MUTABLE = 0x2


class FstArrays:
    """An FST as numpy arrays: ``start``, ``finals`` (float32 per state, +inf = not final),
    ``arc_state`` (source state per arc), ``arcs`` (:data:`ARC_DTYPE`), ``properties``."""

    def __init__(self, start, finals, arc_state, arcs, properties=0):
        self.start = int(start)
        self.finals = np.asarray(finals, dtype=np.float32)
        self.arc_state = np.asarray(arc_state, dtype=np.int64)
        self.arcs = arcs
        self.properties = int(properties)

    @property
    def num_states(self) -> int:
        return len(self.finals)

    @property
    def num_arcs(self) -> int:
        return len(self.arcs)


class _Reader:
    def __init__(self, data: bytes, path: str):
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise BnnError(f"{self.path}: truncated FST file (needs {self.pos + n} bytes, has {len(self.data)})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def string(self) -> str:
        (n,) = self.unpack("i")
        if n < 0 or n > 1 << 20:
            raise BnnError(f"{self.path}: corrupt FST header (string length {n})")
        return self.take(n).decode("latin-1")

    def align(self, align: int = 16):
        self.pos = (self.pos + align - 1) // align * align

    def skip_symbol_table(self):
        """OpenFst ``SymbolTable::Write``: int32 magic, name, int64 available key, int64 size, pairs."""
        self.unpack("i")
        self.string()
        _, size = self.unpack("qq")
        for _ in range(size):
            self.string()
            self.unpack("q")


def read_fst_arrays(path: str) -> FstArrays:
    """Read an OpenFst binary ``vector`` or ``const`` FST with standard (tropical float) arcs."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise BnnError(f"{path}: cannot read FST ({err.strerror})") from None
    r = _Reader(data, path)
    (magic,) = r.unpack("i") if len(data) >= 4 else (None,)
    if magic != FST_MAGIC:
        raise BnnError(f"{path}: not an OpenFst binary FST (bad magic number)")
    fst_type, arc_type = r.string(), r.string()
    version, flags = r.unpack("ii")
    properties, start, nstates, narcs = r.unpack("Qqqq")
    if arc_type != "standard":
        raise BnnError(f"{path}: arc type '{arc_type}' is not supported (need 'standard')")
    if flags & 1:
        r.skip_symbol_table()
    if flags & 2:
        r.skip_symbol_table()
    if fst_type == "const":
        if flags & 4:
            r.align()
        states = np.frombuffer(r.take(nstates * CONST_STATE_DTYPE.itemsize), dtype=CONST_STATE_DTYPE)
        if flags & 4:
            r.align()
        arcs = np.frombuffer(r.take(narcs * ARC_DTYPE.itemsize), dtype=ARC_DTYPE).copy()
        arc_state = np.repeat(np.arange(nstates, dtype=np.int64), states["narcs"].astype(np.int64))
        if states["narcs"].sum() != narcs or (nstates and np.any(
                states["pos"].astype(np.int64) != np.concatenate(([0], np.cumsum(states["narcs"][:-1], dtype=np.int64))))):
            raise BnnError(f"{path}: inconsistent const FST (arc positions do not match arc counts)")
        finals = states["final"].copy()
    elif fst_type == "vector":
        if version < 2:
            raise BnnError(f"{path}: vector FST version {version} is not supported")
        finals = np.empty(nstates, dtype=np.float32)
        counts = np.empty(nstates, dtype=np.int64)
        chunks = []
        for s in range(nstates):
            final, n = r.unpack("fq")
            finals[s], counts[s] = final, n
            chunks.append(r.take(n * ARC_DTYPE.itemsize))
        arcs = np.frombuffer(b"".join(chunks), dtype=ARC_DTYPE).copy()
        arc_state = np.repeat(np.arange(nstates, dtype=np.int64), counts)
    else:
        raise BnnError(f"{path}: FST type '{fst_type}' is not supported (need vector or const)")
    if nstates and not 0 <= start < nstates:
        raise BnnError(f"{path}: start state {start} out of range")
    if len(arcs) and (arcs["nextstate"].min() < 0 or arcs["nextstate"].max() >= nstates):
        raise BnnError(f"{path}: arc to a state that does not exist")
    return FstArrays(start, finals, arc_state, arcs, properties)


def vector_fst_bytes(fa: FstArrays) -> bytes:
    """The OpenFst ``vector`` (version 2) file image of ``fa``."""
    def string(s):
        return struct.pack("<i", len(s)) + s.encode()
    props = (fa.properties | K_EXPANDED | K_MUTABLE) if fa.properties else (K_EXPANDED | K_MUTABLE)
    parts = [struct.pack("<i", FST_MAGIC), string("vector"), string("standard"),
             struct.pack("<iiQqqq", 2, 0, props, fa.start, fa.num_states, fa.num_arcs)]
    order = np.argsort(fa.arc_state, kind="stable")
    arcs = fa.arcs[order]
    counts = np.bincount(fa.arc_state, minlength=fa.num_states) if fa.num_arcs else np.zeros(fa.num_states, int)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    raw = arcs.tobytes()
    size = ARC_DTYPE.itemsize
    for s in range(fa.num_states):
        parts.append(struct.pack("<fq", float(fa.finals[s]), int(counts[s])))
        parts.append(raw[offsets[s] * size:offsets[s + 1] * size])
    return b"".join(parts)


def arrays_to_vector_fst(fa: FstArrays):
    """A ``kaldifst.StdVectorFst`` holding ``fa`` (through a vector file image)."""
    import kaldifst
    fd, tmp = tempfile.mkstemp(suffix=".fst")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(vector_fst_bytes(fa))
        fst = kaldifst.StdVectorFst.read(tmp)
    finally:
        os.unlink(tmp)
    if fst is None:
        raise BnnError("internal error: kaldifst could not read back a vector FST image")
    return fst


def read_fst(path: str):
    """Read a ``vector`` or ``const`` OpenFst file as a ``kaldifst.StdVectorFst``."""
    return arrays_to_vector_fst(read_fst_arrays(path))


def fst_to_arrays(fst) -> FstArrays:
    """Arrays of a kaldifst FST (via its ``vector`` file image)."""
    fd, tmp = tempfile.mkstemp(suffix=".fst")
    os.close(fd)
    try:
        import kaldifst
        vec = fst if isinstance(fst, kaldifst.StdVectorFst) else kaldifst.StdVectorFst(fst)
        vec.write(tmp)
        return read_fst_arrays(tmp)
    finally:
        os.unlink(tmp)


def write_fst(fst, path: str, const: bool = False) -> None:
    """Write ``fst`` atomically as an OpenFst ``vector`` or ``const`` binary file (readable by Kaldi)."""
    import kaldifst
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        obj = kaldifst.StdConstFst(fst) if const else fst
        if not obj.write(tmp):
            raise BnnError(f"{path}: writing the FST failed")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
