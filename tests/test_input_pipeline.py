"""Batched input pipeline (bnn.data.batched): frame-by-frame identical to the numpy path."""
import kaldiio
import numpy as np
import pytest
import torch

from bnn.data import batched
from bnn.data.frames import UtteranceSource, sequential_minibatches, shuffled_minibatches
from bnn.feats.deltas import add_deltas
from bnn.feats.pipeline import FeaturePipeline
from bnn.train.model_dir import FeatureFrontend, estimate_input_norm


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Utterances of 1..90 frames (shorter than the splice and delta windows included), four
    speakers with CMVN stats, one utterance whose targets are one frame too long."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    stats = {}
    utt2spk = []
    with kaldiio.WriteHelper(f"ark,scp:{root}/feats.ark,{root}/feats.scp") as wf, \
            kaldiio.WriteHelper(f"ark,scp:{root}/tgt.ark,{root}/tgt.scp") as wt:
        for i in range(40):
            utt, spk = f"utt{i:03d}", f"spk{i % 4}"
            n = [1, 2, 3, 5][i] if i < 4 else int(rng.integers(6, 90))
            x = (rng.standard_normal((n, 40)) * (1 + i % 4) + 5 * (i % 4)).astype(np.float32)
            wf(utt, x)
            wt(utt, rng.integers(0, 50, n + (1 if i == 7 else 0)).astype(np.int32))
            st = stats.setdefault(spk, np.zeros((2, 41)))
            st[0, :40] += x.sum(0)
            st[0, 40] += n
            st[1, :40] += (x.astype(np.float64) ** 2).sum(0)
            utt2spk.append(f"{utt} {spk}\n")
    (root / "utt2spk").write_text("".join(utt2spk))
    with kaldiio.WriteHelper(f"ark,scp:{root}/cmvn.ark,{root}/cmvn.scp") as w:
        for spk in sorted(stats):
            w(spk, stats[spk])
    return root


def make_source(root, pipeline):
    fe = FeatureFrontend(pipeline, data_dir=str(root))
    src = UtteranceSource(str(root / "feats.scp"), str(root / "tgt.scp"), fe)
    utts = src.utterances()
    fe.input_mean, fe.input_std = estimate_input_norm(fe, src._feats, utts)
    return src, utts, fe


PIPELINES = {
    "cmvn_deltas2_splice5": "--norm-means=true --norm-vars=false|--delta-order=2|5",
    "cvn_deltas1_splice2": "--norm-means=true --norm-vars=true|--delta-order=1 --delta-window=3|2",
    "cmvn_deltas3w1_splice1": "--norm-means=true --norm-vars=false|--delta-order=3 --delta-window=1|1",
    "no_cmvn_no_deltas": "||4",
    "cmvn_only": "--norm-means=true --norm-vars=false||0",
}


def pipeline_of(spec):
    cmvn, delta, splice = spec.split("|")
    return FeaturePipeline.from_opts(cmvn, delta, f"--left-context={splice} "
                                     f"--right-context={splice}" if int(splice) else "")


def test_delta_taps_reproduce_kaldi_native_fbank_bits():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((37, 40)) * 4 + 2).astype(np.float32)
    x[5:9] = 0.0        # zero products: +0, not -0
    x[20, :7] = -0.0
    checked = 0
    for order in range(1, 5):
        for window in range(1, 5):
            if not batched.deltas_exact(order, window):
                continue
            fe = type("FE", (), {"pipeline": FeaturePipeline(cmvn=False, delta_order=order,
                                                             delta_window=window),
                                 "input_mean": None, "input_std": None})()
            ref = add_deltas(x, order, window)
            for use_ext in ([True, False] if batched._splice is not None else [False]):
                tf = batched.TensorFrontend(fe)
                tf.use_ext = use_ext
                d, _, _ = tf.chunk(["a"], [x])
                # the same bits, the sign of zero included (Kaldi adds to a zeroed row)
                np.testing.assert_array_equal(d.numpy().view(np.int32), ref.view(np.int32))
            checked += 1
    assert checked == 8
    assert batched.delta_scales(2, 2)[1].tolist() == pytest.approx([-0.2, -0.1, 0, 0.1, 0.2])


