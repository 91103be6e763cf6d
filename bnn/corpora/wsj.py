"""Wall Street Journal from the LDC discs (WSJ0 LDC93S6B, WSJ1 LDC94S13B) to Kaldi data dirs.

The sets of Lu, Rao & Renals 2017 (and Kaldi's egs/wsj/s5, local/wsj_data_prep.sh):

* ``train_si284``: the SI-284 training set, the utterances listed in
  ``wsj0/doc/indices/train/tr_s_wv1.ndx`` (SI-84) and ``wsj1/doc/indices/si_tr_s.ndx``;
* ``test_dev93``: ``wsj1/doc/indices/h1_p0.ndx`` (the Hub 1 20k development test);
* ``test_eval92``: ``wsj0/doc/indices/test/nvp/si_et_20.ndx`` (the Nov'92 20k open-vocabulary
  non-verbalised-punctuation evaluation).

LDC layout.  Each disc is a directory named like ``11-14.1`` (WSJ0) or ``13-34.1`` (WSJ1).  An
index file (``.ndx``) lists one utterance per line as ``<disc>:<path>``, e.g.
``11_14_1:wsj0/si_tr_s/01i/01ia0101.wv1`` (disc ``11_14_1`` = directory ``11-14.1``); lines
starting with ``;`` are comments.  Kaldi's wsj_data_prep.sh leaves out speaker 401 of the SI-84
training list (``grep -v -i 11-2.1/wsj0/si_tr_s/401``), and so do we (:data:`EXCLUDE`); an
utterance without a ``.dot`` prompt line is skipped with a warning.  The
utterance id is the file name without ``.wv1``; the speaker is its first 3 characters.  Prompts
(transcripts) are in ``.dot`` files next to the audio, one per speaker session, named after the
first 6 characters of the utterance id plus ``00.dot`` (``01ia0100.dot``), lines
``<text> (<utt-id>)`` (Kaldi's find_transcripts.pl).  Audio is NIST SPHERE (``.wv1``: the
Sennheiser close-talking microphone), on the real discs shorten-compressed, so ``wav.scp``
entries are Kaldi's pipes ``sph2pipe -f wav -p -c 1 <file> |``; without sph2pipe, uncompressed
SPHERE is converted by ``bnn-sph2wav`` (:func:`read_sphere`), and shorten-compressed files need
sph2pipe ($KALDI_ROOT/tools/sph2pipe_v2.5).

Transcript normalisation (after Kaldi's normalize_transcript.pl; the .dot conventions are in
the WSJ0 doc ``dot_spec.doc``): words upper-cased; noise markers ``[...]`` become ``<NOISE>``
(the tokens of ``[<...]``/``[...>]`` continuation markers are dropped); ``*word*`` (mispronounced)
-> ``WORD``; ``<word>`` (inserted by the reader) -> ``WORD``; ``~`` (truncated-word marker) and
``\\`` (escapes of verbalised punctuation such as ``\\.PERIOD``) removed; the ``.`` silence marker
and ``--`` are dropped.
"""
from __future__ import annotations

import io
import logging
import os
import re
import wave
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from bnn.corpora.common import write_data_dir
from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)

# Left out of every set, as Kaldi's local/wsj_data_prep.sh does (path fragment, lower case).
EXCLUDE = ("wsj0/si_tr_s/401/",)

# set name -> (disc dir family, index file below the disc's top dir)
SETS: Dict[str, List[Tuple[str, str]]] = {
    "train_si284": [("wsj0", "wsj0/doc/indices/train/tr_s_wv1.ndx"),
                    ("wsj1", "wsj1/doc/indices/si_tr_s.ndx")],
    "test_dev93": [("wsj1", "wsj1/doc/indices/h1_p0.ndx")],
    "test_eval92": [("wsj0", "wsj0/doc/indices/test/nvp/si_et_20.ndx")],
}


# ----------------------------------------------------------------------------- discs and indices
def find_discs(roots: Sequence[str]) -> Dict[str, str]:
    """Map disc ids (``11_14_1``) to their directories: every ``NN-NN.N`` dir in ``roots``
    (the LDC distribution dirs, e.g. the WSJ0 and WSJ1 tops) or directly below them."""
    discs: Dict[str, str] = {}
    for root in roots:
        if not os.path.isdir(root):
            raise BnnError(f"{root}: WSJ corpus dir does not exist")
        cands = [root] + [os.path.join(root, d) for d in sorted(os.listdir(root))]
        for c in cands:
            name = os.path.basename(os.path.normpath(c))
            if os.path.isdir(c) and re.fullmatch(r"\d+-\d+\.\d+", name):
                discs[name.replace("-", "_").replace(".", "_")] = c
    if not discs:
        raise BnnError(f"{', '.join(roots)}: no LDC disc dirs (named like 11-14.1 or 13-34.1) found")
    return discs


