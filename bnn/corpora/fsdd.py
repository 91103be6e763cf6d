"""A connected-digit corpus built from the Free Spoken Digit Dataset (FSDD).

Source: ``recordings/{digit}_{speaker}_{take}.wav`` (8 kHz mono 16-bit; 6 speakers x 10 digits x
50 takes), github.com/Jakobovski/free-spoken-digit-dataset, CC BY-SA 4.0.

Sets (speaker-disjoint test set):

* ``train``: george, jackson, lucas, nicolas, takes 0-44 (default 1000 utterances)
* ``dev``:   the same speakers, takes 45-49 (default 150)
* ``test``:  theo, yweweler, all takes (default 400)

Each utterance is 1-7 recordings of one speaker.  Construction, all deterministic given ``seed``:

1. Level normalisation of every recording ``x`` (int16 samples): remove DC, ``y = x - mean(x)``,
   then scale to a common RMS, ``g = target / rms(y)`` with ``target = 32768 * 10^(level_db/20)``
   (default -26 dBFS), ``g`` capped so that ``max|g y| <= 0.9 * 32767``; a 5 ms raised-cosine
   fade-in/out removes clicks at the joins.  Without this, theo and yweweler (recorded ~15-20 dB
   quieter) sit only a few dB above the fixed gap noise, and after per-speaker CMVN the gaps look
   like fricatives.
2. Layout: ``lead + piece_1 + gap_1 + ... + piece_k + trail`` with leading/trailing silence of
   100-250 ms and gaps of 50-300 ms (uniform integer sample counts), so the length in samples is
   exactly ``lead + sum(pieces) + sum(gaps) + trail``.
3. A bed of white Gaussian noise at ``noise_db`` relative to the target level (default -45 dB)
   is added over the whole utterance (gaps hold noise only), then samples are rounded and clipped
   to int16 and written as a RIFF/WAVE PCM file (8 kHz, 16-bit, mono).

Selection: per (set, speaker) a generator seeded from ``(seed, set, speaker)`` first shuffles the
speaker's recordings and cuts the permutation into groups of 1-7, so every recording is used at
least once (when the utterance quota allows), then draws further utterances of 1-7 distinct
recordings until the speaker's quota (``num_utts`` split evenly over the set's speakers) is met.
The noise of each utterance has its own generator seeded from ``(seed, set, speaker, index)``.

Utterance id ``<speaker>-<index>`` with a 5-digit index (dev indices start at 10000 so train and
dev ids never collide when sets are combined); the speaker prefix keeps ``utt2spk`` sorted both
ways.  ``text`` holds the digit words ``ZERO`` ... ``NINE``.  Wavs go to ``wav_dir/<set>/<utt>.wav``
with ``wav_dir/<set>/layout.txt`` (one line per utterance: ``<utt> <total-samples> lead=<n>
<recording>:<n> gap=<n> <recording>:<n> ... trail=<n>``) and a completion marker
``wav_dir/<set>/.done`` (JSON of the options and each utterance's length): a rerun with the same
options rewrites only the small data-dir files.  ``wav.scp`` holds absolute paths.
"""
import hashlib
import json
import logging
import os
import re
import wave
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from bnn.corpora.common import write_data_dir, write_dict_dir
from bnn.corpora.download import ensure_corpus
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

logger = logging.getLogger(__name__)

FSDD_COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"
FSDD_URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{FSDD_COMMIT}.tar.gz"
FSDD_EXTRACTED = f"free-spoken-digit-dataset-{FSDD_COMMIT}/recordings"
SAMPLE_RATE = 8000
NUM_RECORDINGS = 3000

SETS = {
    # name: (speakers, takes (None = all), default number of utterances, index offset)
    "train": (("george", "jackson", "lucas", "nicolas"), range(0, 45), 1000, 0),
    "dev": (("george", "jackson", "lucas", "nicolas"), range(45, 50), 150, 10000),
    "test": (("theo", "yweweler"), None, 400, 0),
}
DIGIT_WORDS = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
# CMU Pronouncing Dictionary entries with the stress markers removed.
DIGIT_PRONS = {
    "ZERO": "Z IH R OW", "ONE": "W AH N", "TWO": "T UW", "THREE": "TH R IY", "FOUR": "F AO R",
    "FIVE": "F AY V", "SIX": "S IH K S", "SEVEN": "S EH V AH N", "EIGHT": "EY T", "NINE": "N AY N",
}
# Kaldi's usual silence words: <SIL> -> SIL (as in egs/yesno), OOV word <UNK> -> SPN (spoken
# noise, as in egs/mini_librispeech).  SIL is the optional silence.
SILENCE_LEXICON = [("<SIL>", ["SIL"]), ("<UNK>", ["SPN"])]
SILENCE_PHONES = ["SIL", "SPN"]
OPTIONAL_SILENCE = "SIL"
OOV_WORD = "<UNK>"

