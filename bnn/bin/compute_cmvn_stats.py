"""``bnn-compute-cmvn-stats [--spk2utt=ark:spk2utt] <feats-rspecifier> <stats-wspecifier|wxfilename>``:
CMVN statistics (2 x (dim+1) double matrices) per utterance, per speaker with --spk2utt, or one
global matrix when the output is a plain file (Kaldi compute-cmvn-stats).

e.g.: bnn-compute-cmvn-stats --spk2utt=ark:data/train/spk2utt scp:data/train/feats.scp ark,scp:cmvn.ark,cmvn.scp
"""
from bnn.feats.cmvn import compute_cmvn_stats_table
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__, prog="compute-cmvn-stats")
    p.add_argument("--spk2utt", default=None, help="rspecifier of spk2utt: stats per speaker")
    p.add_argument("feats_rspecifier")
    p.add_argument("stats_wspecifier")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    compute_cmvn_stats_table(a.feats_rspecifier, a.stats_wspecifier, spk2utt=a.spk2utt)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
