"""Binary layers, Lu et al. 2017 training hooks, Qian & Xiang 2019 blocks, KD loss, builders,
size report and every config in conf/nnet (hand-computed and numpy references)."""
import copy
import glob
import math
import os
import warnings

import numpy as np
import pytest
import torch

from bnn.nn.layers import BinaryLinear, BNHardTanhBinarize
from bnn.nn.models import build_model, parse_pattern
from bnn.nn.report import format_size_report, model_size_report, plot_weight_histogram
from bnn.train.losses import hard_loss, kd_loss, soft_loss
from bnn.utils.errors import BnnError

torch.set_num_threads(1)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(REPO, "conf", "nnet", "*.yaml")))


def np_sign(x):
    return np.where(x > 0, 1.0, -1.0)


def lu_cfg(**kw):
    cfg = {"type": "dnn", "hidden_dim": 12, "num_hidden": 3, "activation": "sigmoid",
           "weights": {"input": "fixed", "hidden": "binary", "output": "fixed"}}
    cfg.update(kw)
    return cfg


def sgd_steps(model, n, lr=0.1, seed=0, generator=None, momentum=0.9, weight_decay=1e-3):
    torch.manual_seed(seed)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr,
                          momentum=momentum, weight_decay=weight_decay)
    gen = generator or torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randn(16, model.input_dim)
        y = torch.randint(0, model.num_pdfs, (16,))
        opt.zero_grad()
        hard_loss(model(x), y).backward()
        model.before_optimizer_step()
        opt.step()
        model.after_optimizer_step(gen)


# ---------------------------------------------------------------- layers
def test_binary_linear_forward_and_gradients_match_numpy():
    rng = np.random.default_rng(1)
    w, b = rng.uniform(-1, 1, size=(4, 6)), rng.normal(size=4)
    x, g = rng.normal(size=(5, 6)), rng.normal(size=(5, 4))
    layer = BinaryLinear(6, 4, kernel_quantizer="sign").double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w))
        layer.bias.copy_(torch.tensor(b))
    xt = torch.tensor(x, requires_grad=True)
    y = layer(xt)
    y.backward(torch.tensor(g))
    wb = np_sign(w)
    np.testing.assert_allclose(y.detach().numpy(), x @ wb.T + b, rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.numpy(), g.T @ x, rtol=1e-12)   # g_W = g_{W_b}
    np.testing.assert_allclose(xt.grad.numpy(), g @ wb, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad.numpy(), g.sum(0), rtol=1e-12)


def test_glorot_binary_weight_scale_forward_gradient_and_errors():
    """W_b = H Sign(W), H = sqrt(1.5 / (fan_in + fan_out)) (BinaryConnect); g_W = H g_{W_b-value}."""
    rng = np.random.default_rng(2)
    w, x, g = rng.uniform(-1, 1, size=(4, 6)), rng.normal(size=(5, 6)), rng.normal(size=(5, 4))
    layer = BinaryLinear(6, 4, kernel_quantizer="sign", kernel_scale="glorot").double()
    h = math.sqrt(1.5 / 10)
    assert layer.kernel_scale == pytest.approx(h, rel=1e-15)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w))
        layer.bias.zero_()
    y = layer(torch.tensor(x))
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), x @ (h * np_sign(w)).T, rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.numpy(), h * (g.T @ x), rtol=1e-12)
    np.testing.assert_array_equal(layer.binary_kernel().detach().numpy(), np_sign(w))
    conv = build_model({"type": "cnn", "context": 1, "bands": 8, "channels": 1,
                        "conv": [{"channels": 2, "kernel": [3, 3]}], "num_fc": 0,
                        "weights": {"input": "binary", "conv": "real", "fc": "real",
                                    "output": "real"},
                        "binary_weight_scale": "glorot"}, 24, 5).blocks[0].affine
    assert conv.kernel_scale == pytest.approx(math.sqrt(1.5 / (9 * 1 + 9 * 2)))
    for bad in (0, -1.0, "huge", True):
        with pytest.raises(BnnError, match="binary_weight_scale"):
            BinaryLinear(3, 3, kernel_quantizer="sign", kernel_scale=bad)


