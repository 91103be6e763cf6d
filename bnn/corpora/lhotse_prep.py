"""Raw corpora to Kaldi data dirs through lhotse (the data layer of the corpus recipes).

* AMI (Lu et al. 2017 Table 4): :func:`prepare_ami` runs ``lhotse.recipes.prepare_ami`` (IHM by
  default, the official ``full-corpus-asr`` partition: train / dev / test, Kaldi text
  normalisation) and exports each split with ``lhotse.kaldi.export_to_kaldi`` to
  ``<out>/<mic>_{train,dev,eval}`` (Kaldi's ami/s5b ``data/<mic>/{train,dev,eval}`` flattened,
  as steps/kaldi_dropin.sh names them when importing; lhotse's ``test`` is ``eval``).
* Switchboard (Qian & Xiang 2019): :func:`prepare_switchboard` runs
  ``lhotse.recipes.prepare_switchboard`` (LDC97S62 + the ms98 transcripts) and exports it to
  ``<out>/train``, then splits it as Kaldi's swbd/s5c does (``utils/subset_data_dir.sh --first
  data/train 4000 data/train_dev``, the rest ``train_nodup``; Kaldi's removal of utterances
  repeated more than 300 times is not done); eval2000 (LDC2002S09 + LDC2002T43) through
  ``lhotse.recipes.prepare_eval2000`` to ``<out>/eval2000``.  RT03S has no lhotse recipe: it is
  available through --kaldi-dir only.
* :func:`write_cmudict_dict`: a Kaldi dict dir from a CMUdict-format lexicon (``WORD  P1 P2``,
  alternates ``WORD(2)``, ``;;;`` comments, stress digits removed) for the words of the
  training transcripts, with ``<UNK> SPN`` and ``<NOISE> NSN``; silence SIL (optional).

lhotse's exported ``wav.scp`` entries are pipes for SPHERE and multi-channel audio
(``sph2pipe ... | ffmpeg ... |``); steps/kaldi_dropin.sh and bnn-check-kaldi-dir check their tools.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bnn.corpora.common import write_dict_dir
from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)

AMI_SPLITS = {"train": "train", "dev": "dev", "test": "eval"}


def _need_dir(path: str, what: str) -> None:
    if not path or not os.path.isdir(path):
        raise BnnError(f"{path or '(none)'}: {what} dir does not exist")


def export(recordings, supervisions, dest: str) -> int:
    """``lhotse.kaldi.export_to_kaldi`` into ``dest``; returns the number of utterances."""
    from lhotse.kaldi import export_to_kaldi
    os.makedirs(dest, exist_ok=True)
    export_to_kaldi(recordings, supervisions, dest, prefix_spk_id=True)
    with open(os.path.join(dest, "utt2spk")) as f:
        return sum(1 for _ in f)


def prepare_ami(corpus_dir: str, out_dir: str, mic: str = "ihm",
                annotations_dir: Optional[str] = None) -> Dict[str, int]:
    """AMI ``mic`` splits to ``<out_dir>/<mic>_{train,dev,eval}`` (see the module docstring)."""
    from lhotse.recipes import prepare_ami as lhotse_prepare_ami
    _need_dir(corpus_dir, "AMI corpus")
    manifests = lhotse_prepare_ami(corpus_dir, annotations_dir=annotations_dir, mic=mic,
                                   partition="full-corpus-asr", normalize_text="kaldi")
    counts = {}
    for split, name in AMI_SPLITS.items():
        if split not in manifests:
            raise BnnError(f"{corpus_dir}: lhotse's AMI recipe gave no '{split}' split")
        m = manifests[split]
        counts[name] = export(m["recordings"], m["supervisions"], os.path.join(out_dir, f"{mic}_{name}"))
    return counts


def prepare_switchboard(swbd_dir: str, out_dir: str, transcripts_dir: Optional[str] = None,
                        eval2000_dir: Optional[str] = None, num_dev: int = 4000) -> Dict[str, int]:
    """Switchboard to ``<out_dir>/{train,train_dev,train_nodup}`` (+ ``eval2000``)."""
    from lhotse.recipes import prepare_switchboard as lhotse_prepare_switchboard
    from bnn.kaldi.datadir import subset_data_dir
    _need_dir(swbd_dir, "Switchboard (LDC97S62)")
    m = lhotse_prepare_switchboard(swbd_dir, transcripts_dir=transcripts_dir, absolute_paths=True)
    counts = {"train": export(m["recordings"], m["supervisions"], os.path.join(out_dir, "train"))}
    if counts["train"] <= num_dev:
        raise BnnError(f"{swbd_dir}: only {counts['train']} utterances, not more than the "
                       f"{num_dev} held out for train_dev")
    subset_data_dir(os.path.join(out_dir, "train"), os.path.join(out_dir, "train_dev"),
                    mode="first", num=num_dev)
    subset_data_dir(os.path.join(out_dir, "train"), os.path.join(out_dir, "train_nodup"),
                    mode="last", num=counts["train"] - num_dev)
    counts["train_dev"], counts["train_nodup"] = num_dev, counts["train"] - num_dev
    if eval2000_dir:
        from lhotse.recipes import prepare_eval2000
        _need_dir(eval2000_dir, "eval2000 (LDC2002S09/LDC2002T43)")
        e = prepare_eval2000(eval2000_dir, output_dir=None, absolute_paths=True)
        counts["eval2000"] = export(e["recordings"], e["supervisions"],
                                    os.path.join(out_dir, "eval2000"))
    return counts


# ----------------------------------------------------------------------------- lexicon
def read_cmudict(path: str) -> Dict[str, List[Tuple[str, ...]]]:
    """``{WORD: [prons]}`` of a CMUdict-format file; ``WORD(2)`` merged under ``WORD``, stress
    digits removed (CMUdict's ``AH0`` -> ``AH``), duplicate pronunciations dropped."""
    lex: Dict[str, List[Tuple[str, ...]]] = {}
    try:
        with open(path, encoding="latin-1") as f:
            for n, line in enumerate(f, 1):
                if not line.strip() or line.startswith(";;;"):
                    continue
                parts = line.split()
                if len(parts) < 2:
                    raise BnnError(f"{path}: line {n}: expected '<word> <phone> ...'")
                word = re.sub(r"\(\d+\)$", "", parts[0]).upper()
                pron = tuple(re.sub(r"\d$", "", p).upper() for p in parts[1:])
                if pron not in lex.setdefault(word, []):
                    lex[word].append(pron)
    except OSError as err:
        raise BnnError(f"{path}: cannot read lexicon ({err.strerror})") from None
    if not lex:
        raise BnnError(f"{path}: empty lexicon")
    return lex


def write_cmudict_dict(lexicon: str, text_files: Sequence[str], dict_dir: str,
                       unk: str = "<UNK>", noise: str = "<NOISE>") -> Tuple[int, int]:
    """Dict dir for the words of the Kaldi ``text`` files found in ``lexicon``; other words
    map to ``unk`` at training time.  Returns ``(words in lexicon, words without pronunciation)``."""
    lex = read_cmudict(lexicon)
    words = set()
    for t in text_files:
        with open(t, encoding="utf-8") as f:
            for line in f:
                words.update(line.split()[1:])
    words -= {unk, noise}
    entries = [(w, list(p)) for w in sorted(words) if w in lex for p in lex[w]]
    missing = len([w for w in words if w not in lex])
    if not entries:
        raise BnnError(f"{lexicon}: none of the {len(words)} transcript words has a pronunciation")
    entries += [(unk, ["SPN"]), (noise, ["NSN"]), ("<SIL>", ["SIL"])]
    write_dict_dir(dict_dir, entries, silence_phones=["SIL", "SPN", "NSN"], optional_silence="SIL",
                   silence_words=[unk, noise, "<SIL>"])
    log.info("%s: %d words with pronunciations, %d without (mapped to %s)", dict_dir,
             len({e[0] for e in entries}) - 3, missing, unk)
    return len({e[0] for e in entries}) - 3, missing


__all__ = ["prepare_ami", "prepare_switchboard", "export", "read_cmudict", "write_cmudict_dict",
           "AMI_SPLITS"]
