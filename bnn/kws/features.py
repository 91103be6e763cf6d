"""KWS input features: the authors' 32-bin log-mel (32 frames per second) or Kaldi fbank.

``logmel`` (BiFSMN/BiFSMNv2 code, see ../shared/papers/kws-and-lm-notes.md): 1 s of audio, power
spectrogram with a Hann window, ``n_fft = 2048`` and ``hop = 512`` at 16 kHz (scaled with the
sample rate: ``n_fft = 2048 sr / 16000``, ``hop = sr / 31.25``), centred frames with reflect
padding, so 1 s gives ``1 + 16000 // 512 = 32`` frames; 32 triangular mel filters on the HTK mel
scale ``m = 2595 log10(1 + f / 700)`` from 0 Hz to ``sr / 2`` (unnormalised, as torchaudio's
default ``MelSpectrogram``); then decibels ``10 log10(max(P, 1e-10))``.  Output ``(32, 32)``
(time x mel) per clip.

``fbank`` (option): Kaldi log mel filterbank through kaldi-native-fbank with 32 bins, frame shift
``1000 / 32 = 31.25`` ms, frame length 62.5 ms, ``snip_edges = false``, no dither, samples on
Kaldi's int16 scale; the frames are padded (last frame repeated) or cut to 32.

Every clip is first brought to exactly ``sr`` samples (1 s): shorter clips are zero-padded on
both sides (centred), longer ones cut around their centre.
"""

import numpy as np
import torch

from bnn.utils.errors import BnnError

NUM_FRAMES = 32
NUM_BINS = 32


def fix_length(x: np.ndarray, n: int) -> np.ndarray:
    """Centre-pad with zeros or centre-cut a 1-D signal to ``n`` samples."""
    if len(x) == n:
        return x
    if len(x) > n:
        s = (len(x) - n) // 2
        return x[s:s + n]
    out = np.zeros(n, dtype=x.dtype)
    s = (n - len(x)) // 2
    out[s:s + len(x)] = x
    return out


def mel_filterbank(sr: int, n_fft: int, n_mels: int = NUM_BINS) -> np.ndarray:
    """``(n_fft // 2 + 1, n_mels)`` HTK-mel triangular filters, 0 Hz to ``sr / 2``, peak 1."""
    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel2hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    pts = mel2hz(np.linspace(hz2mel(0.0), hz2mel(sr / 2), n_mels + 2))
    fb = np.zeros((len(freqs), n_mels))
    for j in range(n_mels):
        lo, c, hi = pts[j], pts[j + 1], pts[j + 2]
        up = (freqs - lo) / (c - lo)
        down = (hi - freqs) / (hi - c)
        fb[:, j] = np.maximum(0.0, np.minimum(up, down))
    return fb


class LogMel:
    """Batched torch log-mel of the authors (module docstring); ``(B, sr) -> (B, 32, 32)``."""

    def __init__(self, sr: int):
        self.sr = int(sr)
        self.n_fft = int(round(2048 * sr / 16000))
        self.hop = int(round(sr / 31.25))
        self.window = torch.hann_window(self.n_fft, dtype=torch.float32)
        self.fb = torch.from_numpy(mel_filterbank(sr, self.n_fft)).float()

    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wav, self.n_fft, self.hop, window=self.window, center=True,
                          pad_mode="reflect", return_complex=True)
        power = spec.real ** 2 + spec.imag ** 2                     # (B, F, T)
        mel = torch.matmul(power.transpose(1, 2), self.fb)          # (B, T, 32)
        return 10.0 * torch.log10(torch.clamp(mel, min=1e-10))[:, :NUM_FRAMES]


class KaldiFbank:
    """Kaldi fbank through kaldi-native-fbank (module docstring); ``(B, sr) -> (B, 32, 32)``."""

    def __init__(self, sr: int):
        import kaldi_native_fbank as knf
        self.sr = int(sr)
        opts = knf.FbankOptions()
        opts.frame_opts.samp_freq = float(sr)
        opts.frame_opts.frame_shift_ms = 1000.0 / NUM_FRAMES
        opts.frame_opts.frame_length_ms = 2000.0 / NUM_FRAMES
        opts.frame_opts.snip_edges = False
        opts.frame_opts.dither = 0.0
        opts.mel_opts.num_bins = NUM_BINS
        self.opts, self.knf = opts, knf

    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        out = []
        for x in wav.numpy():
            fb = self.knf.OnlineFbank(self.opts)
            fb.accept_waveform(float(self.sr), (x * 32768.0).tolist())
            fb.input_finished()
            n = fb.num_frames_ready
            if n == 0:
                raise BnnError("kaldi fbank: no frames from a 1 s clip")
            feats = np.stack([fb.get_frame(i) for i in range(n)])
            if n < NUM_FRAMES:
                feats = np.concatenate([feats, np.repeat(feats[-1:], NUM_FRAMES - n, 0)])
            out.append(feats[:NUM_FRAMES])
        return torch.from_numpy(np.stack(out).astype(np.float32))


def make_extractor(kind: str, sr: int):
    if kind == "logmel":
        return LogMel(sr)
    if kind == "fbank":
        return KaldiFbank(sr)
    raise BnnError(f"unknown KWS feature type {kind!r}; expected logmel or fbank")


