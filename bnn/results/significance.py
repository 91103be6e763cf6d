"""Bootstrap significance of WER differences (Bisani & Ney 2004, as Kaldi's compute-wer-bootci).

M. Bisani and H. Ney, "Bootstrap estimates for confidence intervals in ASR performance
evaluation", ICASSP 2004.  The test set's utterances are the sampling unit: a replicate draws
``n`` utterances with replacement (``n`` = number of utterances) and its WER is
``sum(errors) / sum(reference words)`` over the drawn utterances.  For two systems on the same
test set the *same* draw is used for both (a paired bootstrap), so the per-utterance correlation
of the two systems is kept.

* :func:`wer_interval`: Kaldi's ``GetBootstrapWERInterval``: mean of the replicate WERs and the
  half-width ``1.96 * std`` of a normal 95 % interval (both in percent).
* :func:`compare`: Kaldi's ``GetBootstrapWERTwoSystemComparison``: the probability of
  improvement ``P(B better than A)`` = the fraction of replicates in which system B makes
  strictly fewer errors than system A; in addition the percentile 95 % interval of the WER
  difference ``WER_B - WER_A`` (Bisani & Ney Sec. 3).  A difference counts as significant at
  the 5 % level (two-sided) when ``P`` is below 0.025 or above 0.975, i.e. when the percentile
  interval of the difference excludes 0 in the same direction.

Per-utterance error counts come from what ``steps/score.sh`` writes in a decode directory
(``scoring_kaldi/wer_details/per_utt``, the ``#csid`` rows of Kaldi's wer_per_utt_details.pl:
errors = S + I + D, reference words = C + S + D) or from a reference and a hypothesis text.
"""
import os
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from bnn.utils.errors import BnnError

PerUtt = Dict[str, Tuple[int, int]]     # utt -> (errors, reference words)
SIGNIFICANCE_LEVEL = 0.05


def read_per_utt(path: str) -> PerUtt:
    """``utt -> (errors, words)`` from a wer_details/per_utt file (its ``#csid`` rows)."""
    out: PerUtt = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if len(parts) < 2 or parts[1] != "#csid":
                    continue
                if len(parts) != 6:
                    raise BnnError(f"{path}:{n}: expected '<utt> #csid C S I D', got {line.strip()!r}")
                try:
                    c, s, i, d = (int(x) for x in parts[2:])
                except ValueError:
                    raise BnnError(f"{path}:{n}: non-integer #csid counts: {line.strip()!r}") from None
                if min(c, s, i, d) < 0:
                    raise BnnError(f"{path}:{n}: negative #csid count")
                if parts[0] in out:
                    raise BnnError(f"{path}:{n}: duplicate utterance {parts[0]}")
                out[parts[0]] = (s + i + d, c + s + d)
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    if not out:
        raise BnnError(f"{path}: no '<utt> #csid C S I D' rows")
    return out


def per_utt_from_decode_dir(decode_dir: str) -> PerUtt:
    """Per-utterance counts at the LM weight/penalty the scoring chose for ``decode_dir``."""
    path = os.path.join(decode_dir, "scoring_kaldi", "wer_details", "per_utt")
    if not os.path.isfile(path):
        raise BnnError(f"{decode_dir}: no scoring_kaldi/wer_details/per_utt (run steps/score.sh)")
    return read_per_utt(path)


def per_utt_from_texts(ref: Dict[str, list], hyp: Dict[str, list], hyp_name: str = "hyp") -> PerUtt:
    """Per-utterance counts of ``hyp`` against ``ref`` (Kaldi ``--mode=strict``: every
    reference utterance needs a hypothesis; a hypothesis without reference is an error too)."""
    from bnn.decode.scoring import edit_counts
    missing = [u for u in ref if u not in hyp]
    if missing:
        raise BnnError(f"{hyp_name}: no hypothesis for {len(missing)} reference utterance(s), "
                       f"e.g. {missing[0]}")
    extra = [u for u in hyp if u not in ref]
    if extra:
        raise BnnError(f"{hyp_name}: utterance {extra[0]} is not in the reference")
    out = {}
    for utt, words in ref.items():
        e = edit_counts(words, hyp[utt])
        out[utt] = (int(e["ins"] + e["del"] + e["sub"]), len(words))
    return out


