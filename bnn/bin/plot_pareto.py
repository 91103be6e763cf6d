"""bnn-plot-pareto: test WER against deployed model bytes and against frames/s, Pareto fronts marked.

Usage: bnn-plot-pareto [options] <exp-dir>
e.g.: bnn-plot-pareto --output pareto.png --table pareto.md exp

Every exp/<system> with a model_size.txt (bnn-model-report) and a scored decode_<test>[_suffix]
is a point per decode variant (torch, packed): test WER at the LM weight/penalty best on dev,
the model's deployed bytes, and the network frames/s its decode jobs logged (bnn.results.pareto).
"""
import sys

from bnn.results import pareto
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.fileio import atomic_write


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-plot-pareto")
    p.add_argument("--output", default="pareto.png", help="PNG to write")
    p.add_argument("--table", default="", help="also write the points as a markdown table here")
    p.add_argument("--dev-set", default="dev", help="picks the LM weight/penalty ('' : none)")
    p.add_argument("--test-set", default="test", help="the WER axis")
    p.add_argument("--title", default="", help="figure title")
    p.add_argument("exp_dir", help="experiment dir holding <system>/model_size.txt and decode dirs")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    points = pareto.collect_points(args.exp_dir, args.dev_set, args.test_set)
    pareto.plot(points, args.output, args.title)
    text = pareto.table(points)
    if args.table:
        with atomic_write(args.table) as f:
            f.write(text)
    sys.stdout.write(text)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
