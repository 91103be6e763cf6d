"""bnn-prepare-an4: lhotse manifests, Kaldi data dirs and dict dir for CMU AN4 (``bnn.corpora.an4``).

e.g.: bnn-prepare-an4 --corpus-dir ../../../shared/corpora/an4 --dict-dir data/local/dict data
writes data/train, data/dev (speaker-disjoint, held out of the training speakers), data/test,
data/manifests/an4_{recordings,supervisions}_<set>.jsonl.gz and the dict dir.
"""
from bnn.corpora.an4 import find_an4, prepare_an4, write_an4_dict
from bnn.corpora.stats import data_dir_stats, format_stats
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv):
    p = make_parser(__doc__.splitlines()[0], prog="bnn-prepare-an4")
    p.add_argument("--corpus-dir", default="an4", help="AN4 directory holding etc/ and wav/")
    p.add_argument("--download-dir", default="downloads",
                   help="where to download and extract AN4 when --corpus-dir lacks it")
    p.add_argument("--download", default="true", choices=["true", "false"],
                   help="download the corpus when --corpus-dir does not hold it")
    p.add_argument("--num-dev-speakers", type=int, default=8,
                   help="training speakers held out as the dev set (half female, half male)")
    p.add_argument("--manifest-dir", default="", help="lhotse manifests (default: <data-dir>/manifests)")
    p.add_argument("--dict-dir", default="", help="also write the dict dir here")
    p.add_argument("data_dir", help="output: parent of the train, dev and test data dirs")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    corpus = find_an4(args.corpus_dir, args.download_dir, args.download == "true")
    dirs = prepare_an4(corpus, args.data_dir, args.num_dev_speakers, args.manifest_dir)
    if args.dict_dir:
        write_an4_dict(corpus, args.dict_dir, list(dirs.values()))
    print(format_stats([data_dir_stats(d, name) for name, d in dirs.items()]))
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
