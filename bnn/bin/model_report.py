"""bnn-model-report: bytes per layer as trained (float latent weights) and as deployed
(1 bit per binary weight), plus a latent-weight histogram PNG (Qian & Xiang Figs. 3-4)."""
from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__)
    p.add_argument("--output", default=None, help="also write the table to this file")
    p.add_argument("--histogram", default=None,
                   help="PNG of the latent weights of binary layers (default: next to the model)")
    p.add_argument("model", help="final.pt or a model dir")
    return p


def main(argv=None):
    def _run(argv):
        import os
        args = get_parser().parse_args(argv)
        setup_logging(args.verbose)
        from bnn.nn.report import format_size_report, model_size_report, plot_weight_histogram
        from bnn.train.model_dir import load_model
        from bnn.utils.fileio import atomic_write
        model, _ = load_model(args.model)
        table = format_size_report(model_size_report(model))
        print(table)
        if args.output:
            with atomic_write(args.output) as f:
                f.write(table + "\n")
        model_dir = args.model if os.path.isdir(args.model) else os.path.dirname(args.model)
        if any(b.affine.kernel_quantizer is not None for b in model.blocks):
            png = args.histogram or os.path.join(model_dir, "weight_histogram.png")
            plot_weight_histogram(model, png, title=os.path.basename(os.path.abspath(model_dir)))
    run_main(_run, argv)


if __name__ == "__main__":
    main()
