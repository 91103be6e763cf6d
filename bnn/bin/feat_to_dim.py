"""``bnn-feat-to-dim <feats-rspecifier|rxfilename> [<dim-wxfilename>|-]``: print the feature
dimension (of the first utterance of a table, or of one matrix file), as Kaldi feat-to-dim.

e.g.: bnn-feat-to-dim scp:data/train/feats.scp -
"""
import kaldiio

from bnn.feats.tables import read_matrices
from bnn.utils.errors import BnnError
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.fileio import atomic_write


def _main(argv=None):
    p = make_parser(__doc__, prog="feat-to-dim")
    p.add_argument("feats")
    p.add_argument("output", nargs="?", default="-")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    if ":" in a.feats:
        first = next(iter(read_matrices(a.feats)), None)
        if first is None:
            raise BnnError(f"{a.feats}: empty feature table")
        dim = first[1].shape[1]
    else:
        try:
            dim = kaldiio.load_mat(a.feats).shape[1]
        except FileNotFoundError:
            raise BnnError(f"{a.feats}: no such file") from None
    if a.output == "-":
        print(dim)
    else:
        with atomic_write(a.output) as f:
            f.write(f"{dim}\n")
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