def test_nobn_hidden_layer_not_saturated_with_glorot_scale():
    """Without BN, +/-1 weights saturate HardTanh at fan-in 256 (Eq. 10 passes ~no gradient)."""
    torch.manual_seed(0)
    cfg = {"type": "dnn", "hidden_dim": 256, "num_hidden": 2, "activation": "hardtanh_binary",
           "batchnorm": False, "binary_activation": {"name": "stochastic_sign"},
           "weights": {"input": "real", "hidden": "binary", "output": "binary"}}
    a_hat = torch.where(torch.rand(512, 256) > 0.5, 1.0, -1.0)
    inside = {}
    for scale in (None, "glorot"):
        hidden = build_model(dict(cfg, binary_weight_scale=scale), 40, 10).blocks[1].affine
        inside[scale] = (hidden(a_hat).abs() <= 1).float().mean().item()
    assert inside[None] < 0.1 < 0.6 < inside["glorot"]


def test_binary_kernel_without_clip_warns_like_larq():
    with pytest.warns(UserWarning, match="without a clip constraint"):
        BinaryLinear(3, 3, kernel_quantizer="sign", kernel_clip=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BinaryLinear(3, 3, kernel_quantizer="sign", kernel_clip=1.0)
        BinaryLinear(3, 3)


def test_bn_hardtanh_binarize_matches_numpy_reference():
    """Qian Alg. 2-3: d = BN(c), a = HardTanh(d), a_hat = Binarize(a); Eq. 9 noise, Eq. 10 grad."""
    rng = np.random.default_rng(2)
    c, g = rng.normal(size=(32, 5)) * 3 + 1, rng.normal(size=(32, 5))
    gamma, beta = rng.uniform(0.5, 2, size=5), rng.normal(size=5)
    block = BNHardTanhBinarize(5, batchnorm=True, quantizer="stochastic_sign").double()
    with torch.no_grad():
        block.bn.weight.copy_(torch.tensor(gamma))
        block.bn.bias.copy_(torch.tensor(beta))
    block.act.quantizer.generator = torch.Generator().manual_seed(3)
    block.train()
    y = block(torch.tensor(c))
    mean, var = c.mean(0), c.var(0)                       # training BN: biased batch variance
    d = gamma * (c - mean) / np.sqrt(var + block.bn.eps) + beta
    a = np.clip(d, -1, 1)
    p = torch.randn(32, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64).numpy()
    np.testing.assert_array_equal(y.detach().numpy(), np_sign(a - p))
    # evaluation: running statistics, deterministic Sign (Eq. 8); equals the folded threshold
    rm, rv = block.bn.running_mean.numpy(), block.bn.running_var.numpy()
    np.testing.assert_allclose(rm, 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(rv, 0.9 + 0.1 * c.var(0, ddof=1), rtol=1e-12)
    block.eval()
    y1, y2 = block(torch.tensor(c)), block(torch.tensor(c))
    d_eval = gamma * (c - rm) / np.sqrt(rv + block.bn.eps) + beta
    np.testing.assert_array_equal(y1.detach().numpy(), np_sign(d_eval))
    assert torch.equal(y1, y2)
    # gradient without BN: g_d = g * 1{|d| <= 1} (HardTanh composed with identity STE, Eq. 10)
    nobn = BNHardTanhBinarize(5, batchnorm=False, quantizer="stochastic_sign").double().train()
    assert nobn.bn is None
    dt = torch.tensor(c, requires_grad=True)
    nobn(dt).backward(torch.tensor(g))
    np.testing.assert_array_equal(dt.grad.numpy(), g * (np.abs(c) <= 1))


def test_stochastic_binarization_only_in_training_mode():
    model = build_model({"type": "dnn", "hidden_dim": 64, "num_hidden": 2,
                         "activation": "hardtanh_binary", "batchnorm": True,
                         "output_batchnorm": True, "binary_activation": "stochastic_sign",
                         "weights": {"input": "real", "hidden": "binary", "output": "binary"}},
                        20, 7)
    x = torch.randn(64, 20)
    torch.manual_seed(0)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


# ---------------------------------------------------------------- Lu hooks
def test_clip_after_update_only_binary_layers():
    model = build_model(lu_cfg(weights={"input": "real", "hidden": "binary", "output": "real"}),
                        10, 5)
    with torch.no_grad():
        for block in model.blocks:
            block.affine.weight.mul_(0).add_(torch.linspace(-3, 3, block.affine.weight.numel())
                                             .reshape(block.affine.weight.shape))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    hard_loss(model(torch.randn(8, 10)), torch.randint(0, 5, (8,))).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    opt.step()
    model.after_optimizer_step(torch.Generator().manual_seed(0))
    for i, block in enumerate(model.blocks):
        key = f"blocks.{i}.affine.weight"
        updated = before[key] - 0.01 * grads[key]
        w = block.affine.weight.detach()
        if block.update == "binary":
            torch.testing.assert_close(w, updated.clamp(-1, 1), rtol=0, atol=0)
            assert w.abs().max() == 1.0
        else:
            torch.testing.assert_close(w, updated, rtol=0, atol=0)
            assert w.abs().max() > 2.5


def test_semi_stochastic_binarization_frequency():
    """Lu Alg. 1 lines 19-21: each weight stays or becomes Sign(w); frequency = p * |w|."""
    values = torch.tensor([-0.9, -0.5, -0.1, 0.0, 0.2, 0.6, 0.95, 1.0])
    model = build_model(lu_cfg(num_hidden=2, hidden_dim=8, semi_stochastic_p=0.3), 8, 4)
    block = model.blocks[1]
    assert block.update == "binary" and block.semi_stochastic_p == 0.3
    w0 = values.repeat(8, 1)                     # every row holds all the test values
    gen = torch.Generator().manual_seed(1234)
    changed = torch.zeros_like(w0)
    draws = 4000
    # the fixed input layer, with weights that clipping or binarization would both change
    w_in = model.blocks[0].affine.weight
    assert model.blocks[0].update == "fixed"
    with torch.no_grad():
        w_in.copy_(torch.linspace(-1.7, 1.3, w_in.numel()).reshape(w_in.shape))
    w_in0 = w_in.detach().clone()
    for _ in range(draws):
        with torch.no_grad():
            block.affine.weight.copy_(w0)
        model.after_optimizer_step(gen)
        w = block.affine.weight.detach()
        assert torch.all((w == w0) | (w == torch.where(w0 > 0, 1.0, -1.0)))
        changed += (w != w0).float()
        assert torch.equal(model.blocks[0].affine.weight, w_in0)  # fixed layer untouched
    # Sign(0) = -1 so 0.0 would move with probability |0| = 0; +-1 never "change"
    freq = (changed / draws).mean(0)
    expected = 0.3 * values.abs()
    expected[values.abs() == 1] = 0.0
    assert torch.allclose(freq, expected, atol=0.03), (freq, expected)
    # reproducible with the same generator seed; p = 0 never binarizes
    outs = []
    for _ in range(2):
        gen = torch.Generator().manual_seed(7)
        with torch.no_grad():
            block.affine.weight.copy_(w0)
        for _ in range(20):
            model.after_optimizer_step(gen)
        outs.append(block.affine.weight.detach().clone())
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], w0)
    block.semi_stochastic_p = 0.0
    with torch.no_grad():
        block.affine.weight.copy_(w0)
    model.after_optimizer_step(torch.Generator().manual_seed(0))
    assert torch.equal(block.affine.weight, w0)


