"""Kaldi's ``TransitionModel``: transition-ids and their pdf-ids, phones and HMM states.

Specification: Kaldi ``hmm/transition-model.cc`` (``Read``, ``Write``, ``ComputeDerived``,
``TransitionIdToPdf``, ``IsSelfLoop``, ``IsFinal``, ``Print``) and ``hmm/hmm-utils.cc``
(``SplitToPhones``).

* A *transition-state* (1-based) is one tuple ``(phone, hmm-state, forward-pdf, self-loop-pdf)``.
  Files store them as ``<Triples> n`` (phone, hmm-state, pdf; self-loop-pdf := forward pdf — the
  old layout, still written whenever the topology is a plain HMM) or ``<Tuples> n`` (4 columns).
* Transition-ids (1-based) enumerate, transition-state by transition-state, the transitions out of
  the tuple's HMM state in topology order: ``tid = state2id[tstate] + transition_index``.
* ``TransitionIdToPdf(tid)`` is the self-loop pdf when the transition goes back to its own HMM
  state, the forward pdf otherwise.
* ``<LogProbs>`` is a float vector indexed by transition-id (entry 0 unused, so its length is
  ``num_transition_ids + 1``).

Layout written (text)::

    <TransitionModel>
    <Topology> ... </Topology>
    <Triples> 33
    1 0 0
    ...
    </Triples>
    <LogProbs>
     [ 0 -0.33 ... ]
    </LogProbs>
    </TransitionModel>

Binary: the same tokens with size-prefixed ints and an ``FV`` vector, no newlines.
"""
import math
from typing import List

import numpy as np

from bnn.kaldi.hmm_topology import HmmTopology
from bnn.kaldi.kaldi_binary import KaldiReader, KaldiWriter
from bnn.utils.errors import BnnError


