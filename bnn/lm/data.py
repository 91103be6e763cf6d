"""Word corpora for LSTM LMs: vocabulary, token ids and the batching of Zaremba et al. 2014
(the token stream is cut into ``batch`` parallel streams and read in ``bptt``-long chunks).

Each text line is one sentence followed by ``<eos>``; empty lines are skipped.  Words outside the
vocabulary become ``<unk>`` (WikiText already writes ``<unk>``; with ``min_count > 1`` rarer words
join it).  ``<eos>`` doubles as the sentence start context when scoring single sentences.
"""
from collections import Counter
from typing import Dict, Iterable, List, Optional, Sequence

import torch

from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

UNK, EOS = "<unk>", "<eos>"


class Vocab:
    """Word <-> id map; ids 0 and 1 are ``<eos>`` and ``<unk>``."""

    def __init__(self, words: Sequence[str]):
        self.words = [EOS, UNK] + [w for w in words if w not in (EOS, UNK)]
        self.index: Dict[str, int] = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise BnnError("vocabulary has duplicate words")

    def __len__(self):
        return len(self.words)

    @property
    def eos(self) -> int:
        return 0

    @property
    def unk(self) -> int:
        return 1

    def ids(self, words: Iterable[str]) -> List[int]:
        return [self.index.get(w, 1) for w in words]

    def write(self, path: str) -> None:
        with atomic_write(path) as f:
            f.writelines(w + "\n" for w in self.words)

    @classmethod
    def read(cls, path: str) -> "Vocab":
        try:
            with open(path, encoding="utf-8") as f:
                words = [line.strip() for line in f if line.strip()]
        except OSError as err:
            raise BnnError(f"{path}: cannot read vocabulary ({err})") from None
        if words[:2] != [EOS, UNK]:
            raise BnnError(f"{path}: a vocabulary starts with {EOS} and {UNK}")
        return cls(words)


def read_sentences(path: str, utt_ids: bool = False, upper: bool = False) -> List[List[str]]:
    """Non-empty lines as word lists (``utt_ids``: drop the first field, as in a Kaldi text file)."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                words = line.split()
                if utt_ids:
                    words = words[1:]
                if words:
                    out.append([w.upper() for w in words] if upper else words)
    except (OSError, UnicodeDecodeError) as err:
        raise BnnError(f"{path}: cannot read text ({err})") from None
    if not out:
        raise BnnError(f"{path}: no sentences")
    return out


def build_vocab(sentences: Iterable[Sequence[str]], min_count: int = 1, max_size: Optional[int] = None) -> Vocab:
    """Words seen ``min_count`` times or more, most frequent first (ties in first-seen order)."""
    counts = Counter(w for s in sentences for w in s)
    words = [w for w, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= min_count]
    if max_size:
        words = words[:max_size]
    return Vocab(words)


def vocab_from_symbols(path: str) -> Vocab:
    """The words of a Kaldi symbol table (``words.txt``) without ``<eps>``, ``#...``, ``<s>``, ``</s>``."""
    words = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0] not in ("<eps>", "<s>", "</s>") and not parts[0].startswith("#"):
                    words.append(parts[0])
    except OSError as err:
        raise BnnError(f"{path}: cannot read symbol table ({err.strerror})") from None
    if not words:
        raise BnnError(f"{path}: no words")
    return Vocab(words)


def tokens(sentences: Iterable[Sequence[str]], vocab: Vocab) -> torch.Tensor:
    """The id stream ``w1 .. wn <eos> w1 .. <eos>`` of a corpus (int64)."""
    ids: List[int] = []
    for s in sentences:
        ids.extend(vocab.ids(s))
        ids.append(vocab.eos)
    return torch.tensor(ids, dtype=torch.long)


def batchify(ids: torch.Tensor, batch: int) -> torch.Tensor:
    """(T, batch) matrix of ``batch`` contiguous streams (the tail that does not fill a row is dropped)."""
    n = ids.numel() // batch
    if n < 2:
        raise BnnError(f"corpus of {ids.numel()} tokens is too small for batch size {batch}")
    return ids[: n * batch].view(batch, n).t().contiguous()


def chunks(data: torch.Tensor, bptt: int):
    """Yield (input, target) pairs of at most ``bptt`` steps from a batchified stream."""
    for i in range(0, data.size(0) - 1, bptt):
        n = min(bptt, data.size(0) - 1 - i)
        yield data[i:i + n], data[i + 1:i + 1 + n]


def split_heldout(path: str, heldout_fraction: float, utt_ids: bool = False):
    """Sentences of ``path`` split by lines: the first ``1 - f`` for training, the last ``f`` held
    out (for the learning-rate schedule).  Returns (train, heldout)."""
    sents = read_sentences(path, utt_ids)
    if not 0.0 < heldout_fraction < 1.0:
        raise BnnError(f"heldout fraction must be in (0, 1), got {heldout_fraction}")
    cut = int(round(len(sents) * (1.0 - heldout_fraction)))
    if cut < 1 or cut >= len(sents):
        raise BnnError(f"{path}: {len(sents)} sentences cannot be split with held-out fraction {heldout_fraction}")
    return sents[:cut], sents[cut:]

