"""Kaldi data directories: read, write, validate, fix, split, subset and copy.

A Kaldi data directory (``data/train``) is a set of text tables, one entry per line, ``<key> <value>``,
keys sorted in C byte order (``LC_ALL=C sort``), each key at most once
(Kaldi: egs/wsj/s5/utils/validate_data_dir.sh, https://kaldi-asr.org/doc/data_prep.html):

=====================  ==========  ===================================================================
file                   key         value
=====================  ==========  ===================================================================
``utt2spk``            utterance   speaker id (one token)
``spk2utt``            speaker     utterance ids (derived from ``utt2spk``)
``text``               utterance   transcript (words separated by whitespace)
``wav.scp``            utterance   extended filename: ``path``, ``cmd args |`` (pipe), ``ark:offset``
                       (recording  when ``segments`` exists)
``segments``           utterance   ``<recording-id> <start-s> <end-s> [<channel>]`` (end -1: to the end)
``utt2dur``            utterance   duration in seconds
``utt2num_frames``     utterance   number of feature frames
``feats.scp``          utterance   ``ark-path:byte-offset`` of the feature matrix
``cmvn.scp``           speaker     ``ark-path:byte-offset`` of the 2 x (dim+1) CMVN statistics
``spk2gender``         speaker     ``m`` or ``f``
``reco2file_and_channel``, ``reco2dur``   recording
=====================  ==========  ===================================================================

Tables keep each line's raw text, so filtering a directory (``split_data``, ``subset_data_dir``,
``fix_data_dir``) reproduces Kaldi's ``filter_scp.pl`` output byte for byte.  Every user error is a
one-line :class:`~bnn.utils.errors.BnnError` naming the file, the line and the key.

This module only needs the standard library (the shell layer in ``utils/`` runs it with whatever
``python3`` is on ``PATH``); :func:`load_wav` imports kaldiio when called.
"""
from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

#: Tables keyed by utterance id (``wav.scp`` too, unless ``segments`` exists).
UTT_FILES = ("utt2spk", "text", "feats.scp", "segments", "utt2dur", "utt2num_frames", "utt2lang",
             "utt2uniq", "utt2warp", "utt2category", "vad.scp", "text.orig")
#: Tables keyed by speaker id.
SPK_FILES = ("cmvn.scp", "spk2gender", "spk2warp")
#: Tables keyed by recording id (``wav.scp`` too, when ``segments`` exists).
RECO_FILES = ("reco2file_and_channel", "reco2dur")
#: Files copied unchanged into subsets and splits.
PLAIN_FILES = ("frame_shift",)


def c_key(s: str) -> bytes:
    """Sort key equal to ``LC_ALL=C sort``: byte order of the UTF-8 encoding."""
    return s.encode("utf-8", "surrogateescape")


class Table(dict):
    """An ordered ``key -> value`` mapping read from one Kaldi table file.

    ``value`` is the rest of the line after the first run of whitespace, stripped;
    ``raw[key]`` is the whole line (no newline) and ``line[key]`` its 1-based line number.
    """

    def __init__(self, path: str = "<memory>"):
        super().__init__()
        self.path = path
        self.raw: Dict[str, str] = {}
        self.line: Dict[str, int] = {}

    def where(self, key: str) -> str:
        """``'<path>: line <n>'`` for messages."""
        return f"{self.path}: line {self.line.get(key, '?')}"


