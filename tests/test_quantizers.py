"""Binarizers of Lu et al. 2017 (Eqs. 3, 5-6) and Qian & Xiang 2019 (Eqs. 8-10) vs numpy."""
import math

import numpy as np
import pytest
import torch

from bnn.nn import quantizers as q
from bnn.utils.errors import BnnError

torch.set_num_threads(1)


def np_sign(x):
    return np.where(x > 0, 1.0, -1.0)


def grad_of(fn, x_np, g_np):
    x = torch.tensor(x_np, dtype=torch.float64, requires_grad=True)
    y = fn(x)
    y.backward(torch.tensor(g_np, dtype=torch.float64))
    return y.detach().numpy(), x.grad.numpy()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_sign_at_zero_is_minus_one():
    x = torch.tensor([-2.0, -0.0, 0.0, 1e-7, 3.0])
    assert q.sign(x).tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0]
    for name in ("sign", "binary_weight", "ste_sign", "masked_sign", "stochastic_sign"):
        quant = q.get_quantizer(name).eval()
        assert quant(torch.zeros(3)).tolist() == [-1.0, -1.0, -1.0], name
    # (0, 1) values: Sign(0) = -1 maps to 0
    assert q.masked_sign(torch.zeros(2), 1, "0,1").tolist() == [0.0, 0.0]


def test_sign_identity_straight_through(rng):
    """Lu Alg. 1: forward Sign(w), the gradient for w_b is applied to w unchanged."""
    x, g = rng.normal(size=50) * 2, rng.normal(size=50)
    y, gx = grad_of(q.Sign(), x, g)
    np.testing.assert_array_equal(y, np_sign(x))
    np.testing.assert_array_equal(gx, g)


def test_ste_sign_gradient_eq10(rng):
    """Qian Eq. 10: g_p = g_q * 1{|p| <= 1}, boundary |p| = 1 included."""
    x = np.concatenate([rng.uniform(-3, 3, size=200), [-1.0, 1.0, 0.0, 1.0000001, -1.0000001]])
    g = rng.normal(size=x.size)
    y, gx = grad_of(q.SteSign(), x, g)
    np.testing.assert_array_equal(y, np_sign(x))
    np.testing.assert_array_equal(gx, g * (np.abs(x) <= 1))
    assert gx[-5] == g[-5] and gx[-4] == g[-4] and gx[-2] == 0 and gx[-1] == 0


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("values", ["-1,1", "0,1"])
def test_masked_sign_mask_eq5_6(rng, k, values):
    """Lu Eqs. 5-6: the mask zeroes exactly the gradients with |h_hat| > k."""
    x = np.concatenate([rng.uniform(-6, 6, size=500), [k, -k, k + 1e-6, -k - 1e-6]])
    g = rng.normal(size=x.size) + 3.0          # never exactly zero
    y, gx = grad_of(q.MaskedSign(k=k, values=values), x, g)
    expected_y = np_sign(x) if values == "-1,1" else (x > 0).astype(float)
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(gx == 0, np.abs(x) > k)
    np.testing.assert_array_equal(gx, g * (np.abs(x) <= k))


def test_zero_one_values_are_hard_sigmoid_binarization():
    x = torch.tensor([-1.5, -0.2, 0.0, 0.3, 2.0])
    assert q.get_quantizer({"name": "masked_sign", "k": 2, "values": "0,1"})(x).tolist() == \
        [0.0, 0.0, 0.0, 1.0, 1.0]
    assert set(q.ste_sign(torch.randn(100), values="0,1").unique().tolist()) == {0.0, 1.0}


def test_stochastic_sign_eq9_training_only(rng):
    x = torch.full((200000,), 0.3)
    quant = q.StochasticSign()
    quant.generator = torch.Generator().manual_seed(5)
    quant.train()
    a, b = quant(x), quant(x)
    assert set(a.unique().tolist()) == {-1.0, 1.0}
    assert not torch.equal(a, b)
    # P(x - p > 0) = P(p < 0.3) = Phi(0.3) for p ~ N(0, 1)
    phi = 0.5 * (1 + math.erf(0.3 / math.sqrt(2)))
    assert abs((a > 0).double().mean().item() - phi) < 0.005
    quant.eval()
    c, d = quant(x), quant(x)
    assert torch.equal(c, d) and torch.all(c == 1)
    assert quant(torch.tensor([-0.3, 0.0])).tolist() == [-1.0, -1.0]


