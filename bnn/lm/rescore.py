"""N-best rescoring of lattices with an LSTM LM interpolated with an n-gram.

Costs are natural-log negative log-probabilities, as in Kaldi's G.fst and lattices.  For a
hypothesis ``W`` of a lattice with graph cost ``g`` (= old LM cost + transition/pronunciation
costs) and acoustic cost ``a``, rescoring replaces the old LM's part of ``g``::

    g'(W) = g(W) - C_old(W) + C_new(W)
    C_new(W) = (1 - lambda) * C_ngram(W) + lambda * C_lstm(W)

i.e. **log-linear** interpolation at the sentence level with LSTM weight ``lambda`` (the form of
Kaldi's ``lattice-lmrescore-rnnlm``/``rnnlm/lmrescore.sh --weight``).  ``C_old`` is the cost of
``W`` (with ``</s>``) in the decoding graph's ``G.fst``, ``C_ngram`` the cost in another G.fst (e.g.
a trigram trained on in-domain text; the same as the old one when not given), ``C_lstm`` the
LSTM's ``-sum_i ln p(w_i | <eos> w_1 .. w_{i-1}) - ln p(<eos> | W)`` from a zero state.
The decision rule of Kaldi's scoring (``lattice-scale --inv-acoustic-scale=LMWT``,
``lattice-add-penalty --word-ins-penalty=WIP``, best path) is applied to ``g'``::

    best = argmin_W  g'(W) + WIP * |W| + a(W) / LMWT
"""
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from torch.nn import functional as F

from bnn.utils.errors import BnnError


@dataclass
class Hyp:
    """One n-best entry; costs as described in the module docstring."""
    utt: str
    rank: int
    ids: Tuple[int, ...]
    graph: float
    acoustic: float
    old_lm: float = 0.0
    ngram: float = 0.0
    lstm: float = 0.0

    def graph_rescored(self, lam: Optional[float]) -> float:
        """``g'`` for LSTM weight ``lam``; ``None``: the original graph cost (no rescoring)."""
        if lam is None:
            return self.graph
        return self.graph - self.old_lm + (1.0 - lam) * self.ngram + lam * self.lstm


def pick(hyps: Sequence[Hyp], lam: Optional[float], lmwt: float, wip: float) -> Hyp:
    """The hypothesis with the lowest ``g' + wip |W| + a / lmwt`` (first one on ties)."""
    if not hyps:
        raise BnnError("empty n-best list")
    return min(hyps, key=lambda h: h.graph_rescored(lam) + wip * len(h.ids) + h.acoustic / lmwt)


# -- n-gram costs from a Kaldi G.fst ------------------------------------------------------------

class FstLM:
    """Word-sequence costs in a Kaldi G.fst (an acceptor over word ids with back-off arcs on
    ``#0`` or epsilon, as arpa2fst writes it).  A word missing at a state is looked for after the
    back-off arc (adding its cost), as a back-off n-gram does."""

    def __init__(self, path: str, backoff_ids: Iterable[int] = (0,)):
        from bnn.decode.fstio import read_fst_arrays
        fa = read_fst_arrays(path)
        self.path = path
        self.start = fa.start
        self.finals = fa.finals
        backoff = set(backoff_ids)
        self.arcs: List[Dict[int, Tuple[float, int]]] = [dict() for _ in range(fa.num_states)]
        self.backoff: List[Optional[Tuple[float, int]]] = [None] * fa.num_states
        for s, arc in zip(fa.arc_state, fa.arcs):
            il, w, ns = int(arc["ilabel"]), float(arc["weight"]), int(arc["nextstate"])
            if il in backoff:
                self.backoff[s] = (w, ns)
            elif il not in self.arcs[s] or w < self.arcs[s][il][0]:
                self.arcs[s][il] = (w, ns)

    def cost(self, ids: Sequence[int], key: str = "") -> float:
        s, total = self.start, 0.0
        for w in ids:
            while w not in self.arcs[s]:
                if self.backoff[s] is None:
                    raise BnnError(f"{self.path}: {key}: word id {w} has no path in the LM")
                total += self.backoff[s][0]
                s = self.backoff[s][1]
            c, s = self.arcs[s][w]
            total += c
        while not math.isfinite(float(self.finals[s])):
            if self.backoff[s] is None:
                raise BnnError(f"{self.path}: {key}: no final state after the sentence")
            total += self.backoff[s][0]
            s = self.backoff[s][1]
        return total + float(self.finals[s])


# -- LSTM sentence costs ---------------------------------------------------------------------

@torch.no_grad()
def lstm_costs(model, vocab, sentences: Sequence[Sequence[str]], batch: int = 64) -> List[float]:
    """``-ln P(W <eos> | <eos>)`` for each word list, from a zero state (natural log)."""
    model.eval()
    out: List[float] = [0.0] * len(sentences)
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    for b in range(0, len(order), batch):
        idx = order[b:b + batch]
        seqs = [[vocab.eos] + vocab.ids(sentences[i]) + [vocab.eos] for i in idx]
        t = max(len(s) for s in seqs)
        x = torch.full((t, len(seqs)), vocab.eos, dtype=torch.long)
        mask = torch.zeros(t - 1, len(seqs))
        for j, s in enumerate(seqs):
            x[:len(s), j] = torch.tensor(s)
            mask[:len(s) - 1, j] = 1.0
        logits, _ = model(x[:-1])
        nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)), x[1:].reshape(-1), reduction="none")
        costs = (nll.view(t - 1, len(seqs)) * mask).sum(0)
        for j, i in enumerate(idx):
            out[i] = float(costs[j])
    return out


