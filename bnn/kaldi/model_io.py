"""Read and write Kaldi model files (``final.mdl``): a TransitionModel, optionally followed by an
acoustic model.

Kaldi's ``gmm-copy``/``copy-transition-model`` write one object stream: in binary mode the
``\\0B`` header once, then ``TransitionModel::Write`` and (for GMM models)
``AmDiagGmm::Write``.  :func:`read_model` detects binary/text from the header, reads the transition
model, and then an ``AmDiagGmm`` when ``<DIMENSION>`` follows; any other acoustic model (nnet3,
nnet1, SGMM, ...) is skipped, so an ``ali-to-pdf``-style tool works on every ``final.mdl``.
"""
import logging
import os
from typing import Optional, Tuple

from bnn.kaldi.am_gmm import AmDiagGmm
from bnn.kaldi.kaldi_binary import KaldiReader, KaldiWriter
from bnn.kaldi.transition_model import TransitionModel
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

log = logging.getLogger(__name__)


def _not_a_model(path: str, why: str) -> BnnError:
    return BnnError(f"{path}: not a Kaldi model ({why})")


def read_model(path, read_am: bool = True) -> Tuple[TransitionModel, Optional[AmDiagGmm]]:
    """``(TransitionModel, AmDiagGmm or None)`` from a Kaldi model file, binary or text.

    Raises a one-line :class:`BnnError` ``"<path>: not a Kaldi model (...)"`` when the file does
    not start with a transition model, and ``"<path>: ... at byte N"`` when it is truncated or
    corrupt.
    """
    path = str(path)
    if os.path.isdir(path):
        raise BnnError(f"{path}: is a directory, expected a Kaldi model file")
    r = KaldiReader.from_file(path)
    if not r.data:
        raise _not_a_model(path, "empty file")
    first = r.peek_token()
    if first != "<TransitionModel>":
        shown = first[:30] if first and first.isprintable() else f"bytes {r.data[:8]!r}"
        raise _not_a_model(path, f"expected <TransitionModel>, found {shown}")
    trans = TransitionModel.read(r)
    am = None
    if read_am and not r.at_eof():
        nxt = r.peek_token()
        if nxt == "<DIMENSION>":
            am = AmDiagGmm.read(r)
        else:
            log.debug("%s: skipping acoustic model starting with %s", path, nxt[:30])
    return trans, am


def read_transition_model(path) -> TransitionModel:
    """Only the transition model of a Kaldi model file (the acoustic model is not parsed)."""
    return read_model(path, read_am=False)[0]


def model_bytes(trans: TransitionModel, am: Optional[AmDiagGmm] = None, binary: bool = True) -> bytes:
    """The bytes Kaldi writes for ``trans`` (+ ``am``) in binary or text mode."""
    w = KaldiWriter(binary=binary)
    trans.write(w)
    if am is not None:
        am.write(w)
    return w.getvalue()


def write_model(path, trans: TransitionModel, am: Optional[AmDiagGmm] = None,
                binary: bool = True) -> None:
    """Write ``trans`` (+ ``am``) to ``path`` atomically, like ``gmm-copy --binary=...``."""
    data = model_bytes(trans, am, binary)
    if str(path) == "-":
        import sys
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    with atomic_write(str(path), "wb") as f:
        f.write(data)
