"""Corpus statistics of Kaldi data dirs: utterances, speakers, words, hours.

* utterances: lines of ``wav.scp`` (or of ``utt2spk`` when ``wav.scp`` is absent)
* speakers: distinct second fields of ``utt2spk``
* words: total tokens of ``text`` (0 when absent)
* hours: sum of ``utt2dur`` when present; otherwise read from the audio: wav headers for plain
  paths (``nframes / rate``), ``segments`` end - start when present, and kaldiio for piped or
  extended-filename entries.
"""
import os
import wave
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Sequence

from bnn.kaldi.datadir import read_table
from bnn.utils.errors import BnnError


@dataclass
class DataStats:
    name: str
    utterances: int
    speakers: int
    words: int
    seconds: float
    speaker_ids: FrozenSet[str] = field(default=frozenset(), repr=False)

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0


def _read_table(path: str) -> Dict[str, str]:
    """``<key> <rest of line>`` lines of a Kaldi text table (:func:`bnn.kaldi.datadir.read_table`;
    unsorted keys are accepted, a duplicate key is an error)."""
    return read_table(path, check_sorted=False)


def _wav_seconds(path: str, entry: str, utt: str) -> float:
    spec = entry.strip()
    if not spec.endswith("|") and os.path.isfile(spec):
        try:
            with wave.open(spec, "rb") as w:
                return w.getnframes() / float(w.getframerate())
        except (wave.Error, EOFError):
            pass  # not a PCM wav the stdlib reads: let kaldiio try
    import kaldiio
    try:
        rate, samples = kaldiio.load_mat(spec)
    except Exception as err:  # noqa: BLE001 - kaldiio raises many types
        raise BnnError(f"{path}: cannot read audio of utterance {utt} ({err})") from err
    return len(samples) / float(rate)


def data_dir_stats(data_dir: str, name: str = None) -> DataStats:
    """Statistics of one Kaldi data dir (see module doc)."""
    if not os.path.isdir(data_dir):
        raise BnnError(f"{data_dir}: data directory not found")
    files = {n: os.path.join(data_dir, n) for n in
             ("wav.scp", "utt2spk", "text", "utt2dur", "segments")}
    if not os.path.isfile(files["utt2spk"]):
        raise BnnError(f"{files['utt2spk']}: missing")
    utt2spk = _read_table(files["utt2spk"])
    text = _read_table(files["text"]) if os.path.isfile(files["text"]) else {}
    words = sum(len(t.split()) for t in text.values())
    if os.path.isfile(files["utt2dur"]):
        seconds = 0.0
        for utt, dur in _read_table(files["utt2dur"]).items():
            try:
                seconds += float(dur)
            except ValueError as err:
                raise BnnError(f"{files['utt2dur']}: bad duration {dur!r} for utterance {utt}") \
                    from err
    elif os.path.isfile(files["segments"]):
        seconds = 0.0
        for utt, rest in _read_table(files["segments"]).items():
            fields = rest.split()
            try:
                seconds += float(fields[2]) - float(fields[1])
            except (IndexError, ValueError) as err:
                raise BnnError(f"{files['segments']}: bad segment line for utterance {utt}") \
                    from err
    elif os.path.isfile(files["wav.scp"]):
        wav_scp = _read_table(files["wav.scp"])
        seconds = sum(_wav_seconds(files["wav.scp"], e, u) for u, e in wav_scp.items())
    else:
        seconds = 0.0
    speakers = frozenset(utt2spk.values())
    return DataStats(name or os.path.basename(os.path.abspath(data_dir)), len(utt2spk),
                     len(speakers), words, seconds, speakers)


def format_stats(stats: Sequence[DataStats]) -> str:
    """A fixed-width table with a total line (when more than one set; its speaker count is the
    number of distinct speaker ids over all sets)."""
    rows: List[DataStats] = list(stats)
    if len(rows) > 1:
        spk = frozenset().union(*(s.speaker_ids for s in rows))
        rows.append(DataStats("total", sum(s.utterances for s in rows), len(spk),
                              sum(s.words for s in rows), sum(s.seconds for s in rows), spk))
    width = max([len("set")] + [len(s.name) for s in rows])
    lines = [f"{'set':<{width}}  {'utterances':>10}  {'speakers':>8}  {'words':>7}  {'hours':>7}"]
    for s in rows:
        lines.append(f"{s.name:<{width}}  {s.utterances:>10d}  {s.speakers:>8d}  {s.words:>7d}  "
                     f"{s.hours:>7.3f}")
    return "\n".join(lines)