MIN_PIECES, MAX_PIECES = 1, 7
GAP_MS = (50, 300)
EDGE_MS = (100, 250)
FADE_MS = 5
_NAME_RE = re.compile(r"^([0-9])_([a-z]+)_([0-9]+)\.wav$")
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Recording:
    """One FSDD recording ``{digit}_{speaker}_{take}.wav``."""
    path: str
    digit: int
    speaker: str
    take: int

    @property
    def name(self) -> str:
        return f"{self.digit}_{self.speaker}_{self.take}"


@dataclass
class Utterance:
    """Plan of one connected-digit utterance (sample counts at 8 kHz)."""
    utt_id: str
    speaker: str
    pieces: List[Recording]
    gaps: List[int]
    lead: int
    trail: int
    noise_key: Tuple[int, ...] = field(default=())

    @property
    def words(self) -> List[str]:
        return [DIGIT_WORDS[r.digit] for r in self.pieces]


def scan_recordings(rec_dir: str) -> List[Recording]:
    """All ``{digit}_{speaker}_{take}.wav`` files in ``rec_dir``, sorted by speaker, digit, take."""
    if not os.path.isdir(rec_dir):
        raise BnnError(f"{rec_dir}: FSDD recordings directory not found")
    recs = []
    for name in os.listdir(rec_dir):
        m = _NAME_RE.match(name)
        if m:
            recs.append(Recording(os.path.join(rec_dir, name), int(m.group(1)), m.group(2),
                                  int(m.group(3))))
    if not recs:
        raise BnnError(f"{rec_dir}: no FSDD recordings ({{digit}}_{{speaker}}_{{take}}.wav)")
    return sorted(recs, key=lambda r: (r.speaker, r.digit, r.take))


def is_complete(rec_dir: str) -> bool:
    """True when ``rec_dir`` holds all 3000 FSDD recordings."""
    try:
        return len(scan_recordings(rec_dir)) == NUM_RECORDINGS
    except BnnError:
        return False


def find_fsdd(corpus_dir: str, download_dir: str, download: bool = True) -> str:
    """The FSDD ``recordings`` directory: ``corpus_dir`` if complete, else the downloaded one."""
    return ensure_corpus(corpus_dir, name="FSDD", url=FSDD_URL, download_dir=download_dir,
                         extracted_subdir=FSDD_EXTRACTED, is_complete=is_complete,
                         download=download)


def set_recordings(recs: Sequence[Recording], set_name: str) -> Dict[str, List[Recording]]:
    """The recordings of one set, per speaker (speakers in sorted order)."""
    if set_name not in SETS:
        raise BnnError(f"unknown FSDD set {set_name!r} (expected one of {', '.join(SETS)})")
    speakers, takes, _, _ = SETS[set_name]
    out = {}
    for spk in sorted(speakers):
        out[spk] = [r for r in recs if r.speaker == spk and (takes is None or r.take in takes)]
        if not out[spk]:
            raise BnnError(f"FSDD set {set_name}: no recordings of speaker {spk}")
    return out