def test_gradient_norm_clipping_eq7():
    model = build_model(lu_cfg(weights={"input": "real", "hidden": "binary", "output": "real"},
                               grad_clip_alpha=0.05), 10, 5)
    hard_loss(model(torch.randn(32, 10) * 5), torch.randint(0, 5, (32,))).backward()
    raw = {n: p.grad.clone().numpy() for n, p in model.named_parameters()}
    model.before_optimizer_step()
    clipped = 0
    for n, p in model.named_parameters():
        g, norm = raw[n], np.linalg.norm(raw[n])
        expected = g * (0.05 / norm) if norm > 0.05 else g
        clipped += norm > 0.05
        np.testing.assert_allclose(p.grad.numpy(), expected, rtol=1e-6)
        assert np.linalg.norm(p.grad.numpy()) <= 0.05 * (1 + 1e-6)
    assert clipped >= 3


def test_fixed_layers_unchanged_and_load_init():
    torch.manual_seed(0)
    base = build_model({"type": "dnn", "hidden_dim": 12, "num_hidden": 3}, 10, 5)
    sgd_steps(base, 3)
    model = build_model(lu_cfg(semi_stochastic_p=0.05), 10, 5)
    model.load_init(base.state_dict())
    for key, value in base.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    sgd_steps(model, 30, seed=1)
    sd = model.state_dict()
    for i in (0, 3):                              # input and output: fixed
        assert model.blocks[i].update == "fixed"
        for name in ("weight", "bias"):
            assert torch.equal(sd[f"blocks.{i}.affine.{name}"],
                               base.state_dict()[f"blocks.{i}.affine.{name}"])
            assert not getattr(model.blocks[i].affine, name).requires_grad
    assert not torch.equal(sd["blocks.1.affine.weight"], base.state_dict()["blocks.1.affine.weight"])
    assert sd["blocks.1.affine.weight"].abs().max() <= 1.0


