"""Kaldi's ``ContextDependency`` (the ``tree`` file): context width N, central position P and the
EventMap that maps (context phones, pdf-class) to pdf-ids.

Specification: Kaldi ``tree/context-dep.cc`` (``Read``/``Write``, ``NumPdfs``) and
``tree/event-map.cc`` (``EventMap::Read``/``Write`` of ``CE``/``TE``/``SE``/``NULL``).

Layout::

    ContextDependency N P ToPdf <EventMap> EndContextDependency

EventMaps (tokens end with a space; text mode adds a newline after ``)`` and ``}``):

* ``NULL`` — no map (a hole in a table),
* ``CE answer`` — constant (int32 answer = pdf-id),
* ``TE key size ( map_0 ... map_{size-1} )`` — table on ``key`` (``size`` is a uint32: binary
  size byte ``0xfc``),
* ``SE key [ yes-set ] { yes-map no-map }`` — split on membership of ``key``'s value in the set
  (the set is an int32 vector, ``WriteIntegerVector``).

Keys: ``-1`` (``kPdfClass``) is the pdf-class, ``0..N-1`` the phone positions.  ``num_pdfs`` is 1 +
the largest answer in the map (Kaldi ``NumPdfs`` via ``MaxResult``).
"""
from dataclasses import dataclass, field
from typing import List, Optional, Union

from bnn.kaldi.kaldi_binary import KaldiReader, KaldiWriter
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

PDF_CLASS_KEY = -1  # Kaldi's kPdfClass


@dataclass
class ConstantEventMap:
    answer: int


@dataclass
class TableEventMap:
    key: int
    table: List[Optional["EventMap"]] = field(default_factory=list)


@dataclass
class SplitEventMap:
    key: int
    yes_set: List[int]
    yes: "EventMap"
    no: "EventMap"


EventMap = Union[ConstantEventMap, TableEventMap, SplitEventMap]


def read_event_map(r: KaldiReader) -> Optional[EventMap]:
    pos = r.pos
    tok = r.read_token()
    if tok == "NULL":
        return None
    if tok == "CE":
        return ConstantEventMap(r.read_int())
    if tok == "TE":
        key = r.read_int()
        size = r.read_uint()
        r.expect_token("(")
        table = [read_event_map(r) for _ in range(size)]
        r.expect_token(")")
        return TableEventMap(key, table)
    if tok == "SE":
        key = r.read_int()
        yes_set = r.read_int_vector()
        r.expect_token("{")
        yes = read_event_map(r)
        no = read_event_map(r)
        r.expect_token("}")
        return SplitEventMap(key, yes_set, yes, no)
    r.pos = pos
    raise r.error(f"expected an EventMap (CE, TE, SE or NULL), found {tok[:30]!r}")


def write_event_map(w: KaldiWriter, emap: Optional[EventMap]) -> None:
    if emap is None:
        w.write_token("NULL")
    elif isinstance(emap, ConstantEventMap):
        w.write_token("CE")
        w.write_int(emap.answer)
    elif isinstance(emap, TableEventMap):
        w.write_token("TE")
        w.write_int(emap.key)
        w.write_uint(len(emap.table))
        w.write_token("(")
        for sub in emap.table:
            write_event_map(w, sub)
        w.write_token(")")
        w.newline()
    elif isinstance(emap, SplitEventMap):
        w.write_token("SE")
        w.write_int(emap.key)
        w.write_int_vector(sorted(emap.yes_set))
        w.write_token("{")
        write_event_map(w, emap.yes)
        write_event_map(w, emap.no)
        w.write_token("}")
        w.newline()
    else:
        raise TypeError(f"not an EventMap: {emap!r}")


def max_result(emap: Optional[EventMap]) -> int:
    """Largest answer in the map (-1 if none)."""
    if emap is None:
        return -1
    if isinstance(emap, ConstantEventMap):
        return emap.answer
    if isinstance(emap, TableEventMap):
        return max([max_result(m) for m in emap.table], default=-1)
    return max(max_result(emap.yes), max_result(emap.no))


def lookup(emap: Optional[EventMap], event: dict) -> Optional[int]:
    """Evaluate the map on ``event`` ({key: value}); None where Kaldi's ``Map`` returns false."""
    while emap is not None:
        if isinstance(emap, ConstantEventMap):
            return emap.answer
        if emap.key not in event:
            return None
        value = event[emap.key]
        if isinstance(emap, TableEventMap):
            if not 0 <= value < len(emap.table):
                return None
            emap = emap.table[value]
        else:
            emap = emap.yes if value in emap.yes_set else emap.no
    return None


class ContextDependency:
    """A Kaldi phonetic-context decision tree."""

    def __init__(self, N: int, P: int, to_pdf: Optional[EventMap]):
        self.N = N
        self.P = P
        self.to_pdf = to_pdf

    @property
    def context_width(self) -> int:
        return self.N

    @property
    def central_position(self) -> int:
        return self.P

    @property
    def num_pdfs(self) -> int:
        return max(max_result(self.to_pdf) + 1, 0)

    def compute(self, phone_window: List[int], pdf_class: int) -> Optional[int]:
        """pdf-id of a phone in context (``phone_window`` has N phones) and pdf-class."""
        if len(phone_window) != self.N:
            raise BnnError(f"context window of {len(phone_window)} phones, tree has N={self.N}")
        event = {i: p for i, p in enumerate(phone_window)}
        event[PDF_CLASS_KEY] = pdf_class
        return lookup(self.to_pdf, event)

    def __eq__(self, other):
        return (isinstance(other, ContextDependency) and self.N == other.N
                and self.P == other.P and self.to_pdf == other.to_pdf)

    @classmethod
    def read(cls, r: KaldiReader) -> "ContextDependency":
        pos = r.pos
        tok = r.read_token()
        if tok != "ContextDependency":
            r.pos = pos
            raise BnnError(f"{r.name}: not a Kaldi tree (expected ContextDependency, found "
                           f"{tok[:30] if tok.isprintable() else 'binary data'})")
        N = r.read_int()
        P = r.read_int()
        if N <= 0 or not 0 <= P < N:
            raise r.error(f"invalid context width {N} / central position {P}")
        r.expect_token("ToPdf")
        to_pdf = read_event_map(r)
        r.expect_token("EndContextDependency")
        return cls(N, P, to_pdf)

    def write(self, w: KaldiWriter) -> None:
        w.write_token("ContextDependency")
        w.write_int(self.N)
        w.write_int(self.P)
        w.write_token("ToPdf")
        write_event_map(w, self.to_pdf)
        w.write_token("EndContextDependency")

    def to_bytes(self, binary: bool = True) -> bytes:
        w = KaldiWriter(binary=binary)
        self.write(w)
        return w.getvalue()


def read_tree(path) -> ContextDependency:
    """Read a Kaldi ``tree`` file (binary or text)."""
    r = KaldiReader.from_file(str(path))
    if not r.data:
        raise BnnError(f"{path}: empty file, expected a Kaldi tree")
    return ContextDependency.read(r)


def write_tree(path, tree: ContextDependency, binary: bool = True) -> None:
    """Write a tree atomically (``copy-tree --binary=...``)."""
    with atomic_write(str(path), "wb") as f:
        f.write(tree.to_bytes(binary))
