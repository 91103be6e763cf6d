"""`bnn-make-results-table [--exp-dir exp] [--dev dev] [--test test] [--output RESULTS.md]`: one
markdown table of every exp/*/decode_* (see :mod:`bnn.decode.results`): a row per decode dir
with an engine column (``decode_test_packed`` -> ``packed``), nets not converged marked.  The
table is written between marker lines; text outside them in an existing --output is kept.

e.g.: bnn-make-results-table --exp-dir exp --dev dev --test test --output RESULTS.md"""
import os
import sys

from bnn.utils.cli import make_parser, run_main, setup_logging


def make_results_table(argv=None) -> int:
    from bnn.decode.results import make_results
    p = make_parser("Gather exp/*/decode_<dev|test> WERs into a markdown RESULTS table.",
                    prog="bnn-make-results-table")
    p.add_argument("--exp-dir", default="exp")
    p.add_argument("--dev", default="dev", help="dev set name (decode_<dev>): picks LM weight/penalty")
    p.add_argument("--test", default="test", help="test set name (decode_<test>)")
    p.add_argument("--title", default="Results")
    p.add_argument("--command", default="", help="command line that produced the results (default: this one)")
    p.add_argument("--output", default="RESULTS.md",
                   help="markdown file: its generated block is replaced, the rest kept (a file "
                        "without the block's markers is kept as <output>.bak)")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    text = make_results(args.exp_dir, args.output, args.dev, args.test, args.title,
                        args.command or " ".join(sys.argv), repo)
    sys.stdout.write(text)
    return 0


def main(argv=None):
    run_main(make_results_table, argv)


if __name__ == "__main__":
    main()
