"""CMU AN4 (census / alphanumeric read speech): lhotse manifests, Kaldi data dirs and dict dir.

Corpus layout (the SphinxTrain copy, ``github.com/cmusphinx/an4``): ``wav/an4_clstk/<spk>/<id>.wav``
(948 training utterances, 74 speakers) and ``wav/an4test_clstk/<spk>/<id>.wav`` (130 test
utterances, 10 other speakers), 16 kHz RIFF; ``etc/an4_{train,test}.fileids`` list
``an4_clstk/<spk>/<id>``; ``etc/an4_{train,test}.transcription`` hold ``[<s>] WORDS [</s>] (<id>)``;
``etc/an4.dic`` is a CMU-style dictionary whose alternate pronunciations are written ``WORD(2)``.

What this module writes, as the Kaldi AN4 experiment in ``../shared/fixtures/kaldi_an4_s5`` does:

* utterance ids ``<spk>-<file id>`` (speaker prefix, so Kaldi's sort orders agree);
* ``train`` minus a speaker-disjoint ``dev`` set: ``num_dev_speakers`` training speakers, half
  female (ids starting with ``f``) and half male, chosen evenly spaced in sorted order
  (:func:`dev_speakers`), so dev never shares a speaker with train (the papers pick the LM weight on
  a held-out set of other speakers: WSJ dev93, AMI dev);
* ``test`` = the corpus' 130 test utterances;
* lhotse ``RecordingSet`` / ``SupervisionSet`` manifests (``<manifest_dir>/an4_{recordings,
  supervisions}_<set>.jsonl.gz``) exported to Kaldi data dirs with :func:`lhotse.kaldi.export_to_kaldi`;
* the dict dir: ``an4.dic`` with ``WORD(n)`` variants merged under ``WORD``, ``<UNK> SPN``,
  silence phones ``SIL`` and ``SPN``, optional silence ``SIL``.
"""
import logging
import os
import re
from typing import Dict, List, Sequence, Tuple

from bnn.corpora.common import write_dict_dir
from bnn.corpora.download import ensure_corpus
from bnn.kaldi import datadir
from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

AN4_URL = "https://github.com/cmusphinx/an4/archive/refs/heads/master.tar.gz"
SETS = {"train": ("an4_train", "an4_clstk"), "test": ("an4_test", "an4test_clstk")}
OOV_WORD = "<UNK>"
SILENCE_PHONES = ["SIL", "SPN"]
_TRANS_RE = re.compile(r"^(?P<words>.*?)\s*\((?P<id>[^()\s]+)\)\s*$")
_VARIANT_RE = re.compile(r"^(?P<word>.+)\(\d+\)$")


def is_an4_dir(path: str) -> bool:
    """True when ``path`` holds the transcription files and both wav directories."""
    return bool(path) and all(os.path.isfile(os.path.join(path, "etc", f"{stem}.{ext}"))
                              for stem, _ in SETS.values() for ext in ("fileids", "transcription")) \
        and all(os.path.isdir(os.path.join(path, "wav", sub)) for _, sub in SETS.values())


def find_an4(corpus_dir: str, download_dir: str = "downloads", download: bool = True) -> str:
    """The AN4 corpus directory: ``corpus_dir`` when complete, else downloaded and extracted."""
    return ensure_corpus(corpus_dir, name="AN4", url=AN4_URL, download_dir=download_dir,
                         extracted_subdir="an4-master", is_complete=is_an4_dir, download=download)


