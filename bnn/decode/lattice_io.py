"""Kaldi ``CompactLattice`` archives: read and write (binary and text), best path and n-best.

A CompactLattice (Kaldi src/lat/kaldi-lattice.h) is an acceptor over words whose weight is
``CompactLatticeWeight = (LatticeWeight(graph_cost, acoustic_cost), string of transition-ids)``.
The formats, as Kaldi writes them (``latgen-faster-mapped``, ``lattice-copy``):

* binary (src/lat/kaldi-lattice.cc ``WriteCompactLattice`` -> OpenFst ``VectorFst::Write``):
  after ``key `` directly the OpenFst header (no ``\\0B``): int32 magic ``0x7eb2fdd6``,
  fst type ``vector``, arc type ``compactlattice44`` (int32 length + bytes each), int32 version 2,
  int32 flags, uint64 properties, int64 start, int64 #states, int64 #arcs (0 as Kaldi writes it);
  then per state: final weight, int64 #arcs, and the arcs ``{int32 ilabel, int32 olabel, weight,
  int32 nextstate}``.  A weight is ``float graph, float acoustic, int32 n, n x int32 tid``; a
  non-final state has ``(inf, inf, [])``.
* text (OpenFst ``FstPrinter`` with acceptor=true and ``\\t`` separators): ``key \\n``, then
  ``src\\tdst\\tword\\tgraph,acoustic,t1_t2_...`` per arc and ``state\\tgraph,acoustic,tids``
  per final state (floats with C++ ``ostream`` default precision, i.e. ``%g``), and an empty line.

Best path and n-best follow Kaldi's scoring tools: ``lattice-scale`` (src/latbin/lattice-scale.cc,
``fst::ScaleLattice``: new costs computed in double from the float ones and stored as float, with
the acoustic scale itself a float, e.g. ``float(1/LMWT)`` for ``--inv-acoustic-scale``),
``lattice-add-penalty`` (``AddWordInsPenToCompactLattice``: adds the penalty to the graph cost of
every arc with a word, in float) and ``lattice-best-path`` (``CompactLatticeShortestPath`` in
src/lat/lattice-functions.cc: dynamic programming over a topologically sorted lattice in double
precision, cost = graph + acoustic, first strictly better predecessor kept).
"""
import io
import math
import os
import re
import struct
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from bnn.utils.errors import BnnError

FST_MAGIC = 0x7EB2FDD6
ARC_TYPE = "compactlattice44"
INF = float("inf")
# OpenFst property bits (fst/properties.h) used in the header Kaldi writes.
K_EXPANDED, K_MUTABLE = 0x1, 0x2
K_ACCEPTOR = 0x10000
K_EPSILONS, K_NO_EPSILONS = 0x400000, 0x800000
K_IEPSILONS, K_NO_IEPSILONS = 0x1000000, 0x2000000
K_OEPSILONS, K_NO_OEPSILONS = 0x4000000, 0x8000000
K_ACCESSIBLE, K_NOT_ACCESSIBLE = 0x10000000000, 0x20000000000
K_COACCESSIBLE, K_NOT_COACCESSIBLE = 0x40000000000, 0x80000000000


def f32(x: float) -> float:
    """Round a Python float to the nearest float32 (Kaldi's BaseFloat)."""
    return float(np.float32(x))


@dataclass
class CompactLattice:
    """A Kaldi CompactLattice.

    ``arcs[s]`` lists the arcs of state ``s`` as ``(word, graph_cost, acoustic_cost, tids,
    nextstate)`` (``tids`` a tuple of transition-ids); ``finals`` maps each final state to
    ``(graph_cost, acoustic_cost, tids)``.  ``properties`` is the OpenFst property word read from a
    binary file (None: computed when writing)."""
    start: int
    arcs: list
    finals: dict
    properties: Optional[int] = field(default=None, compare=False)

    @property
    def num_states(self) -> int:
        return len(self.arcs)

    def num_arcs(self) -> int:
        return sum(len(a) for a in self.arcs)


