"""Filterbank and MFCC features per utterance, as Kaldi's compute-fbank-feats / compute-mfcc-feats.

Audio comes from a ``wav.scp`` (``<utt> <extended-filename>``: a wav path, a command ending in
``|`` whose stdout is a wav, or ``archive.ark:offset``), read by kaldiio, optionally cut by a
``segments`` file as Kaldi's extract-segments does.  Samples are the raw integer PCM values as
float (Kaldi's ``WaveData`` does not scale int16 to [-1, 1]), so log energies are about 7-25.

The numerics are kaldi-native-fbank's ``OnlineFbank``/``OnlineMfcc`` (a re-implementation of
Kaldi's src/feat/feature-{fbank,mfcc}.cc) with every option taken from the Kaldi option file
(:mod:`bnn.feats.options`).  Program behaviour follows src/featbin/compute-fbank-feats.cc:
``--channel`` (-1: first channel, warning if there are more), ``--subtract-mean``,
``--min-duration`` (shorter utterances skipped with a warning), a sample-rate mismatch with
``--sample-frequency`` is an error (resampling is not implemented), utterances too short to give
one frame are skipped with a warning, and the program fails if no utterance succeeded.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Iterator, List, Optional, Sequence, Tuple

import kaldi_native_fbank as knf
import kaldiio
import numpy as np

from bnn.feats.options import ProgramOptions, load_feature_options
from bnn.feats.tables import TableWriter, parse_specifier, read_matrices
from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Segment:
    """One line of a Kaldi ``segments`` file: ``<utt> <recording> <start-s> <end-s> [<channel>]``."""
    utt: str
    recording: str
    start: float
    end: float          # -1: to the end of the recording
    channel: int = -1   # -1: unspecified (recording must be mono)


def read_wav_scp(path: str) -> List[Tuple[str, str]]:
    """``wav.scp`` as ``[(recording, extended_filename), ...]`` in file order."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise BnnError(f"{path}: cannot read wav.scp: {err.strerror or err}") from None
    entries, seen = [], set()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.strip().split(None, 1)
        if len(fields) != 2:
            raise BnnError(f"{path}:{lineno}: expected '<recording-id> <wav-path-or-command>'")
        if fields[0] in seen:
            raise BnnError(f"{path}:{lineno}: duplicate recording id {fields[0]}")
        seen.add(fields[0])
        entries.append((fields[0], fields[1].strip()))
    return entries


