"""bnn-export-packed: write the bit-packed deployment file of a trained DNN and report its size.

e.g.: bnn-export-packed exp/bdnn/final.pt exp/bdnn/final.bnnpack

Folds batch-norm and binarizers into per-unit popcount thresholds (Qian & Xiang 2019, 4.2) and
stores binary layers at 1 bit per weight (format: ``bnn/infer/export.py``).  The checkpoint's input
normalisation (``input_mean``/``input_std``) and ``feature_opts`` travel in the file's ``extra`` and
``meta``.  Prints bytes per layer, the total and the ratio against the float checkpoint file.
"""
import json
import logging
import os

from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError

log = logging.getLogger("bnn-export-packed")


def get_parser():
    p = make_parser(__doc__.split("\n")[0])
    p.add_argument("model", help="model dir (with final.pt) or a .pt checkpoint")
    p.add_argument("out", help="output deployment file (e.g. final.bnnpack)")
    return p


def _run(argv=None):
    args = get_parser().parse_args(argv)
    setup_logging(args.verbose)
    from bnn.infer.export import export, format_report
    from bnn.train.model_dir import load_model

    model, payload = load_model(args.model)
    extra = {name: payload[name].numpy() for name in ("input_mean", "input_std")
             if payload.get(name) is not None}
    meta = {"source": os.path.abspath(args.model)}
    try:
        json.dumps(payload.get("feature_opts"))
        meta["feature_opts"] = payload.get("feature_opts")
    except TypeError:
        log.warning("feature_opts are not JSON-serialisable; not stored")
    try:
        report = export(model, args.out, meta=meta, extra=extra)
    except BnnError as err:
        raise BnnError(f"{args.model}: {err}") from None
    ckpt = args.model if os.path.isfile(args.model) else os.path.join(args.model, "final.pt")
    print(format_report(report, float_path=ckpt))
    return 0


def main(argv=None):
    run_main(_run, argv)


if __name__ == "__main__":
    main()
