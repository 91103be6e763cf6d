"""bnn-bench: binary vs float GEMM and DNN inference speed and model size, side by side.

One table per run, every number measured in this process with the same thread count:

* GEMM GOPS (``2 m n k / s``) at (16,2048,2048), (64,2048,2048), (2048,2048,2048) for torch fp32,
  numpy fp32 (its BLAS) and each packed XOR-popcount path (``k - 2 popcount(a XOR b)`` into int32),
  with the ratio against the faster float GEMM;
* end-to-end frames/s at batch 16 of the papers' DNN (input 1188, 6 x 2048 hidden, 8876 outputs):
  float torch, float torch oneDNN (``torch.utils.mkldnn.to_mkldnn``), float numpy (the packed
  engine running float layers), float on the extension's own float32 kernel (``bitgemm.sgemm``,
  what the packed engine's real layers use by default), packed Lu-style (real output layer) and packed Qian-style (binary
  output layer), with model bytes (float32 state vs deployment file);
* the packed Lu net with its real input/output layers in int8 (``--real-layers int8``: torch
  dynamic quantization on oneDNN);
* with ``--num-threads N`` > 1, a thread-scaling table measured in the same run: packed GEMM GOPS
  at m = 16, 64, 2048 and Qian-DNN frames/s with 1 and with N threads, and their ratio;
* CPU model and SIMD flags, threads, library versions.

Timings are the best of ``--repeats`` runs (robust on a loaded machine).  torch's MKL takes a
generic (non-AVX-512) path on AMD CPUs, so ratios use the best float baseline measured here.
"""
import os
import platform
import sys
import tempfile
import time

from bnn.utils.cli import make_parser, run_main, setup_logging