class TransitionModel:
    """Transition model with Kaldi's mappings; numpy arrays for vectorised alignment mapping.

    Arrays indexed by transition-id (index 0 is a dummy, -1 / False):
    ``id2state``, ``id2pdf``, ``id2phone``, ``id2hmm_state``, ``id2index``, ``id_is_self_loop``,
    ``id_is_final``.  ``state2id[tstate]`` is the first transition-id of a transition-state
    (``state2id[num_transition_states + 1] = num_transition_ids + 1``).
    """

    def __init__(self, topo: HmmTopology, tuples, log_probs=None):
        self.topo = topo
        tuples = np.asarray(tuples, dtype=np.int64).reshape(-1, 4)
        self.tuples = tuples  # columns: phone, hmm_state, forward_pdf, self_loop_pdf
        self._compute_derived()
        if log_probs is None:
            log_probs = self._default_log_probs()
        log_probs = np.asarray(log_probs, dtype=np.float32)
        if log_probs.shape != (self.num_transition_ids + 1,):
            raise BnnError(f"transition model: <LogProbs> has {log_probs.shape[0]} entries, "
                           f"expected {self.num_transition_ids + 1} (transition-ids + 1)")
        self.log_probs = log_probs

    # ------------------------------------------------------------ derived tables
    def _compute_derived(self) -> None:
        n = self.tuples.shape[0]
        state2id = np.zeros(n + 2, dtype=np.int64)
        cur = 1
        num_pdfs = 0
        for ts in range(1, n + 2):
            state2id[ts] = cur
            if ts <= n:
                phone, hmm_state, fpdf, spdf = (int(x) for x in self.tuples[ts - 1])
                num_pdfs = max(num_pdfs, 1 + fpdf, 1 + spdf)
                entry = self.topo.topology_for_phone(phone)
                if not 0 <= hmm_state < len(entry):
                    raise BnnError(f"transition model: tuple {ts} has hmm-state {hmm_state}, "
                                   f"but phone {phone} has {len(entry)} states")
                cur += len(entry[hmm_state].transitions)
        ntid = cur - 1
        self.state2id = state2id
        self.num_pdfs = num_pdfs
        self.num_transition_ids = ntid
        self.id2state = np.full(ntid + 1, -1, dtype=np.int64)
        self.id2index = np.full(ntid + 1, -1, dtype=np.int64)
        self.id2pdf = np.full(ntid + 1, -1, dtype=np.int64)
        self.id2phone = np.full(ntid + 1, -1, dtype=np.int64)
        self.id2hmm_state = np.full(ntid + 1, -1, dtype=np.int64)
        self.id_is_self_loop = np.zeros(ntid + 1, dtype=bool)
        self.id_is_final = np.zeros(ntid + 1, dtype=bool)
        for ts in range(1, n + 1):
            phone, hmm_state, fpdf, spdf = (int(x) for x in self.tuples[ts - 1])
            entry = self.topo.topology_for_phone(phone)
            for idx, (dst, _) in enumerate(entry[hmm_state].transitions):
                tid = int(state2id[ts]) + idx
                self.id2state[tid] = ts
                self.id2index[tid] = idx
                self.id2phone[tid] = phone
                self.id2hmm_state[tid] = hmm_state
                loop = dst == hmm_state
                self.id_is_self_loop[tid] = loop
                self.id_is_final[tid] = dst + 1 == len(entry)
                self.id2pdf[tid] = spdf if loop else fpdf

    def _default_log_probs(self) -> np.ndarray:
        """Log-probabilities taken from the topology (Kaldi ``InitializeProbs``)."""
        lp = np.zeros(self.num_transition_ids + 1, dtype=np.float32)
        for tid in range(1, self.num_transition_ids + 1):
            ts = int(self.id2state[tid])
            phone, hmm_state = int(self.tuples[ts - 1, 0]), int(self.tuples[ts - 1, 1])
            prob = self.topo.topology_for_phone(phone)[hmm_state].transitions[int(self.id2index[tid])][1]
            if prob <= 0:
                raise BnnError(f"topology: zero transition probability for phone {phone}")
            lp[tid] = np.float32(math.log(float(prob)))
        return lp

    # ------------------------------------------------------------ queries
    @property
    def num_transition_states(self) -> int:
        return int(self.tuples.shape[0])

    @property
    def phones(self) -> List[int]:
        return list(self.topo.phones)

    @property
    def num_phones(self) -> int:
        return len(self.topo.phones)

    def is_hmm(self) -> bool:
        return self.topo.is_hmm()

    def _check_tid(self, tid: int) -> int:
        tid = int(tid)
        if not 1 <= tid <= self.num_transition_ids:
            raise BnnError(f"transition-id {tid} out of range [1, {self.num_transition_ids}]")
        return tid

    def transition_id_to_pdf(self, tid: int) -> int:
        """Kaldi ``TransitionIdToPdf`` (self-loop pdf for self-loops, forward pdf otherwise)."""
        return int(self.id2pdf[self._check_tid(tid)])

    def transition_id_to_phone(self, tid: int) -> int:
        return int(self.id2phone[self._check_tid(tid)])

    def transition_id_to_hmm_state(self, tid: int) -> int:
        return int(self.id2hmm_state[self._check_tid(tid)])

    def transition_id_to_transition_state(self, tid: int) -> int:
        return int(self.id2state[self._check_tid(tid)])

    def transition_id_to_transition_index(self, tid: int) -> int:
        return int(self.id2index[self._check_tid(tid)])

    def pair_to_transition_id(self, tstate: int, index: int) -> int:
        if not 1 <= tstate <= self.num_transition_states:
            raise BnnError(f"transition-state {tstate} out of range [1, {self.num_transition_states}]")
        if not 0 <= index < self.num_transition_indices(tstate):
            raise BnnError(f"transition-index {index} out of range for transition-state {tstate}")
        return int(self.state2id[tstate]) + int(index)

    def num_transition_indices(self, tstate: int) -> int:
        return int(self.state2id[tstate + 1] - self.state2id[tstate])

    def transition_state_to_tuple(self, tstate: int):
        """``(phone, hmm_state, forward_pdf, self_loop_pdf)`` of a 1-based transition-state."""
        return tuple(int(x) for x in self.tuples[tstate - 1])

    def is_self_loop(self, tid: int) -> bool:
        return bool(self.id_is_self_loop[self._check_tid(tid)])

    def is_final(self, tid: int) -> bool:
        """True when the transition enters the final state of its phone's topology entry."""
        return bool(self.id_is_final[self._check_tid(tid)])

    def transition_prob(self, tid: int) -> float:
        """``GetTransitionProb``: ``exp(log_probs[tid])`` in float32 (Kaldi ``Exp(BaseFloat)``)."""
        return float(np.float32(math.exp(float(self.log_probs[self._check_tid(tid)]))))

    def pdf_array(self) -> np.ndarray:
        """int32 array mapping transition-id -> pdf-id (entry 0 is -1)."""
        return self.id2pdf.astype(np.int32)

    def out_of_range(self, ali: np.ndarray) -> np.ndarray:
        """Boolean mask of alignment entries that are not valid transition-ids."""
        ali = np.asarray(ali)
        return (ali < 1) | (ali > self.num_transition_ids)

    def map_pdfs(self, ali) -> np.ndarray:
        """Vectorised ``TransitionIdToPdf`` (caller checks :meth:`out_of_range` first)."""
        return self.id2pdf[np.asarray(ali, dtype=np.int64)].astype(np.int32)

    def map_phones(self, ali) -> np.ndarray:
        """Vectorised transition-id -> phone."""
        return self.id2phone[np.asarray(ali, dtype=np.int64)].astype(np.int32)

    # ------------------------------------------------------------ phone splitting
    def _is_reordered(self, ali) -> bool:
        """Kaldi ``IsReordered`` (hmm-utils.cc): is the self-loop after the forward transition?"""
        st = self.id2state
        loop = self.id_is_self_loop
        for i in range(len(ali) - 1):
            if st[ali[i]] != st[ali[i + 1]]:
                if loop[ali[i]]:
                    return True
                if loop[ali[i + 1]]:
                    return False
        if len(ali) == 0:
            return False
        if loop[ali[0]]:
            return False
        return bool(loop[ali[-1]])

    def split_to_phones(self, ali):
        """Kaldi ``SplitToPhones``: ``(segments, ok)``; each segment a list of transition-ids.

        A phone ends after a transition into its final state (with ``reordered`` alignments, after
        the self-loops that follow it); a phone change without such a transition also ends one
        (and makes ``ok`` False, as does a phone not starting in HMM state 0).
        """
        ali = [int(t) for t in ali]
        if not ali:
            return [], True
        reordered = self._is_reordered(ali)
        st, final, loop = self.id2state, self.id_is_final, self.id_is_self_loop
        ends = []
        ok = True
        i = 0
        n = len(ali)
        while i < n:
            t = ali[i]
            if final[t]:
                if reordered:
                    while i + 1 < n and loop[ali[i + 1]]:
                        i += 1
                ends.append(i + 1)
            elif i + 1 == n:
                ok = False
                ends.append(i + 1)
            else:
                s1, s2 = st[t], st[ali[i + 1]]
                if s1 != s2 and self.tuples[s1 - 1, 0] != self.tuples[s2 - 1, 0]:
                    ok = False
                    ends.append(i + 1)
            i += 1
        segments = []
        cur = 0
        for end in ends:
            ts = int(st[ali[cur]])
            phone, hmm_state = int(self.tuples[ts - 1, 0]), int(self.tuples[ts - 1, 1])
            if self.topo.topology_for_phone(phone)[0].forward_pdf_class != -1 and hmm_state != 0:
                ok = False
            segments.append(ali[cur:end])
            cur = end
        return segments, ok

    # ------------------------------------------------------------ I/O
    @classmethod
    def read(cls, r: KaldiReader) -> "TransitionModel":
        r.expect_token("<TransitionModel>")
        topo = HmmTopology.read(r)
        pos = r.pos
        layout = r.read_token()
        if layout not in ("<Triples>", "<Tuples>"):
            r.pos = pos
            raise r.error(f"expected <Triples> or <Tuples>, found {layout!r}")
        n = r.read_int()
        if n < 0:
            raise r.error(f"negative transition-state count {n}")
        rows = []
        for _ in range(n):
            phone, hmm_state, fpdf = r.read_int(), r.read_int(), r.read_int()
            spdf = r.read_int() if layout == "<Tuples>" else fpdf
            rows.append((phone, hmm_state, fpdf, spdf))
        r.expect_token("</Tuples>" if layout == "<Tuples>" else "</Triples>")
        r.expect_token("<LogProbs>")
        log_probs = r.read_vector(np.float32)
        r.expect_token("</LogProbs>")
        r.expect_token("</TransitionModel>")
        try:
            return cls(topo, np.array(rows, dtype=np.int64).reshape(-1, 4), log_probs)
        except BnnError as err:
            raise BnnError(f"{r.name}: {err}") from None

    def write(self, w: KaldiWriter) -> None:
        is_hmm = self.is_hmm()
        w.write_token("<TransitionModel>")
        w.newline()
        self.topo.write(w)
        w.write_token("<Triples>" if is_hmm else "<Tuples>")
        w.write_int(self.num_transition_states)
        w.newline()
        for phone, hmm_state, fpdf, spdf in self.tuples.tolist():
            w.write_int(phone)
            w.write_int(hmm_state)
            w.write_int(fpdf)
            if not is_hmm:
                w.write_int(spdf)
            w.newline()
        w.write_token("</Triples>" if is_hmm else "</Tuples>")
        w.newline()
        w.write_token("<LogProbs>")
        w.newline()
        w.write_vector(self.log_probs.astype(np.float32))
        w.write_token("</LogProbs>")
        w.newline()
        w.write_token("</TransitionModel>")
        w.newline()

    def __eq__(self, other):
        return (isinstance(other, TransitionModel) and self.topo == other.topo
                and np.array_equal(self.tuples, other.tuples)
                and np.array_equal(self.log_probs, other.log_probs))

    # ------------------------------------------------------------ printing
    def info_text(self) -> str:
        """What Kaldi's ``hmm-info`` prints."""
        return (f"number of phones {self.num_phones}\n"
                f"number of pdfs {self.num_pdfs}\n"
                f"number of transition-ids {self.num_transition_ids}\n"
                f"number of transition-states {self.num_transition_states}\n")

    def print_transitions(self, phone_names: List[str], occs=None) -> str:
        """Kaldi ``TransitionModel::Print`` (``show-transitions``); numbers as C++ ``%g``."""
        if occs is not None and len(occs) != self.num_pdfs:
            raise BnnError(f"occupancy vector has {len(occs)} entries, model has {self.num_pdfs} pdfs")
        is_hmm = self.is_hmm()
        out = []
        for ts in range(1, self.num_transition_states + 1):
            phone, hmm_state, fpdf, spdf = self.transition_state_to_tuple(ts)
            if phone >= len(phone_names) or phone_names[phone] is None:
                raise BnnError(f"phone {phone} is not in the symbol table")
            line = f"Transition-state {ts}: phone = {phone_names[phone]} hmm-state = {hmm_state}"
            if is_hmm:
                line += f" pdf = {fpdf}\n"
            else:
                line += f" forward-pdf = {fpdf} self-loop-pdf = {spdf}\n"
            out.append(line)
            entry = self.topo.topology_for_phone(phone)
            for idx in range(self.num_transition_indices(ts)):
                tid = self.pair_to_transition_id(ts, idx)
                line = " Transition-id = %d p = %s" % (tid, "%g" % self.transition_prob(tid))
                loop = self.is_self_loop(tid)
                if occs is not None:
                    line += " count of pdf = %g" % float(occs[spdf if loop else fpdf])
                if loop:
                    line += " [self-loop]\n"
                else:
                    line += f" [{hmm_state} -> {entry[hmm_state].transitions[idx][0]}]\n"
                out.append(line)
        return "".join(out)
