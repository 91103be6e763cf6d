"""Keyword-spotting manifests as lhotse CutSets (one cut per 1 s clip, label in the supervision).

Format (the one lhotse's ``speechcommands`` recipe writes): a ``Recording`` per wav and a
``SupervisionSegment`` covering it with ``text`` = the spoken word (``""`` for ``_silence_``) and
``speaker`` = the hash before ``_nohash_`` (None for silence).  :func:`class_of` maps a word to
the task's classes:

* ``sc12``: the 10 keywords ``yes no up down left right on off stop go`` + ``_unknown_`` (every
  other word) + ``_silence_`` (empty text);
* ``sc35``: the 35 words of Speech Commands v2 (+ ``_silence_`` when present);
* ``fsdd10``: the digits ``zero`` ... ``nine``.

Local split of ``speech_commands_test_v0.02`` (:func:`prepare_sc_local`): the official test
set's speakers are sorted by ``md5(speaker)`` and the first 70% (rounded) go to train, the next
10% to dev, the rest to test, so no speaker is in two sets.  ``_silence_`` clips have no speaker:
they are sorted by their integer file name and the i-th goes to train if ``i % 10 < 7``, dev if
``i % 10 == 7``, else test (70/10/20 of the clips, deterministic).

FSDD (:func:`prepare_fsdd`): speakers george, jackson, lucas, nicolas, takes 0-44 -> train,
takes 45-49 -> dev; theo and yweweler -> test (the split of :mod:`bnn.corpora.fsdd`).
"""
import hashlib
import logging
import os
import re
from typing import Dict, List

from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)

KEYWORDS10 = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
SILENCE, UNKNOWN = "_silence_", "_unknown_"
SC35 = KEYWORDS10 + ["backward", "bed", "bird", "cat", "dog", "eight", "five", "follow", "forward",
                     "four", "happy", "house", "learn", "marvin", "nine", "one", "seven", "sheila",
                     "six", "three", "tree", "two", "visual", "wow", "zero"]
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TASKS = {"sc12": KEYWORDS10 + [UNKNOWN, SILENCE], "sc35": SC35 + [SILENCE], "fsdd10": DIGITS}
FSDD_TRAIN_SPK = ("george", "jackson", "lucas", "nicolas")


def classes(task: str) -> List[str]:
    if task not in TASKS:
        raise BnnError(f"unknown KWS task {task!r}; expected one of {sorted(TASKS)}")
    return list(TASKS[task])


def class_of(task: str, word: str) -> str:
    """The class of a supervision's ``text`` under ``task`` (see module docstring)."""
    word = (word or "").strip().lower()
    if task == "sc12":
        if word in ("", SILENCE, "_background_noise_"):
            return SILENCE
        return word if word in KEYWORDS10 else UNKNOWN
    if word in ("", SILENCE, "_background_noise_") and SILENCE in TASKS[task]:
        return SILENCE
    if word not in TASKS[task]:
        raise BnnError(f"word {word!r} is not a class of task {task}")
    return word


def speaker_sets(speakers, split=(0.7, 0.1)) -> Dict[str, str]:
    """Speaker -> set: speakers ordered by md5 hex digest, first 70% train, next 10% dev, rest test."""
    order = sorted(set(speakers), key=lambda s: (hashlib.md5(s.encode()).hexdigest(), s))
    n_train = round(split[0] * len(order))
    n_dev = round((split[0] + split[1]) * len(order)) - n_train
    return {s: ("train" if i < n_train else "dev" if i < n_train + n_dev else "test")
            for i, s in enumerate(order)}


def _cut(path: str, rec_id: str, text: str, speaker):
    from lhotse import MonoCut, Recording, SupervisionSegment
    rec = Recording.from_file(path, recording_id=rec_id)
    sup = SupervisionSegment(id=rec_id, recording_id=rec_id, start=0.0, duration=rec.duration,
                             channel=0, language="English", speaker=speaker, text=text)
    return MonoCut(id=rec_id, start=0.0, duration=rec.duration, channel=0, recording=rec,
                   supervisions=[sup])


def scan_sc_test_dir(corpus_dir: str) -> List[tuple]:
    """``(path, id, text, speaker, set)`` for every clip of a Speech Commands test-set folder."""
    if not os.path.isdir(corpus_dir):
        raise BnnError(f"{corpus_dir}: Speech Commands test folder not found (expected "
                       "speech_commands_test_v0.02 with one folder per word)")
    items = []
    for word in sorted(os.listdir(corpus_dir)):
        wdir = os.path.join(corpus_dir, word)
        if not os.path.isdir(wdir):
            continue
        names = sorted(f for f in os.listdir(wdir) if f.endswith(".wav"))
        if word == SILENCE:
            def key(n):
                m = re.match(r"^(\d+)", n)
                return (int(m.group(1)) if m else 1 << 62, n)
            for i, name in enumerate(sorted(names, key=key)):
                part = "train" if i % 10 < 7 else ("dev" if i % 10 == 7 else "test")
                items.append([os.path.join(wdir, name), f"{SILENCE}_{name[:-4]}", "", None, part])
            continue
        for name in names:
            stem = name.split(".wav")[0]
            fields = stem.split("_")
            if word == UNKNOWN:          # <word>_<speaker>_nohash_<n>.wav.wav
                text, spk = fields[0], fields[1] if len(fields) > 1 else ""
            else:                        # <speaker>_nohash_<n>.wav
                text, spk = word, fields[0]
            if "_nohash_" not in name or not spk:
                raise BnnError(f"{os.path.join(wdir, name)}: name has no '<speaker>_nohash_' part")
            items.append([os.path.join(wdir, name), f"{word}_{stem}", text, spk, None])
    if not items:
        raise BnnError(f"{corpus_dir}: no .wav clips found")
    sets = speaker_sets(it[3] for it in items if it[3])
    return [tuple(it[:4]) + ((it[4] or sets[it[3]]),) for it in items]