def find_index(discs: Dict[str, str], rel: str) -> str:
    """The index file ``rel`` (e.g. ``wsj0/doc/indices/...``) on whichever disc holds it."""
    for d in sorted(discs.values()):
        p = os.path.join(d, rel)
        if os.path.isfile(p):
            return p
    raise BnnError(f"{rel}: index file not found on any disc ({', '.join(sorted(discs))})")


def read_ndx(path: str, discs: Dict[str, str]) -> List[str]:
    """Absolute ``.wv1`` paths listed in an LDC ``.ndx`` file (``<disc>:<path>`` lines)."""
    out = []
    with open(path, encoding="latin-1") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            m = re.fullmatch(r"(\d+_\d+_\d+):\s*/?(\S+)", line)
            if not m:
                raise BnnError(f"{path}: line {n}: expected '<disc>:<path>', got '{line}'")
            disc, rel = m.groups()
            if any(x in rel.lower() for x in EXCLUDE):
                continue
            if disc not in discs:
                raise BnnError(f"{path}: line {n}: disc {disc} ({disc.replace('_', '-', 1).replace('_', '.')}) "
                               "not found; give every WSJ disc dir")
            p = os.path.join(discs[disc], rel)
            if not p.lower().endswith(".wv1"):
                p += ".wv1"
            if not os.path.isfile(p):
                # The discs are case-inconsistent (Kaldi's ndx2flist.pl lower-cases).
                alt = os.path.join(discs[disc], rel.lower())
                if not alt.lower().endswith(".wv1"):
                    alt += ".wv1"
                if os.path.isfile(alt):
                    p = alt
                else:
                    raise BnnError(f"{path}: line {n}: audio file {p} not found")
            out.append(p)
    return out


# ----------------------------------------------------------------------------- transcripts
def read_dot(path: str) -> Dict[str, str]:
    """``{utt-id: raw prompt}`` from one ``.dot`` file (lines ``<text> (<utt-id>)``)."""
    out = {}
    with open(path, encoding="latin-1") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            m = re.fullmatch(r"(.*)\(\s*([0-9a-zA-Z]+)\s*\)", line)
            if not m:
                raise BnnError(f"{path}: line {n}: expected '<text> (<utterance-id>)'")
            out[m.group(2).lower()] = m.group(1).strip()
    return out


def normalize_transcript(text: str, noise: str = "<NOISE>") -> List[str]:
    """Words of a ``.dot`` prompt, normalised as in the module docstring."""
    words = []
    for tok in text.split():
        if tok.startswith("[") or tok.endswith("]"):
            if tok.startswith("[<") or tok.endswith(">]") or tok.startswith("[/") or tok.endswith("/]"):
                continue
            words.append(noise)
            continue
        if tok in (".", "--", "~"):
            continue
        tok = tok.replace("\\", "").replace("~", "")
        tok = tok.strip("*")
        if tok.startswith("<") and tok.endswith(">"):
            tok = tok[1:-1]
        if tok:
            words.append(tok.upper())
    return words


def transcripts_for(wav_paths: Iterable[str]) -> Dict[str, List[str]]:
    """Normalised transcripts of the ``.wv1`` files from the ``.dot`` files beside them;
    utterances without a prompt line are left out with a warning (as Kaldi does)."""
    cache: Dict[str, Dict[str, str]] = {}
    out: Dict[str, List[str]] = {}
    for p in wav_paths:
        utt = os.path.basename(p)[:-4].lower()
        dot = os.path.join(os.path.dirname(p), utt[:6] + "00.dot")
        if not os.path.isfile(dot) and os.path.isfile(dot.upper()):
            dot = dot.upper()
        if dot not in cache:
            cache[dot] = read_dot(dot) if os.path.isfile(dot) else {}
        if utt not in cache[dot]:
            log.warning("%s: no prompt for utterance %s (%s); skipping it", dot, utt, p)
            continue
        words = normalize_transcript(cache[dot][utt])
        if not words:
            log.warning("%s: empty prompt for utterance %s; skipping it", dot, utt)
            continue
        out[p] = words
    return out


