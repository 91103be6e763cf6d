"""Kaldi table I/O the decoders need beyond kaldiio: int-vector writers and guarded matrix reading.

Kaldi int-vector archives (``WriteIntegerVector`` in src/base/io-funcs-inl.h): text form is
``<key> <i1> <i2> ... \\n`` (each element followed by a space; kaldiio writes ``[ ... ]`` instead,
which Kaldi's int readers reject), binary form is ``<key> \\0B`` + size byte 4 + int32 length +
(size byte 4 + int32) per element (kaldiio writes that correctly).
"""
import io
import logging

import numpy as np

from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)


def split_wspecifier(wspec: str):
    """``"ark,t:foo"`` -> ({'ark', 't'}, 'foo'). Only archives (no ``scp:``) are supported."""
    if ":" not in wspec:
        raise BnnError(f"bad wspecifier '{wspec}' (expected e.g. ark,t:file or ark:-)")
    kind, target = wspec.split(":", 1)
    opts = set(kind.split(","))
    if "ark" not in opts or "scp" in opts:
        raise BnnError(f"wspecifier '{wspec}': only 'ark[,t]:' outputs are supported here")
    return opts, target


class IntVectorWriter:
    """Writes Kaldi int-vector archives (``ark,t:`` text or ``ark:`` binary), e.g. words, alignments."""

    def __init__(self, wspec: str):
        from kaldiio.utils import open_like_kaldi
        self.wspec = wspec
        opts, target = split_wspecifier(wspec)
        self.text = "t" in opts
        self.binary_writer = None
        if self.text:
            self.f = open_like_kaldi(target, "w")
        else:
            import kaldiio
            self.binary_writer = kaldiio.WriteHelper(wspec)

    def write(self, key: str, values):
        if self.text:
            self.f.write(key + " " + "".join(f"{int(v)} " for v in values) + "\n")
        else:
            self.binary_writer(key, np.asarray(values, dtype=np.int32))

    def close(self):
        if self.text:
            if self.f not in (None,) and not getattr(self.f, "closed", True):
                self.f.close()
        elif self.binary_writer is not None:
            self.binary_writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_matrices(rspec: str):
    """Iterate ``(key, matrix)`` over an rspecifier with kaldiio; a truncated or corrupt archive
    becomes a one-line :class:`BnnError` naming the last good utterance."""
    import kaldiio
    last = None
    try:
        reader = kaldiio.ReadHelper(rspec)
    except Exception as err:  # noqa: BLE001 - kaldiio raises many types for bad specifiers
        raise BnnError(f"{rspec}: cannot open ({err})") from None
    with reader:
        it = iter(reader)
        while True:
            try:
                key, mat = next(it)
            except StopIteration:
                break
            except (EOFError, ValueError, OSError, KeyError, IndexError, UnicodeDecodeError,
                    io.UnsupportedOperation, RuntimeError) as err:
                where = f"after utterance {last}" if last else "at the first utterance"
                raise BnnError(f"{rspec}: truncated or corrupt archive {where} ({type(err).__name__}: "
                               f"{str(err).splitlines()[0] if str(err) else ''})") from None
            last = key
            yield key, mat