def read_transcription(path: str) -> Dict[str, List[str]]:
    """``{file id: words}`` from an AN4 transcription file (``<s>``, ``</s>``, ``<sil>`` dropped)."""
    out: Dict[str, List[str]] = {}
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as err:
        raise BnnError(f"{path}: cannot read: {err.strerror or err}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        m = _TRANS_RE.match(line.strip())
        if not m:
            raise BnnError(f"{path}:{n}: expected 'WORDS (utterance-id)', got {line.strip()!r}")
        words = [w for w in m.group("words").split() if w.lower() not in ("<s>", "</s>", "<sil>")]
        if not words:
            raise BnnError(f"{path}:{n}: empty transcript for {m.group('id')}")
        if m.group("id") in out:
            raise BnnError(f"{path}:{n}: utterance {m.group('id')} listed twice")
        out[m.group("id")] = words
    return out


def read_fileids(path: str) -> List[Tuple[str, str]]:
    """``[(speaker, file id)]`` from ``an4_*.fileids`` (lines ``<subdir>/<spk>/<id>``)."""
    out = []
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as err:
        raise BnnError(f"{path}: cannot read: {err.strerror or err}") from None
    for n, line in enumerate(lines, 1):
        parts = line.strip().split("/")
        if not line.strip():
            continue
        if len(parts) != 3:
            raise BnnError(f"{path}:{n}: expected '<dir>/<speaker>/<file id>', got {line.strip()!r}")
        out.append((parts[1], parts[2]))
    return out


def dev_speakers(speakers: Sequence[str], num_dev: int) -> List[str]:
    """``num_dev`` speakers, half female (``f*``) half male, evenly spaced in sorted order."""
    if num_dev <= 0:
        return []
    groups = [sorted(s for s in speakers if s.startswith("f")),
              sorted(s for s in speakers if not s.startswith("f"))]
    want = [num_dev // 2, num_dev - num_dev // 2]
    chosen = []
    for group, k in zip(groups, want):
        if k > len(group) - 1:
            raise BnnError(f"cannot hold out {k} of {len(group)} speakers for dev")
        step = len(group) / k if k else 0
        chosen += [group[int(step * i + step / 2)] for i in range(k)]
    return sorted(chosen)


def read_lexicon(path: str) -> List[Tuple[str, List[str]]]:
    """``an4.dic`` as ``[(word, phones)]`` with ``WORD(n)`` variants filed under ``WORD``."""
    entries, seen = [], set()
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as err:
        raise BnnError(f"{path}: cannot read: {err.strerror or err}") from None
    for n, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise BnnError(f"{path}:{n}: word {fields[0]} has no pronunciation")
        m = _VARIANT_RE.match(fields[0])
        word = m.group("word") if m else fields[0]
        key = (word, tuple(fields[1:]))
        if key not in seen:
            seen.add(key)
            entries.append((word, fields[1:]))
    return entries


def utterances(corpus_dir: str, set_name: str) -> List[Tuple[str, str, str, List[str]]]:
    """``[(utt id, speaker, wav path, words)]`` of the corpus' ``train`` or ``test`` list."""
    stem, _ = SETS[set_name]
    etc = os.path.join(corpus_dir, "etc")
    trans = read_transcription(os.path.join(etc, f"{stem}.transcription"))
    out = []
    fileids_path = os.path.join(etc, f"{stem}.fileids")
    for spk, fid in read_fileids(fileids_path):
        if fid not in trans:
            raise BnnError(f"{fileids_path}: {fid} has no line in {stem}.transcription")
        wav = os.path.join(os.path.abspath(corpus_dir), "wav", SETS[set_name][1], spk, fid + ".wav")
        if not os.path.isfile(wav):
            raise BnnError(f"{wav}: missing audio for utterance {fid}")
        out.append((f"{spk}-{fid}", spk, wav, trans[fid]))
    return out


def _export(utts, data_dir: str, manifest_dir: str, name: str) -> None:
    from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet
    from lhotse.kaldi import export_to_kaldi

    recordings, supervisions = [], []
    for utt, spk, wav, words in utts:
        rec = Recording.from_file(wav, recording_id=utt)
        recordings.append(rec)
        supervisions.append(SupervisionSegment(id=utt, recording_id=utt, start=0.0,
                                               duration=rec.duration, channel=0,
                                               text=" ".join(words), speaker=spk,
                                               language="English"))
    recs, sups = RecordingSet.from_recordings(recordings), SupervisionSet.from_segments(supervisions)
    os.makedirs(manifest_dir, exist_ok=True)
    recs.to_file(os.path.join(manifest_dir, f"an4_recordings_{name}.jsonl.gz"))
    sups.to_file(os.path.join(manifest_dir, f"an4_supervisions_{name}.jsonl.gz"))
    out = os.path.join(data_dir, name)
    export_to_kaldi(recs, sups, out)
    # utt2lang is lhotse's own addition; Kaldi's validate_data_dir.sh does not know it.
    lang = os.path.join(out, "utt2lang")
    if os.path.exists(lang):
        os.remove(lang)
    utt2spk = {utt: spk for utt, spk, _, _ in utts}
    datadir.write_table(os.path.join(out, "spk2utt"), datadir.utt2spk_to_spk2utt(
        {u: utt2spk[u] for u in sorted(utt2spk, key=datadir.c_key)}))
    datadir.validate_data_dir(out, no_feats=True)


def prepare_an4(corpus_dir: str, data_dir: str, num_dev_speakers: int = 8,
                manifest_dir: str = "") -> Dict[str, str]:
    """Write ``<data_dir>/{train,dev,test}`` (and lhotse manifests); returns ``{set: dir}``."""
    manifest_dir = manifest_dir or os.path.join(data_dir, "manifests")
    train = utterances(corpus_dir, "train")
    test = utterances(corpus_dir, "test")
    dev_spk = set(dev_speakers(sorted({u[1] for u in train}), num_dev_speakers))
    test_spk = {u[1] for u in test}
    if test_spk & {u[1] for u in train}:
        raise BnnError(f"{corpus_dir}: test speakers also occur in train: "
                       f"{sorted(test_spk & {u[1] for u in train})[:3]}")
    sets = {"train": [u for u in train if u[1] not in dev_spk],
            "dev": [u for u in train if u[1] in dev_spk], "test": test}
    dirs = {}
    for name, utts in sets.items():
        if not utts:
            continue
        _export(utts, data_dir, manifest_dir, name)
        dirs[name] = os.path.join(data_dir, name)
        logger.info("%s: %d utterances, %d speakers", dirs[name], len(utts),
                    len({u[1] for u in utts}))
    return dirs


def write_an4_dict(corpus_dir: str, dict_dir: str, data_dirs: Sequence[str] = ()) -> None:
    """The dict dir from ``etc/an4.dic``; words of ``data_dirs``' ``text`` missing from it are errors."""
    dic = os.path.join(corpus_dir, "etc", "an4.dic")
    lexicon = read_lexicon(dic)
    words = {w for w, _ in lexicon}
    for d in data_dirs:
        text = os.path.join(d, "text")
        for n, line in enumerate(open(text, encoding="utf-8"), 1):
            missing = [w for w in line.split()[1:] if w not in words]
            if missing:
                raise BnnError(f"{text}:{n}: word {missing[0]} is not in {dic}")
    write_dict_dir(dict_dir, lexicon + [(OOV_WORD, ["SPN"])], silence_phones=SILENCE_PHONES,
                   optional_silence="SIL", silence_words={OOV_WORD})