SIZES = [(16, 2048, 2048), (64, 2048, 2048), (2048, 2048, 2048)]
QUICK_SIZES = [(16, 512, 512), (64, 512, 512), (256, 512, 512)]
DNN = {"input": 1188, "hidden": 2048, "layers": 6, "pdfs": 8876}
QUICK_DNN = {"input": 120, "hidden": 256, "layers": 3, "pdfs": 500}
FLAGS = ("avx2", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vpopcntdq", "popcnt")
SLOW_OPS = 1e9       # skip the portable C / numpy paths above this many ops (minutes)


def get_parser():
    p = make_parser(__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (CI)")
    p.add_argument("--num-threads", type=int, default=1, help="threads for torch, BLAS and kernels")
    p.add_argument("--repeats", type=int, default=7, help="timing repeats; the best is reported")
    p.add_argument("--min-time", type=float, default=0.05,
                   help="seconds per timing repeat (calls are batched to reach it)")
    p.add_argument("--batch", type=int, default=16, help="frames per forward call (end to end)")
    p.add_argument("--skip-gemm", action="store_true")
    p.add_argument("--skip-dnn", action="store_true")
    p.add_argument("--scaling-only", action="store_true",
                   help="only the 1-vs-N-thread table (with --num-threads N > 1)")
    p.add_argument("--kws", action="store_true",
                   help="also benchmark the binary D-FSMN keyword spotter (bnn.bench.kws)")
    p.add_argument("--kws-teacher", default="", help="trained float KWS model dir (--kws)")
    p.add_argument("--kws-model", default="", help="trained BiFSMNv2 model dir (--kws)")
    p.add_argument("--kws-batch", type=int, default=16, help="windows per call for throughput")
    return p


def best_time(fn, repeats: int, min_time: float) -> float:
    """Best seconds per call over ``repeats`` timing runs of ``n`` calls each."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(min_time / one))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def cpu_info() -> tuple:
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("unknown", "x86_64", ""):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return model, [f for f in FLAGS if f in flags]


def versions() -> str:
    import numpy as np
    import torch
    from bnn.infer import bitgemm
    blas = "?"
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{deps.get('name')} {deps.get('version')}"
    except Exception:  # noqa: BLE001 - older numpy
        pass
    return (f"python {platform.python_version()}, numpy {np.__version__} ({blas}), torch "
            f"{torch.__version__} (MKL {torch.backends.mkl.is_available()}, oneDNN "
            f"{torch.backends.mkldnn.is_available()}), bitgemm extension "
            f"{'built' if bitgemm.extension_available() else 'MISSING (numpy fallback)'}")


def bench_gemm(sizes, args, rows):
    import numpy as np
    import torch
    from bnn.infer import bitgemm, packing

    rng = np.random.default_rng(0)
    for m, n, k in sizes:
        ops = 2.0 * m * n * k
        a32 = rng.standard_normal((m, k), dtype=np.float32)
        b32 = rng.standard_normal((k, n), dtype=np.float32)
        ta, tb = torch.from_numpy(a32), torch.from_numpy(b32)
        res = {}
        with torch.no_grad():
            res["torch fp32"] = ops / best_time(lambda: torch.mm(ta, tb), args.repeats,
                                                args.min_time)
        res["numpy fp32"] = ops / best_time(lambda: a32 @ b32, args.repeats, args.min_time)
        best_float = max(res.values())
        apk = packing.pack_pm1(a32)
        w = bitgemm.PackedWeights(packing.pack_pm1(b32.T), k)
        for kern in bitgemm.available_kernels():
            label = f"packed {kern}"
            if kern in ("generic", "numpy") and ops > SLOW_OPS:
                res[label] = None
                continue
            res[label] = ops / best_time(
                lambda: bitgemm.bitgemm(apk, w, k, kernel=kern, num_threads=args.num_threads),
                max(1, args.repeats if kern not in ("generic", "numpy") else 2), args.min_time)
        for label, gops in res.items():
            rows.append((f"({m},{n},{k})", label, gops, best_float))


def dnn_configs(shape):
    base = {"type": "dnn", "hidden_dim": shape["hidden"], "num_hidden": shape["layers"]}
    return {
        "float": dict(base, activation="sigmoid"),
        "lu": dict(base, activation="binary",
                   binary_activation={"name": "masked_sign", "k": 1, "values": "-1,1"},
                   weights={"input": "real", "hidden": "binary", "output": "real"}),
        "qian": dict(base, activation="hardtanh_binary", batchnorm=True, output_batchnorm=True,
                     binary_activation={"name": "stochastic_sign"},
                     weights={"input": "real", "hidden": "binary", "output": "binary"}),
    }


def _randomise_bn(model, seed=0):
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for block in model.blocks:
            bn = block.post.bn
            if bn is not None:
                k = block.affine.in_features
                bn.running_mean.normal_(0, 0.3 * k ** 0.5, generator=g)
                bn.running_var.uniform_(0.5 * k, 1.5 * k, generator=g)
                bn.weight.normal_(0, 1, generator=g)
                bn.bias.normal_(0, 0.3, generator=g)


def bench_dnn(shape, args, rows):
    import numpy as np
    import torch
    from torch.utils import mkldnn

    from bnn.infer import bitgemm, export as export_mod
    from bnn.infer.engine import PackedModel
    from bnn.nn.models import build_model

    cfgs = dnn_configs(shape)
    x = np.random.default_rng(1).standard_normal((args.batch, shape["input"]), dtype=np.float32)
    tx = torch.from_numpy(x)
    reps, mt = args.repeats, args.min_time
    tmp = tempfile.mkdtemp(prefix="bnn-bench-")
    torch.manual_seed(0)
    fmodel = build_model(cfgs["float"], shape["input"], shape["pdfs"]).eval()
    float_bytes = export_mod.float_checkpoint_bytes(fmodel)
    with torch.no_grad():
        t = best_time(lambda: fmodel(tx), reps, mt)
        rows.append(("float torch", args.batch / t, float_bytes))
        # oneDNN: Linear -> MkldnnLinear; sigmoid on dense tensors between layers
        layers = []
        for b in fmodel.blocks:
            lin = torch.nn.Linear(b.affine.in_features, b.affine.out_features)
            lin.load_state_dict({"weight": b.affine.weight, "bias": b.affine.bias})
            layers.append(mkldnn.to_mkldnn(lin))

        def onednn():
            h = tx
            for i, lin in enumerate(layers):
                h = lin(h.to_mkldnn()).to_dense()
                if i + 1 < len(layers):
                    h = torch.sigmoid(h)
            return h
        t = best_time(onednn, reps, mt)
        rows.append(("float torch oneDNN", args.batch / t, float_bytes))
    fpacked = PackedModel.from_torch(fmodel, num_threads=args.num_threads, float_backend="numpy")
    t = best_time(lambda: fpacked.forward(x), reps, mt)
    rows.append(("float numpy (BLAS)", args.batch / t, float_bytes))
    if bitgemm.sgemm_available():     # the float net on this toolkit's own float32 kernel
        fpacked = PackedModel.from_torch(fmodel, num_threads=args.num_threads, float_backend="bnn")
        t = best_time(lambda: fpacked.forward(x), reps, mt)
        rows.append(("float bnn sgemm (our kernel)", args.batch / t, float_bytes))
    for key, label, real in (("lu", "packed Lu (real output)", "fp32"),
                             ("lu", "packed Lu, int8 real layers", "int8"),
                             ("qian", "packed Qian (binary output)", "fp32")):
        torch.manual_seed(0)
        model = build_model(cfgs[key], shape["input"], shape["pdfs"]).eval()
        _randomise_bn(model)
        path = os.path.join(tmp, f"{key}.bnnpack")
        report = export_mod.export(model, path)
        packed = PackedModel.load(path, num_threads=args.num_threads, real_layers=real)
        t = best_time(lambda: packed.forward(x), reps, mt)
        nbytes = report["total"]
        if real == "int8":    # int8 weights of the real layers instead of float32
            nbytes -= 3 * sum(L.weight.size for L in packed.layers if L.kind != "binary")
        rows.append((label, args.batch / t, nbytes))
        os.unlink(path)
    os.rmdir(tmp)


def bench_scaling(shape, sizes, args, out):
    """GEMM GOPS (best kernel) and Qian-DNN frames/s with 1 and with ``--num-threads`` threads."""
    import numpy as np
    import torch

    from bnn.infer import bitgemm, export as export_mod, packing
    from bnn.infer.engine import PackedModel
    from bnn.nn.models import build_model
    nt = args.num_threads
    rng = np.random.default_rng(0)
    rows = []
    for m, n, k in sizes:
        apk = packing.pack_pm1(rng.standard_normal((m, k), dtype=np.float32))
        w = bitgemm.PackedWeights(packing.pack_pm1(rng.standard_normal((n, k), dtype=np.float32)), k)
        res = []
        for threads in (1, nt):
            res.append(2.0 * m * n * k / best_time(
                lambda: bitgemm.bitgemm(apk, w, k, num_threads=threads), args.repeats,
                args.min_time) / 1e9)
        rows.append((f"packed GEMM ({m},{n},{k}) GOPS", res[0], res[1], 1.7 if m <= 64 else None))
    torch.manual_seed(0)
    model = build_model(dnn_configs(shape)["qian"], shape["input"], shape["pdfs"]).eval()
    _randomise_bn(model)
    tmp = tempfile.mkdtemp(prefix="bnn-bench-")
    path = os.path.join(tmp, "qian.bnnpack")
    export_mod.export(model, path)
    x = np.random.default_rng(1).standard_normal((args.batch, shape["input"]), dtype=np.float32)
    res = []
    for threads in (1, nt):
        torch.set_num_threads(threads)      # the float input layer (oneDNN) too
        packed = PackedModel.load(path, num_threads=threads)
        res.append(args.batch / best_time(lambda: packed.forward(x), args.repeats, args.min_time))
    torch.set_num_threads(nt)
    os.unlink(path)
    os.rmdir(tmp)
    rows.append((f"packed Qian DNN frames/s, batch {args.batch}", res[0], res[1], 1.6))
    out.append("")
    out.append(f"Thread scaling (same run): 1 vs {nt} threads")
    out.append("")
    out.append(f"| what | 1 thread | {nt} threads | x | target |")
    out.append("|---|---:|---:|---:|---:|")
    for label, one, many, target in rows:
        out.append(f"| {label} | {one:,.1f} | {many:,.1f} | {many / one:.2f} | "
                   f"{'>= %.1f' % target if target else ''} |")


def _run(argv=None):
    args = get_parser().parse_args(argv)
    setup_logging(args.verbose)
    nt = str(max(1, args.num_threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = nt
    if "numpy" in sys.modules:
        print("warning: numpy imported before the thread count was set", file=sys.stderr)
    import torch
    torch.set_num_threads(int(nt))
    if args.quick:
        args.repeats = min(args.repeats, 3)
        args.min_time = min(args.min_time, 0.01)
    from bnn.infer import bitgemm
    model, flags = cpu_info()
    out = [f"# bnn-bench{' --quick' if args.quick else ''}: threads {nt}, best of "
           f"{args.repeats} x >= {args.min_time}s",
           f"# CPU: {model}; flags: {' '.join(flags)}",
           f"# {versions()}",
           f"# kernels: {', '.join(bitgemm.available_kernels())} "
           f"(default {bitgemm.default_kernel()})"]
    if args.scaling_only:
        args.skip_gemm = args.skip_dnn = True
        if args.num_threads < 2:
            from bnn.utils.errors import BnnError
            raise BnnError("--scaling-only needs --num-threads N with N > 1")
    if not args.skip_gemm:
        rows = []
        bench_gemm(QUICK_SIZES if args.quick else SIZES, args, rows)
        out.append("")
        out.append("| GEMM (m,n,k) | implementation | GOPS | x best float |")
        out.append("|---|---|---:|---:|")
        for size, label, gops, best in rows:
            if gops is None:
                out.append(f"| {size} | {label} | skipped (slow) | |")
            else:
                out.append(f"| {size} | {label} | {gops / 1e9:,.1f} | {gops / best:.2f} |")
    if not args.skip_dnn:
        shape = QUICK_DNN if args.quick else DNN
        rows = []
        bench_dnn(shape, args, rows)
        best_float = max(fps for label, fps, _ in rows if label.startswith("float"))
        fbytes = rows[0][2]
        out.append("")
        out.append(f"DNN {shape['input']} -> {shape['layers']} x {shape['hidden']} -> "
                   f"{shape['pdfs']}, batch {args.batch}")
        out.append("")
        out.append("| model | frames/s | x best float | model bytes | x smaller |")
        out.append("|---|---:|---:|---:|---:|")
        for label, fps, nbytes in rows:
            out.append(f"| {label} | {fps:,.0f} | {fps / best_float:.2f} | {nbytes:,d} | "
                       f"{fbytes / nbytes:.1f} |")
    if args.num_threads > 1 and (args.scaling_only or not args.skip_gemm):
        bench_scaling(QUICK_DNN if args.quick else DNN, QUICK_SIZES if args.quick else SIZES,
                      args, out)
    if args.kws:
        from bnn.bench import kws
        out.append("")
        out += kws.run(args.kws_teacher or None, args.kws_model or None, args.repeats,
                       args.min_time, args.kws_batch, int(nt))
    print("\n".join(out))
    return 0


def main(argv=None):
    run_main(_run, argv)


if __name__ == "__main__":
    main()
