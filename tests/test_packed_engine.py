"""Packed engine: hidden bits equal torch eval() bits exactly, outputs within 1e-4, file sizes."""
import numpy as np
import pytest
import torch

from bnn.infer import bitgemm, fold, packing
from bnn.infer.engine import PackedModel
from bnn.infer.export import export, read_packed, size_report
from bnn.nn.models import build_model

torch.set_num_threads(1)
IN, HID, PDFS = 37, 130, 23      # 130 % 64 != 0, 23 and 130 not multiples of the panel width

CONFIGS = {
    "lu_pm1_real_out": {"activation": "binary",
                        "binary_activation": {"name": "masked_sign", "k": 2, "values": "-1,1"},
                        "weights": {"input": "real", "hidden": "binary", "output": "real"}},
    "lu_01_real_out": {"activation": "binary",
                       "binary_activation": {"name": "masked_sign", "k": 1, "values": "0,1"},
                       "weights": {"input": "real", "hidden": "binary", "output": "real"}},
    "lu_01_bn_binary_out": {"activation": "binary", "batchnorm": True, "output_batchnorm": True,
                            "binary_activation": {"name": "ste_sign", "values": "0,1"},
                            "weights": {"input": "real", "hidden": "binary", "output": "binary"}},
    "lu_mixed_sigma": {"pattern": "(sigma, b, b, sigma, delta)", "num_hidden": 4,
                       "weights": {"input": "real", "hidden": "binary", "output": "binary"}},
    "qian_bn": {"activation": "hardtanh_binary", "batchnorm": True, "output_batchnorm": True,
                "binary_activation": {"name": "stochastic_sign"},
                "weights": {"input": "real", "hidden": "binary", "output": "binary"}},
    "qian_nobn_binary_input": {"activation": "hardtanh_binary", "batchnorm": False,
                               "binary_activation": {"name": "stochastic_sign"},
                               "weights": {"input": "binary", "hidden": "binary",
                                           "output": "binary"}},
    # W_b = H Sign(W), H = sqrt(1.5 / (fan_in + fan_out)): the scale folds into the thresholds
    "qian_nobn_glorot_scale": {"activation": "hardtanh_binary", "batchnorm": False,
                               "binary_weight_scale": "glorot",
                               "binary_activation": {"name": "stochastic_sign"},
                               "weights": {"input": "real", "hidden": "binary",
                                           "output": "binary"}},
}


def test_engine_runs_the_c_kernels_where_buildable():
    """The engine tests below parametrize over the available kernels; without this check a
    failed extension build would leave only the numpy path and pass silently (issue 12 item 6)."""
    built, buildable, reason = bitgemm.extension_status()
    if not built and buildable:
        pytest.fail(f"C extension missing: {reason}")
    if not built:
        pytest.skip(f"C extension cannot be built here: {reason}")
    assert PackedModel.from_torch(random_model(CONFIGS[sorted(CONFIGS)[0]], 0)).kernel != "numpy"


def random_model(cfg: dict, seed: int, in_dim=IN, hid=HID, pdfs=PDFS, num_hidden=3):
    torch.manual_seed(seed)
    full = {"type": "dnn", "hidden_dim": hid, "num_hidden": num_hidden}
    full.update(cfg)
    model = build_model(full, in_dim, pdfs)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for block in model.blocks:
            k = block.affine.in_features
            block.affine.weight.uniform_(-1, 1, generator=g)
            block.affine.bias.normal_(0, 2.0, generator=g)
            bn = block.post.bn
            if bn is not None:
                n = bn.num_features
                scale = float(np.sqrt(k))
                bn.running_mean.copy_(torch.randn(n, generator=g) * scale * 0.5)
                bn.running_var.copy_((torch.rand(n, generator=g) + 0.5) * k)
                gamma = torch.randn(n, generator=g)           # about half negative
                gamma[:3] = 0.0                               # constant units
                bn.weight.copy_(gamma)
                bn.bias.copy_(torch.randn(n, generator=g) * 0.5)
    return model.eval()


def torch_bits(model, x):
    """Output bits (0/1) of each block whose activation is binary, from torch eval()."""
    outs = []
    hooks = [b.register_forward_hook(lambda m, i, o: outs.append(o.detach().clone()))
             for b in model.blocks]
    try:
        with torch.no_grad():
            logits = model(torch.from_numpy(x))
    finally:
        for h in hooks:
            h.remove()
    bits = []
    for block, out in zip(model.blocks, outs):
        values, _ = fold._post_kind(block.post)
        if values != "float":
            assert set(torch.unique(out).tolist()) <= ({-1.0, 1.0} if values == "-1,1" else {0.0, 1.0})
            bits.append((out > 0).numpy().astype(np.uint8))
    return bits, logits.numpy()


