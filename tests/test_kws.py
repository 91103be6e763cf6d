"""Unit tests of bnn.kws: binarizers and the dual-scale activation (forward and backward against
hand-computed values), per-output-channel weight scales (1 bit per weight), the Haar split and
the FID distance against numpy, thinning, scoring, the local Speech Commands split, and the packed
XOR-popcount model against torch eval()."""
import os

import numpy as np
import pytest
import torch

from bnn.kws import binarize as B
from bnn.kws.distill import fid_loss, haar_split, norm_sq_distance
from bnn.kws.evaluate import score
from bnn.kws.model import DFSMN, init_from_teacher, kept_layers
from bnn.kws.packed import PackedKWS, pack_rows
from bnn.infer import packing

torch.set_num_threads(1)


def test_sign_and_ste():
    u = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.3, 1.0, 1.5], requires_grad=True)
    y = B.ste_sign(u)
    assert y.tolist() == [-1, -1, -1, -1, 1, 1, 1]          # Sign(0) = -1
    y.backward(torch.arange(1.0, 8.0))
    assert u.grad.tolist() == [0, 2, 3, 4, 5, 6, 0]         # g 1{|u| <= 1}


def test_slope_sign_forward_backward():
    u = torch.tensor([-3.0, -0.4, 0.0, 0.2, 0.9], requires_grad=True)
    k = torch.tensor(2.0, requires_grad=True)
    y = B.slope_sign(u, k)
    assert y.tolist() == [-1, -1, -1, 1, 1]
    g = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    y.backward(g)
    inside = np.abs(2.0 * u.detach().numpy()) <= 1         # window of clamp(k u, -1, 1)
    np.testing.assert_allclose(u.grad.numpy(), g.numpy() * 2.0 * inside)
    np.testing.assert_allclose(float(k.grad), float((g.numpy() * u.detach().numpy() * inside).sum()),
                               rtol=1e-6)
    # a negative slope flips the sign
    assert B.slope_sign(torch.tensor([0.5, -0.5]), torch.tensor(-1.0)).tolist() == [-1, 1]


