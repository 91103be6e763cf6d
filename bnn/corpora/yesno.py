"""Kaldi's yesno corpus: data dirs and dict dir exactly as ``egs/yesno/s5/local`` makes them.

Corpus (openslr.org resource 1, ``waves_yesno.tar.gz``): 60 wav files, 8 kHz, one speaker, 8
words each, named by their transcript: ``0_1_1_0_...wav`` with 0 = NO and 1 = YES.

Kaldi's ``local/prepare_data.sh`` lists the corpus directory (``ls -1``), puts line ``i`` of the
list (1-based) in train when ``i <= n/2`` and in test otherwise
(``create_yesno_waves_test_train.pl``), makes utterance ids from the file names without
``.wav`` and the text by mapping 0 -> NO, 1 -> YES (``create_yesno_txt.pl``), and gives every
utterance the speaker ``global``.  Its listing also contains the corpus ``README`` (61 lines: 30
train, 31 test), which ``utils/fix_data_dir.sh`` later drops from test; here only the 60 wav files
are listed, which gives the same 30/30 split directly (see the fixture
``kaldi_yesno_s5/README.md``).

``local/prepare_dict.sh`` copies ``input/lexicon.txt`` (``<SIL> SIL``, ``YES Y``, ``NO N``) and
writes ``silence_phones.txt`` = ``optional_silence.txt`` = ``SIL``, ``nonsilence_phones.txt``
= ``Y``, ``N`` (that order: ``prepare_lang.sh`` numbers phones in file order, giving Kaldi's
``phones.txt`` SIL=1 Y=2 N=3).

``wav.scp`` holds absolute paths, so the data dirs work from any directory.
"""
import logging
import os
import re
from typing import Dict, List, Tuple

from bnn.corpora.common import write_data_dir, write_dict_dir
from bnn.corpora.download import ensure_corpus
from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

YESNO_URL = "https://www.openslr.org/resources/1/waves_yesno.tar.gz"
NUM_WAVES = 60
SPEAKER = "global"
_NAME_RE = re.compile(r"^[01](_[01])*\.wav$")
WORDS = {"0": "NO", "1": "YES"}
LEXICON = [("<SIL>", ["SIL"]), ("YES", ["Y"]), ("NO", ["N"])]
SILENCE_PHONES = ["SIL"]
NONSILENCE_PHONES = ["Y", "N"]
OOV_WORD = "<SIL>"


def list_waves(corpus_dir: str) -> List[str]:
    """The corpus' wav file names, sorted like ``LC_ALL=C ls`` (other files are ignored)."""
    if not os.path.isdir(corpus_dir):
        raise BnnError(f"{corpus_dir}: yesno corpus directory not found")
    names = [n for n in os.listdir(corpus_dir) if n.endswith(".wav")]
    for n in names:
        if not _NAME_RE.match(n):
            raise BnnError(f"{os.path.join(corpus_dir, n)}: not a yesno file name "
                           f"(expected e.g. 0_1_1_0_0_1_0_1.wav)")
    return sorted(names, key=lambda n: n.encode("utf-8"))


def is_complete(corpus_dir: str) -> bool:
    """True when ``corpus_dir`` holds the 60 yesno wav files."""
    try:
        return len(list_waves(corpus_dir)) == NUM_WAVES
    except BnnError:
        return False


def split_waves(names: List[str]) -> Tuple[List[str], List[str]]:
    """Kaldi's split: the first ``floor(n/2)`` names are train, the rest test."""
    half = len(names) // 2
    return names[:half], names[half:]


def transcript(utt_id: str) -> List[str]:
    """Words of a yesno utterance from its id: ``0_1_1`` -> ``NO YES YES``."""
    return [WORDS[d] for d in utt_id.split("_")]


def prepare_yesno(corpus_dir: str, data_dir: str, train_name: str = "train_yesno",
                  test_name: str = "test_yesno") -> Dict[str, str]:
    """Write ``data_dir/{train_name,test_name}`` (wav.scp, text, utt2spk, spk2utt).

    Returns ``{set name: data dir}``.
    """
    names = list_waves(corpus_dir)
    if not names:
        raise BnnError(f"{corpus_dir}: no .wav files in the yesno corpus directory")
    corpus_abs = os.path.abspath(corpus_dir)
    out = {}
    for set_name, subset in zip((train_name, test_name), split_waves(names)):
        utts = [n[:-len(".wav")] for n in subset]
        wav_scp = {u: os.path.join(corpus_abs, u + ".wav") for u in utts}
        text = {u: transcript(u) for u in utts}
        utt2spk = {u: SPEAKER for u in utts}
        out[set_name] = os.path.join(data_dir, set_name)
        write_data_dir(out[set_name], wav_scp, text, utt2spk)
        logger.info("wrote %s (%d utterances)", out[set_name], len(utts))
    return out


def write_yesno_dict(dict_dir: str) -> None:
    """Write the yesno dict dir (Kaldi ``egs/yesno/s5/local/prepare_dict.sh``)."""
    write_dict_dir(dict_dir, LEXICON, SILENCE_PHONES, "SIL", silence_words=[OOV_WORD],
                   nonsilence_phones=NONSILENCE_PHONES)


def find_yesno(corpus_dir: str, download_dir: str, download: bool = True) -> str:
    """The yesno corpus directory: ``corpus_dir`` if complete, else downloaded into
    ``download_dir/waves_yesno``."""
    return ensure_corpus(corpus_dir, name="yesno", url=YESNO_URL, download_dir=download_dir,
                         extracted_subdir="waves_yesno", is_complete=is_complete,
                         download=download)