# --------------------------------------------------------------------------- specifiers

def _parse_spec(spec: str, writing: bool):
    m = re.match(r"^([a-z,]+):(.*)$", spec)
    if not m:
        raise BnnError(f"{spec}: not a Kaldi {'w' if writing else 'r'}specifier (e.g. ark:lat.1.ark)")
    opts = m.group(1).split(",")
    kinds = [o for o in opts if o in ("ark", "scp")]
    known = {"ark", "scp", "t", "b", "o", "p", "s", "cs", "ns", "nt", "f", "nf"}
    bad = [o for o in opts if o not in known]
    if bad or not kinds:
        raise BnnError(f"{spec}: bad specifier options '{m.group(1)}'")
    return opts, m.group(2)


def _open(path: str, mode: str):
    from kaldiio.utils import open_like_kaldi
    try:
        return open_like_kaldi(path, mode)
    except OSError as err:
        raise BnnError(f"{path}: cannot open ({err.strerror})") from None


# --------------------------------------------------------------------------- reading

class _Buf:
    """Sequential reader over a binary stream."""

    def __init__(self, f, name: str):
        self.f, self.name = f, name

    def take(self, n: int) -> bytes:
        b = self.f.read(n)
        if len(b) != n:
            raise BnnError(f"{self.name}: truncated lattice archive")
        return b

    def unpack(self, fmt: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def string(self) -> str:
        (n,) = self.unpack("i")
        if not 0 <= n < 1 << 16:
            raise BnnError(f"{self.name}: corrupt FST header (string length {n})")
        return self.take(n).decode("latin-1")


def _read_weight(b: _Buf):
    g, a, n = b.unpack("ffi")
    if n < 0:
        raise BnnError(f"{b.name}: corrupt lattice weight (string length {n})")
    tids = struct.unpack(f"<{n}i", b.take(4 * n)) if n else ()
    return g, a, tids


def _read_binary_lattice(b: _Buf, key: str) -> CompactLattice:
    (magic,) = b.unpack("I")
    if magic != FST_MAGIC:
        raise BnnError(f"{b.name}: {key}: not an OpenFst lattice (bad magic number)")
    fst_type, arc_type = b.string(), b.string()
    if fst_type != "vector":
        raise BnnError(f"{b.name}: {key}: FST type '{fst_type}' (need vector)")
    if arc_type != ARC_TYPE:
        raise BnnError(f"{b.name}: {key}: arc type '{arc_type}' is not a CompactLattice "
                       f"(write lattices with --write-compact=true)")
    version, flags = b.unpack("ii")
    props, start, nstates, _ = b.unpack("Qqqq")
    if flags & 3:
        raise BnnError(f"{b.name}: {key}: lattices with symbol tables are not supported")
    if nstates < 0:
        raise BnnError(f"{b.name}: {key}: lattice without a state count (written to a pipe by OpenFst?)")
    arcs, finals = [], {}
    for s in range(nstates):
        g, a, tids = _read_weight(b)
        if not (g == INF and a == INF):
            finals[s] = (g, a, tids)
        (narcs,) = b.unpack("q")
        out = []
        for _ in range(narcs):
            il, ol = b.unpack("ii")
            g, a, tids = _read_weight(b)
            (ns,) = b.unpack("i")
            if il != ol:
                raise BnnError(f"{b.name}: {key}: arc with input {il} != output {ol} (not an acceptor)")
            if not 0 <= ns < nstates:
                raise BnnError(f"{b.name}: {key}: arc to state {ns} of {nstates}")
            out.append((il, g, a, tids, ns))
        arcs.append(out)
    if nstates and not 0 <= start < nstates:
        raise BnnError(f"{b.name}: {key}: start state {start} out of range")
    return CompactLattice(int(start) if nstates else -1, arcs, finals, props)


def _parse_text_float(s: str) -> float:
    s = s.strip()
    if s in ("Infinity", "inf"):
        return INF
    if s in ("-Infinity", "-inf"):
        return -INF
    return float(s)


def _parse_text_weight(s: str, name: str, key: str):
    parts = s.split(",")
    if len(parts) != 3:
        raise BnnError(f"{name}: {key}: bad CompactLattice weight '{s}' (need graph,acoustic,tids)")
    try:
        tids = tuple(int(x) for x in parts[2].split("_")) if parts[2] else ()
        return f32(_parse_text_float(parts[0])), f32(_parse_text_float(parts[1])), tids
    except ValueError:
        raise BnnError(f"{name}: {key}: bad CompactLattice weight '{s}'") from None


def _read_text_lattice(lines: List[str], name: str, key: str) -> CompactLattice:
    """OpenFst text acceptor lines (the state of the first line is the start state)."""
    arcs: Dict[int, list] = {}
    finals: Dict[int, tuple] = {}
    start = -1
    nstates = 0
    for line in lines:
        p = line.split()
        try:
            src = int(p[0])
            if len(p) in (1, 2):
                finals[src] = _parse_text_weight(p[1], name, key) if len(p) == 2 else (0.0, 0.0, ())
                dst = src
            elif len(p) in (3, 4):
                dst, word = int(p[1]), int(p[2])
                w = _parse_text_weight(p[3], name, key) if len(p) == 4 else (0.0, 0.0, ())
                arcs.setdefault(src, []).append((word, w[0], w[1], w[2], dst))
            else:
                raise ValueError
        except ValueError:
            raise BnnError(f"{name}: {key}: bad lattice line '{line.strip()}' "
                           f"(CompactLattice text expected)") from None
        if start < 0:
            start = src
        nstates = max(nstates, src + 1, dst + 1)
    return CompactLattice(start, [arcs.get(s, []) for s in range(nstates)], finals)


def _read_archive(f, name: str) -> Iterator[Tuple[str, CompactLattice]]:
    b = _Buf(f, name)
    while True:
        keyb = bytearray()
        while True:
            c = f.read(1)
            if not c:
                if keyb.strip():
                    raise BnnError(f"{name}: truncated archive after key '{keyb.decode(errors='replace')}'")
                return
            if c == b" ":
                break
            if c in b"\n\r\t" and not keyb:
                continue
            keyb += c
        key = keyb.decode("utf-8", errors="replace")
        peek = f.read(1)
        if peek == b"\n":  # text form
            lines = []
            while True:
                line = f.readline()
                if not line or not line.strip():
                    break
                lines.append(line.decode("utf-8"))
            yield key, _read_text_lattice(lines, name, key)
        elif peek == b"\xd6":
            rest = _Buf(io.BytesIO(peek + f.read(3)), name)
            (magic,) = rest.unpack("I")
            if magic != FST_MAGIC:
                raise BnnError(f"{name}: {key}: not a lattice (bad FST magic)")
            yield key, _read_binary_lattice(_Prefixed(struct.pack("<I", magic), b), key)
        else:
            raise BnnError(f"{name}: {key}: does not look like a CompactLattice (binary or text)")


class _Prefixed(_Buf):
    """A _Buf that first returns ``prefix``."""

    def __init__(self, prefix: bytes, inner: _Buf):
        super().__init__(inner.f, inner.name)
        self.prefix = prefix

    def take(self, n: int) -> bytes:
        if self.prefix:
            head, self.prefix = self.prefix[:n], self.prefix[n:]
            return head + (super().take(n - len(head)) if n > len(head) else b"")
        return super().take(n)


def _read_one_at(path: str, name: str) -> CompactLattice:
    """One lattice from an scp target ``file:offset`` (or a whole file / pipe)."""
    m = re.match(r"^(.*):(\d+)$", path)
    if m and not path.rstrip().endswith("|"):
        fname, off = m.group(1), int(m.group(2))
        with _open(fname, "rb") as f:
            f.seek(off)
            first = f.read(1)
            f.seek(off)
            if first == b"\xd6":
                return _read_binary_lattice(_Buf(f, fname), name)
            data = f.read()
        return next(_read_archive(io.BytesIO(b"x " + data), fname))[1]
    with _open(path, "rb") as f:
        data = f.read()
    if data[:1] == b"\xd6":
        return _read_binary_lattice(_Buf(io.BytesIO(data), path), name)
    return next(_read_archive(io.BytesIO(b"x " + data), path))[1]


def read_compact_lattices(rspecifier: str) -> Iterator[Tuple[str, CompactLattice]]:
    """Iterate ``(key, CompactLattice)`` over a Kaldi rspecifier: ``ark:lat.1.ark``,
    ``ark:gunzip -c lat.1.gz|``, ``ark,t:-``, ``scp:lat.scp`` (binary or text archives)."""
    opts, path = _parse_spec(rspecifier, writing=False)
    if "scp" in opts:
        with _open(path, "r") as f:
            for n, line in enumerate(f, 1):
                parts = line.strip().split(None, 1)
                if not parts:
                    continue
                if len(parts) != 2:
                    raise BnnError(f"{path}:{n}: expected '<key> <rxfilename>'")
                yield parts[0], _read_one_at(parts[1], parts[0])
        return
    f = _open(path, "rb")
    try:
        yield from _read_archive(f, path)
    finally:
        f.close()


# --------------------------------------------------------------------------- writing

def compute_properties(clat: CompactLattice) -> int:
    """The OpenFst property word Kaldi's lattices carry when written after ``Connect``:
    expanded, mutable, acceptor, (no) epsilons, accessible, coaccessible."""
    props = K_EXPANDED | K_MUTABLE | K_ACCEPTOR
    eps = any(a[0] == 0 for arcs in clat.arcs for a in arcs)
    props |= (K_EPSILONS | K_IEPSILONS | K_OEPSILONS) if eps else (K_NO_EPSILONS | K_NO_IEPSILONS | K_NO_OEPSILONS)
    n = clat.num_states
    if n:
        fwd = _reachable([clat.start], lambda s: (a[4] for a in clat.arcs[s]), n)
        rev = [[] for _ in range(n)]
        for s, arcs in enumerate(clat.arcs):
            for a in arcs:
                rev[a[4]].append(s)
        bwd = _reachable(list(clat.finals), lambda s: rev[s], n)
        props |= K_ACCESSIBLE if all(fwd) else K_NOT_ACCESSIBLE
        props |= K_COACCESSIBLE if all(bwd) else K_NOT_COACCESSIBLE
    else:
        props |= K_ACCESSIBLE | K_COACCESSIBLE
    return props


def _reachable(seeds, nexts, n):
    seen = [False] * n
    stack = [s for s in seeds if 0 <= s < n]
    for s in stack:
        seen[s] = True
    while stack:
        s = stack.pop()
        for t in nexts(s):
            if not seen[t]:
                seen[t] = True
                stack.append(t)
    return seen


def _weight_bytes(g, a, tids) -> bytes:
    return struct.pack(f"<ffi{len(tids)}i", g, a, len(tids), *tids)


_NONFINAL = struct.pack("<ffi", INF, INF, 0)


def lattice_to_binary(clat: CompactLattice) -> bytes:
    """OpenFst ``vector`` image of ``clat`` as Kaldi writes it (arc count 0 in the header)."""
    props = clat.properties if clat.properties is not None else compute_properties(clat)
    n = clat.num_states

    def s(x):
        return struct.pack("<i", len(x)) + x.encode()
    parts = [struct.pack("<I", FST_MAGIC), s("vector"), s(ARC_TYPE),
             struct.pack("<iiQqqq", 2, 0, props, clat.start if n else -1, n, 0)]
    for st in range(n):
        fin = clat.finals.get(st)
        parts.append(_weight_bytes(*fin) if fin is not None else _NONFINAL)
        arcs = clat.arcs[st]
        parts.append(struct.pack("<q", len(arcs)))
        for word, g, a, tids, ns in arcs:
            parts.append(struct.pack("<ii", word, word) + _weight_bytes(g, a, tids) + struct.pack("<i", ns))
    return b"".join(parts)


def _fmt(x: float) -> str:
    """C++ ``ostream << float`` with default precision (``%g``), OpenFst's Infinity."""
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return "%g" % x


def _text_weight(g, a, tids) -> str:
    return f"{_fmt(g)},{_fmt(a)}," + "_".join(map(str, tids))


def lattice_to_text(clat: CompactLattice) -> str:
    """OpenFst ``FstPrinter`` text of ``clat`` (states from the start state, then in order)."""
    lines = []
    n = clat.num_states
    order = ([clat.start] + [s for s in range(n) if s != clat.start]) if n else []
    for st in order:
        for word, g, a, tids, ns in clat.arcs[st]:
            w = "" if (g, a, tids) == (0.0, 0.0, ()) else "\t" + _text_weight(g, a, tids)
            lines.append(f"{st}\t{ns}\t{word}{w}\n")
        fin = clat.finals.get(st)
        if fin is not None:  # weight One is not printed (FstPrinter, show_weight_one=false)
            w = "" if tuple(fin) == (0.0, 0.0, ()) else "\t" + _text_weight(*fin)
            lines.append(f"{st}{w}\n")
    return "".join(lines)


def write_compact_lattices(wspecifier: str, items: Iterable[Tuple[str, CompactLattice]], binary=True):
    """Write ``(key, CompactLattice)`` pairs to a Kaldi wspecifier (``ark:file``, ``ark,t:file``,
    ``ark:| gzip -c > lat.1.gz``, ``ark,scp:lat.ark,lat.scp``, ``ark:-``).  ``,t`` in the
    specifier (or ``binary=False``) selects the text form.  Returns the number written."""
    opts, path = _parse_spec(wspecifier, writing=True)
    if "t" in opts:
        binary = False
    if "b" in opts:
        binary = True
    scp_path = None
    if "ark" in opts and "scp" in opts:
        if "," not in path:
            raise BnnError(f"{wspecifier}: ark,scp needs two files (e.g. ark,scp:lat.ark,lat.scp)")
        path, scp_path = path.split(",", 1)
    elif "ark" not in opts:
        raise BnnError(f"{wspecifier}: writing needs an ark (scp alone is not writable)")
    plain = (path != "-" and not path.strip().endswith("|") and not path.strip().startswith("|")
             and (not os.path.exists(path) or os.path.isfile(path)))  # never rename over /dev/null
    plain = plain and not (os.path.exists(path) and not os.path.isfile(path))  # /dev/null: direct
    target = path + ".tmp" if plain else path  # plain files appear only when complete
    f = _open(target, "wb")
    scp = _open(scp_path + ".tmp", "w") if scp_path else None
    count = 0
    ok = False
    try:
        pos = 0
        for key, clat in items:
            if not key or any(c.isspace() for c in key):
                raise BnnError(f"{path}: bad utterance key '{key}'")
            head = (key + " ").encode()
            body = lattice_to_binary(clat) if binary else ("\n" + lattice_to_text(clat) + "\n").encode()
            f.write(head)
            f.write(body)
            if scp is not None:
                scp.write(f"{key} {path}:{pos + len(head)}\n")
            pos += len(head) + len(body)
            count += 1
            if "f" in opts:
                f.flush()
        ok = True
    finally:
        if path == "-":
            f.flush()
        else:
            f.close()
        if scp is not None:
            scp.close()
        if plain:
            if ok:
                os.replace(target, path)
            elif os.path.exists(target):
                os.unlink(target)
        if scp_path:
            if ok:
                os.replace(scp_path + ".tmp", scp_path)
            elif os.path.exists(scp_path + ".tmp"):
                os.unlink(scp_path + ".tmp")
    return count


# --------------------------------------------------------------------------- operations

def scale_lattice(clat: CompactLattice, lm_scale: float = 1.0, acoustic_scale: float = 1.0,
                  acoustic2lm_scale: float = 0.0, lm2acoustic_scale: float = 0.0) -> CompactLattice:
    """Kaldi ``fst::ScaleLattice`` with ``LatticeScale``/``ScaleMatrix`` (src/fstext/lattice-utils):
    ``graph' = lm*g + ac2lm*a``, ``acoustic' = lm2ac*g + ac*a``, in double, stored as float;
    scales are floats as on Kaldi's command line."""
    s00, s01 = float(np.float32(lm_scale)), float(np.float32(acoustic2lm_scale))
    s10, s11 = float(np.float32(lm2acoustic_scale)), float(np.float32(acoustic_scale))
    if (s00, s01, s10, s11) == (1.0, 0.0, 0.0, 1.0):
        return clat

    def sc(g, a):
        return f32(s00 * g + s01 * a), f32(s10 * g + s11 * a)
    arcs = [[(w, *sc(g, a), t, n) for (w, g, a, t, n) in st] for st in clat.arcs]
    finals = {s: (*sc(g, a), t) for s, (g, a, t) in clat.finals.items()}
    return CompactLattice(clat.start, arcs, finals)


def add_word_insertion_penalty(clat: CompactLattice, penalty: float) -> CompactLattice:
    """Kaldi ``AddWordInsPenToCompactLattice``: graph cost += penalty on arcs with a word (float)."""
    if penalty == 0.0:
        return clat
    p = np.float32(penalty)
    arcs = [[(w, float(np.float32(g) + p) if w != 0 else g, a, t, n) for (w, g, a, t, n) in st]
            for st in clat.arcs]
    return CompactLattice(clat.start, arcs, dict(clat.finals))


def top_order(clat: CompactLattice) -> List[int]:
    """States in topological order: their own numbering when that is one (what OpenFst's
    ``kTopSorted`` test accepts), else a DFS finishing order reversed (as ``fst::TopSort``)."""
    n = clat.num_states
    if all(a[4] > s for s in range(n) for a in clat.arcs[s]):
        return list(range(n))
    order, state = [], [0] * n  # 0 new, 1 on stack, 2 done
    for root in [clat.start] + list(range(n)):
        if root < 0 or state[root]:
            continue
        stack = [(root, 0)]
        state[root] = 1
        while stack:
            s, i = stack[-1]
            if i < len(clat.arcs[s]):
                stack[-1] = (s, i + 1)
                t = clat.arcs[s][i][4]
                if state[t] == 1:
                    raise BnnError("lattice is cyclic (cannot take a best path)")
                if state[t] == 0:
                    state[t] = 1
                    stack.append((t, 0))
            else:
                state[s] = 2
                order.append(s)
                stack.pop()
    order.reverse()
    return order


def _prepared(clat, lm_scale, acoustic_scale, word_ins_penalty):
    return add_word_insertion_penalty(scale_lattice(clat, lm_scale, acoustic_scale), word_ins_penalty)


def best_path_arcs(clat: CompactLattice):
    """Kaldi ``CompactLatticeShortestPath``: (list of (state, arc index), final state, cost) of
    the best path, costs in double as graph+acoustic; None when no final state is reachable."""
    n = clat.num_states
    if n == 0 or clat.start < 0:
        return None
    best = [INF] * n
    pred: List[Optional[Tuple[int, int]]] = [None] * n
    best[clat.start] = 0.0
    fin_cost, fin_state = INF, -1
    for s in top_order(clat):
        my = best[s]
        if my == INF:
            continue
        for i, (w, g, a, t, ns) in enumerate(clat.arcs[s]):
            c = my + (g + a)
            if c < best[ns]:
                best[ns], pred[ns] = c, (s, i)
        fw = clat.finals.get(s)
        if fw is not None:
            c = my + (fw[0] + fw[1])
            if c < fin_cost:
                fin_cost, fin_state = c, s
    if fin_state < 0:
        return None
    path, s = [], fin_state
    while pred[s] is not None:
        path.append(pred[s])
        s = pred[s][0]
    path.reverse()
    return path, fin_state, fin_cost


def _path_summary(clat: CompactLattice, path, final_state):
    """(words without epsilons, graph cost, acoustic cost, alignment) of an arc path, costs of
    ``clat`` summed in double."""
    words, tids, g_tot, a_tot = [], [], 0.0, 0.0
    for s, i in path:
        w, g, a, t, _ = clat.arcs[s][i]
        if w != 0:
            words.append(w)
        g_tot += g
        a_tot += a
        tids.extend(t)
    g, a, t = clat.finals[final_state]
    return tuple(words), g_tot + g, a_tot + a, tuple(tids) + tuple(t)


def best_path(clat: CompactLattice, lm_scale=1.0, acoustic_scale=1.0, word_ins_penalty=0.0):
    """``(words, graph_cost, acoustic_cost)`` of the lattice's best path after Kaldi's
    ``lattice-scale --lm-scale --acoustic-scale``, ``lattice-add-penalty`` and
    ``lattice-best-path``.  Words exclude epsilons; the costs are the path's *unscaled* graph and
    acoustic costs in ``clat`` (without the penalty).  ``((), inf, inf)`` when the lattice is empty."""
    words, g, a, _ = best_path_full(clat, lm_scale, acoustic_scale, word_ins_penalty)
    return words, g, a


def best_path_full(clat: CompactLattice, lm_scale=1.0, acoustic_scale=1.0, word_ins_penalty=0.0):
    """As :func:`best_path` plus the alignment (transition-ids): ``(words, g, a, tids)``."""
    scaled = _prepared(clat, lm_scale, acoustic_scale, word_ins_penalty)
    res = best_path_arcs(scaled)
    if res is None:
        return (), INF, INF, ()
    path, fin, _ = res
    return _path_summary(clat, path, fin)


def word_sequence_weight(clat: CompactLattice, words, acoustic_scale=1.0):
    """``(graph_cost, acoustic_cost)`` (unscaled, summed in double) of the best path of ``clat``
    whose words are ``words`` (epsilons skipped), ranked on graph + ``acoustic_scale`` * acoustic;
    None when the lattice has no such path.  On a determinized lattice that path is unique: the
    word sequence's best alignment at the decoding scale, the only one Kaldi's scoring sees."""
    words = list(words)
    n = clat.num_states
    if n == 0 or clat.start < 0:
        return None
    best: List[Dict[int, Tuple[float, float]]] = [dict() for _ in range(n)]
    best[clat.start][0] = (0.0, 0.0)

    def relax(table, i, g, a):
        old = table.get(i)
        if old is None or g + acoustic_scale * a < old[0] + acoustic_scale * old[1]:
            table[i] = (g, a)

    out = None
    for s in top_order(clat):
        for i, (g, a) in best[s].items():
            for (w, ag, aa, _, ns) in clat.arcs[s]:
                if w == 0:
                    relax(best[ns], i, g + ag, a + aa)
                elif i < len(words) and w == words[i]:
                    relax(best[ns], i + 1, g + ag, a + aa)
        fw = clat.finals.get(s)
        full = best[s].get(len(words))
        if fw is not None and full is not None:
            c = (full[0] + fw[0], full[1] + fw[1])
            if out is None or c[0] + acoustic_scale * c[1] < out[0] + acoustic_scale * out[1]:
                out = c
    return out


def nbest_arc_paths(clat: CompactLattice, n: int):
    """Up to ``n`` best complete paths of an acyclic lattice, best first: list of
    ``(cost, [(state, arc index), ...], final_state)`` (cost = graph + acoustic, double).
    Exact k-best by dynamic programming in reverse topological order: each state keeps its ``n``
    cheapest completions."""
    if n <= 0 or clat.num_states == 0 or clat.start < 0:
        return []
    order = top_order(clat)
    # completions[s]: sorted list of (cost, tie, arc or None, index into completions of next state)
    comp: List[list] = [None] * clat.num_states
    for s in reversed(order):
        cands = []
        fw = clat.finals.get(s)
        if fw is not None:
            cands.append((fw[0] + fw[1], -1, 0))
        for i, (w, g, a, t, ns) in enumerate(clat.arcs[s]):
            c = g + a
            for j, entry in enumerate(comp[ns] or ()):
                cands.append((c + entry[0], i, j))
        cands.sort(key=lambda x: x[0])
        comp[s] = cands[:n]
    out = []
    for k in range(len(comp[clat.start])):
        path, s, j = [], clat.start, k
        cost = comp[s][j][0]
        while True:
            c, i, nj = comp[s][j]
            if i < 0:
                break
            path.append((s, i))
            s, j = clat.arcs[s][i][4], nj
        out.append((cost, path, s))
    return out


def nbest_paths(clat: CompactLattice, n: int, lm_scale=1.0, acoustic_scale=1.0, word_ins_penalty=0.0):
    """The ``n`` best paths as ``(words without epsilons, graph_cost, acoustic_cost)``, best first,
    ranked on the scaled costs plus penalty (as :func:`best_path`), reporting unscaled costs.
    On a determinized lattice every path has a distinct word sequence (Kaldi ``lattice-to-nbest``)."""
    scaled = _prepared(clat, lm_scale, acoustic_scale, word_ins_penalty)
    out = []
    for _, path, fin in nbest_arc_paths(scaled, n):
        words, g, a, _ = _path_summary(clat, path, fin)
        out.append((words, g, a))
    return out


def path_lattice(clat: CompactLattice, path, final_state) -> CompactLattice:
    """A linear CompactLattice of one path of ``clat`` (Kaldi ``lattice-1best`` / n-best output)."""
    arcs = []
    for k, (s, i) in enumerate(path):
        w, g, a, t, _ = clat.arcs[s][i]
        arcs.append([(w, g, a, t, k + 1)])
    arcs.append([])
    return CompactLattice(0, arcs, {len(path): clat.finals[final_state]})


def prune_lattice(clat: CompactLattice, beam: float) -> CompactLattice:
    """Kaldi ``PruneLattice`` (src/lat/lattice-functions.cc): drop arcs and states on no path
    within ``beam`` of the best path (forward + backward costs in double), then renumber the
    remaining states (connected) in their original order."""
    n = clat.num_states
    if n == 0:
        return clat
    order = top_order(clat)
    fwd = [INF] * n
    fwd[clat.start] = 0.0
    for s in order:
        if fwd[s] == INF:
            continue
        for w, g, a, t, ns in clat.arcs[s]:
            c = fwd[s] + g + a
            if c < fwd[ns]:
                fwd[ns] = c
    bwd = [INF] * n
    for s in reversed(order):
        fw = clat.finals.get(s)
        b = fw[0] + fw[1] if fw is not None else INF
        for w, g, a, t, ns in clat.arcs[s]:
            b = min(b, g + a + bwd[ns])
        bwd[s] = b
    best = bwd[clat.start]
    if best == INF:
        return CompactLattice(-1, [], {})
    cutoff = best + beam
    keep_arcs = []
    for s in range(n):
        keep_arcs.append([arc for arc in clat.arcs[s]
                          if fwd[s] + arc[1] + arc[2] + bwd[arc[4]] <= cutoff])
    finals = {s: fw for s, fw in clat.finals.items() if fwd[s] + fw[0] + fw[1] <= cutoff}
    alive = [fwd[s] + bwd[s] <= cutoff for s in range(n)]
    new_id, m = {}, 0
    for s in range(n):
        if alive[s]:
            new_id[s] = m
            m += 1
    arcs = [[(w, g, a, t, new_id[ns]) for (w, g, a, t, ns) in keep_arcs[s] if alive[ns]]
            for s in range(n) if alive[s]]
    return CompactLattice(new_id[clat.start], arcs, {new_id[s]: fw for s, fw in finals.items() if alive[s]})