def read_segments(path: str) -> List[Segment]:
    """Read a Kaldi ``segments`` file; malformed lines are errors naming the file and line."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise BnnError(f"{path}: cannot read segments: {err.strerror or err}") from None
    out = []
    for lineno, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{lineno}"
        if len(fields) not in (4, 5):
            raise BnnError(f"{where}: expected '<utt> <recording> <start> <end> [<channel>]'")
        try:
            start, end = float(fields[2]), float(fields[3])
            channel = int(fields[4]) if len(fields) == 5 else -1
        except ValueError:
            raise BnnError(f"{where}: bad start/end time or channel in '{line.strip()}'") from None
        if start < 0 or (end != -1 and end <= start) or channel < -1:
            raise BnnError(f"{where}: empty or invalid segment {fields[0]} ({start} to {end})")
        out.append(Segment(fields[0], fields[1], start, end, channel))
    return out


def load_wave(extended_filename: str, utt: str, source: str) -> Tuple[int, np.ndarray]:
    """Load one wav.scp entry; returns ``(rate, samples)`` with samples shaped (channels, n) float32.

    Errors name ``source`` (the wav.scp), the utterance and the file or command.
    """
    try:
        loaded = kaldiio.load_mat(extended_filename)
    except FileNotFoundError as err:
        missing = err.filename or extended_filename
        raise BnnError(f"{source}: utterance {utt}: wav file not found: {missing}") from None
    except Exception as err:  # noqa: BLE001 - kaldiio/wave raise many types on bad input
        raise BnnError(f"{source}: utterance {utt}: cannot read audio from "
                       f"'{extended_filename}': {err}") from None
    return _as_wave(loaded, utt, f"{source}: utterance {utt} ('{extended_filename}')")


def _as_wave(loaded, utt: str, where: str) -> Tuple[int, np.ndarray]:
    if not isinstance(loaded, (tuple, list)) or len(loaded) != 2:
        raise BnnError(f"{where}: not a wav file (got a matrix)")
    rate, data = loaded
    data = np.asarray(data)
    if not np.issubdtype(data.dtype, np.integer):
        raise BnnError(f"{where}: expected integer PCM samples, got {data.dtype}")
    if data.ndim == 1:
        data = data[np.newaxis, :]
    else:
        data = data.T  # kaldiio: (samples, channels) -> Kaldi's (channels, samples)
    return int(rate), np.ascontiguousarray(data, dtype=np.float32)


def iter_waves(wav_rspecifier: str, segments: Optional[str] = None,
               min_segment_length: float = 0.1,
               max_overshoot: float = 0.5) -> Iterator[Tuple[str, int, np.ndarray]]:
    """Yield ``(utt, rate, samples[channels, n])`` from ``scp:wav.scp`` (or a wav ``ark:``).

    With ``segments``, yields the segments instead, cut like Kaldi's extract-segments
    (src/featbin/extract-segments.cc): ``start_sample = int(start * rate)``, ``end_sample =
    int(end * rate)`` (end -1: to the end), an end beyond the recording by less than
    ``max_overshoot`` seconds is truncated, otherwise (and for segments shorter than
    ``min_segment_length``) the segment is skipped with a warning.
    """
    flags, target = parse_specifier(wav_rspecifier)
    if "scp" not in flags:
        if segments:
            raise BnnError(f"{wav_rspecifier}: --segments needs an scp: wav table")
        for key, loaded in read_matrices(wav_rspecifier):
            rate, data = _as_wave(loaded, key, f"{target}: utterance {key}")
            yield key, rate, data
        return
    entries = read_wav_scp(target)
    if not segments:
        for utt, ext in entries:
            rate, data = load_wave(ext, utt, target)
            yield utt, rate, data
        return
    recordings = dict(entries)
    segs = read_segments(segments)
    remaining = {}
    for seg in segs:
        remaining[seg.recording] = remaining.get(seg.recording, 0) + 1
    cache = {}
    for seg in segs:
        if seg.recording not in recordings:
            log.warning("%s: recording %s of segment %s not in %s; skipping", segments,
                        seg.recording, seg.utt, target)
            continue
        if seg.recording not in cache:
            cache[seg.recording] = load_wave(recordings[seg.recording], seg.recording, target)
        rate, data = cache[seg.recording]
        remaining[seg.recording] -= 1
        if remaining[seg.recording] == 0:
            del cache[seg.recording]
        cut = _cut_segment(seg, rate, data, segments, min_segment_length, max_overshoot)
        if cut is not None:
            yield seg.utt, rate, cut


def _cut_segment(seg: Segment, rate: int, data: np.ndarray, source: str,
                 min_segment_length: float, max_overshoot: float) -> Optional[np.ndarray]:
    num_chan, num_samp = data.shape
    start = int(seg.start * rate)
    end = int(seg.end * rate) if seg.end != -1 else num_samp
    if start >= num_samp:
        log.warning("%s: segment %s starts at sample %d beyond the recording (%d samples); "
                    "skipping", source, seg.utt, start, num_samp)
        return None
    if end > num_samp:
        if end >= num_samp + int(max_overshoot * rate):
            log.warning("%s: segment %s ends at sample %d, too far beyond the recording "
                        "(%d samples); skipping", source, seg.utt, end, num_samp)
            return None
        end = num_samp
    if end <= start + int(min_segment_length * rate):
        log.warning("%s: segment %s too short; skipping", source, seg.utt)
        return None
    channel = seg.channel
    if channel == -1:
        if num_chan != 1:
            raise BnnError(f"{source}: segment {seg.utt}: recording {seg.recording} has {num_chan} "
                           "channels; give the channel as the 5th field")
        channel = 0
    elif channel >= num_chan:
        log.warning("%s: segment %s: channel %d >= %d channels; skipping", source, seg.utt,
                    channel, num_chan)
        return None
    return data[channel:channel + 1, start:end]


class FeatureComputer:
    """Fbank or MFCC extraction with options from a Kaldi option file.

    ``FeatureComputer("fbank", "conf/fbank.conf").compute(samples, rate)`` returns a float32
    ``(frames, dim)`` matrix; ``samples`` are raw int16 values as float (1-D).
    """

    def __init__(self, kind: str, config: Optional[str] = None, overrides: Sequence[str] = ()):
        self.kind = kind
        self.config = config
        self.options, self.program = load_feature_options(kind, config, overrides)

    @property
    def dim(self) -> int:
        if self.kind == "fbank":
            return self.options.mel_opts.num_bins + (1 if self.options.use_energy else 0)
        return self.options.num_ceps

    @property
    def sample_frequency(self) -> float:
        return self.options.frame_opts.samp_freq

    def compute(self, samples: np.ndarray, rate: float, utt: str = "") -> np.ndarray:
        """Features of one mono waveform; a rate other than ``--sample-frequency`` is an error."""
        if rate != self.sample_frequency:
            raise BnnError(f"utterance {utt}: wav sample rate {rate} differs from "
                           f"--sample-frequency={self.sample_frequency:g}"
                           + (f" in {self.config}" if self.config else "")
                           + " (resampling is not supported)")
        samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        computer = knf.OnlineFbank(self.options) if self.kind == "fbank" else knf.OnlineMfcc(self.options)
        computer.accept_waveform(float(rate), samples)
        computer.input_finished()
        n = computer.num_frames_ready
        feats = np.empty((n, self.dim), dtype=np.float32)
        for i in range(n):
            feats[i] = computer.get_frame(i)
        if self.program.subtract_mean and n > 0:
            feats -= feats.mean(axis=0, dtype=np.float64).astype(np.float32)
        return feats

    def compute_utterance(self, utt: str, rate: int, data: np.ndarray) -> Optional[np.ndarray]:
        """Apply the program options (channel, min duration) to one utterance; None = skipped."""
        prog: ProgramOptions = self.program
        num_chan = data.shape[0]
        channel = prog.channel
        if channel == -1:
            channel = 0
            if num_chan != 1:
                log.warning("utterance %s has %d channels and --channel is not set; using channel 0",
                            utt, num_chan)
        elif channel >= num_chan:
            log.warning("utterance %s has %d channels but --channel=%d; producing no output",
                        utt, num_chan, channel)
            return None
        duration = data.shape[1] / float(rate)
        if duration < prog.min_duration:
            log.warning("utterance %s is shorter (%.3f s) than --min-duration=%g; skipping", utt,
                        duration, prog.min_duration)
            return None
        feats = self.compute(data[channel], rate, utt)
        if feats.shape[0] == 0:
            log.warning("utterance %s (%d samples) is too short for one frame; skipping", utt,
                        data.shape[1])
            return None
        return feats


def compute_table(kind: str, wav_rspecifier: str, feats_wspecifier: str,
                  config: Optional[str] = None, overrides: Sequence[str] = (),
                  segments: Optional[str] = None,
                  num_frames_wspecifier: Optional[str] = None) -> Tuple[int, int]:
    """compute-{fbank,mfcc}-feats: features of every utterance to ``feats_wspecifier``.

    ``num_frames_wspecifier`` (``ark,t:file``) also writes ``utt num-frames`` lines, as Kaldi's
    ``copy-feats --write-num-frames`` does for utt2num_frames.  Returns ``(num_done, num_failed)``; raises :class:`BnnError` if nothing succeeded.
    """
    computer = FeatureComputer(kind, config, overrides)
    done = failed = 0
    num_frames = []
    with TableWriter(feats_wspecifier) as writer:
        for utt, rate, data in iter_waves(wav_rspecifier, segments):
            feats = computer.compute_utterance(utt, rate, data)
            if feats is None:
                failed += 1
                continue
            writer(utt, feats)
            num_frames.append(f"{utt} {feats.shape[0]}\n")
            done += 1
        if done == 0:
            raise BnnError(f"{wav_rspecifier}: no features computed ({failed} utterances failed)")
        if num_frames_wspecifier:
            _write_text_table(num_frames_wspecifier, num_frames)
    log.info("Done %d utterances, failed for %d", done, failed)
    return done, failed


def _write_text_table(wspecifier: str, lines: List[str]) -> None:
    flags, target = parse_specifier(wspecifier)
    if "t" not in flags or "scp" in flags:
        raise BnnError(f"'{wspecifier}': only text tables (ark,t:<file>) are supported here")
    if target == "-":
        import sys
        sys.stdout.writelines(lines)
        return
    from bnn.utils.fileio import atomic_write
    with atomic_write(target) as f:
        f.writelines(lines)


__all__ = ["Segment", "read_wav_scp", "read_segments", "load_wave", "iter_waves",
           "FeatureComputer", "compute_table"]
