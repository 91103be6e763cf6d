"""On-the-fly waveform augmentation of the BiFSMN code's protocol (kws-and-lm-notes.md).

Applied per training clip, each with its own probability, in this order:

1. speed perturbation ``f ~ U(0.8, 1.2)`` with p 0.5, rounded to a multiple of 0.05 so that
   lhotse's cached resamplers are reused: lhotse's ``Speed`` transform (resampling from
   ``round(sr f)`` to ``sr``), then the clip is brought back to 1 s;
2. gain ``g ~ U(0.7, 1.1)`` with p 0.5: lhotse's ``Volume`` transform;
3. time shift ``s ~ U(-0.2, 0.2)`` s with p 0.5: samples moved by ``round(s sr)``, zero fill;
4. background noise with p 0.3: ``x + a n`` with ``a ~ U(0, 0.3)`` and ``n`` a random 1 s excerpt
   of a noise clip (the training split's ``_silence_`` clips, which are background-noise
   excerpts; the official test set has no ``_background_noise_`` folder).  Skipped when there
   is no noise clip.

Randomness comes from one ``numpy.random.Generator`` per epoch (seeded from ``(seed, epoch)``).
"""
from typing import List, Optional

import numpy as np

from bnn.kws.features import fix_length

DEFAULTS = {"speed_p": 0.5, "speed_range": 0.2, "gain_p": 0.5, "gain_range": [0.7, 1.1],
            "shift_p": 0.5, "shift_s": 0.2, "noise_p": 0.3, "noise_max": 0.3}


class Augmenter:
    def __init__(self, sr: int, noises: Optional[List[np.ndarray]] = None, **opts):
        unknown = set(opts) - set(DEFAULTS)
        if unknown:
            from bnn.utils.errors import BnnError
            raise BnnError(f"unknown augmentation options {sorted(unknown)}")
        self.o = dict(DEFAULTS, **opts)
        self.sr = int(sr)
        self.noises = [n for n in (noises or []) if len(n) > 0]

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from lhotse.augmentation import Speed, Volume
        o, sr = self.o, self.sr
        if o["speed_p"] > 0 and rng.random() < o["speed_p"]:
            f = round(rng.uniform(1 - o["speed_range"], 1 + o["speed_range"]) * 20) / 20
            if f != 1.0:
                x = fix_length(Speed(factor=f)(x[None, :].astype(np.float32), sr)[0], sr)
        if o["gain_p"] > 0 and rng.random() < o["gain_p"]:
            x = Volume(factor=float(rng.uniform(*o["gain_range"])))(x[None, :], sr)[0]
        if o["shift_p"] > 0 and rng.random() < o["shift_p"]:
            s = int(round(rng.uniform(-o["shift_s"], o["shift_s"]) * sr))
            y = np.zeros_like(x)
            if s > 0:
                y[s:] = x[:-s]
            elif s < 0:
                y[:s] = x[-s:]
            else:
                y = x
            x = y
        if self.noises and o["noise_p"] > 0 and rng.random() < o["noise_p"]:
            n = self.noises[rng.integers(len(self.noises))]
            if len(n) > len(x):
                s = rng.integers(len(n) - len(x) + 1)
                n = n[s:s + len(x)]
            else:
                n = fix_length(n, len(x))
            x = x + rng.uniform(0, o["noise_max"]) * n
        return x.astype(np.float32)
