"""bnn-prepare-dict: a Kaldi dict dir (lexicon + phone lists) for a built-in corpus.

e.g.: bnn-prepare-dict fsdd data/local/dict
yesno: Kaldi's egs/yesno lexicon (YES Y, NO N, <SIL> SIL); fsdd: digit words ZERO..NINE with
CMUdict pronunciations without stress, <SIL> SIL, <UNK> SPN.
"""
from bnn.corpora.fsdd import write_fsdd_dict
from bnn.corpora.yesno import write_yesno_dict
from bnn.utils.cli import make_parser, run_main, setup_logging

WRITERS = {"yesno": write_yesno_dict, "fsdd": write_fsdd_dict}


def _main(argv):
    p = make_parser(__doc__.splitlines()[0], prog="bnn-prepare-dict")
    p.add_argument("corpus", choices=sorted(WRITERS))
    p.add_argument("dict_dir", help="output dict dir, e.g. data/local/dict")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    WRITERS[args.corpus](args.dict_dir)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
