"""bnn-kws-eval: accuracy, per-class errors and FA/FR rates of a KWS model on a cut set.

Every thinning option the model was trained with (or ``--options``) is scored with torch
``eval()``; ``--packed true`` also runs the packed XOR-popcount model (bnn.kws.packed) and reports
its accuracy and its agreement with torch (the exact float32 fold) and the accuracy of the deployed file
(float16 constants, int8 classifier; written as packed_o<N>.bin with --packed-dir).  Writes JSON to ``--out`` (and stdout).
"""
import json

from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__.split("\n")[0])
    p.add_argument("--options", default="", help="comma-separated thinning options (default: all)")
    p.add_argument("--packed", default="false", choices=("true", "false"))
    p.add_argument("--packed-dir", default="", help="also write the deployed files packed_o<N>.bin here")
    p.add_argument("--out", default="", help="JSON output file")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("model", help="model dir (final.pt) or checkpoint")
    p.add_argument("cuts", help="lhotse cuts (jsonl.gz)")
    return p


def _run(argv=None):
    args = get_parser().parse_args(argv)
    setup_logging(args.verbose)
    import torch
    torch.set_num_threads(max(1, args.num_threads))
    from bnn.kws.evaluate import evaluate_dir
    from bnn.utils.errors import BnnError
    from bnn.utils.fileio import atomic_write
    try:
        opts = [int(o) for o in args.options.split(",") if o.strip()] or None
    except ValueError:
        raise BnnError(f"--options {args.options!r}: expected integers like 0,1,2") from None
    res = evaluate_dir(args.model, args.cuts, opts, args.packed == "true", args.packed_dir or None)
    text = json.dumps(res, indent=1)
    if args.out:
        with atomic_write(args.out) as f:
            f.write(text + "\n")
    for o, r in res["options"].items():
        line = f"option {o}: accuracy {r['accuracy']:.4f} ({r['errors']}/{r['n']} errors)"
        if "packed" in r:
            line += (f"; packed (float32 fold) {r['packed_f32']['accuracy']:.4f}, max |diff| "
                     f"{r['packed_vs_torch']['max_abs_diff']:.2e}; deployed file "
                     f"{r['packed']['accuracy']:.4f} ({r['packed']['storage']['total']:,d} bytes)")
        print(line)
    return 0


def main(argv=None):
    run_main(_run, argv)


if __name__ == "__main__":
    main()