@pytest.mark.parametrize("kernel", bitgemm.available_kernels())
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_hidden_bits_exact_and_outputs_close(name, kernel):
    model = random_model(CONFIGS[name], seed=len(name))
    x = np.random.default_rng(3).standard_normal((41, IN)).astype(np.float32) * 2
    ref_bits, ref_logits = torch_bits(model, x)
    packed = PackedModel.from_torch(model, kernel=kernel)
    got_bits = packed.hidden_bits(x)
    assert len(got_bits) == len(ref_bits) > 0
    for i, (g, r) in enumerate(zip(got_bits, ref_bits)):
        assert 0.02 < r.mean() < 0.98, f"layer {i}: degenerate test activations"
        np.testing.assert_array_equal(g, r, err_msg=f"{name}: layer {i} bits differ")
    np.testing.assert_allclose(packed.forward(x), ref_logits, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_closed_form_thresholds_equal_torch_table(name):
    model = random_model(CONFIGS[name], seed=100 + len(name))
    by_table = fold.fold_model(model, table=True)
    closed = fold.fold_model(model, table=False)
    for a, b in zip(by_table, closed):
        if a.kind == "binary" and a.out_bits:
            np.testing.assert_array_equal(a.thr, b.thr)
            np.testing.assert_array_equal(a.weight_bits, b.weight_bits)


@pytest.mark.parametrize("values", ["-1,1", "0,1"])
def test_folded_binary_layer_matches_integer_arithmetic(values):
    """A hand-made description (no torch): h = xi * (x . w) + delta, bit = h > 0, incl. xi < 0."""
    rng = np.random.default_rng(11)
    k, n, t = 99, 45, 200
    w = np.where(rng.random((n, k)) < 0.5, -1, 1)
    xv = (rng.random((t, k)) < 0.5).astype(np.int64)
    x = 2 * xv - 1 if values == "-1,1" else xv
    xi = rng.standard_normal(n)
    xi[0] = 0.0
    delta = rng.standard_normal(n) * 5
    dot = x @ w.T
    want = (xi * dot + delta > 0).astype(np.uint8)
    bits = packing.pack_pm1(w)
    wpop = packing.popcount_rows(bits)
    thr, flip = fold.binary_thresholds(xi, delta, k, values, wpop)
    assert flip.any() and not flip[0]
    layer_bits = fold.flip_rows(bits, k, np.flatnonzero(flip))
    a = packing.pack_bits(xv)
    got = packing.unpack_bits(bitgemm.bitgemm_bits(a, layer_bits, k, thr), n)
    np.testing.assert_array_equal(got, want)
    # float output variant (binary output layer)
    scale, bias = fold.binary_float_affine(xi, delta, k, values, wpop)
    np.testing.assert_allclose(bitgemm.bitgemm_float(a, bits, k, scale, bias), xi * dot + delta,
                               rtol=1e-5, atol=1e-4)


def test_export_roundtrip_and_sizes(tmp_path):
    model = random_model(CONFIGS["qian_bn"], seed=5, in_dim=40, hid=256, pdfs=300, num_hidden=4)
    path = str(tmp_path / "final.bnnpack")
    report = export(model, path)
    layers, header = read_packed(path)
    assert header["input_dim"] == 40 and header["num_pdfs"] == 300
    kinds = [(r["name"], r["kind"]) for r in report["layers"]]
    assert kinds[0] == ("input", "float") and all(k == "binary" for _, k in kinds[1:])
    for r in report["layers"][1:]:
        assert r["weight_bits_per_weight"] == 1.0
    assert report["total"] == size_report(path)["total"]
    assert report["total"] * 8 < report["float_bytes"]
    x = np.random.default_rng(0).standard_normal((17, 40)).astype(np.float32)
    a, b = PackedModel.from_torch(model), PackedModel.load(path)
    for ga, gb in zip(a.hidden_bits(x), b.hidden_bits(x)):
        np.testing.assert_array_equal(ga, gb)
    np.testing.assert_allclose(b.forward(x), a.forward(x), rtol=1e-5, atol=1e-4)


def test_load_rejects_bad_file(tmp_path):
    from bnn.utils.errors import BnnError
    bad = tmp_path / "x.bnnpack"
    bad.write_bytes(b"not a model")
    with pytest.raises(BnnError, match="x.bnnpack"):
        PackedModel.load(str(bad))


@pytest.mark.parametrize("backend", ["bnn", "onednn", "torch", "numpy"])
@pytest.mark.parametrize("threads", [1, 2])
def test_float_backends_agree_with_torch(backend, threads):
    """The float layers (real input layer, real output layer) on each float GEMM backend."""
    if backend == "onednn" and not torch.backends.mkldnn.is_available():
        pytest.skip("torch without oneDNN")
    if backend == "bnn" and not bitgemm.sgemm_available():
        pytest.skip("bnn.infer._bitgemm not built")
    model = random_model(CONFIGS["lu_pm1_real_out"], seed=9)
    x = np.random.default_rng(4).standard_normal((23, IN)).astype(np.float32)
    ref_bits, ref_logits = torch_bits(model, x)
    packed = PackedModel.from_torch(model, float_backend=backend, num_threads=threads)
    for g, r in zip(packed.hidden_bits(x), ref_bits):
        np.testing.assert_array_equal(g, r)
    np.testing.assert_allclose(packed.forward(x), ref_logits, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("m", [1, 7, 8, 16, 19])
def test_sgemm_against_float64_and_thread_count(m):
    """The extension's float32 GEMM: equal to the float64 product to float32 rounding, for row
    counts around its 8-row register block and a column count that leaves a partial panel;
    bit-identical for 1 and 3 threads (threads split whole panels, each column's sum is the
    same sequence of FMAs)."""
    if not bitgemm.sgemm_available():
        pytest.skip("bnn.infer._bitgemm not built")
    rng = np.random.default_rng(m)
    k, n = 37, 101
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    fp = bitgemm.FloatPanels(w)
    one = bitgemm.sgemm(x, fp, 1)
    ref = x.astype(np.float64) @ w.astype(np.float64)
    np.testing.assert_allclose(one, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bitgemm.sgemm(x, fp, 3), one)
    with pytest.raises(ValueError, match="expected"):
        bitgemm.sgemm(x[:, :-1], fp)


def test_unknown_float_backend_is_one_line_error():
    from bnn.utils.errors import BnnError
    with pytest.raises(BnnError, match="float backend 'blas' is not one of"):
        PackedModel.from_torch(random_model(CONFIGS["qian_bn"], seed=1), float_backend="blas")


def test_int8_real_layers_close_to_fp32():
    """--real-layers int8 (torch dynamic quantization, oneDNN): the Lu net's real input and output
    layers in int8 stay close to fp32 -- few flipped hidden bits, small logit error, the same
    best pdf on nearly every frame -- while the binary layers are untouched."""
    from bnn.infer.engine import INT8_ENGINES
    if not set(INT8_ENGINES) & set(torch.backends.quantized.supported_engines):
        pytest.skip("torch has no x86 quantized engine")
    model = random_model(CONFIGS["lu_pm1_real_out"], seed=9, in_dim=440, hid=512, pdfs=300)
    x = np.random.default_rng(4).standard_normal((200, 440)).astype(np.float32)
    fp32 = PackedModel.from_torch(model)
    int8 = PackedModel.from_torch(model, real_layers="int8")
    assert sum(q is not None for q in int8._int8) == 2           # input and output layer
    # layer by layer on the same input (a random net amplifies any flipped bit downstream)
    h, checked = x, 0
    for i, L in enumerate(fp32.layers):
        a, b = fp32._layer(i, h), int8._layer(i, h)
        if L.kind == "binary":
            np.testing.assert_array_equal(a, b)
        elif L.out_bits:           # real input layer -> bits: only units near tau may flip
            flips = np.mean(packing.unpack_bits(a, L.out_dim) != packing.unpack_bits(b, L.out_dim))
            assert 0 < flips < 0.02, flips
            checked += 1
        else:                      # real output layer: logits within 2% of their spread
            rel = np.abs(a - b).mean() / a.std()
            assert 0 < rel < 0.02, rel
            assert np.mean(a.argmax(1) == b.argmax(1)) > 0.95
            checked += 1
        h = a
    assert checked == 2
    from bnn.utils.errors import BnnError
    with pytest.raises(BnnError, match="real layers"):
        PackedModel.from_torch(model, real_layers="int4")


# ---- the torch / CUDA path (bnn.infer.gpu) --------------------------------------------------

@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 31, 65), (16, 64, 2048), (9, 70, 200)])
def test_torch_xor_popcount_is_bit_exact_with_the_c_engine(m, n, k):
    """The reference semantics of the GPU kernel, in torch on CPU, against the CPU engine."""
    from bnn.infer import gpu
    rng = np.random.default_rng(m * 7 + n + k)
    x = np.where(rng.random((m, k)) < 0.5, -1, 1)
    w = np.where(rng.random((n, k)) < 0.5, -1, 1)
    a, b = packing.pack_pm1(x), packing.pack_pm1(w)
    acc = gpu.xor_popcount_torch(gpu.as_words(a), gpu.as_words(b), block=50)
    np.testing.assert_array_equal((k - 2 * acc).numpy(), bitgemm.bitgemm(a, b, k))
    np.testing.assert_array_equal((k - 2 * acc).numpy(), x @ w.T)
    thr = rng.integers(-1, k + 2, size=n)
    bits = gpu.pack_bits_torch(acc <= torch.from_numpy(thr)[None, :])
    np.testing.assert_array_equal(bits.numpy().view(np.uint64), bitgemm.bitgemm_bits(a, b, k, thr))
    assert gpu.popcount64(torch.tensor([-1, 0, 1 << 62, -(1 << 63)])).tolist() == [64, 0, 1, 1]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_torch_packed_model_matches_cpu_engine(name):
    """bnn-forward --engine packed --device cuda runs this class; on CPU its hidden bits equal the
    C engine's and its logits agree to float rounding."""
    from bnn.infer import gpu
    model = random_model(CONFIGS[name], seed=3)
    x = np.random.default_rng(8).standard_normal((19, IN)).astype(np.float32)
    packed = PackedModel.from_torch(model)
    tp = gpu.TorchPackedModel.from_packed(packed, device="cpu")
    for g, r in zip(tp.hidden_bits(x), packed.hidden_bits(x)):
        np.testing.assert_array_equal(g, r)
    np.testing.assert_allclose(tp.forward(x), packed.forward(x), rtol=1e-4, atol=1e-4)


