"""bnn-bench-train: training frames/s of the float 6x2048 sigmoid DNN, the Lu binary-weight DNN and
the Qian BDNN (1188 -> 6 x 2048 -> 8876) on the device found (CUDA when present, else CPU), and the
projected epoch time for WSJ si284 (~30M frames) and Switchboard 300 h (~108M frames).

e.g.: bnn-bench-train
      bnn-bench-train --device cuda --batch-size 4096 --autocast bf16 --steps 50
"""
from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__)
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    p.add_argument("--batch-size", type=int, default=0,
                   help="frames per step (0: 256 on CPU, 4096 on CUDA)")
    p.add_argument("--steps", type=int, default=0, help="timed steps (0: 3 on CPU, 50 on CUDA)")
    p.add_argument("--autocast", default="none", choices=["none", "bf16", "fp16"],
                   help="mixed precision (CUDA only)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--num-threads", type=int, default=0, help="torch CPU threads (0: torch's)")
    p.add_argument("--net", action="append", default=None,
                   help="net label (repeatable; default all three)")
    return p


def main(argv=None):
    def _run(argv):
        args = get_parser().parse_args(argv)
        setup_logging(args.verbose)
        import torch

        from bnn.bench.train_speed import CORPORA, NETS, run
        from bnn.utils.errors import BnnError
        if args.num_threads:
            torch.set_num_threads(args.num_threads)
        device = args.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise BnnError("--device cuda: torch sees no CUDA device")
        for n in args.net or []:
            if n not in NETS:
                raise BnnError(f"--net {n!r}: expected one of {', '.join(NETS)}")
        gpu = device == "cuda"
        batch = args.batch_size or (4096 if gpu else 256)
        steps = args.steps or (50 if gpu else 3)
        what = torch.cuda.get_device_name(0) if gpu else \
            f"CPU, {torch.get_num_threads()} torch threads"
        rows = run(device, batch, steps, args.net, args.autocast, args.compile)
        print(f"# bnn-bench-train: {what}; batch {batch}, best of {steps} steps, autocast "
              f"{args.autocast}, compile {args.compile}; torch {torch.__version__}")
        names = list(CORPORA)
        print("| net | params | s/step | train frames/s | " +
              " | ".join(f"{n} epoch (h)" for n in names) + " |")
        print("|---|---:|---:|---:|" + "---:|" * len(names))
        for r in rows:
            print(f"| {r['net']} | {r['params'] / 1e6:.1f}M | {r['seconds_per_step']:.3f} | "
                  f"{r['fps']:,.0f} | " + " | ".join(f"{r['epoch_hours'][n]:,.1f}" for n in names)
                  + " |")
        return 0
    run_main(_run, argv)


if __name__ == "__main__":
    main()
