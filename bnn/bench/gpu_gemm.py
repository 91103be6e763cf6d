"""The CUDA binary GEMM against cuBLAS fp32 and fp16 (Qian & Xiang 2019, Table 3 on a P100:
5.4x and 4.0x over cuBLAS fp32 at (16,2048,2048) and (2048,2048,2048)).

For each (m, n, k): cuBLAS through ``torch.mm`` in fp32 (TF32 off, the IEEE fp32 GEMM) and fp16,
and the XOR-popcount GEMM of :mod:`bnn.infer.gpu` -- the Triton kernel when triton is installed,
and the torch-ops path -- each timed with CUDA events (best of ``repeats`` runs of enough calls to
last ``min_time`` seconds).  GOPS counts ``2 m n k`` operations for every kernel.  Before timing,
the binary result is compared with the CPU engine (:func:`bnn.infer.bitgemm.bitgemm`).
"""
from typing import List

import numpy as np
import torch

SIZES = [(16, 2048, 2048), (2048, 2048, 2048)]


def _time_cuda(fn, repeats: int, min_time: float) -> float:
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    torch.cuda.synchronize()
    one = max(start.elapsed_time(end) / 1e3, 1e-6)
    calls = max(1, int(min_time / one))
    best = float("inf")
    for _ in range(repeats):
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3 / calls)
    return best


def run(sizes=SIZES, repeats: int = 5, min_time: float = 0.05) -> List[dict]:
    from bnn.infer import bitgemm, gpu, packing
    rows = []
    torch.backends.cuda.matmul.allow_tf32 = False
    rng = np.random.default_rng(0)
    for m, n, k in sizes:
        ops = 2.0 * m * n * k
        a32 = torch.randn(m, k, device="cuda")
        b32 = torch.randn(k, n, device="cuda")
        a16, b16 = a32.half(), b32.half()
        res = {"cuBLAS fp32": ops / _time_cuda(lambda: torch.mm(a32, b32), repeats, min_time),
               "cuBLAS fp16": ops / _time_cuda(lambda: torch.mm(a16, b16), repeats, min_time)}
        x = np.where(rng.random((m, k)) < 0.5, -1, 1)
        w = np.where(rng.random((n, k)) < 0.5, -1, 1)
        pa, pb = packing.pack_pm1(x), packing.pack_pm1(w)
        ga, gb = gpu.as_words(pa, "cuda"), gpu.as_words(pb, "cuda")
        ref = bitgemm.bitgemm(pa, pb, k)
        paths = [("binary torch ops", False)]
        if gpu.triton_available():
            paths.insert(0, ("binary Triton", True))
        exact = {}
        for label, use_triton in paths:
            got = (k - 2 * gpu.xor_popcount(ga, gb, use_triton)).cpu().numpy()
            exact[label] = bool(np.array_equal(got, ref))
            res[label] = ops / _time_cuda(lambda: gpu.xor_popcount(ga, gb, use_triton),
                                          repeats, min_time)
        for label, gops in res.items():
            rows.append({"size": (m, n, k), "impl": label, "gops": gops / 1e9,
                         "x_fp32": gops / res["cuBLAS fp32"], "x_fp16": gops / res["cuBLAS fp16"],
                         "exact": exact.get(label)})
    return rows