def test_cuda_binary_gemm_bit_exact_with_cpu_engine():
    from bnn.infer import gpu
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine: the CUDA binary GEMM (Triton, or torch ops) "
                    "is checked where one is present; its semantics are tested on CPU above")
    rng = np.random.default_rng(1)
    for m, n, k in ((16, 2048, 2048), (5, 33, 65)):
        x = np.where(rng.random((m, k)) < 0.5, -1, 1)
        w = np.where(rng.random((n, k)) < 0.5, -1, 1)
        a, b = packing.pack_pm1(x), packing.pack_pm1(w)
        for use_triton in ([True, False] if gpu.triton_available() else [False]):
            acc = gpu.xor_popcount(gpu.as_words(a, "cuda"), gpu.as_words(b, "cuda"), use_triton)
            np.testing.assert_array_equal((k - 2 * acc).cpu().numpy(), bitgemm.bitgemm(a, b, k))
    model = random_model(CONFIGS[sorted(CONFIGS)[0]], seed=3)
    x = np.random.default_rng(8).standard_normal((19, IN)).astype(np.float32)
    packed = PackedModel.from_torch(model)
    tp = gpu.TorchPackedModel.from_packed(packed, device="cuda")
    for g, r in zip(tp.hidden_bits(x), packed.hidden_bits(x)):
        np.testing.assert_array_equal(g, r)


def test_forward_engine_options():
    """bnn-forward's --real-layers int8 and --device cuda reach the engines; misuse is a one-line
    error (int8 is for the packed CPU engine; cuda needs a device)."""
    from bnn.forward import make_engine
    from bnn.utils.errors import BnnError
    model = random_model(CONFIGS["lu_pm1_real_out"], seed=2)
    x = np.random.default_rng(3).standard_normal((30, IN)).astype(np.float32)
    fp32 = make_engine("packed", model, 1)(x, 8)
    int8 = make_engine("packed", model, 1, real_layers="int8")(x, 8)
    assert int8.shape == fp32.shape and not np.array_equal(int8, fp32)
    ref = PackedModel.from_torch(model, real_layers="int8")     # closeness: the test above
    np.testing.assert_array_equal(int8, np.concatenate([ref.forward(x[s:s + 8])
                                                        for s in range(0, 30, 8)]))
    with pytest.raises(BnnError, match="--real-layers int8 needs --engine packed"):
        make_engine("torch", model, 1, real_layers="int8")
    if not torch.cuda.is_available():
        with pytest.raises(BnnError, match="no CUDA device"):
            make_engine("packed", model, 1, device="cuda")
