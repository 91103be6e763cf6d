"""bnn-plot-curves: train and CV frame accuracy per epoch of several models in one PNG.

Usage: bnn-plot-curves --output curves.png [--metric acc|loss] [--labels a,b,...] <model-dir>...
e.g.: bnn-plot-curves --output exp/curves_lu.png exp/dnn_float exp/lu_bw_p0 exp/lu_bw_p001

Reads <model-dir>/history.json (bnn-train); like Lu et al. 2017 Figs. 2-3 and Qian & Xiang 2019
Figs. 1-2 (bnn.results.curves).  The PNG is written atomically.
"""
from bnn.results.curves import METRICS, plot_curves, read_history
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-plot-curves")
    p.add_argument("--output", required=True, help="PNG file to write")
    p.add_argument("--metric", default="acc", choices=METRICS, help="frame accuracy or loss")
    p.add_argument("--labels", default="", help="comma-separated legend labels (default: dir names)")
    p.add_argument("--title", default="", help="figure title")
    p.add_argument("model_dirs", nargs="+", help="model dirs with history.json")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    labels = args.labels.split(",") if args.labels else [None] * len(args.model_dirs)
    if len(labels) != len(args.model_dirs):
        raise BnnError(f"--labels has {len(labels)} names for {len(args.model_dirs)} model dirs")
    curves = [read_history(d, args.metric, lab) for d, lab in zip(args.model_dirs, labels)]
    plot_curves(curves, args.output, args.metric, args.title)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
