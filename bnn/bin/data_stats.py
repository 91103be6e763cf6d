"""bnn-data-stats: utterances, speakers, words and hours of Kaldi data dirs.

e.g.: bnn-data-stats data/train data/dev data/test
"""
from bnn.corpora.stats import data_dir_stats, format_stats
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv):
    p = make_parser(__doc__.splitlines()[0], prog="bnn-data-stats")
    p.add_argument("data_dirs", nargs="+", help="Kaldi data dirs")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    print(format_stats([data_dir_stats(d) for d in args.data_dirs]))
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
