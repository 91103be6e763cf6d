"""Batches of 1 s clips from lhotse cuts: audio loaded per batch, augmented, turned into features.

Nothing is held in memory but the cut manifests (lazy lhotse objects turned into a list) and,
for evaluation sets, their (small, un-augmented) feature tensors.
"""
import logging
from typing import List, Optional

import numpy as np
import torch

from bnn.kws import manifests
from bnn.kws.augment import Augmenter
from bnn.kws.features import fix_length, make_extractor
from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)


class ClipSet:
    """The cuts of one set with their class indices under ``task``."""

    def __init__(self, path: str, task: str, limit: Optional[int] = None):
        self.path, self.task = path, task
        self.cuts = list(manifests.load_cuts(path))
        if limit:
            rng = np.random.default_rng(0)
            idx = np.sort(rng.permutation(len(self.cuts))[:limit])
            self.cuts = [self.cuts[i] for i in idx]
        if not self.cuts:
            raise BnnError(f"{path}: no cuts")
        try:
            self.labels = np.array(manifests.labels_of(self.cuts, task), dtype=np.int64)
        except BnnError as err:
            raise BnnError(f"{path}: {err}") from None
        rates = {c.sampling_rate for c in self.cuts}
        if len(rates) != 1:
            raise BnnError(f"{path}: mixed sampling rates {sorted(rates)}; resample first")
        self.sr = rates.pop()

    def __len__(self):
        return len(self.cuts)

    def audio(self, i: int) -> np.ndarray:
        c = self.cuts[i]
        try:
            x = c.load_audio()[0]
        except Exception as err:  # noqa: BLE001 - soundfile/lhotse raise many types
            raise BnnError(f"{self.path}: {c.id}: cannot read audio ({err})") from None
        return fix_length(x.astype(np.float32), self.sr)

    def noise_clips(self) -> List[np.ndarray]:
        sil = manifests.classes(self.task).index(manifests.SILENCE) \
            if manifests.SILENCE in manifests.classes(self.task) else -1
        return [self.audio(i) for i in np.flatnonzero(self.labels == sil)]


def batches(clips: ClipSet, extractor, batch_size: int, rng=None,
            augmenter: Optional[Augmenter] = None):
    """Yield ``(features (B, 32, 32), labels (B,))``; shuffled when ``rng`` is given."""
    order = rng.permutation(len(clips)) if rng is not None else np.arange(len(clips))
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        wav = [clips.audio(i) for i in idx]
        if augmenter is not None:
            wav = [augmenter(w, rng) for w in wav]
        feats = extractor(torch.from_numpy(np.stack(wav)))
        yield feats, torch.from_numpy(clips.labels[idx])


def features_of(clips: ClipSet, kind: str, batch_size: int = 256):
    """All features of a set, un-augmented: ``(N, 32, 32)`` and labels ``(N,)``."""
    ext = make_extractor(kind, clips.sr)
    fs, ls = [], []
    for f, lab in batches(clips, ext, batch_size):
        fs.append(f)
        ls.append(lab)
    return torch.cat(fs), torch.cat(ls)