# -- files -----------------------------------------------------------------------------------

def write_nbest(f, utt: str, nbest) -> None:
    """``utt rank graph acoustic id...`` per hypothesis (``nbest`` as lattice_io.nbest_paths returns)."""
    for rank, (ids, g, a) in enumerate(nbest, 1):
        f.write(f"{utt} {rank} {g!r} {a!r} {' '.join(str(i) for i in ids)}".rstrip() + "\n")


def read_hyps(path: str) -> "OrderedDict[str, List[Hyp]]":
    """An n-best file (:func:`write_nbest`) or a scores file (:func:`write_scores`)."""
    out: "OrderedDict[str, List[Hyp]]" = OrderedDict()
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                p = line.split()
                if not p:
                    continue
                try:
                    if "|" in p:
                        k = p.index("|")
                        nums = [float(x) for x in p[2:k]]
                        h = Hyp(p[0], int(p[1]), tuple(int(x) for x in p[k + 1:]), *nums)
                    else:
                        h = Hyp(p[0], int(p[1]), tuple(int(x) for x in p[4:]), float(p[2]), float(p[3]))
                except (ValueError, TypeError, IndexError):
                    raise BnnError(f"{path}:{n}: expected '<utt> <rank> <graph> <acoustic> [costs |] <ids>'") from None
                out.setdefault(h.utt, []).append(h)
    except OSError as err:
        raise BnnError(f"{path}: cannot read n-best list ({err.strerror})") from None
    if not out:
        raise BnnError(f"{path}: empty n-best list")
    return out


def write_scores(f, hyps: Iterable[Hyp]) -> None:
    """``utt rank graph acoustic old_lm ngram lstm | id...``."""
    for h in hyps:
        f.write(f"{h.utt} {h.rank} {h.graph!r} {h.acoustic!r} {h.old_lm!r} {h.ngram!r} {h.lstm!r} | "
                f"{' '.join(str(i) for i in h.ids)}".rstrip() + "\n")


def sweep_lines(nbest: Dict[str, List[Hyp]], lam: Optional[float], lmwts: Iterable[int],
                wips: Iterable[float], utts: Optional[set] = None) -> List[str]:
    """Lines of a decoder sweep file (``<lmwt> <wip> <utt> <word ids>``, read by
    :func:`bnn.decode.scoring.score_decode_dir`) with the rescored best hypothesis per utterance."""
    lines = []
    for wip in wips:
        for lmwt in lmwts:
            for utt, hyps in nbest.items():
                if utts is not None and utt not in utts:
                    continue
                h = pick(hyps, lam, float(lmwt), float(wip))
                lines.append(f"{lmwt} {wip} {utt} {' '.join(str(i) for i in h.ids)}".rstrip())
    return lines


# -- choosing lambda, LM weight and penalty on dev utterances -------------------------------------

def word_errors(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance in words (kaldialign, as Kaldi's compute-wer)."""
    import kaldialign
    return int(kaldialign.edit_distance(list(ref), list(hyp))["total"])


def expected_errors(hyps: Sequence[Hyp], errors: Sequence[int], lam: Optional[float], lmwt: float,
                    wip: float) -> float:
    """``sum_W P(W) E(W)`` over an n-best list, with ``P(W)`` proportional to
    ``exp(-(g'(W) + wip |W| + a(W) / lmwt))`` (the n-best posterior under the decision rule of
    :func:`pick`) and ``E(W)`` the word errors of ``W``.  Tuning on this instead of the 1-best
    errors is the smoothed (minimum-risk) objective of Smith & Eisner (ACL 2006): on a few hundred
    dev words the 1-best error count is flat and ties between settings that differ on the test."""
    costs = [h.graph_rescored(lam) + wip * len(h.ids) + h.acoustic / lmwt for h in hyps]
    c0 = min(costs)
    w = [math.exp(c0 - c) for c in costs]
    return sum(p * e for p, e in zip(w, errors)) / sum(w)


def choose_min_expected_errors(nbest: Dict[str, List[Hyp]], refs: Dict[str, Sequence[str]],
                               words: Dict[int, str], lams: Sequence[Optional[float]], lmwts: Iterable[int],
                               wips: Iterable[float]) -> Tuple[Optional[float], int, float, float]:
    """The (lambda, LM weight, penalty) with the fewest expected word errors summed over the
    utterances of ``refs`` (see :func:`expected_errors`); the first on ties, in the order given.
    Returns ``(lambda, lmwt, wip, expected errors)``."""
    missing = [u for u in refs if u not in nbest]
    if missing:
        raise BnnError(f"{len(missing)} dev utterances have no n-best list (e.g. {missing[0]})")
    errs = {}
    for u in refs:
        try:
            errs[u] = [word_errors(refs[u], [words[i] for i in h.ids]) for h in nbest[u]]
        except KeyError as err:
            raise BnnError(f"{u}: word id {err.args[0]} is not in the symbol table") from None
    best = None
    lmwts, wips = list(lmwts), list(wips)
    for lam in lams:
        for lmwt in lmwts:
            for wip in wips:
                v = sum(expected_errors(nbest[u], errs[u], lam, float(lmwt), float(wip)) for u in refs)
                if best is None or v < best[3] - 1e-9:
                    best = (lam, lmwt, wip, v)
    if best is None:
        raise BnnError("no LSTM weight, LM weight or penalty to choose from")
    return best