def test_load_init_tolerates_missing_bn_and_names_mismatches():
    base = build_model({"type": "dnn", "hidden_dim": 12, "num_hidden": 2}, 10, 5)
    qian = build_model({"type": "dnn", "hidden_dim": 12, "num_hidden": 2,
                        "activation": "hardtanh_binary", "batchnorm": True,
                        "output_batchnorm": True,
                        "weights": {"input": "real", "hidden": "binary", "output": "binary"}},
                       10, 5)
    qian.load_init(base.state_dict())
    assert torch.equal(qian.blocks[1].affine.weight, base.blocks[1].affine.weight)
    wide = build_model({"type": "dnn", "hidden_dim": 16, "num_hidden": 2}, 10, 5)
    with pytest.raises(BnnError, match=r"blocks\.0\.affine\.weight \(12, 10\) vs \(16, 10\)"):
        wide.load_init(base.state_dict(), source="exp/dnn/final.pt")
    deeper = build_model({"type": "dnn", "hidden_dim": 12, "num_hidden": 3}, 10, 5)
    with pytest.raises(BnnError, match="missing: .*blocks.3.affine.weight"):
        deeper.load_init(base.state_dict())


def test_zero_one_binary_activations_in_model():
    model = build_model({"type": "dnn", "hidden_dim": 16, "num_hidden": 3,
                         "pattern": "(sigma, b, b, delta)",
                         "binary_activation": {"name": "masked_sign", "k": 2, "values": "0,1"}},
                        10, 5)
    seen = {}
    for block in model.blocks:
        block.register_forward_hook(lambda m, i, o, name=block.name: seen.__setitem__(name, o))
    model(torch.randn(20, 10))
    assert set(seen["hidden2"].unique().tolist()) == {0.0, 1.0}
    assert set(seen["hidden3"].unique().tolist()) == {0.0, 1.0}
    assert ((seen["input"] > 0) & (seen["input"] < 1)).all()          # sigmoid stays real


def test_pattern_notation():
    assert parse_pattern("(sigma, b, b, b, b, sigma, delta)", 6) == \
        ["sigmoid", "binary", "binary", "binary", "binary", "sigmoid"]
    assert parse_pattern("(σ, b, σ, δ)", 3) == ["sigmoid", "binary", "sigmoid"]
    with pytest.raises(BnnError, match="num_hidden is 6"):
        parse_pattern("(sigma, b, delta)", 6)
    with pytest.raises(BnnError, match="unknown symbol"):
        parse_pattern("(sigma, x, delta)", 2)


def test_builder_errors_are_one_line():
    with pytest.raises(BnnError, match="input_dim 400 does not match .* = 1188"):
        build_model({"type": "cnn"}, 400, 10)
    with pytest.raises(BnnError, match="unknown key.*hiden_dim"):
        build_model({"type": "dnn", "hiden_dim": 3}, 10, 10)
    with pytest.raises(BnnError, match="weights.hidden"):
        build_model({"type": "dnn", "weights": {"hidden": "binry"}}, 10, 10)
    with pytest.raises(BnnError, match="is empty"):
        build_model({"type": "cnn", "context": 1, "bands": 4, "channels": 1}, 12, 10)


