"""bnn-bench-gpu: the CUDA XOR-popcount GEMM (Triton kernel when triton is installed, and torch
ops) against cuBLAS fp32 and fp16 at (16,2048,2048) and (2048,2048,2048), GOPS and ratios, with
a bit-exactness check against the CPU engine.  Without a CUDA device it says so and exits 0.

e.g.: bnn-bench-gpu --repeats 10
"""
from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__)
    p.add_argument("--repeats", type=int, default=5, help="timing repeats; the best is reported")
    p.add_argument("--min-time", type=float, default=0.05, help="seconds per timing repeat")
    return p


def main(argv=None):
    def _run(argv):
        args = get_parser().parse_args(argv)
        setup_logging(args.verbose)
        import torch
        if not torch.cuda.is_available():
            print(f"# bnn-bench-gpu: no CUDA device (torch {torch.__version__}, CUDA build "
                  f"{torch.version.cuda}); nothing measured -- run it on a GPU machine")
            return 0
        from bnn.bench.gpu_gemm import run
        from bnn.infer import gpu
        rows = run(repeats=args.repeats, min_time=args.min_time)
        print(f"# bnn-bench-gpu: {torch.cuda.get_device_name(0)}; torch {torch.__version__}, "
              f"CUDA {torch.version.cuda}; Triton {'yes' if gpu.triton_available() else 'no'}")
        print("| GEMM (m,n,k) | implementation | GOPS | x cuBLAS fp32 | x cuBLAS fp16 | "
              "bit-exact vs CPU |")
        print("|---|---|---:|---:|---:|---|")
        for r in rows:
            ex = "" if r["exact"] is None else ("yes" if r["exact"] else "NO")
            print(f"| {r['size']} | {r['impl']} | {r['gops']:,.0f} | {r['x_fp32']:.2f} | "
                  f"{r['x_fp16']:.2f} | {ex} |")
        return 0 if all(r["exact"] in (None, True) for r in rows) else 1
    run_main(_run, argv)


if __name__ == "__main__":
    main()
