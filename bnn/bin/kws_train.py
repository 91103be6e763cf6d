"""bnn-kws-train: train a KWS D-FSMN (float teacher, BNN/XNOR baseline or BiFSMNv2) from a config.

Writes ``<dir>/final.pt`` (best dev accuracy of thinning option 0), ``best.pt``, ``epoch.pt``
(resumable), ``train_summary.json`` and ``.done``.  See :mod:`bnn.kws.train` for the config.
"""
import json
import os

from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__.split("\n")[0])
    p.add_argument("--config", required=True, help="conf/kws/*.yaml")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (YAML), e.g. train.epochs=2")
    p.add_argument("--merge", action="append", default=[], metavar="YAML",
                   help="YAML file deep-merged into the config (a recipe's sizes)")
    p.add_argument("--teacher", default=None, help="float teacher model dir or checkpoint")
    p.add_argument("--num-threads", type=int, default=1, help="torch threads")
    p.add_argument("train_cuts")
    p.add_argument("dev_cuts")
    p.add_argument("dir")
    return p


def _run(argv=None):
    args = get_parser().parse_args(argv)
    setup_logging(args.verbose)
    import torch
    torch.set_num_threads(max(1, args.num_threads))
    from bnn.kws.train import train
    from bnn.train.config import load_config
    from bnn.train.driver import env_info
    from bnn.utils.fileio import atomic_write
    cfg = load_config(args.config, args.set, merge=args.merge)
    os.makedirs(args.dir, exist_ok=True)
    info = env_info()
    import logging
    logging.getLogger("bnn.kws").info("env %s", info)
    with atomic_write(os.path.join(args.dir, "config.json")) as f:
        json.dump({"config": cfg, "args": vars(args), "env": info}, f, indent=1)
    s = train(cfg, args.train_cuts, args.dev_cuts, args.dir, args.teacher)
    print(f"best dev accuracy {s['best_dev_acc']:.4f}")
    return 0


def main(argv=None):
    run_main(_run, argv)


if __name__ == "__main__":
    main()
