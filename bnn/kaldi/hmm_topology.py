"""Kaldi's ``HmmTopology`` (the ``<Topology>`` section of a model and the ``topo`` file).

Specification: Kaldi ``hmm/hmm-topology.cc`` (``Read``, ``Write``, ``IsHmm``).

Text form::

    <Topology>
    <TopologyEntry>
    <ForPhones>
    2 3 4
    </ForPhones>
    <State> 0 <PdfClass> 0 <Transition> 0 0.75 <Transition> 1 0.25 </State>
    <State> 1 </State>                      (the final, non-emitting state)
    </TopologyEntry>
    </Topology>

A state whose self-loop pdf-class differs from its forward pdf-class is written
``<ForwardPdfClass> f <SelfLoopPdfClass> s`` instead of ``<PdfClass> p``.  Binary form (no
per-entry tokens): ``WriteIntegerVector(phones)``, ``WriteIntegerVector(phone2idx)`` (-1 for
phones without an entry), an int32 ``-1`` marker only when the topology is not a plain HMM, the
entry count, then per entry its state count and per state the forward pdf-class (and the
self-loop pdf-class when not a plain HMM), the transition count and (destination, probability)
pairs.  The final state has pdf-class ``-1`` (``kNoPdf``).
"""
from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np

from bnn.kaldi.kaldi_binary import KaldiReader, KaldiWriter
from bnn.utils.errors import BnnError

NO_PDF = -1  # Kaldi's kNoPdf


@dataclass
class HmmState:
    """One HMM state: pdf-classes and ``(destination state, probability)`` transitions."""
    forward_pdf_class: int = NO_PDF
    self_loop_pdf_class: int = NO_PDF
    transitions: List[Tuple[int, np.float32]] = field(default_factory=list)


