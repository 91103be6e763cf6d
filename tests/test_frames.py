"""Streaming frame data: bounded shuffling buffer, determinism, length checks, CV split."""
import kaldiio
import numpy as np
import pytest

from bnn.data.frames import (UtteranceSource, sequential_minibatches, shuffled_minibatches,
                             split_train_cv)
from bnn.train.config import load_config
from bnn.train.schedule import Newbob, exponential_lr
from bnn.utils.errors import BnnError


@pytest.fixture()
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    lens = {f"utt{i:02d}": int(rng.integers(5, 30)) for i in range(12)}
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/feats.ark,{tmp_path}/feats.scp") as w:
        for utt, n in lens.items():
            # frame t of utterance i carries (i, t) so batches can be traced back
            w(utt, np.stack([np.full(n, int(utt[3:])), np.arange(n)], 1).astype(np.float32))
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/tgt.ark,{tmp_path}/tgt.scp") as w:
        for utt, n in lens.items():
            n_t = n + 1 if utt == "utt05" else n  # one utterance with a length mismatch
            w(utt, (np.arange(n_t) % 7).astype(np.int32))
    return tmp_path, lens


def identity(utt, x):
    return x


def test_shuffled_batches_cover_all_frames_once(corpus):
    d, lens = corpus
    src = UtteranceSource(str(d / "feats.scp"), str(d / "tgt.scp"), identity)
    utts = src.utterances()
    batches = list(shuffled_minibatches(src, utts, 8, 40, np.random.default_rng([1, 0])))
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    expected = sum(n for u, n in lens.items() if u != "utt05")
    assert len(x) == expected  # utt05 skipped: 1 more target than frames
    assert src.num_skipped == 1
    pairs = {(int(a), int(b)) for a, b in x}
    assert len(pairs) == expected  # every frame exactly once
    assert np.all(y == (x[:, 1].astype(int) % 7))  # targets stay with their frames
    assert all(len(b[0]) == 8 for b in batches[:-1])


def test_shuffle_is_bounded_and_deterministic(corpus):
    d, _ = corpus
    src = UtteranceSource(str(d / "feats.scp"), str(d / "tgt.scp"), identity)
    utts = src.utterances()
    a = [b[0].copy() for b in shuffled_minibatches(src, utts, 8, 40, np.random.default_rng([3, 2]))]
    b = [b[0].copy() for b in shuffled_minibatches(src, utts, 8, 40, np.random.default_rng([3, 2]))]
    c = [b[0].copy() for b in shuffled_minibatches(src, utts, 8, 40, np.random.default_rng([3, 3]))]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))
    # frames of many utterances are mixed inside a batch (frame-level shuffling)
    assert max(len(set(batch[:, 0].tolist())) for batch in a) > 1


def test_sequential_batches_and_cv_split(corpus):
    d, lens = corpus
    src = UtteranceSource(str(d / "feats.scp"), str(d / "tgt.scp"), identity)
    utts = src.utterances()
    n = sum(len(x) for x, _ in sequential_minibatches(src, utts, 50))
    assert n == sum(v for u, v in lens.items() if u != "utt05")
    tr, cv = split_train_cv(utts, 25, seed=1)
    assert len(cv) == 3 and not set(tr) & set(cv) and len(tr) + len(cv) == len(utts)
    assert split_train_cv(utts, 25, seed=1) == (tr, cv)


def test_missing_features_file_is_one_line_error(tmp_path):
    with pytest.raises(BnnError, match="feats.scp: file not found"):
        UtteranceSource(str(tmp_path / "feats.scp"), None, identity).utterances()


def test_config_base_and_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text("model: {type: dnn, hidden_dim: 2048, num_layers: 6}\n"
                                        "train: {lr: 0.008}\n")
    (tmp_path / "small.yaml").write_text("base: base.yaml\nmodel: {hidden_dim: 256}\n")
    cfg = load_config(str(tmp_path / "small.yaml"), ["train.lr=0.001", "model.num_layers=2"])
    assert cfg["model"] == {"type": "dnn", "hidden_dim": 256, "num_layers": 2}
    assert cfg["train"]["lr"] == 0.001


def test_exponential_and_newbob_schedules():
    assert exponential_lr(0.008, 0.5, 3) == pytest.approx(0.001)
    nb = Newbob(lr=1.0)
    assert nb.step(0, 2.0) == (True, False)
    assert nb.step(1, 1.5) == (True, False) and nb.lr == 1.0     # 25% better: keep lr
    assert nb.step(2, 1.499) == (True, False) and nb.lr == 0.5   # <1%: start halving
    assert nb.step(3, 1.4989) == (True, True)                    # <0.1% while halving: stop
    nb2 = Newbob(lr=1.0)
    nb2.step(0, 2.0)
    accept, stop = nb2.step(1, 2.5)                              # worse: rejected, halving
    assert not accept and not stop and nb2.lr == 0.5 and nb2.best_loss == 2.0
    assert nb2.step(2, 2.1) == (False, True)                     # worse while halving: stop
