"""``bnn-copy-feats [--compress=false] [--compression-method=1] <feats-rspecifier> <feats-wspecifier>``:
copy feature matrices between tables, e.g. decompress Kaldi CM/CM2/CM3 archives or write text
(Kaldi copy-feats).  With --compress, matrices are written compressed (kaldiio; Kaldi's method
numbers: 1 automatic, 2 CM, 3 CM2, 5 CM3, ...).

e.g.: bnn-copy-feats scp:data/train/feats.scp ark,t:-
"""
from bnn.bin._feats_common import add_bool
from bnn.feats.tables import TableWriter, read_matrices
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__, prog="copy-feats")
    add_bool(p, "--compress", False, "write compressed matrices")
    p.add_argument("--compression-method", type=int, default=1, help="Kaldi compression method")
    p.add_argument("feats_rspecifier")
    p.add_argument("feats_wspecifier")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    with TableWriter(a.feats_wspecifier,
                     compression_method=a.compression_method if a.compress else None) as writer:
        for utt, feats in read_matrices(a.feats_rspecifier):
            writer(utt, feats)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