def test_dual_scale_activation_forward_backward():
    torch.manual_seed(0)
    act = B.DualScaleAct(3)
    with torch.no_grad():
        act.t0.copy_(torch.tensor([0.1, -0.2, 0.0]))
        act.t1.copy_(torch.tensor([0.05, 0.0, -0.1]))
        act.t2.copy_(torch.tensor([0.01, 0.02, 0.03]))
        act.k1.fill_(1.5)
        act.k2.fill_(0.8)
    x = torch.tensor([[[0.3, -1.2], [0.5, -0.1], [2.0, 0.05]],
                      [[-0.7, 0.2], [-0.3, 1.1], [0.0, -2.5]]], requires_grad=True)   # (2, 3, 2)
    y = act(x)
    xn = x.detach().numpy().astype(np.float64)
    t0, t1, t2 = (np.array(v)[None, :, None] for v in ([0.1, -0.2, 0.0], [0.05, 0.0, -0.1],
                                                         [0.01, 0.02, 0.03]))
    u1 = xn - t0
    b1 = np.where(1.5 * u1 > 0, 1.0, -1.0)
    r = xn - b1 - t1
    a = np.abs(r).reshape(2, -1).mean(1)[:, None, None]
    s2 = np.where(0.8 * r > 0, 1.0, -1.0)
    np.testing.assert_allclose(y.detach().numpy(), b1 + a * s2 - t2, rtol=1e-6, atol=1e-6)
    # backward: y = b1 + a s2 - t2 with a constant; db1/dx = k1 1{|k1 u1|<=1};
    # ds2/dr = k2 1{|k2 r|<=1}, dr/dx = 1 - db1/dx, dr/dt1 = -1, dr/dt0 = +db1/du1
    g = np.arange(1.0, 13.0).reshape(2, 3, 2)
    y.backward(torch.tensor(g, dtype=torch.float32))
    m1 = 1.5 * (np.abs(1.5 * u1) <= 1)
    m2 = 0.8 * (np.abs(0.8 * r) <= 1)
    dx = g * (m1 + a * m2 * (1 - m1))
    np.testing.assert_allclose(x.grad.numpy(), dx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(act.t2.grad.numpy(), -g.sum((0, 2)), rtol=1e-6)
    np.testing.assert_allclose(act.t1.grad.numpy(), -(g * a * m2).sum((0, 2)), rtol=1e-5)
    np.testing.assert_allclose(act.t0.grad.numpy(), (-g * m1 + g * a * m2 * m1).sum((0, 2)),
                               rtol=1e-5, atol=1e-6)
    dk1 = (g * (np.abs(1.5 * u1) <= 1) * u1 * (1 - a * m2)).sum()
    dk2 = (g * a * (np.abs(0.8 * r) <= 1) * r).sum()
    np.testing.assert_allclose(float(act.k1.grad), dk1, rtol=1e-5)
    np.testing.assert_allclose(float(act.k2.grad), dk2, rtol=1e-5)


@pytest.mark.parametrize("mode", ["xnor", "bifsmn"])
def test_per_output_channel_scale_is_one_bit_per_weight(mode):
    torch.manual_seed(1)
    conv = B.BConv1d(8, 6, 1, mode=mode)          # a 1x1 conv: per-(out,in) scales would be |w|
    wb = conv.binary_weight().detach()[:, :, 0]
    w = conv.weight.detach()[:, :, 0]
    alpha = w.abs().mean(1, keepdim=True)
    np.testing.assert_allclose(wb.numpy(), (alpha * torch.where(w > 0, 1.0, -1.0)).numpy(), rtol=1e-6)
    for row in wb:                                 # one magnitude per output channel
        assert len(set(np.round(row.abs().numpy(), 7))) == 1
    assert not torch.allclose(wb, w)               # unlike the released code's per-(out, in) scale
    assert B.weight_storage_bits(conv) == 8 * 6 + 32 * 6
    # the packed model stores exactly 1 bit per weight (rounded up to 64-bit words per row)
    assert packing.pack_pm1(wb.numpy()).nbytes == 6 * 8


def test_bnn_weights_unscaled_and_clip():
    conv = B.BConv1d(4, 3, 1, mode="bnn")
    with torch.no_grad():
        conv.weight.mul_(10)
    assert set(conv.binary_weight().detach().abs().flatten().tolist()) == {1.0}
    B.clip_latent_weights(conv)
    assert float(conv.weight.detach().abs().max()) <= 1.0


def _haar_numpy(x):
    """Reference: H_C X H_T^T with the orthonormal 1-D Haar analysis matrices (rows low then high)."""
    def mat(n):
        h = np.zeros((n, n))
        for i in range(n // 2):
            h[i, 2 * i] = h[i, 2 * i + 1] = 1 / np.sqrt(2)
            h[n // 2 + i, 2 * i], h[n // 2 + i, 2 * i + 1] = 1 / np.sqrt(2), -1 / np.sqrt(2)
        return h
    c, t = x.shape[1:]
    y = np.einsum("ij,bjk,lk->bil", mat(c), x, mat(t))
    return y[:, :c // 2, :t // 2], y[:, :c // 2, t // 2:], y[:, c // 2:, :t // 2], y[:, c // 2:, t // 2:]


def test_haar_split_matches_numpy_and_preserves_energy():
    x = np.random.default_rng(0).standard_normal((3, 8, 6))
    low, high = haar_split(torch.from_numpy(x))
    ll, lh, hl, hh = _haar_numpy(x)
    np.testing.assert_allclose(low.numpy(), ll, atol=1e-12)
    np.testing.assert_allclose(high[:, 0].numpy(), lh, atol=1e-12)   # time-high (columns)
    np.testing.assert_allclose(high[:, 1].numpy(), hl, atol=1e-12)   # channel-high (rows)
    np.testing.assert_allclose(high[:, 2].numpy(), hh, atol=1e-12)
    assert np.isclose((low.numpy() ** 2).sum() + (high.numpy() ** 2).sum(), (x ** 2).sum())


def test_norm_sq_distance_and_fid():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    ref = np.linalg.norm(a ** 2 / np.linalg.norm(a ** 2) - b ** 2 / np.linalg.norm(b ** 2))
    assert np.isclose(float(norm_sq_distance(torch.from_numpy(a), torch.from_numpy(b))), ref)
    f = torch.randn(2, 4, 4)
    z = torch.randn(2, 3)
    assert float(fid_loss([(0, f)], [(0, f), (1, f)], z, z)) < 1e-6
    assert float(fid_loss([(0, f)], [(0, 2 * f + 1)], z, z + 1)) > 0.9   # MSE 1 + distances


def test_thinning_layers():
    assert [kept_layers(8, o) for o in range(4)] == [list(range(8)), [1, 3, 5, 7], [3, 7], [7]]


def test_score_far_frr():
    cl = ["yes", "no", "_unknown_", "_silence_"]
    ref = [0, 0, 1, 2, 3, 3]
    pred = [0, 1, 1, 0, 3, 2]
    r = score(pred, ref, cl)
    assert r["errors"] == 3 and np.isclose(r["accuracy"], 0.5)
    assert np.isclose(r["frr"], 1 / 3)          # 3 keyword clips, 1 misrecognised
    assert np.isclose(r["far"], 1 / 3)          # 3 filler clips, 1 taken for a keyword
    assert r["per_class"]["yes"]["errors"] == 1 and np.isclose(r["per_class"]["yes"]["far"], 0.25)


def _random_student(seed=0, **cfg):
    torch.manual_seed(seed)
    m = DFSMN(12, mode="bifsmn", **cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                mod.running_mean.normal_(0, 0.5, generator=g)
                mod.running_var.uniform_(0.5, 2, generator=g)
                mod.weight.normal_(1, 0.3, generator=g)
                mod.bias.normal_(0, 0.3, generator=g)
            if isinstance(mod, torch.nn.PReLU):
                mod.weight.uniform_(-0.5, 1.5, generator=g)      # both PReLU paths
            if hasattr(mod, "t0"):
                for t in (mod.t0, mod.t1, mod.t2):
                    t.normal_(0, 0.1, generator=g)
                mod.k1.fill_(-0.7)                               # flipped comparison
            if hasattr(mod, "k3"):
                mod.k3.fill_(-1.2)                               # flipped weight signs
            if hasattr(mod, "in_scale"):
                mod.in_scale.fill_(1.7)                          # input standardisation
        m.feat_mean.normal_(generator=g)
        m.feat_std.uniform_(1, 2, generator=g)
    return m.eval()


@pytest.mark.parametrize("cfg", [{}, {"num_layers": 4, "hidden": 32, "memory": 16}])
def test_packed_equals_torch_eval(cfg, tmp_path):
    """The exact fold (float32 constants) matches torch eval() to float32 rounding, in the C
    path and the numpy path, at every thinning option."""
    m = _random_student(**cfg)
    x = torch.randn(12, 32, 32) * 3
    for o in range(m.num_options):
        with torch.no_grad():
            ref = m(x, o).numpy()
        pk = PackedKWS.from_torch(m, o, "float32", "float32")
        outs = [pk.forward_numpy(x.numpy())]
        if pk.use_c:
            outs.append(pk.forward(x.numpy()))
        for out in outs:
            assert np.abs(out - ref).max() < 1e-4, (o, np.abs(out - ref).max())
            assert (out.argmax(1) == ref.argmax(1)).all()
        one = pk.forward(x[:1].numpy())                        # batch 1 == row of the batch
        np.testing.assert_allclose(one[0], outs[-1][0], atol=1e-5)
    path = str(tmp_path / "m.bin")
    size = pk.save(path)
    again = PackedKWS.load(path)
    np.testing.assert_array_equal(again.forward(x.numpy()), pk.forward(x.numpy()))
    assert size == os.path.getsize(path) == pk.storage()["total"]


def test_packed_c_path_equals_numpy_path():
    """The one-call C forward (bnn/kws/csrc/dfsmn.c) computes what the numpy path computes,
    on the compact export (float16 constants, int8 classifier) too."""
    from bnn.kws import packed as P
    if P._dfsmn is None:
        pytest.skip("C extension bnn.kws._dfsmn not built")
    m = _random_student(num_layers=4, hidden=96, memory=80)   # words with padding bits
    x = torch.randn(5, 32, 32) * 3
    for o in range(3):
        pk = PackedKWS.from_torch(m, o)
        c, n = pk.forward(x.numpy()), pk.forward_numpy(x.numpy())
        np.testing.assert_allclose(c, n, atol=2e-5, rtol=1e-5)
        assert (c.argmax(1) == n.argmax(1)).all()


def test_packed_compact_file_round_trip_and_bytes(tmp_path):
    """The deployed file holds float16 constants and an int8 classifier; reloading gives the
    identical model; storage() is the file's size; the int8 classifier is within half a step
    of the float weights."""
    m = _random_student()
    pk = PackedKWS.from_torch(m, 0)
    assert pk.a["cls_q"].dtype == np.int8 and pk.a["l0_exp_t0"].dtype == np.float16
    path = str(tmp_path / "m.bin")
    size = pk.save(path)
    again = PackedKWS.load(path)
    x = np.random.default_rng(1).standard_normal((4, 32, 32)).astype(np.float32) * 3
    np.testing.assert_array_equal(again.forward(x), pk.forward(x))
    assert size == pk.storage()["total"] == len(pk.to_bytes())
    full = PackedKWS.from_torch(m, 0, "float32", "float32")
    err = np.abs(pk.f["cls_w"] - full.f["cls_w"]).max(0)
    assert (err <= pk.a["cls_s"] * 0.5 + 1e-7).all()
    assert pk.storage()["total"] < 0.62 * full.storage()["total"]
    with open(path, "r+b") as f:                              # truncated file: one-line error
        f.truncate(size - 3)
    from bnn.utils.errors import BnnError
    with pytest.raises(BnnError, match="not a packed KWS model"):
        PackedKWS.load(path)


def test_packed_storage_is_one_bit_per_weight():
    m = _random_student(num_layers=4, hidden=128, memory=64)
    pk = PackedKWS.from_torch(m, 0)
    st = pk.storage()
    # rows of 64-bit words: conv2 32 x 400 bits, linear 64 x 256, per layer 5 x 64 (depthwise,
    # one row per tap), 128 x 64, 64 x 128
    words = 32 * 7 + 64 * 4 + 4 * (5 * 1 + 128 * 1 + 64 * 2)
    assert st["bits"] == words * 8
    n_binary = sum(layer.weight.numel() for layer in B.binary_layers(m))
    assert n_binary / 8 <= st["bits"] <= n_binary / 8 * 1.13
    assert st["total"] == st["bits"] + st["const"] + st["header"]


def test_pack_rows_matches_packing():
    bits = np.random.default_rng(0).random((5, 128)) > 0.5
    np.testing.assert_array_equal(pack_rows(bits), packing.pack_bits(bits))


def test_packed_rejects_float_model():
    from bnn.utils.errors import BnnError
    with pytest.raises(BnnError):
        PackedKWS.from_torch(DFSMN(12).eval(), 0)


def test_init_from_teacher_copies_option0_bn():
    t = DFSMN(12, num_layers=2, hidden=16, memory=8)
    with torch.no_grad():
        t.layers[0].out_bn[0].running_mean.fill_(3.0)
    s = DFSMN(12, mode="bifsmn", num_layers=2, hidden=16, memory=8)
    init_from_teacher(s, t)
    assert float(s.layers[0].out_bn[2].running_mean[0]) == 3.0
    assert torch.equal(s.layers[1].expand.weight, t.layers[1].expand.weight)


def test_logmel_shape_and_values():
    from bnn.kws.features import LogMel, mel_filterbank
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    f = LogMel(16000)(torch.from_numpy(x[None]))[0].numpy()
    assert f.shape == (32, 32)
    # frame 5 by hand: centred reflect-padded frame, Hann window, |FFT|^2, mel, dB
    xp = np.pad(x.astype(np.float64), 1024, mode="reflect")
    fr = xp[5 * 512:5 * 512 + 2048] * np.hanning(2049)[:-1]
    p = np.abs(np.fft.rfft(fr)) ** 2
    ref = 10 * np.log10(np.maximum(p @ mel_filterbank(16000, 2048), 1e-10))
    np.testing.assert_allclose(f[5], ref, atol=1e-3)


def test_sc_local_split_is_speaker_disjoint(shared_dir):
    from bnn.kws.manifests import scan_sc_test_dir
    d = shared_dir / "corpora" / "speech_commands_test_v0.02"
    if not d.is_dir():
        pytest.skip("speech_commands_test_v0.02 not in ../shared")
    items = scan_sc_test_dir(str(d))
    assert len(items) == 4890
    by_set = {}
    for _, _, text, spk, part in items:
        if spk:
            by_set.setdefault(spk, set()).add(part)
    assert all(len(v) == 1 for v in by_set.values())
    sil = [p for _, i, t, s, p in items if s is None]
    assert len(sil) == 408 and sil.count("train") == 287 and sil.count("dev") == 41
    assert items == scan_sc_test_dir(str(d))                 # deterministic


def test_streaming_windows_match_forward():
    from bnn.kws.features import LogMel
    m = _random_student(num_layers=2, hidden=32, memory=16)
    pk = PackedKWS.from_torch(m, 0)
    wav = np.random.default_rng(3).standard_normal(8000 * 3 + 1000).astype(np.float32) * 0.1
    starts, probs = pk.stream(wav, 8000, hop=0.5, batch=3)
    assert np.allclose(starts, np.arange(0, 2.51, 0.5))           # last window zero-padded
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    win = np.pad(wav[8000:16000], (0, 0))
    z = pk.forward(LogMel(8000)(torch.from_numpy(win[None])).numpy())[0]
    p = np.exp(z - z.max())
    np.testing.assert_allclose(probs[2], p / p.sum(), rtol=1e-4, atol=1e-6)


def test_kaldi_fbank_option():
    from bnn.kws.features import make_extractor
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 16000)).astype(np.float32))
    f = make_extractor("fbank", 16000)(x)
    assert f.shape == (2, 32, 32) and torch.isfinite(f).all()


def test_init_input_scales_from_data():
    m = DFSMN(12, mode="bifsmn", num_layers=2, hidden=16, memory=8)
    x = torch.randn(6, 32, 32) * 5
    assert B.init_input_scales_from_data(m, x) == 1 + 1 + 2 * 3   # conv2, linear, 3 per layer
    assert m.training                                              # mode restored
    m.eval()
    with torch.no_grad():
        h = m.act1(m.bn1(m.conv1(((x - m.feat_mean) / m.feat_std).unsqueeze(1))))
        assert np.isclose(float(m.conv2.act.in_scale), float(h.std()), rtol=1e-5)
        seen = {}
        hk = m.layers[1].expand.act.register_forward_pre_hook(
            lambda mod, inp: seen.setdefault("x", inp[0]))
        m(x)
        hk.remove()
    assert np.isclose(float(m.layers[1].expand.act.in_scale), float(seen["x"].std()), rtol=1e-5)