def test_stochastic_sign_matches_reference_noise_and_eq10_gradient(rng):
    x_np, g_np = rng.normal(size=1000) * 1.5, rng.normal(size=1000)
    gen = torch.Generator().manual_seed(11)
    y, gx = grad_of(lambda x: q.stochastic_sign(x, True, "-1,1", gen), x_np, g_np)
    p = torch.randn(1000, generator=torch.Generator().manual_seed(11), dtype=torch.float64).numpy()
    np.testing.assert_array_equal(y, np_sign(x_np - p))
    np.testing.assert_array_equal(gx, g_np * (np.abs(x_np) <= 1))


def test_registry_and_errors():
    assert isinstance(q.get_quantizer("ste_sign"), q.SteSign)
    assert q.get_quantizer(None) is None
    m = q.get_quantizer({"name": "masked_sign", "k": 3})
    assert m.k == 3.0 and m.config() == {"name": "masked_sign", "k": 3.0, "values": "-1,1"}
    with pytest.raises(BnnError, match="unknown quantizer"):
        q.get_quantizer("sgn")
    with pytest.raises(BnnError, match="values"):
        q.get_quantizer({"name": "ste_sign", "values": "1,2"})
    with pytest.raises(BnnError, match="bad options"):
        q.get_quantizer({"name": "sign", "k": 2})


def test_zero_one_weight_binarizer_identity_gradient():
    # Lu Table 3 "(0,1) binary weights": forward 1{w > 0}, gradient passed unchanged (Alg. 1)
    w = torch.tensor([-0.5, 0.0, 0.3, 1.0], requires_grad=True)
    quant = q.get_quantizer({"name": "sign", "values": "0,1"})
    y = quant(w)
    assert y.tolist() == [0.0, 0.0, 1.0, 1.0]
    (y * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert w.grad.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert quant.config() == {"name": "sign", "values": "0,1"}
    assert q.get_quantizer("sign").config() == {"name": "sign"}


def test_bn_reestimation_uses_the_deterministic_network():
    """AcousticModel.reestimate_bn_stats_: running statistics of every BN layer equal the
    average batch statistics of the eval-mode (Sign, Eq. 8) network, computed here by hand."""
    from bnn.nn.models import build_model
    torch.manual_seed(0)
    cfg = {"type": "dnn", "hidden_dim": 6, "num_hidden": 2, "activation": "hardtanh_binary",
           "batchnorm": True, "output_batchnorm": True,
           "binary_activation": {"name": "stochastic_sign"},
           "weights": {"input": "real", "hidden": "binary", "output": "binary"}}
    model = build_model(cfg, 5, 3)
    x = torch.randn(64, 5)
    batches = [x[:32], x[32:]]
    # training-mode statistics (stochastic binarizer) as BN collects them during training
    model.train()
    with torch.no_grad():
        for _ in range(50):
            model(x)
    stochastic_mean = model.blocks[1].post.bn.running_mean.clone()
    assert model.has_stochastic_binarizer()
    assert model.reestimate_bn_stats_(batches) == 64
    assert not model.training
    # by hand: each batch normalised with its own statistics, deterministic Sign
    with torch.no_grad():
        means = {i: [] for i in range(3)}
        variances = {i: [] for i in range(3)}
        for xb in batches:
            h = xb
            for i, block in enumerate(model.blocks):
                c = torch.nn.functional.linear(h, block.affine.effective_weight(), block.affine.bias)
                means[i].append(c.mean(0))
                variances[i].append(c.var(0, unbiased=True))
                bn = block.post.bn
                d = (c - c.mean(0)) / torch.sqrt(c.var(0, unbiased=False) + bn.eps) * bn.weight + bn.bias
                h = torch.where(d > 0, 1.0, -1.0)
        for i, block in enumerate(model.blocks):
            bn = block.post.bn
            assert torch.allclose(bn.running_mean, torch.stack(means[i]).mean(0), atol=1e-5), i
            assert torch.allclose(bn.running_var, torch.stack(variances[i]).mean(0), atol=1e-4), i
    # the deterministic statistics differ from the stochastic training-mode ones (layer 2)
    assert not torch.allclose(model.blocks[1].post.bn.running_mean, stochastic_mean, atol=1e-3)
    # momentum restored for further training
    assert model.blocks[1].post.bn.momentum == 0.1
    with pytest.raises(BnnError, match="no frames"):
        model.reestimate_bn_stats_([x[:1]])