# ---------------------------------------------------------------- KD loss
def test_kd_loss_equals_formula_on_hand_computed_posteriors():
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3]], dtype=torch.float64))
    teacher = torch.log(torch.tensor([[0.2, 0.3, 0.5], [0.25, 0.5, 0.25]], dtype=torch.float64))
    targets = torch.tensor([0, 2])
    ln = math.log
    j_hard = -(ln(0.5) + ln(0.3)) / 2
    j_soft = -((0.2 * ln(0.5) + 0.3 * ln(0.25) + 0.5 * ln(0.25))
               + (0.25 * ln(0.1) + 0.5 * ln(0.6) + 0.25 * ln(0.3))) / 2
    assert hard_loss(logits, targets).item() == pytest.approx(j_hard, rel=1e-12)
    assert soft_loss(logits, teacher).item() == pytest.approx(j_soft, rel=1e-12)
    for lam in (0.0, 0.5, 1.0, 0.3):
        assert kd_loss(logits, targets, teacher, lam).item() == \
            pytest.approx(lam * j_hard + (1 - lam) * j_soft, rel=1e-12)
    student = logits.clone().requires_grad_(True)
    t = teacher.clone().requires_grad_(True)
    kd_loss(student, targets, t, 0.5).backward()
    assert t.grad is None                          # no gradient into the teacher
    # d J / d logits = lam * (y - onehot) + (1 - lam) * (y - q), averaged over frames
    y, qt = torch.exp(logits), torch.exp(teacher)
    onehot = torch.nn.functional.one_hot(targets, 3).double()
    torch.testing.assert_close(student.grad, (0.5 * (y - onehot) + 0.5 * (y - qt)) / 2)
    with pytest.raises(BnnError, match="lambda"):
        kd_loss(logits, targets, teacher, 1.5)


# ---------------------------------------------------------------- report
def test_size_report_hand_computed(tmp_path):
    model = build_model({"type": "dnn", "hidden_dim": 8, "num_hidden": 2,
                         "weights": {"input": "real", "hidden": "binary", "output": "binary"}},
                        10, 5)
    rows = {r["name"]: r for r in model_size_report(model)}
    assert (rows["input"]["trained_bytes"], rows["input"]["deployed_bytes"]) == (352, 352)
    assert (rows["hidden2"]["trained_bytes"], rows["hidden2"]["deployed_bytes"]) == (288, 8 + 32)
    assert (rows["output"]["trained_bytes"], rows["output"]["deployed_bytes"]) == (180, 5 + 20)
    assert rows["total"]["deployed_bytes"] == 352 + 40 + 25
    assert "| hidden2 | binary | 64 | 8 | 288 | 40 | 7.2x |" in format_size_report(rows.values())
    bn = build_model({"type": "dnn", "hidden_dim": 8, "num_hidden": 1, "batchnorm": True,
                      "activation": "hardtanh_binary",
                      "weights": {"input": "binary", "output": "binary"}}, 16, 5)
    r = model_size_report(bn)[0]                   # 16x8 bits + (8 bias + 4 * 8 BN) floats
    assert (r["trained_bytes"], r["deployed_bytes"]) == (4 * (128 + 40), 16 + 4 * 40)
    png = tmp_path / "hist.png"
    plot_weight_histogram(model, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- every config
def small(model_cfg):
    cfg = copy.deepcopy(model_cfg)
    if cfg.get("type") == "cnn":
        cfg.update(fc_dim=16, conv_channel_scale=1 / 16)
        return cfg, (2 * cfg["context"] + 1) * cfg["channels"] * cfg["bands"]
    cfg["hidden_dim"] = 16
    return cfg, 33


@pytest.mark.parametrize("path", CONFIGS, ids=[os.path.basename(p) for p in CONFIGS])
def test_every_config_builds_and_trains_a_step(path):
    from bnn.train.config import load_config
    full = load_config(path)
    assert set(full) == {"model", "train"}, path
    cfg, dim = small(full["model"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = build_model(cfg, dim, 7)
    model.train()
    x = torch.randn(6, dim)
    logits = model(x)
    assert logits.shape == (6, 7) and torch.isfinite(logits).all()
    kd = full["train"].get("kd")
    loss = kd_loss(logits, torch.randint(0, 7, (6,)), torch.randn(6, 7), kd["lambda"]) if kd \
        else hard_loss(logits, torch.randint(0, 7, (6,)))
    loss.backward()
    for block in model.blocks:
        for p in block.parameters():
            assert (p.grad is None) == (block.update == "fixed"), (block.name, block.update)
    model.before_optimizer_step()
    model.after_optimizer_step(torch.Generator().manual_seed(0))
    # rebuilt from (config, input_dim, num_pdfs) + state_dict: identical outputs
    model.eval()
    twin = build_model(model.config, model.input_dim, model.num_pdfs)
    twin.load_state_dict(model.state_dict())
    twin.eval()
    assert torch.equal(model(x), twin(x))
