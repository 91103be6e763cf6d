"""``bnn-apply-cmvn [--norm-means=true] [--norm-vars=false] [--utt2spk=ark:utt2spk]
<cmvn-rspecifier|rxfilename> <feats-rspecifier> <feats-wspecifier>``: cepstral mean (and variance)
normalisation with Kaldi's apply-cmvn semantics.

e.g.: bnn-apply-cmvn --utt2spk=ark:data/train/utt2spk scp:data/train/cmvn.scp scp:data/train/feats.scp ark:-
"""
from bnn.bin._feats_common import add_bool
from bnn.feats.cmvn import apply_cmvn_table
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__, prog="apply-cmvn")
    add_bool(p, "--norm-means", True, "subtract the mean")
    add_bool(p, "--norm-vars", False, "also normalise the variance")
    p.add_argument("--utt2spk", default=None, help="rspecifier of utt2spk: stats are per speaker")
    p.add_argument("cmvn")
    p.add_argument("feats_rspecifier")
    p.add_argument("feats_wspecifier")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    apply_cmvn_table(a.cmvn, a.feats_rspecifier, a.feats_wspecifier, utt2spk=a.utt2spk,
                     norm_means=a.norm_means, norm_vars=a.norm_vars)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
