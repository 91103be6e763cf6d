"""Read and write Kaldi alignment archives (int32-vector tables of transition-ids).

Formats (Kaldi ``util/kaldi-holder-inl.h``, ``BasicVectorHolder<int32>``):

* binary archive entry: ``key`` ``' '`` ``\\0B`` then size byte ``4`` + int32 length, then per
  element size byte ``4`` + int32 value;
* text archive entry: ``key v1 v2 ... vn`` and a newline (Kaldi writes a space after every
  element).

Sources accepted wherever an alignment input is expected:

* an rspecifier: ``ark:ali.1``, ``ark,t:-``, ``ark:gunzip -c exp/x_ali/ali.*.gz|`` (a plain
  ``gunzip -c``/``zcat`` of files is read in-process so errors name the file; other pipes run
  through the shell), ``scp:ali.scp`` (via kaldiio);
* a Kaldi alignment directory (``final.mdl``, ``ali.N.gz``, ``num_jobs``): all ``ali.N.gz`` in
  job order, checked against ``num_jobs``;
* a plain path of an archive (``.gz`` decompressed).

Errors are one-line :class:`BnnError` naming the file (and utterance): truncated or corrupt gzip,
corrupt archive, transition-ids outside the model, ``num_jobs`` disagreeing with the files,
alignment length differing from the feature length.
"""
import glob
import gzip
import io
import os
import re
import shlex
import struct
import subprocess
import sys
import tempfile
import zlib
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from bnn.utils.errors import BnnError

_GUNZIP_RE = re.compile(r"^\s*(?:gunzip\s+-c|gzip\s+-c?dc?|gzip\s+-d\s+-c|zcat)\s+(.+?)\s*\|\s*$")


# ----------------------------------------------------------------------------- sources
def _split_spec(spec: str) -> Tuple[str, List[str], str]:
    """``'ark,t:foo'`` -> ``('ark', ['t'], 'foo')``; no prefix -> ``('', [], spec)``."""
    m = re.match(r"^(ark|scp)((?:,[a-z]+)*):(.*)$", spec, re.S)
    if not m:
        return "", [], spec
    opts = [o for o in m.group(2).split(",") if o]
    return m.group(1), opts, m.group(3)


def ali_dir_files(ali_dir: str) -> List[str]:
    """The ``ali.N.gz`` files of a Kaldi alignment dir in job order (1..num_jobs).

    With a ``num_jobs`` file the set of job numbers must be exactly ``1..num_jobs``.
    """
    files = glob.glob(os.path.join(ali_dir, "ali.*.gz"))
    jobs = {}
    for f in files:
        m = re.match(r"^ali\.(\d+)\.gz$", os.path.basename(f))
        if m:
            jobs[int(m.group(1))] = f
    nj_file = os.path.join(ali_dir, "num_jobs")
    if os.path.exists(nj_file):
        try:
            nj = int(open(nj_file).read().strip())
        except ValueError:
            raise BnnError(f"{nj_file}: expected a single integer") from None
        if nj <= 0:
            raise BnnError(f"{nj_file}: num_jobs must be positive, found {nj}")
        missing = [j for j in range(1, nj + 1) if j not in jobs]
        extra = sorted(j for j in jobs if j > nj)
        if missing or extra:
            what = []
            if missing:
                what.append("missing " + ", ".join(f"ali.{j}.gz" for j in missing[:5]))
            if extra:
                what.append("unexpected " + ", ".join(f"ali.{j}.gz" for j in extra[:5]))
            raise BnnError(f"{nj_file}: num_jobs is {nj} but the directory has {len(jobs)} "
                           f"ali.N.gz files ({'; '.join(what)})")
    if not jobs:
        raise BnnError(f"{ali_dir}: no ali.N.gz alignment files")
    return [jobs[j] for j in sorted(jobs)]


def _open_path(path: str):
    try:
        raw = open(path, "rb")
    except OSError as err:
        raise BnnError(f"{path}: cannot open ({err.strerror})") from None
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    return raw


