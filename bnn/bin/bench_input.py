"""bnn-bench-input: training input frames/s delivered to the model, the numpy pipeline next to the
batched tensor pipeline, one line per configuration (target >= 1,000,000 frames/s for 40-dim fbank
+ deltas + 11-frame splice).  Without a data dir a random 40-dim corpus is generated.

e.g.: bnn-bench-input --batch-size 256 --batch-size 1024
      bnn-bench-input --data data/train --targets exp/ali/pdf.scp --device cuda
"""
from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__)
    p.add_argument("--data", default=None, help="data dir (feats.scp, cmvn.scp, utt2spk); "
                   "default: a generated corpus")
    p.add_argument("--targets", default=None, help="pdf target scp for --data")
    p.add_argument("--utts", type=int, default=2000, help="utterances of the generated corpus "
                   "(200-600 frames each; 2000: ~800k frames, 8 shuffle buffers, so that one epoch "
                   "takes long enough to time)")
    p.add_argument("--batch-size", type=int, action="append", default=None,
                   help="minibatch frames (repeatable; default 256 and 1024)")
    p.add_argument("--buffer-frames", type=int, default=100000, help="shuffle buffer (frames)")
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    p.add_argument("--workers", type=int, action="append", default=None,
                   help="reader worker processes of the batched path (repeatable; default 0)")
    p.add_argument("--config", action="append", default=None,
                   help="configuration name (repeatable; default all)")
    p.add_argument("--num-threads", type=int, default=1, help="torch threads")
    p.add_argument("--max-old-frames", type=int, default=200000,
                   help="stop the slow numpy path after this many frames (0: whole epoch)")
    return p


def main(argv=None):
    def _run(argv):
        args = get_parser().parse_args(argv)
        setup_logging(args.verbose)
        if (args.data is None) != (args.targets is None):
            from bnn.utils.errors import BnnError
            raise BnnError("--data and --targets go together")
        import torch
        from bnn.bench.input import CONFIGS, run
        torch.set_num_threads(max(1, args.num_threads))
        device = args.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        for c in args.config or []:
            if c not in CONFIGS:
                from bnn.utils.errors import BnnError
                raise BnnError(f"--config {c}: expected one of {', '.join(CONFIGS)}")
        rows = run(args.data, args.targets, args.batch_size or [256, 1024], args.buffer_frames,
                   device, args.workers or [0], args.config, args.utts, args.max_old_frames)
        print(f"# bnn-bench-input: device {device}, torch threads {args.num_threads}, buffer "
              f"{args.buffer_frames} frames, {'generated corpus' if args.data is None else args.data}")
        print("| configuration | input dim | pipeline | batch | frames | seconds | frames/s | "
              "x numpy | frames per CPU-second |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['config']} | {r['dim']} | {r['pipeline']} | {r['batch']} | {r['frames']} "
                  f"| {r['seconds']:.2f} | {r['fps']:,.0f} | {r['x_old']:.1f} | "
                  f"{r['fps_cpu']:,.0f} |")
        return 0
    run_main(_run, argv)


if __name__ == "__main__":
    main()
