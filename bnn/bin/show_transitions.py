"""bnn-show-transitions: human-readable table of a transition model (Kaldi ``show-transitions``).

Usage: bnn-show-transitions <phones.txt> <model> [<occs>]
e.g.: bnn-show-transitions data/lang/phones.txt exp/mono/final.mdl exp/mono/final.occs

One block per transition-state (phone, HMM state, pdf or forward/self-loop pdfs), one line per
transition-id with its probability, the pdf's occupancy (when ``occs`` is given: a Kaldi vector,
binary or text) and where it goes.
"""
import sys

import numpy as np

from bnn.kaldi.alignments import read_symbol_table
from bnn.kaldi.kaldi_binary import KaldiReader
from bnn.kaldi.model_io import read_transition_model
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError


def read_kaldi_vector(path: str) -> np.ndarray:
    """A Kaldi vector file (binary FV/DV or text) as float64."""
    r = KaldiReader.from_file(path)
    if not r.data:
        raise BnnError(f"{path}: empty file, expected a Kaldi vector")
    return r.read_vector(np.float64)


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-show-transitions")
    p.add_argument("phones", help="phone symbol table (phones.txt)")
    p.add_argument("model", help="Kaldi model (final.mdl), binary or text")
    p.add_argument("occs", nargs="?", help="per-pdf occupancies (final.occs)")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    names = read_symbol_table(args.phones)
    trans = read_transition_model(args.model)
    occs = read_kaldi_vector(args.occs) if args.occs else None
    if occs is not None and len(occs) != trans.num_pdfs:
        raise BnnError(f"{args.occs}: has {len(occs)} occupancies, model {args.model} has "
                       f"{trans.num_pdfs} pdfs")
    try:
        text = trans.print_transitions(names, occs)
    except BnnError as err:
        raise BnnError(f"{args.phones}: {err}") from None
    sys.stdout.write(text)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