def prepare_sc_local(corpus_dir: str, out_dir: str) -> Dict[str, int]:
    """Speaker-disjoint train/dev/test cuts of the official test set: ``out_dir/cuts_<set>.jsonl.gz``."""
    from lhotse import CutSet
    items = scan_sc_test_dir(os.path.abspath(corpus_dir))
    counts = {}
    for part in ("train", "dev", "test"):
        cuts = CutSet.from_cuts(_cut(p, i, t, s) for p, i, t, s, sp in items if sp == part)
        _write(cuts, os.path.join(out_dir, f"cuts_{part}.jsonl.gz"))
        counts[part] = len(cuts)
    spk = {s: sp for _, _, _, s, sp in items if s}
    log.info("speech_commands local split: %s clips; speakers train/dev/test %s", counts,
             [sum(v == p for v in spk.values()) for p in ("train", "dev", "test")])
    return counts


def prepare_sc_full(corpus_dir: str, out_dir: str, version: str = "2",
                    download: bool = False) -> Dict[str, int]:
    """Full Speech Commands v1/v2 through lhotse's recipe; cuts in the same format as the local split.

    lhotse's parts ``train``/``valid``/``test`` (the official list files) become train/dev/test.
    """
    from lhotse import CutSet
    from lhotse.recipes import download_speechcommands, prepare_speechcommands
    if download:
        download_speechcommands(version, os.path.dirname(os.path.abspath(corpus_dir)) or ".")
    if not os.path.isdir(corpus_dir):
        raise BnnError(f"{corpus_dir}: full Speech Commands corpus not found (use --download true)")
    from lhotse import load_manifest
    lh = os.path.join(out_dir, "lhotse")
    man = prepare_speechcommands(version, corpus_dir, lh)
    counts = {}
    for part, name in (("train", "train"), ("valid", "dev"), ("test", "test")):
        if part not in man:    # lhotse skips parts whose manifests exist: read them back
            pre = os.path.join(lh, f"speechcommands{version}_")
            man[part] = {k: load_manifest(f"{pre}{k}_{part}.jsonl.gz")
                         for k in ("recordings", "supervisions")}
        cuts = CutSet.from_manifests(recordings=man[part]["recordings"],
                                     supervisions=man[part]["supervisions"])
        _write(cuts, os.path.join(out_dir, f"cuts_{name}.jsonl.gz"))
        counts[name] = len(cuts)
    return counts


def prepare_fsdd(corpus_dir: str, out_dir: str, limit: int = 0) -> Dict[str, int]:
    """FSDD isolated digits as a 10-keyword task, speaker-disjoint test set (module docstring).

    ``limit`` > 0 keeps every k-th recording of each set so that at most ``limit`` remain (CI)."""
    from lhotse import CutSet
    rec_dir = os.path.join(corpus_dir, "recordings")
    if not os.path.isdir(rec_dir):
        raise BnnError(f"{rec_dir}: FSDD recordings folder not found")
    parts = {"train": [], "dev": [], "test": []}
    pat = re.compile(r"^([0-9])_([a-z]+)_([0-9]+)\.wav$")
    for name in sorted(os.listdir(rec_dir)):
        m = pat.match(name)
        if not m:
            continue
        digit, spk, take = int(m.group(1)), m.group(2), int(m.group(3))
        part = ("train" if take < 45 else "dev") if spk in FSDD_TRAIN_SPK else "test"
        parts[part].append((os.path.join(os.path.abspath(rec_dir), name), name[:-4],
                            DIGITS[digit], spk))
    if not parts["train"]:
        raise BnnError(f"{rec_dir}: no FSDD recordings ({{digit}}_{{speaker}}_{{take}}.wav)")
    counts = {}
    for part, items in parts.items():
        if limit > 0:
            items = items[::max(1, -(-len(items) // limit))]
        _write(CutSet.from_cuts(_cut(*it) for it in items),
               os.path.join(out_dir, f"cuts_{part}.jsonl.gz"))
        counts[part] = len(items)
    return counts


def _write(cuts, path: str) -> None:
    """Write a CutSet atomically (temporary name, then rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.jsonl.gz"
    cuts.to_file(tmp)
    os.replace(tmp, path)


def subsample(path: str, limit: int) -> int:
    """Keep every k-th cut of ``path`` (k = ceil(n / limit)), rewriting it; returns the count."""
    from lhotse import CutSet
    cuts = list(load_cuts(path))
    kept = cuts[::max(1, -(-len(cuts) // limit))]
    _write(CutSet.from_cuts(kept), path)
    return len(kept)


def load_cuts(path: str):
    from lhotse import load_manifest_lazy
    if not os.path.isfile(path):
        raise BnnError(f"{path}: cut manifest not found")
    return load_manifest_lazy(path)


def labels_of(cuts, task: str) -> List[int]:
    cl = classes(task)
    return [cl.index(class_of(task, c.supervisions[0].text if c.supervisions else "")) for c in cuts]
