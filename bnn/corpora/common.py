"""Writing the files a corpus preparation produces: Kaldi data dirs and dict dirs.

Formats (Kaldi, https://kaldi-asr.org/doc/data_prep.html):

* ``wav.scp``  ``<utt-id> <wav-path>``
* ``text``     ``<utt-id> <WORD> <WORD> ...``
* ``utt2spk``  ``<utt-id> <spk-id>``;  ``spk2utt``  ``<spk-id> <utt-id> <utt-id> ...``
* ``utt2dur``  ``<utt-id> <seconds>`` (optional; 6 significant digits like Kaldi's
  ``wav-to-duration``)

Every file is sorted by its first field in C-locale byte order (``LC_ALL=C sort``), which for
ASCII ids is Python's ``sorted`` on ``str``.  A dict dir (input of ``utils/prepare_lang.sh``)
holds ``lexicon.txt`` (``<word> <phone> ...``), ``nonsilence_phones.txt``,
``silence_phones.txt`` and ``optional_silence.txt`` (one phone per line); Kaldi's yesno recipe
also writes ``lexicon_words.txt`` (the lexicon without silence words), and so do we.

All files are written atomically (``bnn.utils.fileio.atomic_write``); the data-dir tables by
:func:`bnn.kaldi.datadir.write_data_dir`, after the checks a corpus preparation adds.
"""
import os
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

from bnn.kaldi import datadir
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write


def _c_sorted(keys: Iterable[str]) -> List[str]:
    """Sort like ``LC_ALL=C sort`` (:func:`bnn.kaldi.datadir.c_key`)."""
    return sorted(keys, key=datadir.c_key)


def _write_lines(path: str, lines: Iterable[str]) -> None:
    with atomic_write(path) as f:
        for line in lines:
            f.write(line + "\n")


def write_data_dir(data_dir: str, wav_scp: Mapping[str, str], text: Mapping[str, Sequence[str]],
                   utt2spk: Mapping[str, str],
                   utt2dur: Optional[Mapping[str, float]] = None) -> None:
    """Write ``wav.scp``, ``text``, ``utt2spk``, ``spk2utt`` (and ``utt2dur``) sorted by key.

    ``text`` maps an utterance id to its word list.  Raises :class:`BnnError` when the maps do not
    hold the same utterances, a transcript is empty, or an id contains whitespace.
    """
    utts = _c_sorted(wav_scp)
    for name, table in (("text", text), ("utt2spk", utt2spk)) + (
            (("utt2dur", utt2dur),) if utt2dur is not None else ()):
        if set(table) != set(wav_scp):
            missing = _c_sorted(set(wav_scp) ^ set(table))[0]
            raise BnnError(f"{os.path.join(data_dir, name)}: utterance {missing} is in only one "
                           f"of wav.scp and {name}")
    for utt in utts:
        if not utt or any(c.isspace() for c in utt):
            raise BnnError(f"{os.path.join(data_dir, 'wav.scp')}: bad utterance id {utt!r}")
        if not text[utt]:
            raise BnnError(f"{os.path.join(data_dir, 'text')}: empty transcript for utterance {utt}")
    # Kaldi requires utt2spk sorted both ways: utterance order must group speakers in sorted order.
    spk_order = [utt2spk[u] for u in utts]
    if spk_order != _c_sorted(spk_order):
        raise BnnError(f"{os.path.join(data_dir, 'utt2spk')}: utterance ids do not sort with their "
                       f"speakers (make the speaker id a prefix of the utterance id)")
    extra = {"utt2dur": {u: f"{utt2dur[u]:.6g}" for u in utts}} if utt2dur is not None else None
    datadir.write_data_dir(data_dir, utt2spk={u: utt2spk[u] for u in utts},
                           text={u: " ".join(text[u]) for u in utts},
                           wav_scp={u: wav_scp[u] for u in utts}, extra=extra)


def write_dict_dir(dict_dir: str, lexicon: Sequence[Tuple[str, Sequence[str]]],
                   silence_phones: Sequence[str], optional_silence: str,
                   silence_words: Iterable[str] = (),
                   nonsilence_phones: Optional[Sequence[str]] = None) -> None:
    """Write a Kaldi dict dir (input of ``utils/prepare_lang.sh``).

    ``lexicon`` lists ``(word, phones)``.  ``nonsilence_phones`` keeps its order (``prepare_lang.sh``
    numbers phones in file order: silence phones first, then these); by default it is every
    lexicon phone not in ``silence_phones``, sorted.  ``lexicon_words.txt`` omits the
    ``silence_words``.
    """
    silence_words = set(silence_words)
    if optional_silence not in silence_phones:
        raise BnnError(f"{dict_dir}/optional_silence.txt: {optional_silence} is not a silence phone")
    phones = set()
    for word, prons in lexicon:
        if not prons:
            raise BnnError(f"{dict_dir}/lexicon.txt: word {word} has no phones")
        phones.update(prons)
    if nonsilence_phones is None:
        nonsil = _c_sorted(phones - set(silence_phones))
    else:
        nonsil = list(nonsilence_phones)
        unknown = phones - set(silence_phones) - set(nonsil)
        if unknown:
            raise BnnError(f"{dict_dir}/lexicon.txt: phone {sorted(unknown)[0]} is in neither "
                           f"silence_phones.txt nor nonsilence_phones.txt")
    entries = sorted(lexicon, key=lambda e: (datadir.c_key(e[0]), tuple(e[1])))
    os.makedirs(dict_dir, exist_ok=True)
    _write_lines(os.path.join(dict_dir, "lexicon.txt"), (f"{w} {' '.join(p)}" for w, p in entries))
    _write_lines(os.path.join(dict_dir, "lexicon_words.txt"),
                 (f"{w} {' '.join(p)}" for w, p in entries if w not in silence_words))
    _write_lines(os.path.join(dict_dir, "nonsilence_phones.txt"), nonsil)
    _write_lines(os.path.join(dict_dir, "silence_phones.txt"), list(silence_phones))
    _write_lines(os.path.join(dict_dir, "optional_silence.txt"), [optional_silence])