def _sources(spec: str):
    """Yield ``(name, opener)`` for every stream behind a source string (see module doc)."""
    if os.path.isdir(spec):
        for f in ali_dir_files(spec):
            yield f, (lambda f=f: _open_path(f))
        return
    kind, _opts, target = _split_spec(spec)
    if kind == "scp":
        yield target, None  # handled by kaldiio
        return
    if target == "-":
        yield "<stdin>", lambda: sys.stdin.buffer
        return
    if target.rstrip().endswith("|"):
        m = _GUNZIP_RE.match(target)
        if m and not re.search(r"[;&<>`$()]", m.group(1)):
            for word in shlex.split(m.group(1)):
                matches = sorted(glob.glob(word)) if any(c in word for c in "*?[") else [word]
                if not matches:
                    raise BnnError(f"{word}: no such file")
                for f in matches:
                    yield f, (lambda f=f: _open_path(f))
            return
        yield target, ("pipe", target.rstrip()[:-1])
        return
    yield target, (lambda: _open_path(target))


def _read_key(f) -> Optional[str]:
    chars = []
    while True:
        c = f.read(1)
        if not c:
            if chars and any(not ch.isspace() for ch in b"".join(chars).decode("latin-1")):
                raise EOFError("archive ends inside a key")
            return None
        if c == b" ":
            if chars:
                break
            continue
        if c in (b"\n", b"\r", b"\t") and not chars:
            continue
        chars.append(c)
    return b"".join(chars).decode("utf-8", errors="replace")


def _exact(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise EOFError(f"archive ends early ({len(data)} of {n} bytes)")
    return data


def _parse_int_vector_archive(f, name: str) -> Iterator[Tuple[str, np.ndarray]]:
    key = None
    try:
        while True:
            key = _read_key(f)
            if key is None:
                return
            head = f.read(2)
            if head == b"\0B":
                hdr = _exact(f, 5)
                if hdr[0] != 4:
                    raise BnnError(f"{name}: utterance {key}: not an int32 vector (size byte "
                                   f"{hdr[0]}); is this an alignment archive?")
                (n,) = struct.unpack("<i", hdr[1:])
                if n < 0:
                    raise BnnError(f"{name}: utterance {key}: negative vector length {n}")
                body = np.frombuffer(_exact(f, 5 * n), dtype=np.uint8).reshape(n, 5)
                if n and not np.all(body[:, 0] == 4):
                    raise BnnError(f"{name}: utterance {key}: corrupt int32 vector "
                                   "(bad element size byte)")
                vals = np.ascontiguousarray(body[:, 1:]).view("<i4").reshape(n).astype(np.int32)
                yield key, vals
            else:
                line = (head + (f.readline() if head and head[-1:] != b"\n" else b"")).decode(
                    "utf-8", errors="replace")
                try:
                    vals = np.array([int(x) for x in line.split()], dtype=np.int32)
                except ValueError:
                    raise BnnError(f"{name}: utterance {key}: text entry is not a list of "
                                   "integers (not an alignment archive?)") from None
                yield key, vals
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as err:
        where = f" after utterance {key}" if key else ""
        kind = "truncated or corrupt gzip" if isinstance(f, gzip.GzipFile) else "truncated archive"
        raise BnnError(f"{name}: {kind}{where} ({err})") from None


def iter_alignments_with_file(source: str, trans=None) -> Iterator[Tuple[str, np.ndarray, str]]:
    """Yield ``(utterance, transition-ids int32 array, file name)`` from a source (module doc).

    With ``trans`` (a :class:`~bnn.kaldi.transition_model.TransitionModel`) every transition-id
    is checked to be in ``[1, trans.num_transition_ids]``.
    """
    for name, opener in _sources(source):
        if opener is None:  # scp: through kaldiio
            import kaldiio
            try:
                for key, vals in kaldiio.ReadHelper(source):
                    vals = np.asarray(vals, dtype=np.int32)
                    if trans is not None:
                        check_transition_ids(trans, vals, key, name)
                    yield key, vals, name
            except BnnError:
                raise
            except Exception as err:  # noqa: BLE001 - kaldiio raises many kinds
                raise BnnError(f"{name}: cannot read alignments ({err})") from None
            continue
        if isinstance(opener, tuple):
            cmd = opener[1]
            # The command's stderr goes to a temporary file (a pipe could fill up and block),
            # is passed on to ours afterwards, and its last line is quoted on failure.
            with tempfile.TemporaryFile() as errf:
                proc = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, stderr=errf)
                f = io.BufferedReader(proc.stdout)
                try:
                    for key, vals in _parse_int_vector_archive(f, name):
                        if trans is not None:
                            check_transition_ids(trans, vals, key, name)
                        yield key, vals, name
                finally:
                    f.close()
                    code = proc.wait()
                    errf.seek(0)
                    err_text = errf.read().decode(errors="replace")
                    if err_text:
                        sys.stderr.write(err_text)
                    err = err_text.strip().splitlines()
            if code != 0:
                tail = err[-1] if err else ""
                raise BnnError(f"{name}: command failed with exit code {code}: {tail}")
            continue
        f = opener()
        try:
            for key, vals in _parse_int_vector_archive(f, name):
                if trans is not None:
                    check_transition_ids(trans, vals, key, name)
                yield key, vals, name
        finally:
            if f is not sys.stdin.buffer:
                f.close()


