"""bnn-prepare-yesno: Kaldi data dirs for the yesno corpus (``bnn.corpora.yesno``).

e.g.: bnn-prepare-yesno --corpus-dir ../../../shared/corpora/yesno/waves_yesno data
writes data/train_yesno and data/test_yesno (wav.scp, text, utt2spk, spk2utt).
"""
from bnn.corpora.yesno import find_yesno, prepare_yesno
from bnn.corpora.stats import data_dir_stats, format_stats
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv):
    p = make_parser(__doc__.splitlines()[0], prog="bnn-prepare-yesno")
    p.add_argument("--corpus-dir", default="waves_yesno",
                   help="directory with the 60 yesno wav files")
    p.add_argument("--download-dir", default="downloads",
                   help="where to download and extract waves_yesno.tar.gz when --corpus-dir "
                        "is absent")
    p.add_argument("--download", default="true", choices=["true", "false"],
                   help="download the corpus when --corpus-dir does not hold it")
    p.add_argument("--train-name", default="train_yesno")
    p.add_argument("--test-name", default="test_yesno")
    p.add_argument("data_dir", help="output: parent of the train and test data dirs")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    corpus = find_yesno(args.corpus_dir, args.download_dir, args.download == "true")
    dirs = prepare_yesno(corpus, args.data_dir, args.train_name, args.test_name)
    print(format_stats([data_dir_stats(d, name) for name, d in dirs.items()]))
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
