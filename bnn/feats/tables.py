"""Kaldi tables (rspecifier/wspecifier) for the feature commands, on top of kaldiio.

* :func:`read_matrices` iterates ``(key, matrix)`` over ``ark:``/``scp:`` rspecifiers (pipes such
  as ``ark:gunzip -c x.gz|``, ``ark:-``, compressed CM/CM2/CM3 matrices: all read by kaldiio) and
  turns read failures into one-line :class:`BnnError` messages naming the table and key.
* :func:`random_access` gives dict-like access by key (``scp:`` lazily, ``ark:`` loaded once).
* :func:`read_text_map` reads ``utt2spk``/``spk2utt``-style text tables given as ``ark:file``
  or a plain path.
* :class:`TableWriter` writes ``ark:``, ``ark,t:``, ``ark,scp:`` (and pipes / ``-``) with
  Kaldi's binary matrix format (``FM`` float32, ``DM`` float64).  Files are written beside their
  final names and renamed into place on success (ark first, then scp), so an interrupted job
  leaves no ark/scp that looks complete.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from typing import Dict, Iterator, List, Optional, Tuple

import kaldiio
import numpy as np
from kaldiio.matio import write_array, write_array_ascii
from kaldiio.utils import open_like_kaldi

from bnn.utils.errors import BnnError


def parse_specifier(spec: str) -> Tuple[List[str], str]:
    """``'ark,t,scp:a.ark,a.scp'`` -> (``['ark', 't', 'scp']``, ``'a.ark,a.scp'``)."""
    if ":" not in spec:
        raise BnnError(f"'{spec}' is not an rspecifier/wspecifier (expected e.g. ark:file or scp:file)")
    types, target = spec.split(":", 1)
    flags = [t.strip() for t in types.split(",") if t.strip()]
    if "ark" not in flags and "scp" not in flags:
        raise BnnError(f"'{spec}': specifier must start with ark: or scp:")
    return flags, target


def _why(err: BaseException) -> str:
    """``Type: first line of the message`` (kaldiio's parse errors are often bare asserts)."""
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def read_matrices(rspecifier: str) -> Iterator[Tuple[str, np.ndarray]]:
    """Yield ``(key, array)`` from a Kaldi rspecifier, in table order.

    Any read or parse failure (missing file, truncated binary matrix, a text matrix that is not
    ``key [ rows ]``, a bad scp line) is a one-line :class:`BnnError` naming the table and the
    utterance being read (kaldiio's own errors are often bare ``AssertionError``s)."""
    from kaldiio.matio import read_kaldi, read_token
    flags, target = parse_specifier(rspecifier)
    if "scp" in flags:
        loader = _load_scp(target)
        for key in loader:
            yield key, _load_entry(loader, key, target)
        return
    try:
        fd = open_like_kaldi(target, "rb")
    except OSError as err:
        raise BnnError(f"{target}: cannot open archive: {err.strerror or err}") from None
    last = None
    with fd:
        while True:
            # kaldiio.load_ark's loop, with the key known when its matrix fails to parse
            try:
                key = read_token(fd)
            except Exception as err:  # noqa: BLE001 - undecodable key, read error
                after = f" after utterance {last}" if last else " at the first utterance"
                raise BnnError(f"{target}: truncated or corrupt archive{after}: cannot read the "
                               f"next key ({_why(err)})") from None
            if key is None:
                break
            try:
                array = read_kaldi(fd, "<")
            except Exception as err:  # noqa: BLE001 - kaldiio raises many types on bad data
                after = f" (the one after {last})" if last else ""
                raise BnnError(f"{target}: utterance {key}{after}: truncated or corrupt archive, "
                               f"not a Kaldi matrix/vector ({_why(err)})") from None
            last = key
            yield key, array


def _check_scp_lines(target: str) -> None:
    """Every line of a plain scp file is ``<key> <rxfilename>`` (kaldiio's message names neither)."""
    if target.strip() == "-" or target.rstrip().endswith("|") or not os.path.isfile(target):
        return
    try:
        with open(target, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip() and len(line.split(None, 1)) != 2:
                    raise BnnError(f"{target}:{lineno}: expected '<utterance> <rxfilename>', got "
                                   f"'{line.strip()}'")
    except UnicodeDecodeError:
        raise BnnError(f"{target}: not a text scp file (undecodable bytes)") from None


def _load_scp(target: str):
    _check_scp_lines(target)
    try:
        return kaldiio.load_scp(target, max_cache_fd=32)
    except FileNotFoundError:
        raise BnnError(f"{target}: file not found (scp)") from None
    except Exception as err:  # noqa: BLE001 - a malformed line raises various types
        raise BnnError(f"{target}: cannot read scp file ({_why(err)})") from None


def _load_entry(loader, key: str, target: str):
    try:
        with warnings.catch_warnings():  # kaldiio warns on every failed load, then raises
            warnings.simplefilter("ignore")
            return loader[key]
    except FileNotFoundError as err:
        raise BnnError(f"{target}: utterance {key}: missing file {err.filename}") from None
    except Exception as err:  # noqa: BLE001
        where = getattr(loader, "_dict", {}).get(key)  # kaldiio's LazyLoader: key -> rxfilename
        source = f" {where}" if isinstance(where, str) else ""
        raise BnnError(f"{target}: utterance {key}: cannot read matrix{source} "
                       f"({_why(err)})") from None


def load_scp(target: str):
    """kaldiio's lazy scp dict; a missing or malformed scp is a one-line :class:`BnnError`."""
    return _load_scp(target)


def load_entry(loader, key: str, target: str) -> np.ndarray:
    """``loader[key]`` of a :func:`load_scp` dict; read/parse failures name the scp and key."""
    if key not in loader:
        raise BnnError(f"{target}: no entry for utterance {key}")
    return _load_entry(loader, key, target)


class _RandomAccess:
    def __init__(self, rspecifier: str):
        self.rspecifier = rspecifier
        flags, target = parse_specifier(rspecifier)
        self._target = target
        if "scp" in flags:
            self._loader = _load_scp(target)
            self._scp = True
        else:
            self._loader = dict(read_matrices(rspecifier))
            self._scp = False

    def __contains__(self, key: str) -> bool:
        return key in self._loader

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._loader:
            raise BnnError(f"{self._target}: no entry for key {key}")
        if self._scp:
            return _load_entry(self._loader, key, self._target)
        return self._loader[key]

    def keys(self):
        return list(self._loader.keys())


def random_access(rspecifier: str) -> _RandomAccess:
    """Dict-like access by key to a matrix table; a missing key is a :class:`BnnError`."""
    return _RandomAccess(rspecifier)


def _text_target(spec: str) -> str:
    if ":" in spec and spec.split(":", 1)[0].replace(",", "").isalpha() and \
            spec.split(":", 1)[0].split(",")[0] in ("ark", "scp"):
        return spec.split(":", 1)[1]
    return spec


def read_text_map(spec: str, multi: bool = False) -> Dict[str, object]:
    """Read ``key value`` lines (``ark:utt2spk`` or a path); ``multi`` keeps all fields (spk2utt)."""
    path = _text_target(spec)
    try:
        with open_like_kaldi(path, "r") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise BnnError(f"{path}: no such file") from None
    except OSError as err:
        raise BnnError(f"{path}: cannot read: {err.strerror or err}") from None
    out: Dict[str, object] = {}
    for lineno, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or (not multi and len(fields) != 2):
            raise BnnError(f"{path}:{lineno}: expected 'key value', got '{line.strip()}'")
        if fields[0] in out:
            raise BnnError(f"{path}:{lineno}: duplicate key {fields[0]}")
        out[fields[0]] = fields[1:] if multi else fields[1]
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class TableWriter:
    """Write matrices to a Kaldi wspecifier (``ark:``, ``ark,t:``, ``ark,scp:``, ``ark:-``, pipes).

    Use as a context manager; ``writer(key, array)`` writes one entry.  float32 arrays are written
    as ``FM``, float64 as ``DM`` (Kaldi's binary formats); with ``t`` as text.  On an exception
    inside the ``with`` block, temporary files are removed and nothing is renamed into place.
    """

    def __init__(self, wspecifier: str, compression_method: Optional[int] = None):
        flags, target = parse_specifier(wspecifier)
        self.compression_method = compression_method
        self.text = "t" in flags
        self.flush = "f" in flags
        if "scp" in flags and "ark" not in flags:
            raise BnnError(f"'{wspecifier}': writing only an scp is not possible (use ark,scp:a.ark,a.scp)")
        if "scp" in flags:
            if "," not in target:
                raise BnnError(f"'{wspecifier}': ark,scp needs two files: ark,scp:a.ark,a.scp")
            self.ark_path, self.scp_path = target.split(",", 1)
        else:
            self.ark_path, self.scp_path = target, None
        self._renames: List[Tuple[str, str]] = []
        self.ark = self._open(self.ark_path, "wb")
        self.scp = self._open(self.scp_path, "w") if self.scp_path else None
        self.count = 0

    def _open(self, path: str, mode: str):
        stripped = path.strip()
        if stripped == "-" or stripped.endswith("|") or stripped.startswith("|"):
            if mode == "w":
                raise BnnError(f"'{path}': an scp must be a file, not a pipe")
            return open_like_kaldi(path, mode)
        if os.path.exists(path) and not os.path.isfile(path):  # /dev/null, a fifo
            return open(path, mode)
        directory = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                                       dir=directory)
        except OSError as err:
            raise BnnError(f"{path}: cannot create: {err.strerror or err}") from None
        self._renames.append((tmp, path))
        os.chmod(tmp, 0o666 & ~_umask())
        return os.fdopen(fd, mode)

    def __call__(self, key: str, array: np.ndarray) -> None:
        if not key or any(c.isspace() for c in key):
            raise BnnError(f"{self.ark_path}: invalid key '{key}' (keys must be non-empty, no spaces)")
        array = np.asarray(array)
        if array.dtype not in (np.float32, np.float64):
            array = array.astype(np.float32)
        start = self.ark.tell() if self.scp is not None else 0
        encoded = (key + " ").encode("utf-8")
        self.ark.write(encoded)
        if self.text:
            write_array_ascii(self.ark, array)
        elif self.compression_method is not None and array.ndim == 2:
            write_array(self.ark, array.astype(np.float32, copy=False),
                        compression_method=self.compression_method)
        else:
            write_array(self.ark, array)
        if self.scp is not None:
            self.scp.write(f"{key} {self.ark_path}:{start + len(encoded)}\n")
        if self.flush:
            self.ark.flush()
        self.count += 1

    def close(self, success: bool = True) -> None:
        for f in (self.ark, self.scp):
            if f is not None:
                with contextlib.suppress(Exception):
                    f.close()
        if success:
            for tmp, final in self._renames:
                os.replace(tmp, final)
        else:
            for tmp, _final in self._renames:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        self._renames = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(success=exc_type is None)
        return False


__all__ = ["parse_specifier", "read_matrices", "load_scp", "load_entry", "random_access",
           "read_text_map", "TableWriter"]