def iter_alignments(source: str, trans=None) -> Iterator[Tuple[str, np.ndarray]]:
    """Yield ``(utterance, transition-ids)``; see :func:`iter_alignments_with_file`."""
    for key, vals, _ in iter_alignments_with_file(source, trans):
        yield key, vals


def read_alignments(source: str, trans=None) -> dict:
    """All alignments of a source as ``{utterance: int32 array}`` (small sets only)."""
    return dict(iter_alignments(source, trans))


# ----------------------------------------------------------------------------- checks
def check_transition_ids(trans, ali: np.ndarray, utt: str, name: str) -> None:
    """Raise if an alignment has a transition-id outside ``[1, num_transition_ids]``."""
    bad = trans.out_of_range(ali)
    if bad.any():
        tid = int(np.asarray(ali)[bad][0])
        raise BnnError(f"{name}: utterance {utt}: transition-id {tid} is out of range for the "
                       f"model (it has transition-ids 1..{trans.num_transition_ids})")


def check_alignment_length(ali_len: int, feat_len: int, utt: str, name: str,
                           tolerance: int = 0) -> None:
    """Raise if the alignment and feature frame counts differ by more than ``tolerance``."""
    if abs(int(ali_len) - int(feat_len)) > tolerance:
        raise BnnError(f"{name}: utterance {utt}: alignment has {ali_len} frames but the "
                       f"features have {feat_len}")


