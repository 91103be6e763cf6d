"""`bnn-lm-nbest-select [--lstm-weights '0.0 0.5 1.0'] [--min-lmwt 7 --max-lmwt 17]
[--word-ins-penalty 0.0,0.5,1.0] <words.txt> <dev-text> <scores>`: choose the LSTM weight, LM
weight and insertion penalty with the fewest expected word errors on the utterances of
<dev-text> (bnn.lm.rescore.choose_min_expected_errors); prints ``<lambda> <lmwt> <wip> <expected
errors>`` on stdout."""
from bnn.utils.cli import make_parser, run_main, setup_logging


def lm_nbest_select(argv=None) -> int:
    p = make_parser("Choose interpolation weight, LM weight and penalty on dev by expected errors.",
                    prog="bnn-lm-nbest-select")
    p.add_argument("--lstm-weights", default="0.0 0.25 0.5 0.75 1.0", help="candidate lambdas ('none': "
                   "the lattice's own graph costs)")
    p.add_argument("--min-lmwt", type=int, default=7)
    p.add_argument("--max-lmwt", type=int, default=17)
    p.add_argument("--word-ins-penalty", default="0.0,0.5,1.0")
    p.add_argument("words", help="symbol table of the n-best word ids (Kaldi words.txt)")
    p.add_argument("dev_text", help="reference text of the dev utterances (Kaldi text)")
    p.add_argument("scores", help="scores file of bnn-lm-score-nbest (or an n-best file with 'none')")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    import logging

    from bnn.decode.decoder import read_symbol_table
    from bnn.decode.scoring import read_text_archive
    from bnn.lm.rescore import choose_min_expected_errors, read_hyps
    from bnn.utils.errors import BnnError
    try:
        lams = [None if x == "none" else float(x) for x in args.lstm_weights.split()]
        wips = [float(x) for x in args.word_ins_penalty.split(",")]
    except ValueError:
        raise BnnError(f"bad --lstm-weights {args.lstm_weights!r} or --word-ins-penalty "
                       f"{args.word_ins_penalty!r}") from None
    words = read_symbol_table(args.words)
    refs = read_text_archive(args.dev_text)
    lam, lmwt, wip, v = choose_min_expected_errors(read_hyps(args.scores), refs, words, lams,
                                                   range(args.min_lmwt, args.max_lmwt + 1), wips)
    lam_s = "none" if lam is None else args.lstm_weights.split()[lams.index(lam)]
    wip_s = args.word_ins_penalty.split(",")[wips.index(wip)]
    logging.getLogger("bnn").info("%d dev utterances: lambda %s, LM weight %d, penalty %s: %.2f expected errors",
                                  len(refs), lam_s, lmwt, wip_s, v)
    print(f"{lam_s} {lmwt} {wip_s} {v:.4f}")
    return 0


def main(argv=None):
    run_main(lm_nbest_select, argv)


if __name__ == "__main__":
    main()