def _arrays(a: PerUtt, b: Optional[PerUtt] = None, names=("A", "B")):
    utts = sorted(a)
    if b is not None and set(b) != set(a):
        only = sorted(set(a) ^ set(b))
        raise BnnError(f"{names[0]} and {names[1]} were not scored on the same utterances "
                       f"({len(only)} differ, e.g. {only[0]})")
    words = np.array([a[u][1] for u in utts], dtype=np.int64)
    if b is not None and any(b[u][1] != a[u][1] for u in utts):
        u = next(u for u in utts if b[u][1] != a[u][1])
        raise BnnError(f"{names[0]} and {names[1]} disagree on the reference length of {u} "
                       f"({a[u][1]} vs {b[u][1]} words): different references?")
    if words.sum() == 0:
        raise BnnError(f"{names[0]}: the reference has no words")
    ea = np.array([a[u][0] for u in utts], dtype=np.int64)
    eb = None if b is None else np.array([b[u][0] for u in utts], dtype=np.int64)
    return words, ea, eb


def _draws(n: int, replications: int, seed: int) -> np.ndarray:
    """``replications x n`` utterance indices drawn with replacement."""
    if replications < 1:
        raise BnnError(f"bootstrap: replications must be >= 1, got {replications}")
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(replications, n))


@dataclass(frozen=True)
class Interval:
    wer: float        # WER of the whole test set, percent
    mean: float       # mean of the bootstrap replicates' WER, percent
    half_width: float  # 1.96 * standard deviation of the replicates (Kaldi), percent

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def wer_interval(per_utt: PerUtt, replications: int = 10000, seed: int = 0) -> Interval:
    """Kaldi's GetBootstrapWERInterval: bootstrap mean WER and 1.96 * std half-width (percent)."""
    words, errs, _ = _arrays(per_utt)
    idx = _draws(len(words), replications, seed)
    reps = 100.0 * errs[idx].sum(axis=1) / np.maximum(words[idx].sum(axis=1), 1)
    return Interval(100.0 * errs.sum() / words.sum(), float(reps.mean()),
                    float(1.96 * reps.std()))


@dataclass(frozen=True)
class Comparison:
    wer_a: float
    wer_b: float
    p_improvement: float   # P(B makes fewer errors than A) over the replicates
    diff_low: float        # percentile 95 % interval of WER_B - WER_A (percent points)
    diff_high: float
    replications: int

    @property
    def significant(self) -> bool:
        """Two-sided 5 % level: B better (P > 0.975) or B worse (P(A better) > 0.975)."""
        return self.diff_high < 0.0 or self.diff_low > 0.0

    def verdict(self) -> str:
        if not self.significant:
            return "n.s."
        return "better" if self.diff_high < 0.0 else "worse"

    def cell(self) -> str:
        """Short table cell: ``P(better)=0.99, [-1.2, -0.1], better``."""
        return (f"P(better)={self.p_improvement:.2f}, 95% CI [{self.diff_low:+.2f}, "
                f"{self.diff_high:+.2f}], {self.verdict()}")


def compare(a: PerUtt, b: PerUtt, replications: int = 10000, seed: int = 0,
            names=("A", "B")) -> Comparison:
    """Paired bootstrap of system B against system A on the same utterances (see module doc)."""
    words, ea, eb = _arrays(a, b, names)
    idx = _draws(len(words), replications, seed)
    w = np.maximum(words[idx].sum(axis=1), 1)
    da = ea[idx].sum(axis=1)
    db = eb[idx].sum(axis=1)
    diff = 100.0 * (db - da) / w
    lo, hi = np.percentile(diff, [2.5, 97.5])
    return Comparison(100.0 * ea.sum() / words.sum(), 100.0 * eb.sum() / words.sum(),
                      float((db < da).mean()), float(lo), float(hi), int(replications))
