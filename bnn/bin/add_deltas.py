"""``bnn-add-deltas [--delta-order=2] [--delta-window=2] <feats-rspecifier> <feats-wspecifier>``:
append delta features (Kaldi add-deltas).

e.g.: bnn-add-deltas scp:data/train/feats.scp ark:-
"""
import logging

from bnn.feats.deltas import add_deltas
from bnn.feats.tables import TableWriter, read_matrices
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__, prog="add-deltas")
    p.add_argument("--delta-order", type=int, default=2, help="order of delta computation")
    p.add_argument("--delta-window", type=int, default=2, help="half-width of the delta window")
    p.add_argument("feats_rspecifier")
    p.add_argument("feats_wspecifier")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    with TableWriter(a.feats_wspecifier) as writer:
        for utt, feats in read_matrices(a.feats_rspecifier):
            if feats.shape[0] == 0:
                logging.warning("Empty feature matrix for utterance %s", utt)
                continue
            writer(utt, add_deltas(feats, a.delta_order, a.delta_window))
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