# ----------------------------------------------------------------------------- SPHERE audio
def read_sphere(path: str) -> Tuple[int, np.ndarray]:
    """``(sample_rate, samples[n, channels] int16)`` of an uncompressed NIST SPHERE file.

    Header: ``NIST_1A``, the header size, then ``<key> -<type> <value>`` lines up to
    ``end_head``.  Shorten-compressed files (``sample_coding`` with ``shorten``, as on the WSJ
    discs) are refused with a message pointing to sph2pipe."""
    with open(path, "rb") as f:
        head = f.read(16)
        if not head.startswith(b"NIST_1A"):
            raise BnnError(f"{path}: not a NIST SPHERE file (no NIST_1A header)")
        try:
            size = int(head[8:16].strip())
        except ValueError:
            raise BnnError(f"{path}: bad SPHERE header size") from None
        f.seek(0)
        header = f.read(size).decode("latin-1")
        data = f.read()
    fields = {}
    for line in header.splitlines()[2:]:
        if line.strip() == "end_head":
            break
        parts = line.split(None, 2)
        if len(parts) == 3:
            fields[parts[0]] = parts[2].strip()
    coding = fields.get("sample_coding", "pcm")
    if "shorten" in coding or "wavpack" in coding or "ulaw" in coding or "alaw" in coding:
        raise BnnError(f"{path}: SPHERE sample_coding '{coding}' needs sph2pipe "
                       "($KALDI_ROOT/tools/sph2pipe_v2.5; put it on PATH)")
    try:
        rate, nchan = int(fields["sample_rate"]), int(fields.get("channel_count", "1"))
        width = int(fields.get("sample_n_bytes", "2"))
    except (KeyError, ValueError):
        raise BnnError(f"{path}: SPHERE header lacks sample_rate/channel_count/sample_n_bytes") from None
    if width != 2:
        raise BnnError(f"{path}: {width}-byte SPHERE samples are not supported (16-bit PCM only)")
    order = fields.get("sample_byte_format", "01")
    dtype = "<i2" if order == "01" else ">i2"
    n = int(fields.get("sample_count", len(data) // (2 * nchan)))
    samples = np.frombuffer(data[: n * nchan * 2], dtype=dtype).astype(np.int16)
    return rate, samples.reshape(-1, nchan)


def sphere_to_wav_bytes(path: str) -> bytes:
    """The RIFF wav bytes of an uncompressed SPHERE file (what ``sph2pipe -f wav`` writes)."""
    rate, samples = read_sphere(path)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


# ----------------------------------------------------------------------------- data dirs
def wav_command(path: str, sph2pipe: Optional[str]) -> str:
    """The wav.scp entry of one ``.wv1`` file: Kaldi's sph2pipe pipe, else ``bnn-sph2wav``."""
    if sph2pipe:
        return f"{sph2pipe} -f wav -p -c 1 {path} |"
    return f"bnn-sph2wav {path} |"


def prepare_wsj(wsj_dirs: Sequence[str], out_dir: str, sets: Sequence[str] = tuple(SETS),
                sph2pipe: Optional[str] = None) -> Dict[str, int]:
    """Write ``<out_dir>/<set>`` Kaldi data dirs (wav.scp, text, utt2spk, spk2utt) for ``sets``
    from the LDC discs under ``wsj_dirs``.  Returns ``{set: utterances}``."""
    discs = find_discs(wsj_dirs)
    counts = {}
    for name in sets:
        if name not in SETS:
            raise BnnError(f"unknown WSJ set {name} (known: {', '.join(SETS)})")
        paths: List[str] = []
        for _, rel in SETS[name]:
            paths += read_ndx(find_index(discs, rel), discs)
        texts = transcripts_for(paths)
        wav, text, spk = {}, {}, {}
        for p, words in texts.items():
            utt = os.path.basename(p)[:-4].lower()
            if utt in wav:
                raise BnnError(f"{p}: utterance {utt} listed twice in the {name} indices")
            wav[utt] = wav_command(os.path.abspath(p), sph2pipe)
            text[utt] = words
            spk[utt] = utt[:3]
        if not wav:
            raise BnnError(f"{name}: no utterances with transcripts found")
        write_data_dir(os.path.join(out_dir, name), wav, text, spk)
        counts[name] = len(wav)
        log.info("%s: %d utterances, %d speakers", name, len(wav), len(set(spk.values())))
    return counts


__all__ = ["SETS", "find_discs", "read_ndx", "read_dot", "normalize_transcript",
           "transcripts_for", "read_sphere", "sphere_to_wav_bytes", "prepare_wsj", "wav_command"]
