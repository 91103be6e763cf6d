"""Guarded matrix reading for the decoders (int-vector archives are written by
:class:`bnn.kaldi.alignments.IntVectorWriter`, Kaldi-exact in text and binary)."""
import io
import logging

from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)

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
