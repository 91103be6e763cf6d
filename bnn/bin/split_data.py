"""``bnn-split-data [--per-utt] <data-dir> <num-to-split>``: write <data>/split<N>/<n> (speakers
kept whole) or <data>/split<N>utt/<n> (bnn.kaldi.datadir.split_data; Kaldi utils/split_data.sh)."""
from bnn.kaldi.datadir import split_data
from bnn.utils.cli import make_parser, run_main


def _main(argv=None):
    p = make_parser(__doc__, prog="split_data.sh")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--per-utt", action="store_true", help="split by utterance into split<N>utt")
    g.add_argument("--per-spk", action="store_true", help="keep speakers whole (the default)")
    p.add_argument("data", help="data directory, e.g. data/train")
    p.add_argument("num", type=int, help="number of parts")
    a = p.parse_args(argv)
    split_data(a.data, a.num, per_utt=a.per_utt)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