def _key(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def plan_set(recs: Sequence[Recording], set_name: str, num_utts: int, seed: int) -> List[Utterance]:
    """Choose the recordings, gaps and edges of every utterance of a set (see module doc)."""
    if seed < 0:
        raise BnnError(f"FSDD set {set_name}: seed must be >= 0, got {seed}")
    if num_utts < 1:
        raise BnnError(f"FSDD set {set_name}: number of utterances must be >= 1, got {num_utts}")
    by_spk = set_recordings(recs, set_name)
    offset = SETS[set_name][3]
    speakers = list(by_spk)
    lo_gap, hi_gap = (SAMPLE_RATE * ms // 1000 for ms in GAP_MS)
    lo_edge, hi_edge = (SAMPLE_RATE * ms // 1000 for ms in EDGE_MS)
    utts, short = [], []
    for s, spk in enumerate(speakers):
        quota = num_utts // len(speakers) + (1 if s < num_utts % len(speakers) else 0)
        if quota == 0:
            continue
        pool = by_spk[spk]
        rng = np.random.default_rng([seed, _key(set_name), _key(spk)])
        groups: List[List[int]] = []
        perm = rng.permutation(len(pool))
        pos = 0
        while pos < len(perm):  # coverage pass: every recording once
            k = int(rng.integers(MIN_PIECES, MAX_PIECES + 1))
            groups.append([int(i) for i in perm[pos:pos + k]])
            pos += k
        if len(groups) > quota:
            short.append(spk)
            groups = groups[:quota]
        while len(groups) < quota:
            k = int(rng.integers(MIN_PIECES, min(MAX_PIECES, len(pool)) + 1))
            groups.append([int(i) for i in rng.choice(len(pool), size=k, replace=False)])
        for idx, group in enumerate(groups):
            k = len(group)
            gaps = [int(g) for g in rng.integers(lo_gap, hi_gap + 1, size=k - 1)]
            lead, trail = (int(e) for e in rng.integers(lo_edge, hi_edge + 1, size=2))
            utts.append(Utterance(f"{spk}-{offset + idx:05d}", spk, [pool[i] for i in group],
                                  gaps, lead, trail, (seed, _key(set_name), _key(spk), idx)))
    if short:
        logger.warning("FSDD set %s: %d utterances are too few to use every recording of %s",
                       set_name, num_utts, ", ".join(short))
    return sorted(utts, key=lambda u: u.utt_id)


def read_wav(path: str) -> np.ndarray:
    """Samples of a 16-bit mono PCM wav at 8 kHz as int16; :class:`BnnError` otherwise."""
    try:
        with wave.open(path, "rb") as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
                raise BnnError(f"{path}: expected 8 kHz mono 16-bit PCM, got "
                               f"{w.getframerate()} Hz, {w.getnchannels()} channel(s), "
                               f"{8 * w.getsampwidth()}-bit")
            data = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as err:
        raise BnnError(f"{path}: not a readable wav file ({err})") from err
    x = np.frombuffer(data, dtype="<i2")
    if x.size == 0:
        raise BnnError(f"{path}: empty recording")
    return x


def write_wav(path: str, samples: np.ndarray) -> None:
    """Write int16 samples as an 8 kHz mono 16-bit PCM wav, atomically."""
    with atomic_write(path, "wb") as f:
        with wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def target_rms(level_db: float) -> float:
    """RMS in int16 units of a signal at ``level_db`` dBFS (0 dBFS = RMS 32768)."""
    return 32768.0 * 10.0 ** (level_db / 20.0)


def normalise(x: np.ndarray, level_db: float = -26.0) -> np.ndarray:
    """DC removal, scaling to RMS ``target_rms(level_db)`` (peak capped at 0.9 full scale) and
    5 ms raised-cosine fades at both ends; float64 result in int16 units."""
    y = x.astype(np.float64)
    y -= y.mean()
    rms = float(np.sqrt(np.mean(y * y)))
    if rms <= 0.0:
        return y
    gain = target_rms(level_db) / rms
    peak = float(np.abs(y).max())
    gain = min(gain, 0.9 * 32767.0 / peak)
    y *= gain
    n = min(SAMPLE_RATE * FADE_MS // 1000, len(y) // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        y[:n] *= ramp
        y[len(y) - n:] *= ramp[::-1]
    return y


def synthesize(utt: Utterance, pieces: Sequence[np.ndarray], level_db: float,
               noise_db: float) -> Tuple[np.ndarray, List[int]]:
    """Join normalised pieces with the planned gaps/edges over a noise bed; int16 samples and
    the piece start offsets."""
    total = utt.lead + sum(len(p) for p in pieces) + sum(utt.gaps) + utt.trail
    rng = np.random.default_rng(list(utt.noise_key))
    out = rng.standard_normal(total) * (target_rms(level_db) * 10.0 ** (noise_db / 20.0))
    starts, pos = [], utt.lead
    for i, p in enumerate(pieces):
        starts.append(pos)
        out[pos:pos + len(p)] += p
        pos += len(p) + (utt.gaps[i] if i < len(utt.gaps) else 0)
    assert pos + utt.trail == total
    return np.clip(np.rint(out), -32768, 32767).astype(np.int16), starts


@dataclass
class FsddOptions:
    """Everything that determines the audio (stored in the completion marker)."""
    seed: int = 777
    level_db: float = -26.0
    noise_db: float = -45.0

    def as_dict(self) -> dict:
        return {"version": _FORMAT_VERSION, "seed": self.seed, "level_db": self.level_db,
                "noise_db": self.noise_db}


def _layout_line(utt: Utterance, total: int, lengths: Sequence[int]) -> str:
    fields = [utt.utt_id, str(total), f"lead={utt.lead}"]
    for i, (r, n) in enumerate(zip(utt.pieces, lengths)):
        fields.append(f"{r.name}:{n}")
        if i < len(utt.gaps):
            fields.append(f"gap={utt.gaps[i]}")
    fields.append(f"trail={utt.trail}")
    return " ".join(fields)


def read_layout(path: str) -> Dict[str, Tuple[int, List[Tuple[str, int]]]]:
    """Parse ``layout.txt``: utt -> (total samples, [(token, samples), ...]) where a token is
    ``lead``, ``gap``, ``trail`` or a recording name."""
    out = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) < 4:
                raise BnnError(f"{path}:{lineno}: bad layout line")
            items = []
            for tok in parts[2:]:
                name, _, n = tok.replace("=", ":").rpartition(":")
                items.append((name, int(n)))
            out[parts[0]] = (int(parts[1]), items)
    return out


def _marker_matches(marker: str, params: dict, utt_ids: Sequence[str], wav_set_dir: str) -> \
        Optional[Dict[str, int]]:
    """The stored utterance lengths if ``marker`` says this exact set is complete, else None."""
    try:
        with open(marker) as f:
            done = json.load(f)
    except (OSError, ValueError):
        return None
    if done.get("params") != params or list(done.get("lengths", {})) != list(utt_ids):
        return None
    for u in utt_ids:
        if not os.path.isfile(os.path.join(wav_set_dir, u + ".wav")):
            return None
    return {u: int(n) for u, n in done["lengths"].items()}


def prepare_set(recs: Sequence[Recording], set_name: str, data_dir: str, wav_dir: str,
                num_utts: Optional[int] = None, opts: FsddOptions = FsddOptions()) -> str:
    """Build one set: wavs under ``wav_dir/<set>``, Kaldi data dir ``data_dir/<set>``.

    Skips the audio when ``wav_dir/<set>/.done`` matches these options.  Returns the data dir.
    """
    if num_utts is None:
        num_utts = SETS[set_name][2]
    utts = plan_set(recs, set_name, num_utts, opts.seed)
    wav_set_dir = os.path.abspath(os.path.join(wav_dir, set_name))
    marker = os.path.join(wav_set_dir, ".done")
    plan = "\n".join(_layout_line(u, 0, [0] * len(u.pieces)) for u in utts)
    params = dict(opts.as_dict(), set=set_name, num_utts=num_utts,
                  plan_sha1=hashlib.sha1(plan.encode("utf-8")).hexdigest())
    ids = [u.utt_id for u in utts]
    lengths = _marker_matches(marker, params, ids, wav_set_dir)
    if lengths is not None:
        logger.info("%s: audio of FSDD set %s already complete, skipping synthesis",
                    wav_set_dir, set_name)
    else:
        if os.path.exists(marker):
            os.unlink(marker)
        os.makedirs(wav_set_dir, exist_ok=True)
        wanted = {u + ".wav" for u in ids}
        for name in os.listdir(wav_set_dir):  # wavs of an earlier, different build
            if name.endswith(".wav") and name not in wanted:
                os.unlink(os.path.join(wav_set_dir, name))
        cache: Dict[str, np.ndarray] = {}
        lengths, layout = {}, []
        for utt in utts:
            pieces = []
            for r in utt.pieces:
                if r.path not in cache:
                    cache[r.path] = normalise(read_wav(r.path), opts.level_db)
                pieces.append(cache[r.path])
            audio, _ = synthesize(utt, pieces, opts.level_db, opts.noise_db)
            write_wav(os.path.join(wav_set_dir, utt.utt_id + ".wav"), audio)
            lengths[utt.utt_id] = len(audio)
            layout.append(_layout_line(utt, len(audio), [len(p) for p in pieces]))
        with atomic_write(os.path.join(wav_set_dir, "layout.txt")) as f:
            f.write("\n".join(layout) + "\n")
        with atomic_write(marker) as f:
            json.dump({"params": params, "lengths": lengths}, f)
    out = os.path.join(data_dir, set_name)
    write_data_dir(out,
                   wav_scp={u.utt_id: os.path.join(wav_set_dir, u.utt_id + ".wav") for u in utts},
                   text={u.utt_id: u.words for u in utts},
                   utt2spk={u.utt_id: u.speaker for u in utts},
                   utt2dur={u: n / SAMPLE_RATE for u, n in lengths.items()})
    logger.info("wrote %s (%d utterances)", out, len(utts))
    return out


def prepare_fsdd(rec_dir: str, data_dir: str, wav_dir: str, sets: Sequence[str] = tuple(SETS),
                 num_utts: Optional[Dict[str, int]] = None,
                 opts: FsddOptions = FsddOptions()) -> Dict[str, str]:
    """Build the requested sets; returns ``{set: data dir}``."""
    recs = scan_recordings(rec_dir)
    num_utts = num_utts or {}
    return {s: prepare_set(recs, s, data_dir, wav_dir, num_utts.get(s), opts) for s in sets}


def write_fsdd_dict(dict_dir: str) -> None:
    """Dict dir for the digits: CMUdict pronunciations without stress, ``<SIL> SIL``, ``<UNK> SPN``;
    silence phones SIL, SPN; optional silence SIL."""
    lexicon = [(w, DIGIT_PRONS[w].split()) for w in DIGIT_WORDS] + SILENCE_LEXICON
    write_dict_dir(dict_dir, lexicon, SILENCE_PHONES, OPTIONAL_SILENCE,
                   silence_words=[w for w, _ in SILENCE_LEXICON])