class HmmTopology:
    """Phones -> topology entries (lists of :class:`HmmState`)."""

    def __init__(self, phones=None, phone2idx=None, entries=None):
        self.phones: List[int] = list(phones or [])
        self.phone2idx: List[int] = list(phone2idx or [])
        self.entries: List[List[HmmState]] = list(entries or [])

    # ----------------------------------------------------------------- queries
    def topology_for_phone(self, phone: int) -> List[HmmState]:
        if phone < 0 or phone >= len(self.phone2idx) or self.phone2idx[phone] < 0:
            raise BnnError(f"phone {phone} is not in the HMM topology")
        return self.entries[self.phone2idx[phone]]

    def is_hmm(self) -> bool:
        """Kaldi ``IsHmm``: every state's self-loop pdf-class equals its forward pdf-class."""
        return all(s.forward_pdf_class == s.self_loop_pdf_class
                   for e in self.entries for s in e)

    def num_pdf_classes(self, phone: int) -> int:
        """1 + the largest pdf-class used by the phone's entry (Kaldi ``NumPdfClasses``)."""
        entry = self.topology_for_phone(phone)
        return 1 + max(max(s.forward_pdf_class, s.self_loop_pdf_class) for s in entry)

    def __eq__(self, other):
        return (isinstance(other, HmmTopology) and self.phones == other.phones
                and self.phone2idx == other.phone2idx and self.entries == other.entries)

    # ----------------------------------------------------------------- I/O
    @classmethod
    def read(cls, r: KaldiReader) -> "HmmTopology":
        r.expect_token("<Topology>")
        topo = cls()
        if not r.binary:
            phone_lists = []
            while True:
                tok = r.read_token()
                if tok == "</Topology>":
                    break
                if tok != "<TopologyEntry>":
                    raise r.error(f"expected <TopologyEntry> or </Topology>, found {tok!r}")
                r.expect_token("<ForPhones>")
                phones = []
                while True:
                    pos = r.pos
                    word = r.read_token()
                    if word == "</ForPhones>":
                        break
                    try:
                        phones.append(int(word))
                    except ValueError:
                        r.pos = pos
                        raise r.error(f"expected a phone id or </ForPhones>, found {word!r}") from None
                entry = []
                while True:
                    tok = r.read_token()
                    if tok == "</TopologyEntry>":
                        break
                    if tok != "<State>":
                        raise r.error(f"expected <State> or </TopologyEntry>, found {tok!r}")
                    index = r.read_int()
                    if index != len(entry):
                        raise r.error(f"states out of order: expected <State> {len(entry)}, found {index}")
                    state = HmmState()
                    tok = r.read_token()
                    if tok == "<PdfClass>":
                        state.forward_pdf_class = state.self_loop_pdf_class = r.read_int()
                        tok = r.read_token()
                    elif tok == "<ForwardPdfClass>":
                        state.forward_pdf_class = r.read_int()
                        r.expect_token("<SelfLoopPdfClass>")
                        state.self_loop_pdf_class = r.read_int()
                        tok = r.read_token()
                    while tok == "<Transition>":
                        dst = r.read_int()
                        prob = r.read_float(np.float32)
                        state.transitions.append((dst, prob))
                        tok = r.read_token()
                    if tok == "<Final>":  # old-style final-probability; Kaldi ignores its value
                        r.read_float(np.float32)
                        tok = r.read_token()
                    if tok != "</State>":
                        raise r.error(f"expected <Transition> or </State>, found {tok!r}")
                    entry.append(state)
                phone_lists.append(phones)
                topo.entries.append(entry)
            all_phones = sorted(p for ps in phone_lists for p in ps)
            if len(set(all_phones)) != len(all_phones):
                raise r.error("a phone appears in more than one <TopologyEntry>")
            if any(p <= 0 for p in all_phones):
                raise r.error("phone ids in <ForPhones> must be positive")
            topo.phones = all_phones
            topo.phone2idx = [-1] * ((all_phones[-1] + 1) if all_phones else 0)
            for i, ps in enumerate(phone_lists):
                for p in ps:
                    topo.phone2idx[p] = i
        else:
            topo.phones = r.read_int_vector()
            topo.phone2idx = r.read_int_vector()
            n = r.read_int()
            is_hmm = True
            if n == -1:
                is_hmm = False
                n = r.read_int()
            if n < 0:
                raise r.error(f"negative topology entry count {n}")
            for _ in range(n):
                entry = []
                for _ in range(r.read_int()):
                    state = HmmState()
                    state.forward_pdf_class = r.read_int()
                    state.self_loop_pdf_class = (state.forward_pdf_class if is_hmm
                                                 else r.read_int())
                    for _ in range(r.read_int()):
                        dst = r.read_int()
                        state.transitions.append((dst, r.read_float(np.float32)))
                    entry.append(state)
                topo.entries.append(entry)
            r.expect_token("</Topology>")
        topo._check(r)
        return topo

    def _check(self, r: KaldiReader) -> None:
        for p in self.phones:
            if p >= len(self.phone2idx) or not 0 <= self.phone2idx[p] < len(self.entries):
                raise r.error(f"topology: phone {p} has no valid entry")
        for entry in self.entries:
            for state in entry:
                for dst, _ in state.transitions:
                    if not 0 <= dst < len(entry):
                        raise r.error(f"topology: transition to state {dst} outside its entry")

    def write(self, w: KaldiWriter) -> None:
        is_hmm = self.is_hmm()
        w.write_token("<Topology>")
        if not w.binary:
            w.raw("\n")
            for i, entry in enumerate(self.entries):
                w.write_token("<TopologyEntry>")
                w.raw("\n")
                w.write_token("<ForPhones>")
                w.raw("\n")
                w.raw("".join(f"{p} " for p in self.phones if self.phone2idx[p] == i))
                w.raw("\n")
                w.write_token("</ForPhones>")
                w.raw("\n")
                for j, state in enumerate(entry):
                    w.write_token("<State>")
                    w.write_int(j)
                    if j != len(entry) - 1:
                        if is_hmm:
                            w.write_token("<PdfClass>")
                            w.write_int(state.forward_pdf_class)
                        else:
                            w.write_token("<ForwardPdfClass>")
                            w.write_int(state.forward_pdf_class)
                            w.write_token("<SelfLoopPdfClass>")
                            w.write_int(state.self_loop_pdf_class)
                    for dst, prob in state.transitions:
                        w.write_token("<Transition>")
                        w.write_int(dst)
                        w.write_float(prob)
                    w.write_token("</State>")
                    w.raw("\n")
                w.write_token("</TopologyEntry>")
                w.raw("\n")
        else:
            w.write_int_vector(self.phones)
            w.write_int_vector(self.phone2idx)
            if not is_hmm:
                w.write_int(-1)
            w.write_int(len(self.entries))
            for entry in self.entries:
                w.write_int(len(entry))
                for state in entry:
                    w.write_int(state.forward_pdf_class)
                    if not is_hmm:
                        w.write_int(state.self_loop_pdf_class)
                    w.write_int(len(state.transitions))
                    for dst, prob in state.transitions:
                        w.write_int(dst)
                        w.write_float(prob)
        w.write_token("</Topology>")
        w.newline()

    def to_text(self) -> str:
        """The topology in Kaldi's text form (what a ``topo`` file holds)."""
        w = KaldiWriter(binary=False)
        self.write(w)
        return w.getvalue().decode()

    @classmethod
    def read_file(cls, path: str) -> "HmmTopology":
        """Read a ``topo`` file (text or binary)."""
        return cls.read(KaldiReader.from_file(path))