@pytest.mark.parametrize("use_ext", [True, False])
@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_shuffled_batches_identical_frame_by_frame(corpus, name, use_ext):
    """Both gathers (the fused C one and torch ops) give the numpy path's bits."""
    src, utts, fe = make_source(corpus, pipeline_of(PIPELINES[name]))
    tf = batched.TensorFrontend(fe)
    tf.use_ext = use_ext
    if use_ext and batched._splice is None:
        from bnn.infer.bitgemm import extension_status
        if extension_status()[1]:
            pytest.fail("bnn.data._splice not built on a machine that builds C extensions")
        pytest.skip("bnn.data._splice cannot be built here")
    for batch, buffer_frames, drop_last in ((16, 150, False), (64, 10000, False), (7, 40, True)):
        old = list(shuffled_minibatches(src, utts, batch, buffer_frames,
                                        np.random.default_rng([5, 1]), drop_last=drop_last))
        skipped = src.num_skipped
        new = list(batched.shuffled_batches(src, utts, batch, buffer_frames,
                                            np.random.default_rng([5, 1]), tf,
                                            drop_last=drop_last))
        assert src.num_skipped == 2 * skipped > 0      # utt007 skipped by both paths
        assert len(old) == len(new)
        for (xo, yo), (xn, yn) in zip(old, new):
            assert xn.dtype == torch.float32 and yn.dtype == torch.int64
            np.testing.assert_array_equal(xn.numpy().view(np.int32), xo.view(np.int32))  # bits
            np.testing.assert_array_equal(yn.numpy(), yo)
        src.num_skipped = 0


def test_sequential_batches_identical(corpus):
    src, utts, fe = make_source(corpus, pipeline_of(PIPELINES["cmvn_deltas2_splice5"]))
    tf = batched.TensorFrontend(fe)
    old = list(sequential_minibatches(src, utts, 100))
    new = list(batched.sequential_batches(src, utts, 100, tf))
    assert len(old) == len(new) > 3
    for (xo, yo), (xn, yn) in zip(old, new):
        np.testing.assert_array_equal(xn.numpy(), xo)
        np.testing.assert_array_equal(yn.numpy(), yo)


def test_worker_processes_keep_the_order(corpus):
    src, utts, fe = make_source(corpus, pipeline_of(PIPELINES["cmvn_deltas2_splice5"]))
    tf = batched.TensorFrontend(fe)
    one = list(batched.shuffled_batches(src, utts, 32, 300, np.random.default_rng(9), tf))
    two = list(batched.shuffled_batches(src, utts, 32, 300, np.random.default_rng(9), tf,
                                        num_workers=2))
    assert len(one) == len(two)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(one, two))


def test_fast_target_reader_matches_kaldiio(corpus):
    src, utts, _ = make_source(corpus, pipeline_of(PIPELINES["cmvn_only"]))
    rows = batched._RawRows(src, utts)
    for utt in utts[:10]:
        np.testing.assert_array_equal(rows.read(utt)[2], np.asarray(src._targets[utt]))
    assert rows._tgt_index and len(rows._tgt_files) == 1      # the numpy path was taken


def test_splice_gather_rejects_bad_index():
    if batched._splice is None:
        pytest.skip("bnn.data._splice not built")
    feats = np.zeros((4, 3), np.float32)
    with pytest.raises(IndexError, match="row index 4"):
        batched._splice.splice_norm(feats, 4, 3, np.array([[0, 4]], np.int64), 1, 2, None, None,
                                    np.zeros((1, 6), np.float32))


