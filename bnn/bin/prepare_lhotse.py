"""bnn-prepare-lhotse: raw AMI / Switchboard to Kaldi data dirs through lhotse's recipes, and a
dict dir from a CMUdict-format lexicon (see bnn.corpora.lhotse_prep).

Usage: bnn-prepare-lhotse ami [--mic ihm] [--annotations DIR] <ami-dir> <out-dir>
       bnn-prepare-lhotse swbd [--transcripts DIR] [--eval2000 DIR] <LDC97S62-dir> <out-dir>
       bnn-prepare-lhotse dict <lexicon> <dict-dir> <text> [<text> ...]
e.g.: bnn-prepare-lhotse ami --mic ihm /corpora/amicorpus data
"""
from bnn.corpora import lhotse_prep
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-prepare-lhotse")
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("ami")
    a.add_argument("--mic", default="ihm")
    a.add_argument("--annotations", default=None)
    a.add_argument("corpus_dir")
    a.add_argument("out_dir")
    s = sub.add_parser("swbd")
    s.add_argument("--transcripts", default=None, help="swb_ms98_transcriptions dir")
    s.add_argument("--eval2000", default=None, help="eval2000 corpus dir (LDC2002S09 + T43)")
    s.add_argument("corpus_dir")
    s.add_argument("out_dir")
    d = sub.add_parser("dict")
    d.add_argument("lexicon")
    d.add_argument("dict_dir")
    d.add_argument("texts", nargs="+")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    if args.what == "ami":
        counts = lhotse_prep.prepare_ami(args.corpus_dir, args.out_dir, args.mic, args.annotations)
    elif args.what == "swbd":
        counts = lhotse_prep.prepare_switchboard(args.corpus_dir, args.out_dir, args.transcripts,
                                                 args.eval2000)
    else:
        found, missing = lhotse_prep.write_cmudict_dict(args.lexicon, args.texts, args.dict_dir)
        counts = {"words": found, "oov": missing}
    for k, v in counts.items():
        print(f"{k} {v}")
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
