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


@pytest.mark.parametrize("backend", ["onednn", "torch", "numpy"])
def test_float_backends_agree_with_torch(backend):
    """The float layers (real input layer, real output layer) on each float GEMM backend."""
    if backend == "onednn" and not torch.backends.mkldnn.is_available():
        pytest.skip("torch without oneDNN")
    model = random_model(CONFIGS["lu_pm1_real_out"], seed=9)
    x = np.random.default_rng(4).standard_normal((23, IN)).astype(np.float32)
    ref_bits, ref_logits = torch_bits(model, x)
    packed = PackedModel.from_torch(model, float_backend=backend)
    for g, r in zip(packed.hidden_bits(x), ref_bits):
        np.testing.assert_array_equal(g, r)
    np.testing.assert_allclose(packed.forward(x), ref_logits, rtol=1e-5, atol=1e-4)


def test_unknown_float_backend_is_one_line_error():
    from bnn.utils.errors import BnnError
    with pytest.raises(BnnError, match="float backend 'blas' is not one of"):
        PackedModel.from_torch(random_model(CONFIGS["qian_bn"], seed=1), float_backend="blas")
