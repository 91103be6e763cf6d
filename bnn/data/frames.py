"""Streaming frame-level training data (Kaldi nnet1 style).

Utterances are read one at a time from ``feats.scp`` through kaldiio (random access by offset),
transformed by the model's feature pipeline (CMVN, deltas, splicing), paired with their pdf
targets, and pushed through a bounded shuffling buffer of at most ``buffer_frames`` frames — like
nnet1's frame shuffling — so memory does not grow with the corpus.  Per-epoch utterance order
and buffer permutations come from ``numpy.random.default_rng([seed, epoch])``, so an interrupted
epoch replays identically after ``--resume``.
"""
import logging
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from bnn.feats.tables import load_entry, load_scp
from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

Transform = Callable[[str, np.ndarray], np.ndarray]


def read_scp_keys(path: str) -> List[str]:
    """Keys (first field) of a Kaldi scp/table file, in file order."""
    keys = []
    try:
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                fields = line.split(None, 1)
                if not fields:
                    continue
                keys.append(fields[0])
    except FileNotFoundError:
        raise BnnError(f"{path}: file not found") from None
    return keys


class UtteranceSource:
    """Pairs transformed features with frame targets, utterance by utterance.

    Args:
        feats_scp: the data dir's ``feats.scp``.
        targets_scp: scp of per-utterance int32 pdf vectors (``bnn-ali-to-pdf ... ark,scp:``);
            ``None`` for feature-only use.
        transform: ``f(utt, raw_feats) -> input frames`` (the model dir's feature pipeline).
    Utterances whose target length differs from their frame count are reported (utterance and
    both lengths) and skipped; :attr:`num_skipped` counts them for the log.
    """

    def __init__(self, feats_scp: str, targets_scp: Optional[str], transform: Transform):
        self.feats_scp = feats_scp
        self.targets_scp = targets_scp
        self.transform = transform
        self._feats = load_scp(feats_scp)
        self._targets = load_scp(targets_scp) if targets_scp else None
        self.num_skipped = 0
        self._skipped_logged = set()

    def utterances(self) -> List[str]:
        """Utterances that have features (and targets, when targets are given), in scp order."""
        keys = read_scp_keys(self.feats_scp)
        if self._targets is None:
            return keys
        have = set(read_scp_keys(self.targets_scp))
        missing = [k for k in keys if k not in have]
        if missing:
            logger.warning("%d utterances of %s have no targets in %s (e.g. %s); they are skipped",
                           len(missing), self.feats_scp, self.targets_scp, missing[0])
        return [k for k in keys if k in have]

    def load(self, utt: str) -> Optional[Tuple[np.ndarray, Optional[np.ndarray]]]:
        """Return ``(inputs[T, D] float32, targets[T] int64 or None)``, or None if skipped."""
        if utt not in self._feats:
            raise BnnError(f"{self.feats_scp}: no features for utterance {utt}")
        raw = load_entry(self._feats, utt, self.feats_scp)
        x = np.ascontiguousarray(self.transform(utt, np.asarray(raw)), dtype=np.float32)
        if self._targets is None:
            return x, None
        y = np.asarray(load_entry(self._targets, utt, self.targets_scp)).astype(np.int64)
        if len(y) != len(x):
            self.num_skipped += 1
            if utt not in self._skipped_logged:
                self._skipped_logged.add(utt)
                logger.warning("utterance %s: %d feature frames but %d targets in %s; skipped",
                               utt, len(x), len(y), self.targets_scp)
            return None
        return x, y


def shuffled_minibatches(source: UtteranceSource, utts: Sequence[str], batch_size: int,
                         buffer_frames: int, rng: np.random.Generator,
                         drop_last: bool = False) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Yield shuffled ``(x[B, D], y[B])`` minibatches through a bounded frame buffer.

    The utterance order is permuted with ``rng``; whole utterances are appended to the buffer until
    it holds ``buffer_frames`` frames, the buffer is permuted and emitted as minibatches, and the
    remainder (< batch_size frames) is carried over.  Peak memory is O(buffer_frames * D).
    """
    order = rng.permutation(len(utts))
    xs: List[np.ndarray] = []
    ys: List[np.ndarray] = []
    held = 0

    def flush(final: bool):
        nonlocal xs, ys, held
        if not xs:
            return
        x = np.concatenate(xs)
        y = np.concatenate(ys)
        perm = rng.permutation(len(x))
        x, y = x[perm], y[perm]
        n_full = (len(x) // batch_size) * batch_size
        for start in range(0, n_full, batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]
        rest_x, rest_y = x[n_full:], y[n_full:]
        if final:
            if len(rest_x) and not drop_last:
                yield rest_x, rest_y
            xs, ys, held = [], [], 0
        else:
            xs, ys, held = ([rest_x], [rest_y], len(rest_x)) if len(rest_x) else ([], [], 0)

    for idx in order:
        item = source.load(utts[idx])
        if item is None:
            continue
        x, y = item
        xs.append(x)
        ys.append(y)
        held += len(x)
        if held >= buffer_frames:
            yield from flush(final=False)
    yield from flush(final=True)


def sequential_minibatches(source: UtteranceSource, utts: Sequence[str], batch_size: int
                           ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Unshuffled minibatches (cross-validation), at most ``batch_size`` frames each."""
    xs, ys, held = [], [], 0
    for utt in utts:
        item = source.load(utt)
        if item is None:
            continue
        xs.append(item[0])
        ys.append(item[1])
        held += len(item[0])
        if held >= batch_size:
            x, y = np.concatenate(xs), np.concatenate(ys)
            yield x, y
            xs, ys, held = [], [], 0
    if xs:
        yield np.concatenate(xs), np.concatenate(ys)


def split_train_cv(utts: Sequence[str], cv_percent: float, seed: int) -> Tuple[List[str], List[str]]:
    """Hold out ``cv_percent`` % of utterances for cross-validation (Kaldi's tr90/cv10 split)."""
    utts = list(utts)
    if cv_percent <= 0:
        return utts, []
    rng = np.random.default_rng(seed)
    n_cv = max(1, int(round(len(utts) * cv_percent / 100.0)))
    if n_cv >= len(utts):
        raise BnnError(f"cannot hold out {cv_percent}% of {len(utts)} utterances for CV")
    cv_idx = set(rng.choice(len(utts), size=n_cv, replace=False).tolist())
    train = [u for i, u in enumerate(utts) if i not in cv_idx]
    cv = [u for i, u in enumerate(utts) if i in cv_idx]
    return train, cv
