"""`bnn-lm-nbest-sweep [--lstm-weight L|none] [--utts list] <scores> <sweep-out>`: the rescored best
hypothesis of each utterance for every LM weight and insertion penalty, as a decoder sweep file
(``<lmwt> <wip> <utt> <ids>``) that steps/score.sh scores like any decode dir."""
from bnn.utils.cli import make_parser, run_main, setup_logging


def lm_nbest_sweep(argv=None) -> int:
    p = make_parser("Write the sweep file of rescored n-best lists.", prog="bnn-lm-nbest-sweep")
    p.add_argument("--lstm-weight", default="0.5", help="lambda of (1-lambda) n-gram + lambda LSTM; 'none': "
                   "keep the lattice's own graph costs (the baseline)")
    p.add_argument("--utts", default="", help="file whose first column lists the utterances to keep")
    p.add_argument("--min-lmwt", type=int, default=1)
    p.add_argument("--max-lmwt", type=int, default=20)
    p.add_argument("--word-ins-penalty", default="0.0,0.5,1.0")
    p.add_argument("scores")
    p.add_argument("sweep")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    from bnn.lm.rescore import read_hyps, sweep_lines
    from bnn.utils.errors import BnnError
    from bnn.utils.fileio import atomic_write
    try:
        lam = None if args.lstm_weight == "none" else float(args.lstm_weight)
        wips = [float(x) for x in args.word_ins_penalty.split(",")]
    except ValueError:
        raise BnnError(f"bad --lstm-weight {args.lstm_weight!r} or --word-ins-penalty {args.word_ins_penalty!r}") from None
    utts = None
    if args.utts:
        with open(args.utts) as f:
            utts = {line.split()[0] for line in f if line.strip()}
    nbest = read_hyps(args.scores)
    lines = sweep_lines(nbest, lam, range(args.min_lmwt, args.max_lmwt + 1), args.word_ins_penalty.split(","), utts)
    if not lines:
        raise BnnError(f"{args.scores}: no hypotheses for the utterances of {args.utts}")
    with atomic_write(args.sweep) as f:
        f.write("\n".join(lines) + "\n")
    return 0


def main(argv=None):
    run_main(lm_nbest_sweep, argv)


if __name__ == "__main__":
    main()
