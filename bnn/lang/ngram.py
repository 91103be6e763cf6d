"""A small n-gram trainer for recipe transcripts, written as an ARPA back-off model.

Method: **interpolated Witten-Bell** smoothing (Witten & Bell 1991; the form of Chen & Goodman
1998, TR-10-98, eq. 15, as SRILM's ``-wbdiscount -interpolate``), chosen over a library because
kaldilm only converts ARPA to FSTs, KenLM's trainer (lmplz) is a C++ binary without a Python
training API and refuses tiny corpora (its Kneser-Ney discounts need counts-of-counts that a
two-word yes/no corpus does not have), and SRILM/kaldingram are not installable here.  Witten-Bell
needs no counts-of-counts, so it is well defined on the small, repetitive transcripts of digit and
yes/no corpora where Kneser-Ney discounts degenerate.

For a history ``h`` (order n-1) with ``c(h)`` tokens following it and ``T(h)`` distinct followers::

    P(w | h) = (c(h, w) + T(h) * P(w | h')) / (c(h) + T(h))        h' = h without its first word
    P(w)     = (c(w) + T * 1/V) / (N + T)                            uniform base over the vocabulary

Back-off form (what ARPA stores): seen n-grams carry the interpolated ``P(w | h)``; the back-off
weight is ``alpha(h) = T(h) / (c(h) + T(h))``, because for interpolated Witten-Bell
``1 - sum_seen P(w|h) = alpha(h) * (1 - sum_seen P(w|h'))`` exactly.  Sentences are padded with
one ``<s>`` and one ``</s>``; ``<s>`` gets the conventional ARPA log-probability -99 (it is only
a history).  ARPA values are log10.
"""
import math
from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bnn.utils.errors import BnnError

BOS, EOS = "<s>", "</s>"


class WittenBellLM:
    """Interpolated Witten-Bell n-gram model (see module docstring)."""

    def __init__(self, order: int = 2):
        if order < 1:
            raise BnnError(f"n-gram order must be >= 1, got {order}")
        self.order = order
        self.counts: List[Counter] = [Counter() for _ in range(order + 1)]  # counts[n][ngram tuple]
        self.vocab = set()

    def fit(self, sentences: Iterable[Sequence[str]], vocab: Optional[Iterable[str]] = None):
        n_sent = 0
        for words in sentences:
            toks = [BOS] + list(words) + [EOS]
            n_sent += 1
            self.vocab.update(words)
            for n in range(1, self.order + 1):
                for i in range(max(1, n - 1) if n > 1 else 1, len(toks)):
                    start = i - n + 1
                    if start < 0:
                        continue
                    self.counts[n][tuple(toks[start:i + 1])] += 1
        if n_sent == 0:
            raise BnnError("no training sentences for the n-gram model")
        if vocab is not None:
            self.vocab.update(w for w in vocab if w not in (BOS, EOS))
        self.vocab.add(EOS)
        # history statistics: c(h) and T(h) for every history of order 1..order-1
        self.hist_count: Dict[tuple, int] = defaultdict(int)
        self.hist_types: Dict[tuple, int] = defaultdict(int)
        for n in range(2, self.order + 1):
            for ng, c in self.counts[n].items():
                self.hist_count[ng[:-1]] += c
                self.hist_types[ng[:-1]] += 1
        self.N = sum(c for ng, c in self.counts[1].items())
        self.T1 = len(self.counts[1])
        self._cache: Dict[tuple, float] = {}
        return self

    def prob(self, word: str, history: Tuple[str, ...] = ()) -> float:
        """Interpolated P(word | history) (history truncated to order-1 words)."""
        history = tuple(history)[-(self.order - 1):] if self.order > 1 else ()
        key = history + (word,)
        if key in self._cache:
            return self._cache[key]
        if not history:
            p = (self.counts[1].get((word,), 0) + self.T1 / len(self.vocab)) / (self.N + self.T1)
        else:
            lower = self.prob(word, history[1:])
            ch = self.hist_count.get(history, 0)
            if ch == 0:
                p = lower
            else:
                th = self.hist_types[history]
                p = (self.counts[len(key)].get(key, 0) + th * lower) / (ch + th)
        self._cache[key] = p
        return p

    def backoff(self, history: Tuple[str, ...]) -> float:
        ch = self.hist_count.get(history, 0)
        if ch == 0:
            return 1.0
        th = self.hist_types[history]
        return th / (ch + th)

    def arpa_lines(self) -> List[str]:
        grams: List[List[tuple]] = [[] for _ in range(self.order + 1)]
        grams[1] = sorted({(w,) for w in self.vocab} | {(BOS,)})
        for n in range(2, self.order + 1):
            grams[n] = sorted(self.counts[n])
        lines = ["", "\\data\\"] + [f"ngram {n}={len(grams[n])}" for n in range(1, self.order + 1)]
        for n in range(1, self.order + 1):
            lines += ["", f"\\{n}-grams:"]
            for ng in grams[n]:
                if ng == (BOS,):
                    lp = -99.0
                else:
                    lp = math.log10(self.prob(ng[-1], ng[:-1]))
                row = f"{lp:.6f}\t{' '.join(ng)}"
                if n < self.order and ng in self.hist_count:
                    row += f"\t{math.log10(self.backoff(ng)):.6f}"
                lines.append(row)
        lines += ["", "\\end\\", ""]
        return lines

    def write_arpa(self, path: str):
        from bnn.utils.fileio import atomic_write
        if path.endswith(".gz"):
            import gzip
            with atomic_write(path, "wb") as f:
                f.write(gzip.compress("\n".join(self.arpa_lines()).encode(), mtime=0))
        else:
            with atomic_write(path) as f:
                f.write("\n".join(self.arpa_lines()))


def read_text_sentences(path: str, skip_first_field: bool = True) -> List[List[str]]:
    """Sentences of a Kaldi ``text`` file (``utt w1 w2 ...``) or of a plain corpus file."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if skip_first_field:
                    parts = parts[1:]
                if parts:
                    out.append(parts)
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    if not out:
        raise BnnError(f"{path}: no sentences")
    return out


def train_arpa(text_path: str, arpa_path: str, order: int = 2, vocab_path: Optional[str] = None,
               skip_first_field: bool = True) -> WittenBellLM:
    """Train on a Kaldi ``text`` file and write ``arpa_path`` (gzipped when it ends in .gz)."""
    vocab = None
    if vocab_path:
        vocab = []
        with open(vocab_path, encoding="utf-8") as f:
            for line in f:
                if line.split():
                    vocab.append(line.split()[0])
        vocab = [w for w in vocab if not w.startswith("#") and w not in ("<eps>",)]
    lm = WittenBellLM(order).fit(read_text_sentences(text_path, skip_first_field), vocab)
    lm.write_arpa(arpa_path)
    return lm
