"""``bnn-splice-feats [--left-context=4] [--right-context=4] <feats-rspecifier> <feats-wspecifier>``:
splice neighbouring frames, edge frames repeated (Kaldi splice-feats).

e.g.: bnn-splice-feats --left-context=5 --right-context=5 scp:data/train/feats.scp ark:-
"""
from bnn.feats.splice import splice_feats
from bnn.feats.tables import TableWriter, read_matrices
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__, prog="splice-feats")
    p.add_argument("--left-context", type=int, default=4, help="frames of left context")
    p.add_argument("--right-context", type=int, default=4, help="frames of right context")
    p.add_argument("feats_rspecifier")
    p.add_argument("feats_wspecifier")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    with TableWriter(a.feats_wspecifier) as writer:
        for utt, feats in read_matrices(a.feats_rspecifier):
            writer(utt, splice_feats(feats, a.left_context, a.right_context))
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
