"""`bnn-lm-report [--ppl NAME=LM_DIR ...] [--wer NAME=RESCORE_DIR ...] [--wer-cross NAME=DIR_A,DIR_B ...]
[--cross-hyps DIR] [--out file.md]`: markdown tables of perplexity/size/compression and of WER
before/after n-best rescoring, single split or crosswise (bnn.lm.report)."""
from bnn.utils.cli import make_parser, run_main, setup_logging


def lm_report(argv=None) -> int:
    p = make_parser("Perplexity and rescoring tables of LSTM LMs.", prog="bnn-lm-report")
    p.add_argument("--ppl", nargs="*", action="extend", default=[], help="NAME=LM_DIR (with eval.json)")
    p.add_argument("--wer", nargs="*", action="extend", default=[], help="NAME=RESCORE_DIR (steps/lm/rescore_nbest.sh output)")
    p.add_argument("--wer-cross", nargs="*", action="extend", default=[],
                   help="NAME=DIR_A,DIR_B: rescore dirs tuned on half A and on half B (each scored on the other)")
    p.add_argument("--cross-hyps", default="", help="write <dir>/NAME.txt: the pooled crosswise hypotheses "
                   "of each --wer-cross system (for bnn-wer-bootstrap)")
    p.add_argument("--title", default="")
    p.add_argument("--out", default="", help="also write the tables here")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    from bnn.lm.report import best_hyp_file, cross_wer_table, ppl_table, wer_table
    from bnn.utils.errors import BnnError
    from bnn.utils.fileio import atomic_write

    def pairs(items):
        out = []
        for it in items:
            if "=" not in it:
                raise BnnError(f"expected NAME=DIR, got {it!r}")
            out.append(tuple(it.split("=", 1)))
        return out
    lines = [f"### {args.title}", ""] if args.title else []
    if args.ppl:
        lines += ppl_table(pairs(args.ppl)) + [""]
    if args.wer:
        lines += wer_table(pairs(args.wer)) + [""]
    cross = []
    for name, dirs in pairs(args.wer_cross):
        if dirs.count(",") != 1:
            raise BnnError(f"--wer-cross {name}={dirs}: expected NAME=DIR_A,DIR_B")
        cross.append((name, *dirs.split(",")))
    if cross:
        lines += cross_wer_table(cross) + [""]
    if args.cross_hyps:
        import os
        os.makedirs(args.cross_hyps, exist_ok=True)
        for name, d_a, d_b in cross:
            text = ""
            for d in (d_a, d_b):
                with open(best_hyp_file(os.path.join(d, "eval"))) as f:
                    text += f.read()
            with atomic_write(os.path.join(args.cross_hyps, f"{name}.txt")) as f:
                f.write(text)
    text = "\n".join(lines)
    print(text)
    if args.out:
        with atomic_write(args.out) as f:
            f.write(text)
    return 0


def main(argv=None):
    run_main(lm_report, argv)


if __name__ == "__main__":
    main()