@pytest.mark.parametrize("nthreads", [1, 2])
def test_splice_centre_equals_the_index_gather(nthreads):
    """The C fast path (adjacent context rows, streaming stores, unaligned heads and tails)
    and the clamped path against torch's index_select + (x - mean) / std, bit for bit."""
    if batched._splice is None:
        pytest.skip("bnn.data._splice not built")
    rng = np.random.default_rng(3)
    n, c, p, left = 300, 37, 7, 3            # 7 * 37 floats per row: rows start unaligned
    feats = torch.from_numpy(rng.standard_normal((n, c)).astype(np.float32))
    lens = [50, 1, 120, 129]                 # one-frame utterance: every position clamped
    ends = torch.from_numpy(np.cumsum(lens))
    lt = torch.tensor(lens)
    start = torch.repeat_interleave(ends - lt, lt)
    end = torch.repeat_interleave(ends, lt)
    frames = torch.from_numpy(rng.permutation(n)[:130].astype(np.int64))
    mean = torch.from_numpy(rng.standard_normal(p * c).astype(np.float32))
    std = torch.from_numpy((rng.random(p * c) + 0.5).astype(np.float32))
    idx = frames[:, None] + torch.arange(-left, p - left)[None, :]
    idx = torch.minimum(torch.maximum(idx, start[frames, None]), end[frames, None] - 1)
    ref = feats.index_select(0, idx.reshape(-1)).view(len(frames), -1)
    for m, s, want in ((mean, std, (ref - mean) / std), (None, None, ref)):
        out = torch.empty((len(frames), p * c))
        batched._splice.splice_centre(feats.numpy(), n, c, frames.numpy(), start.numpy(),
                                      end.numpy(), len(frames), p, left,
                                      None if m is None else m.numpy(),
                                      None if s is None else s.numpy(), out.numpy(), nthreads)
        assert torch.equal(out, want)
    with pytest.raises(IndexError, match="frame 300"):
        batched._splice.splice_centre(feats.numpy(), n, c, np.array([300], np.int64),
                                      start.numpy(), end.numpy(), 1, p, left, None, None,
                                      np.zeros((1, p * c), np.float32))


def test_frontend_is_only_used_for_feature_frontends(corpus):
    src = UtteranceSource(str(corpus / "feats.scp"), str(corpus / "tgt.scp"), lambda u, x: x)
    assert batched.tensor_frontend_for(src, "cpu") is None
    src2, _, _ = make_source(corpus, pipeline_of(PIPELINES["cmvn_only"]))
    assert isinstance(batched.tensor_frontend_for(src2, "cpu"), batched.TensorFrontend)


def test_trainer_epoch_identical_with_either_pipeline(corpus):
    """One training epoch through bnn.train.trainer with the batched pipeline (the default) and
    with the numpy one ends in the same weights, bit for bit, and the same CV numbers."""
    from bnn.nn.models import build_model
    from bnn.train.trainer import DistInfo, evaluate, train_config, train_epoch
    src, utts, fe = make_source(corpus, pipeline_of(PIPELINES["cmvn_deltas2_splice5"]))
    cfg = {"type": "dnn", "hidden_dim": 24, "num_hidden": 2, "activation": "sigmoid"}
    results = {}
    for choice in ("batched", "numpy"):
        tcfg = train_config({"train": {"batch_size": 32, "buffer_frames": 300, "lr": 0.01,
                                       "input_pipeline": choice}})
        torch.manual_seed(0)
        model = build_model(cfg, 1320, 50)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        tr = train_epoch(model, model, opt, src, utts[:30], tcfg, 0, 7, torch.device("cpu"),
                         DistInfo())
        cv = evaluate(model, src, utts[30:], 64, torch.device("cpu"), DistInfo(), tcfg)
        results[choice] = (model.state_dict(), tr, cv)
    (wa, tra, cva), (wb, trb, cvb) = results["batched"], results["numpy"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert tra["loss"] == trb["loss"] and tra["frames"] == trb["frames"] > 500
    assert cva == cvb


def test_lr_batch_rules():
    from bnn.train.trainer import lr_batch_factor
    from bnn.utils.errors import BnnError
    assert lr_batch_factor({"batch_size": 4096, "lr_batch_rule": "none"}) == 1.0
    assert lr_batch_factor({"batch_size": 4096, "lr_batch_rule": "linear"}) == 16.0
    assert lr_batch_factor({"batch_size": 1024, "lr_batch_rule": "sqrt",
                            "lr_base_batch": 256}) == 2.0
    with pytest.raises(BnnError, match="lr_batch_rule"):
        lr_batch_factor({"batch_size": 1, "lr_batch_rule": "cubic"})
