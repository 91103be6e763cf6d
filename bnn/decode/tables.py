"""Guarded matrix reading for the decoders (int-vector archives are written by
:class:`bnn.kaldi.alignments.IntVectorWriter`, Kaldi-exact in text and binary)."""
from bnn.feats import tables as _feats_tables
from bnn.utils.errors import BnnError


def read_matrices(rspec: str):
    """Iterate ``(key, matrix)`` over an rspecifier (``ark:``, ``ark:-``, pipes, ``scp:``; option
    flags such as ``ark,s,cs:`` are accepted).  A truncated or corrupt archive, or a text matrix
    that does not parse, becomes a one-line :class:`BnnError` naming the table and the utterance
    being read (:func:`bnn.feats.tables.read_matrices`)."""
    try:
        _feats_tables.parse_specifier(rspec)
    except BnnError as err:
        raise BnnError(f"{rspec}: cannot open ({err})") from None
    return _feats_tables.read_matrices(rspec)