def read_table(path: str, *, check_sorted: bool = True, check_unique: bool = True,
               allow_empty_value: bool = True) -> Table:
    """Read a Kaldi table file (``<key> <value>`` lines) into a :class:`Table`.

    Raises :class:`BnnError` (``<path>: line <n>: ...``) for an unreadable file, invalid UTF-8, a
    carriage return (CRLF line endings), an empty line, a duplicate key (``check_unique``), a key
    smaller than its predecessor in C byte order (``check_sorted``), or a line with only a key
    (unless ``allow_empty_value``).
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise BnnError(f"{path}: cannot read: {err.strerror}") from None
    table = Table(path)
    prev: Optional[str] = None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, bline in enumerate(lines, 1):
        try:
            line = bline.decode("utf-8")
        except UnicodeDecodeError:
            raise BnnError(f"{path}: line {n}: not valid UTF-8") from None
        if "\r" in line:
            # Kaldi's validate_text.pl rejects these too: the words would end in \r (OOVs).
            raise BnnError(f"{path}: line {n}: carriage return (CRLF/DOS line ending); convert "
                           f"the file with dos2unix or tr -d '\\r'")
        fields = line.split(None, 1)
        if not fields:
            raise BnnError(f"{path}: line {n}: empty line")
        if line[0].isspace():
            raise BnnError(f"{path}: line {n}: line starts with whitespace")
        key = fields[0]
        value = fields[1].strip() if len(fields) > 1 else ""
        if not value and not allow_empty_value:
            raise BnnError(f"{path}: line {n}: key '{key}' has no value")
        if key in table:
            if check_unique:
                raise BnnError(f"{path}: line {n}: duplicate key '{key}' (first at line {table.line[key]})")
            continue
        if check_sorted and prev is not None and c_key(key) < c_key(prev):
            raise BnnError(f"{path}: line {n}: keys are not sorted: '{key}' after '{prev}' "
                           f"(sort with LC_ALL=C, or run utils/fix_data_dir.sh)")
        table[key] = value
        table.raw[key] = line
        table.line[key] = n
        prev = key
    return table


def write_table(path: str, entries: Union[Mapping[str, object], Iterable[Tuple[str, object]]],
                *, sort: bool = True) -> None:
    """Write ``key value`` lines atomically; ``value`` may be a string, a number or a list of tokens.

    With ``sort`` the keys are written in C byte order (as ``LC_ALL=C sort``).
    """
    items = list(entries.items()) if isinstance(entries, Mapping) else list(entries)
    if sort:
        items.sort(key=lambda kv: c_key(kv[0]))
    with atomic_write(path) as f:
        for key, value in items:
            if isinstance(value, (list, tuple)):
                value = " ".join(str(v) for v in value)
            value = str(value)
            f.write(f"{key} {value}\n" if value != "" else f"{key}\n")


def write_raw_lines(path: str, table: Table, keys: Iterable[str]) -> None:
    """Write ``table.raw[key]`` for ``keys`` (Kaldi filter_scp.pl: lines copied unchanged)."""
    with atomic_write(path) as f:
        for key in keys:
            f.write(table.raw[key] + "\n")


# ---------------------------------------------------------------------------------------------
# utt2spk <-> spk2utt


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> Dict[str, List[str]]:
    """``spk -> [utt, ...]``; speakers in order of first appearance, utterances in input order
    (Kaldi utils/utt2spk_to_spk2utt.pl)."""
    spk2utt: Dict[str, List[str]] = {}
    for utt, spk in utt2spk.items():
        spk2utt.setdefault(spk.split()[0] if spk else spk, []).append(utt)
    return spk2utt


def spk2utt_to_utt2spk(spk2utt: Mapping[str, Union[str, Sequence[str]]]) -> Dict[str, str]:
    """``utt -> spk`` in spk2utt order (Kaldi utils/spk2utt_to_utt2spk.pl)."""
    utt2spk: Dict[str, str] = {}
    for spk, utts in spk2utt.items():
        for utt in (utts.split() if isinstance(utts, str) else utts):
            utt2spk[utt] = spk
    return utt2spk


# ---------------------------------------------------------------------------------------------
# wav.scp entries and segments


@dataclass(frozen=True)
class RxFilename:
    """A Kaldi extended input filename (Kaldi src/util/kaldi-io.h, ``ClassifyRxfilename``).

    ``kind`` is ``"file"`` (plain path), ``"pipe"`` (``cmd args |``: ``target`` is the command),
    ``"offset"`` (``path:byte-offset`` into an ark: ``target`` is the path) or ``"stdin"`` (``-``).
    """
    kind: str
    target: str
    offset: Optional[int] = None


def parse_rxfilename(value: str) -> RxFilename:
    """Classify a ``wav.scp`` / ``feats.scp`` value as Kaldi does."""
    v = value.strip()
    if v in ("", "-"):
        return RxFilename("stdin", "-")
    if v.endswith("|"):
        return RxFilename("pipe", v[:-1].rstrip())
    head, sep, tail = v.rpartition(":")
    if sep and head and tail.isdigit():
        return RxFilename("offset", head, int(tail))
    return RxFilename("file", v)


def load_wav(value: str, where: str = "wav.scp"):
    """Read one ``wav.scp`` value (path, ``cmd |`` or ``ark:offset``) with kaldiio.

    Returns ``(sample_rate, samples)`` with samples as stored (int16 for 16-bit PCM).
    """
    import kaldiio  # noqa: PLC0415 - optional for the pure-table functions
    try:
        result = kaldiio.load_mat(value)
    except Exception as err:  # noqa: BLE001 - any reader/pipe failure is a user error here
        raise BnnError(f"{where}: cannot read audio '{value}': {err}") from None
    if not isinstance(result, tuple):
        raise BnnError(f"{where}: '{value}' is not audio (got a matrix)")
    return result


@dataclass(frozen=True)
class Segment:
    """One ``segments`` line: ``<utt> <reco> <start> <end> [<channel>]`` (seconds; end -1 = to the end)."""
    reco: str
    start: float
    end: float
    channel: Optional[int] = None


def parse_segments(table: Table) -> Dict[str, Segment]:
    """Parse a ``segments`` table, checking field count, numbers and ``start < end``."""
    out: Dict[str, Segment] = {}
    for utt, value in table.items():
        f = value.split()
        if len(f) not in (3, 4):
            raise BnnError(f"{table.where(utt)}: segment '{utt}' needs <recording> <start> <end> "
                           f"[<channel>], got {len(f)} fields")
        try:
            start, end = float(f[1]), float(f[2])
            channel = int(f[3]) if len(f) == 4 else None
        except ValueError:
            raise BnnError(f"{table.where(utt)}: segment '{utt}' has a non-numeric time or channel") from None
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or (end != -1 and end <= start):
            raise BnnError(f"{table.where(utt)}: segment '{utt}' has bad times start={f[1]} end={f[2]} "
                           f"(need 0 <= start < end, or end = -1)")
        out[utt] = Segment(f[0], start, end, channel)
    return out


# ---------------------------------------------------------------------------------------------
# The directory


class DataDir:
    """A Kaldi data directory; tables are read (and checked for order/duplicates) on first use."""

    def __init__(self, path: str):
        self.path = path.rstrip("/") or "/"
        if not os.path.isdir(self.path):
            raise BnnError(f"{self.path}: no such data directory")
        self._tables: Dict[str, Table] = {}

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def has(self, name: str) -> bool:
        return os.path.isfile(self.file(name))

    def table(self, name: str) -> Table:
        """The table ``name`` (``BnnError`` when missing, unsorted or with duplicate keys)."""
        if name not in self._tables:
            if not self.has(name):
                raise BnnError(f"{self.file(name)}: no such file")
            self._tables[name] = read_table(self.file(name))
        return self._tables[name]

    @property
    def utt2spk(self) -> Table:
        return self.table("utt2spk")

    @property
    def text(self) -> Table:
        return self.table("text")

    @property
    def wav_scp(self) -> Table:
        return self.table("wav.scp")

    @property
    def feats_scp(self) -> Table:
        return self.table("feats.scp")

    @property
    def cmvn_scp(self) -> Table:
        return self.table("cmvn.scp")

    @property
    def segments(self) -> Optional[Dict[str, Segment]]:
        return parse_segments(self.table("segments")) if self.has("segments") else None

    def utts(self) -> List[str]:
        return list(self.utt2spk)

    def spk2utt(self) -> Dict[str, List[str]]:
        """From ``spk2utt`` if present, else derived from ``utt2spk``."""
        if self.has("spk2utt"):
            return {k: v.split() for k, v in self.table("spk2utt").items()}
        return utt2spk_to_spk2utt(self.utt2spk)

    def speakers(self) -> List[str]:
        return list(utt2spk_to_spk2utt(self.utt2spk))

    def utt2dur(self) -> Dict[str, float]:
        """Durations from ``utt2dur`` (or ``segments`` when present)."""
        if self.has("utt2dur"):
            return {k: _float(self.table("utt2dur"), k) for k in self.table("utt2dur")}
        seg = self.segments
        if seg is not None and all(s.end != -1 for s in seg.values()):
            return {k: s.end - s.start for k, s in seg.items()}
        raise BnnError(f"{self.file('utt2dur')}: no such file (no utt2dur and no usable segments)")

    def wav_entries(self) -> Dict[str, RxFilename]:
        return {k: parse_rxfilename(v) for k, v in self.wav_scp.items()}


def _float(table: Table, key: str) -> float:
    try:
        value = float(table[key].split()[0])
    except (ValueError, IndexError):
        raise BnnError(f"{table.where(key)}: '{key}' has a non-numeric value '{table[key]}'") from None
    return value


def write_data_dir(path: str, *, utt2spk: Mapping[str, str], text: Optional[Mapping[str, str]] = None,
                   wav_scp: Optional[Mapping[str, str]] = None, segments: Optional[Mapping] = None,
                   utt2dur: Optional[Mapping[str, float]] = None,
                   spk2gender: Optional[Mapping[str, str]] = None,
                   extra: Optional[Mapping[str, Mapping[str, object]]] = None) -> None:
    """Write a data directory from dictionaries (all sorted in C order), with ``spk2utt`` derived.

    ``segments`` values are :class:`Segment` or ``(reco, start, end)`` tuples; ``utt2dur`` values
    are written with Kaldi's ``%g``-like formatting of Python ``repr`` trimmed to 6 decimals.
    ``extra`` maps further file names to tables.
    """
    os.makedirs(path, exist_ok=True)
    write_table(os.path.join(path, "utt2spk"), utt2spk)
    u2s_sorted = dict(sorted(utt2spk.items(), key=lambda kv: c_key(kv[0])))
    write_table(os.path.join(path, "spk2utt"), utt2spk_to_spk2utt(u2s_sorted))
    if text is not None:
        write_table(os.path.join(path, "text"), text)
    if wav_scp is not None:
        write_table(os.path.join(path, "wav.scp"), wav_scp)
    if segments is not None:
        rows = {}
        for utt, seg in segments.items():
            if isinstance(seg, Segment):
                seg = (seg.reco, seg.start, seg.end) + ((seg.channel,) if seg.channel is not None else ())
            rows[utt] = [seg[0]] + [_fmt_num(x) for x in seg[1:]]
        write_table(os.path.join(path, "segments"), rows)
    if utt2dur is not None:
        write_table(os.path.join(path, "utt2dur"), {k: _fmt_num(v) for k, v in utt2dur.items()})
    if spk2gender is not None:
        write_table(os.path.join(path, "spk2gender"), spk2gender)
    for name, table in (extra or {}).items():
        write_table(os.path.join(path, name), table)


def _fmt_num(x) -> str:
    if isinstance(x, int):
        return str(x)
    s = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


# ---------------------------------------------------------------------------------------------
# Validation (Kaldi utils/validate_data_dir.sh)


def _check_same_keys(a: Table, b: Table, what: str = "utterance") -> None:
    """First key (in ``a``'s order) of ``a`` missing from ``b``, then of ``b`` missing from ``a``."""
    for key in a:
        if key not in b:
            raise BnnError(f"{a.where(key)}: {what} '{key}' is missing from {b.path}")
    for key in b:
        if key not in a:
            raise BnnError(f"{b.where(key)}: {what} '{key}' is missing from {a.path}")


def validate_data_dir(path: str, *, no_feats: bool = False, no_wav: bool = False,
                      no_text: bool = False) -> Dict[str, int]:
    """Check a data directory as Kaldi's ``utils/validate_data_dir.sh`` does; stop at the first error.

    Checks: every table sorted (C order) without duplicate keys; ``utt2spk`` has one speaker per
    utterance and is also sorted when ordered by speaker (speaker ids must be prefixes of utterance
    ids, or one speaker per utterance); ``spk2utt`` agrees with ``utt2spk``; ``text`` (unless
    ``no_text``) has the same utterances and no empty transcript; ``wav.scp`` (unless ``no_wav``)
    covers every utterance of ``text`` and ``utt2spk`` (or every recording of ``segments``);
    ``feats.scp`` (unless ``no_feats``) has exactly the utterances; ``cmvn.scp``/``spk2gender``
    exactly the speakers; ``utt2dur`` positive numbers.  Returns counts (utts, speakers).
    """
    d = DataDir(path)
    for name in ("utt2spk",):
        if not d.has(name):
            raise BnnError(f"{d.file(name)}: no such file")
    u2s = d.utt2spk
    if not u2s:
        raise BnnError(f"{u2s.path}: empty (no utterances)")
    for utt, spk in u2s.items():
        if len(spk.split()) != 1:
            raise BnnError(f"{u2s.where(utt)}: utterance '{utt}' must have exactly one speaker, got '{spk}'")
    by_spk = sorted(u2s, key=lambda u: (c_key(u2s[u]), c_key(u2s.raw[u])))
    for utt, expect in zip(u2s, by_spk):
        if utt != expect:
            raise BnnError(f"{u2s.where(utt)}: utt2spk is not sorted when ordered by speaker "
                           f"(utterance '{utt}'); make speaker ids prefixes of utterance ids")

    # spk2utt must be the inverse of utt2spk
    if not d.has("spk2utt"):
        raise BnnError(f"{d.file('spk2utt')}: no such file (create it with utils/utt2spk_to_spk2utt.pl)")
    s2u = d.table("spk2utt")
    seen: Dict[str, str] = {}
    for spk, utts in s2u.items():
        if not utts:
            raise BnnError(f"{s2u.where(spk)}: speaker '{spk}' has no utterances")
        for utt in utts.split():
            if utt in seen:
                raise BnnError(f"{s2u.where(spk)}: utterance '{utt}' listed under speakers "
                               f"'{seen[utt]}' and '{spk}'")
            seen[utt] = spk
            if utt not in u2s:
                raise BnnError(f"{s2u.where(spk)}: utterance '{utt}' of speaker '{spk}' is not in {u2s.path}")
            if u2s[utt] != spk:
                raise BnnError(f"{s2u.where(spk)}: speaker mismatch for utterance '{utt}': '{spk}' in "
                               f"spk2utt, '{u2s[utt]}' in {u2s.path} line {u2s.line[utt]}")
    for utt in u2s:
        if utt not in seen:
            raise BnnError(f"{u2s.where(utt)}: utterance '{utt}' (speaker '{u2s[utt]}') is missing "
                           f"from {s2u.path}")
    speakers = set(u2s.values())

    text = None
    if not no_text:
        if not d.has("text"):
            raise BnnError(f"{d.file('text')}: no such file (if this is by design, use --no-text)")
        text = d.text
        for utt, words in text.items():
            if not words:
                raise BnnError(f"{text.where(utt)}: empty transcript for utterance '{utt}'")

    if not no_wav:
        if not d.has("wav.scp"):
            raise BnnError(f"{d.file('wav.scp')}: no such file (if this is by design, use --no-wav)")
        wav = d.wav_scp
        for key, value in wav.items():
            if not value:
                raise BnnError(f"{wav.where(key)}: '{key}' has no audio filename or command")
        if d.has("segments"):
            segtab = d.table("segments")
            segs = parse_segments(segtab)
            for utt, seg in segs.items():
                if seg.reco not in wav:
                    raise BnnError(f"{segtab.where(utt)}: recording '{seg.reco}' of utterance '{utt}' "
                                   f"is missing from {wav.path}")
            used = {s.reco for s in segs.values()}
            for reco in wav:
                if reco not in used:
                    raise BnnError(f"{wav.where(reco)}: recording '{reco}' has no segments in {segtab.path} "
                                   f"(run utils/fix_data_dir.sh)")
            _check_same_keys(u2s, segtab)
        else:
            if text is not None:
                _check_same_keys(text, wav)
            _check_same_keys(u2s, wav)
    if text is not None:
        _check_same_keys(u2s, text)

    if not no_feats:
        if not d.has("feats.scp"):
            raise BnnError(f"{d.file('feats.scp')}: no such file (if this is by design, use --no-feats)")
        feats = d.feats_scp
        for utt, value in feats.items():
            if not value:
                raise BnnError(f"{feats.where(utt)}: utterance '{utt}' has no feature location")
        _check_same_keys(u2s, feats)
    if d.has("cmvn.scp"):
        cmvn = d.cmvn_scp
        for spk in cmvn:
            if spk not in speakers:
                raise BnnError(f"{cmvn.where(spk)}: speaker '{spk}' is not in {u2s.path}")
        for spk in sorted(speakers, key=c_key):
            if spk not in cmvn:
                raise BnnError(f"{cmvn.path}: speaker '{spk}' (from {u2s.path}) is missing")
    if d.has("spk2gender"):
        s2g = d.table("spk2gender")
        for spk, g in s2g.items():
            if g not in ("m", "f"):
                raise BnnError(f"{s2g.where(spk)}: gender of speaker '{spk}' must be m or f, got '{g}'")
            if spk not in speakers:
                raise BnnError(f"{s2g.where(spk)}: speaker '{spk}' is not in {u2s.path}")
        for spk in sorted(speakers, key=c_key):
            if spk not in s2g:
                raise BnnError(f"{s2g.path}: speaker '{spk}' (from {u2s.path}) is missing")
    for name in ("utt2dur", "utt2num_frames"):
        if d.has(name):
            tab = d.table(name)
            for utt in tab:
                x = _float(tab, utt)
                if not (x > 0 and math.isfinite(x)):
                    raise BnnError(f"{tab.where(utt)}: utterance '{utt}' has non-positive {name} {tab[utt]}")
            _check_same_keys(u2s, tab)
    for name in ("utt2lang", "utt2uniq", "vad.scp"):
        if d.has(name):
            _check_same_keys(u2s, d.table(name))
    return {"utts": len(u2s), "speakers": len(speakers)}


# ---------------------------------------------------------------------------------------------
# Writing filtered copies (split, subset, fix)


def _reco_keyed_wav(d: DataDir) -> bool:
    return d.has("segments")


def filter_data_dir(src: str, dest: str, utts: Iterable[str], *, rename_utt=None, rename_spk=None,
                    copy_plain: bool = True) -> Dict[str, int]:
    """Write ``dest`` holding only utterances ``utts`` of ``src``, every table filtered consistently.

    Utterance tables keep their raw lines (Kaldi filter_scp.pl); speaker tables keep the speakers of
    the kept utterances; ``wav.scp``/``reco2*`` keep the recordings of the kept segments;
    ``spk2utt`` is regenerated.  ``rename_utt``/``rename_spk`` (functions) map ids
    (copy_data_dir.sh prefixes/suffixes); renamed tables are re-sorted.  ``copy_plain`` copies
    ``frame_shift`` (Kaldi's split_data.sh does not).  Returns counts.
    """
    s = DataDir(src)
    keep = set(utts)
    u2s = s.utt2spk
    unknown = [u for u in keep if u not in u2s]
    if unknown:
        raise BnnError(f"{u2s.path}: utterance '{sorted(unknown, key=c_key)[0]}' not found")
    os.makedirs(dest, exist_ok=True)
    ru = rename_utt or (lambda x: x)
    rs = rename_spk or (lambda x: x)
    renaming = rename_utt is not None or rename_spk is not None
    kept_utts = [u for u in u2s if u in keep]
    spks = {u2s[u] for u in kept_utts}
    recos = None
    if s.has("segments"):
        segs = parse_segments(s.table("segments"))
        recos = {segs[u].reco for u in kept_utts if u in segs}

    def write_filtered(name: str, keys_ok, key_map, value_map=None) -> None:
        tab = s.table(name)
        rows = []
        for k in tab:
            if keys_ok(k):
                if renaming or value_map is not None:
                    v = value_map(tab[k]) if value_map else tab[k]
                    rows.append((key_map(k), f"{key_map(k)} {v}" if v else key_map(k)))
                else:
                    rows.append((k, tab.raw[k]))
        if renaming:
            rows.sort(key=lambda kv: c_key(kv[0]))
        with atomic_write(os.path.join(dest, name)) as f:
            for _, line in rows:
                f.write(line + "\n")

    new_u2s = {}
    for name in UTT_FILES:
        if not s.has(name):
            continue
        if name == "utt2spk":
            write_filtered(name, keep.__contains__, ru, lambda v: rs(v))
        else:
            write_filtered(name, keep.__contains__, ru)
    for u in kept_utts:
        new_u2s[ru(u)] = rs(u2s[u])
    new_u2s = dict(sorted(new_u2s.items(), key=lambda kv: c_key(kv[0])))
    write_table(os.path.join(dest, "spk2utt"), utt2spk_to_spk2utt(new_u2s))
    if s.has("wav.scp"):
        if recos is not None:
            write_filtered("wav.scp", recos.__contains__, lambda x: x)
        else:
            write_filtered("wav.scp", keep.__contains__, ru)
    for name in RECO_FILES:
        if s.has(name):
            if recos is not None:
                write_filtered(name, recos.__contains__, lambda x: x)
            else:
                write_filtered(name, keep.__contains__, ru)
    for name in SPK_FILES:
        if s.has(name):
            write_filtered(name, spks.__contains__, rs)
    for name in PLAIN_FILES if copy_plain else ():
        if s.has(name):
            shutil.copyfile(s.file(name), os.path.join(dest, name))
    return {"utts": len(kept_utts), "speakers": len(spks)}


# ---------------------------------------------------------------------------------------------
# split_data.sh


def split_counts(num_items: int, num_parts: int) -> List[int]:
    """Sizes of ``num_parts`` contiguous blocks of ``num_items`` lines, the first ones one larger
    (Kaldi utils/split_scp.pl)."""
    base, extra = divmod(num_items, num_parts)
    return [base + (1 if i < extra else 0) for i in range(num_parts)]


def split_speakers(spk_sizes: Sequence[int], num_parts: int) -> List[int]:
    """Contiguous partition of speakers (with ``spk_sizes`` utterances each) into ``num_parts``
    non-empty groups with about equal utterance counts; returns the number of speakers per group.

    Group ``j`` ends at the speaker boundary closest to the cumulative target
    ``total * (j+1) / num_parts``, constrained so every group keeps at least one speaker (the aim of
    Kaldi's split_scp.pl ``--utt2spk``).
    """
    n = len(spk_sizes)
    if n < num_parts:
        raise ValueError("fewer speakers than parts")
    cum = [0]
    for x in spk_sizes:
        cum.append(cum[-1] + x)
    total = cum[-1]
    bounds = [0]
    for j in range(1, num_parts):
        target = total * j / num_parts
        lo = bounds[-1] + 1
        hi = n - (num_parts - j)
        best = min(range(lo, hi + 1), key=lambda b: (abs(cum[b] - target), b))
        bounds.append(best)
    bounds.append(n)
    return [bounds[j + 1] - bounds[j] for j in range(num_parts)]


def split_data(path: str, num_parts: int, *, per_utt: bool = False) -> str:
    """Kaldi ``utils/split_data.sh``: write ``<data>/split<N>/<n>/`` (speakers kept whole) or, with
    ``per_utt``, ``<data>/split<N>utt/<n>/`` (contiguous blocks of utterances, split_scp.pl sizes).

    Each part holds every table filtered to its utterances, ``spk2utt`` regenerated.  Per-speaker
    splitting needs at least ``num_parts`` speakers.  Returns the split directory.
    """
    if num_parts < 1:
        raise BnnError(f"{path}: number of splits must be >= 1, got {num_parts}")
    d = DataDir(path)
    u2s = d.utt2spk
    utts = list(u2s)
    if per_utt:
        if len(utts) < num_parts:
            raise BnnError(f"{u2s.path}: cannot split {len(utts)} utterances into {num_parts} parts")
        sizes = split_counts(len(utts), num_parts)
        parts, i = [], 0
        for sz in sizes:
            parts.append(utts[i:i + sz])
            i += sz
        out = os.path.join(d.path, f"split{num_parts}utt")
    else:
        spk2utt = utt2spk_to_spk2utt(u2s)
        spk_list = list(spk2utt)
        if len(spk_list) < num_parts:
            raise BnnError(f"{u2s.path}: cannot split {len(spk_list)} speaker(s) into {num_parts} parts "
                           f"keeping speakers whole (use --per-utt, or fewer jobs)")
        groups = split_speakers([len(spk2utt[s]) for s in spk_list], num_parts)
        parts, i = [], 0
        for g in groups:
            members = set(spk_list[i:i + g])
            parts.append([u for u in utts if u2s[u] in members])
            i += g
        out = os.path.join(d.path, f"split{num_parts}")
    for n, part in enumerate(parts, 1):
        filter_data_dir(d.path, os.path.join(out, str(n)), part, copy_plain=False)
    return out


# ---------------------------------------------------------------------------------------------
# subset_data_dir.sh


def evenly_spaced(items: Sequence[str], n: int) -> List[str]:
    """``n`` items spread evenly through ``items`` (index ``floor(i * len / n)``), in order."""
    m = len(items)
    if n >= m:
        return list(items)
    return [items[(i * m) // n] for i in range(n)]


def per_spk_subset(spk2utt: Mapping[str, Sequence[str]], n: int) -> List[str]:
    """Up to ``n`` utterances per speaker, taking every ``skip``-th one where ``skip`` is the largest
    integer with ``n * skip <= #utts`` (Kaldi subset_data_dir.sh ``--per-spk``)."""
    out = []
    for utts in spk2utt.values():
        skip = 1
        while n * (skip + 1) <= len(utts):
            skip += 1
        out.extend(utts[x] for x in range(0, min(len(utts), n * skip), skip))
    return out


def _read_list(path: str) -> List[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [line.split()[0] for line in f if line.strip()]
    except OSError as err:
        raise BnnError(f"{path}: cannot read: {err.strerror}") from None


def subset_data_dir(src: str, dest: str, num: Optional[int] = None, *, mode: str = "even",
                    utt_list: Optional[str] = None, spk_list: Optional[str] = None) -> Dict[str, int]:
    """Kaldi ``utils/subset_data_dir.sh``.

    ``mode``: ``"even"`` (``num`` utterances spread evenly, Kaldi's subset_scp.pl default),
    ``"first"``/``"last"`` (first/last ``num``), ``"per_spk"`` (``num`` per speaker),
    ``"shortest"`` (the ``num`` shortest by utt2dur/utt2num_frames), ``"utt_list"`` (ids in
    ``utt_list``), ``"spk_list"`` (all utterances of the speakers in ``spk_list``).
    """
    d = DataDir(src)
    utts = d.utts()
    if mode in ("even", "first", "last", "per_spk", "shortest"):
        if num is None or num < 1:
            raise BnnError(f"{src}: number of utterances must be >= 1, got {num}")
        if mode != "per_spk" and num > len(utts):
            raise BnnError(f"{d.file('utt2spk')}: cannot select {num} utterances, only {len(utts)} exist")
    if mode == "even":
        chosen = evenly_spaced(utts, num)
    elif mode == "first":
        chosen = utts[:num]
    elif mode == "last":
        chosen = utts[len(utts) - num:]
    elif mode == "per_spk":
        chosen = per_spk_subset(utt2spk_to_spk2utt(d.utt2spk), num)
    elif mode == "shortest":
        name = "utt2num_frames" if d.has("utt2num_frames") else "utt2dur"
        tab = d.table(name)
        lengths = {u: _float(tab, u) for u in tab}
        missing = [u for u in utts if u not in lengths]
        if missing:
            raise BnnError(f"{tab.path}: utterance '{missing[0]}' is missing")
        chosen = sorted(utts, key=lambda u: (lengths[u], c_key(u)))[:num]
    elif mode == "utt_list":
        wanted = set(_read_list(utt_list))
        chosen = [u for u in utts if u in wanted]
        missing = wanted - set(utts)
        if missing:
            raise BnnError(f"{utt_list}: utterance '{sorted(missing, key=c_key)[0]}' is not in {d.file('utt2spk')}")
    elif mode == "spk_list":
        wanted = set(_read_list(spk_list))
        u2s = d.utt2spk
        chosen = [u for u in utts if u2s[u] in wanted]
        missing = wanted - set(u2s.values())
        if missing:
            raise BnnError(f"{spk_list}: speaker '{sorted(missing, key=c_key)[0]}' is not in {u2s.path}")
    else:
        raise BnnError(f"subset_data_dir: unknown mode '{mode}'")
    if not chosen:
        raise BnnError(f"{src}: the subset is empty")
    return filter_data_dir(src, dest, chosen)


# ---------------------------------------------------------------------------------------------
# copy_data_dir.sh and fix_data_dir.sh


def copy_data_dir(src: str, dest: str, *, utt_prefix: str = "", utt_suffix: str = "",
                  spk_prefix: str = "", spk_suffix: str = "") -> Dict[str, int]:
    """Kaldi ``utils/copy_data_dir.sh``: copy all tables, optionally renaming utterance ids
    (``utt_prefix + id + utt_suffix``) and speaker ids; recording ids (with ``segments``) unchanged."""
    if os.path.abspath(src) == os.path.abspath(dest):
        raise BnnError(f"{dest}: destination is the same as the source")
    d = DataDir(src)
    rename = bool(utt_prefix or utt_suffix or spk_prefix or spk_suffix)
    return filter_data_dir(
        src, dest, d.utts(),
        rename_utt=(lambda u: f"{utt_prefix}{u}{utt_suffix}") if rename else None,
        rename_spk=(lambda s: f"{spk_prefix}{s}{spk_suffix}") if rename else None)


def fix_data_dir(path: str) -> Dict[str, int]:
    """Kaldi ``utils/fix_data_dir.sh``: keep only utterances present in every utterance table
    (and whose recording is in ``wav.scp``, with a non-empty transcript), drop speakers and
    recordings left without utterances, sort every table, drop duplicate keys (first kept),
    regenerate ``spk2utt``.  Originals go to ``<data>/.backup/``.  Returns ``{"kept", "total"}``.
    """
    d = DataDir(path)
    if not d.has("utt2spk"):
        raise BnnError(f"{d.file('utt2spk')}: no such file")
    names = [n for n in UTT_FILES + ("wav.scp", "spk2utt") + SPK_FILES + RECO_FILES if d.has(n)]
    tables = {n: _read_sorted(d.file(n)) for n in names}
    u2s = tables["utt2spk"]
    total = len(u2s)
    keep = set(u for u, s in u2s.items() if len(s.split()) == 1)
    for name in UTT_FILES:
        if name in tables and name != "utt2spk":
            keep &= set(tables[name])
    if "text" in tables:
        keep = {u for u in keep if tables["text"][u]}
    if "segments" in tables:
        segs = tables["segments"]
        if "wav.scp" in tables:
            keep = {u for u in keep if segs[u].split()[0] in tables["wav.scp"]}
    elif "wav.scp" in tables:
        keep &= set(tables["wav.scp"])
    # back up, then write sorted+filtered versions in place via a temporary directory
    backup = os.path.join(d.path, ".backup")
    os.makedirs(backup, exist_ok=True)
    for name in names:
        shutil.copyfile(d.file(name), os.path.join(backup, name))
    tmp = os.path.join(d.path, ".fix_tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        for name, tab in tables.items():  # sorted, de-duplicated copies as the filtering source
            write_raw_lines(os.path.join(tmp, name), tab, tab)
        sorted_dir = os.path.join(tmp, "sorted")
        os.makedirs(sorted_dir)
        for name in names:
            shutil.move(os.path.join(tmp, name), os.path.join(sorted_dir, name))
        out = os.path.join(tmp, "out")
        counts = filter_data_dir(sorted_dir, out, [u for u in tables["utt2spk"] if u in keep])
        for name in set(names) | {"spk2utt"}:  # spk2utt is written even if it was missing
            if os.path.isfile(os.path.join(out, name)):
                os.replace(os.path.join(out, name), d.file(name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"kept": counts["utts"], "total": total, "removed": total - counts["utts"]}


def _read_sorted(path: str) -> Table:
    """Read a table tolerating disorder and duplicates (first kept), return it sorted in C order."""
    tab = read_table(path, check_sorted=False, check_unique=False)
    out = Table(path)
    for k in sorted(tab, key=c_key):
        out[k] = tab[k]
        out.raw[k] = tab.raw[k]
        out.line[k] = tab.line[k]
    return out