# ----------------------------------------------------------------------------- writing
class IntVectorWriter:
    """Write an archive of int32 vectors (or of int pairs) to a wspecifier.

    ``ark:file``, ``ark,t:file``, ``ark:-``/``ark,t:-`` (stdout), ``ark:| cmd`` (pipe) and
    ``ark,scp:file.ark,file.scp`` (archive plus an scp of ``key file.ark:offset``, the offset
    pointing just after ``key ``, as Kaldi writes it).  Plain files are written atomically
    (renamed into place on :meth:`close` without error).
    """

    def __init__(self, wspecifier: str):
        kind, opts, target = _split_spec(wspecifier)
        if kind != "ark":
            raise BnnError(f"{wspecifier}: expected an ark wspecifier (ark:file, ark,t:-, ...)")
        self.text = "t" in opts
        self._scp = None
        if "scp" in opts:
            if "," not in target or target.lstrip().startswith("|") or target.startswith("-"):
                raise BnnError(f"{wspecifier}: ark,scp: needs two files: ark,scp:x.ark,x.scp")
            target, scp_path = target.split(",", 1)
            self._scp_path = scp_path
            self._scp_tmp = scp_path + f".{os.getpid()}.tmp"
            self._scp = open(self._scp_tmp, "w")
        self.name = target
        self._proc = None
        self._tmp = None
        if target == "-":
            self._f = sys.stdout.buffer
        elif target.lstrip().startswith("|"):
            self._proc = subprocess.Popen(target.lstrip()[1:], shell=True, stdin=subprocess.PIPE)
            self._f = self._proc.stdin
        else:
            directory = os.path.dirname(os.path.abspath(target))
            os.makedirs(directory, exist_ok=True)
            self._tmp = os.path.join(directory, "." + os.path.basename(target) + f".{os.getpid()}.tmp")
            self._f = open(self._tmp, "wb")

    def _key(self, key: str) -> None:
        """Write ``key `` and record the scp entry (offset of the object after the key)."""
        self._f.write(key.encode() + b" ")
        if self._scp is not None:
            self._scp.write(f"{key} {self.name}:{self._f.tell()}\n")

    def write(self, key: str, values) -> None:
        vals = np.asarray(values, dtype=np.int64).ravel()
        if self.text:
            self._key(key)
            self._f.write(("".join(f"{v} " for v in vals.tolist()) + "\n").encode())
        else:
            n = vals.shape[0]
            body = np.empty((n, 5), dtype=np.uint8)
            body[:, 0] = 4
            body[:, 1:] = vals.astype("<i4").view(np.uint8).reshape(n, 4)
            self._key(key)
            self._f.write(b"\0B\x04" + struct.pack("<i", n) + body.tobytes())

    def write_pairs(self, key: str, pairs: Sequence[Tuple[int, int]]) -> None:
        """Kaldi ``vector<pair<int32,int32>>`` table entry (text: ``a b ; c d``)."""
        if self.text:
            body = " ; ".join(f"{a} {b}" for a, b in pairs)
            self._key(key)
            self._f.write(((body + " " if pairs else "") + "\n").encode())
        else:
            self._key(key)
            out = [b"\0B\x04", struct.pack("<i", len(pairs))]
            for a, b in pairs:
                out.append(b"\x04" + struct.pack("<i", a) + b"\x04" + struct.pack("<i", b))
            self._f.write(b"".join(out))

    def close(self, ok: bool = True) -> None:
        if self._scp is not None:
            self._scp.close()
            if ok:
                os.replace(self._scp_tmp, self._scp_path)
            else:
                os.unlink(self._scp_tmp)
            self._scp = None
        if self._proc is not None:
            self._f.close()
            code = self._proc.wait()
            if code != 0 and ok:
                raise BnnError(f"{self.name}: output command failed with exit code {code}")
        elif self._tmp is not None:
            self._f.close()
            if ok:
                os.replace(self._tmp, self.name)
            else:
                os.unlink(self._tmp)
        else:
            self._f.flush()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(ok=exc_type is None)
        return False


def kaldi_bool(value: str) -> bool:
    """Parse a Kaldi-style boolean option value (``true``/``false``, also 1/0, yes/no)."""
    v = str(value).strip().lower()
    if v in ("true", "t", "1", "yes", "y"):
        return True
    if v in ("false", "f", "0", "no", "n"):
        return False
    import argparse
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def read_symbol_table(path: str) -> List[Optional[str]]:
    """A Kaldi symbol table (``phones.txt``: ``symbol id`` per line) as a list indexed by id."""
    names = {}
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                    raise BnnError(f"{path}: line {lineno}: expected '<symbol> <integer-id>'")
                names[int(parts[1])] = parts[0]
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    table = [None] * (max(names) + 1 if names else 0)
    for i, s in names.items():
        if i >= 0:
            table[i] = s
    return table


def expand_bool_flags(argv, names):
    """Kaldi style ``--flag`` without a value means ``--flag=true``: rewrite such bare flags."""
    import sys as _sys
    argv = list(_sys.argv[1:] if argv is None else argv)
    return [f"{a}=true" if a in names else a for a in argv]
