"""bnn-train / bnn-forward on a small synthetic corpus: learning, resume after a kill, output."""
import json
import os
import signal
import subprocess
import sys
import time

import kaldiio
import numpy as np
import pytest

NUM_PDFS = 5
DIM = 6


def make_corpus(root, n_utts=120, seed=0, prefix="u", dim=DIM):
    """Data dir whose frames are class-dependent Gaussians; pdf targets in an scp."""
    DIM = dim  # noqa: N806 - shadows the module default for this corpus
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.0, (NUM_PDFS, DIM))
    os.makedirs(root, exist_ok=True)
    spk_stats = {}
    utt2spk = []
    with kaldiio.WriteHelper(f"ark,scp:{root}/feats.ark,{root}/feats.scp") as wf, \
            kaldiio.WriteHelper(f"ark,scp:{root}/tgt.ark,{root}/tgt.scp") as wt:
        for i in range(n_utts):
            utt, spk = f"{prefix}{i:04d}", f"spk{i % 3}"
            n = int(rng.integers(40, 80))
            y = np.repeat(rng.integers(0, NUM_PDFS, n // 8 + 1), 8)[:n]
            x = (centres[y] + rng.normal(0, 1.0, (n, DIM)) + 3.0).astype(np.float32)
            wf(utt, x)
            wt(utt, y.astype(np.int32))
            st = spk_stats.setdefault(spk, np.zeros((2, DIM + 1)))
            st[0, :DIM] += x.sum(0)
            st[0, DIM] += n
            st[1, :DIM] += (x.astype(np.float64) ** 2).sum(0)
            utt2spk.append(f"{utt} {spk}\n")
    with open(f"{root}/utt2spk", "w") as f:
        f.writelines(utt2spk)
    with kaldiio.WriteHelper(f"ark,scp:{root}/cmvn.ark,{root}/cmvn.scp") as w:
        for spk in sorted(spk_stats):
            w(spk, spk_stats[spk])
    return root


CONFIG = """model: {type: dnn, hidden_dim: 32, num_hidden: 2, activation: sigmoid}
train: {lr: 0.1, momentum: 0.9, schedule: exponential, lr_decay: 0.7, epochs: EPOCHS,
        batch_size: 32, buffer_frames: 2000}
"""


def train_cmd(data, cfg, out, *extra):
    return [sys.executable, "-m", "bnn.bin.train", "--config", str(cfg), "--train-data",
            str(data), "--train-targets", f"scp:{data}/tgt.scp", "--num-pdfs", str(NUM_PDFS),
            "--splice", "1", "--seed", "3", *extra, str(out)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(str(tmp_path_factory.mktemp("corpus")))


def test_train_learns_and_forward_writes_loglikes(corpus, tmp_path, bnn_env):
    cfg = tmp_path / "dnn.yaml"
    cfg.write_text(CONFIG.replace("EPOCHS", "3"))
    out = tmp_path / "dnn"
    r = subprocess.run(train_cmd(corpus, cfg, out), env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    hist = json.load(open(out / "history.json"))
    assert len(hist["epochs"]) == 3
    assert hist["epochs"][-1]["cv_acc"] > 80.0  # separable classes: well above chance (20%)
    assert hist["epochs"][-1]["cv_loss"] < hist["initial_cv"]["loss"]
    for name in ("final.pt", "cmvn_opts", "splice_opts", "num_pdfs"):
        assert (out / name).exists(), name
    accs = [hist["initial_cv"]["acc"]] + [e["cv_acc"] for e in hist["epochs"]]
    gain = max(accs[-2:]) - max(accs[:-2])   # bnn.train.convergence, window 2
    assert hist["convergence"]["gain"] == pytest.approx(gain, abs=1e-3)
    assert hist["convergence"]["converged"] == (gain <= 1.0)

    counts = tmp_path / "counts"
    counts.write_text("[ " + " ".join(["10"] * NUM_PDFS) + " ]\n")
    fwd = [sys.executable, "-m", "bnn.bin.forward", "--model", str(out), "--data-dir", corpus,
           "--no-softmax=true", f"--class-frame-counts={counts}",
           f"scp:{corpus}/feats.scp", f"ark:{tmp_path}/ll.ark"]
    r = subprocess.run(fwd, env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    feats = kaldiio.load_scp(f"{corpus}/feats.scp")
    n = 0
    for utt, ll in kaldiio.load_ark(f"{tmp_path}/ll.ark"):
        assert ll.shape == (feats[utt].shape[0], NUM_PDFS)
        n += 1
    assert n == 120
    # uniform priors: no-softmax output minus log(1/5) == logits + log 5
    fwd2 = fwd[:5] + ["--data-dir", corpus, f"scp:{corpus}/feats.scp", f"ark:{tmp_path}/lg.ark"]
    fwd2 = [a for a in fwd if not a.startswith("--class") and not a.startswith("ark:")]
    fwd2.append(f"ark:{tmp_path}/lg.ark")
    assert subprocess.run(fwd2, env=bnn_env, capture_output=True).returncode == 0
    post = dict(kaldiio.load_ark(f"{tmp_path}/lg.ark"))
    ll = dict(kaldiio.load_ark(f"{tmp_path}/ll.ark"))
    assert np.allclose(ll["u0000"], post["u0000"] + np.log(5.0), atol=1e-5)


def test_forward_rejects_wrong_feature_dim(corpus, tmp_path, bnn_env):
    cfg = tmp_path / "dnn.yaml"
    cfg.write_text(CONFIG.replace("EPOCHS", "1"))
    out = tmp_path / "dnn"
    assert subprocess.run(train_cmd(corpus, cfg, out), env=bnn_env,
                          capture_output=True).returncode == 0
    with kaldiio.WriteHelper(f"ark:{tmp_path}/bad.ark") as w:
        w("u0000", np.zeros((10, DIM + 2), np.float32))
    r = subprocess.run([sys.executable, "-m", "bnn.bin.forward", "--model", str(out),
                        "--data-dir", corpus, f"ark:{tmp_path}/bad.ark", f"ark:{tmp_path}/o.ark"],
                       env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 1
    err = r.stderr.strip().splitlines()[-1]
    assert "u0000" in err and "dim" in err


def test_resume_after_kill_matches_uninterrupted(corpus, tmp_path, bnn_env):
    cfg = tmp_path / "dnn.yaml"
    cfg.write_text(CONFIG.replace("EPOCHS", "4"))
    ref = tmp_path / "ref"
    assert subprocess.run(train_cmd(corpus, cfg, ref), env=bnn_env,
                          capture_output=True).returncode == 0
    out = tmp_path / "killed"
    proc = subprocess.Popen(train_cmd(corpus, cfg, out), env=bnn_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "checkpoints" / "epoch_1.pt").exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "final.pt").exists(), "training finished before it could be killed"
    r = subprocess.run(train_cmd(corpus, cfg, out, "--resume"), env=bnn_env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resuming from" in r.stderr
    a = json.load(open(ref / "history.json"))["epochs"][-1]["cv_loss"]
    b = json.load(open(out / "history.json"))["epochs"][-1]["cv_loss"]
    assert abs(a - b) / a < 0.01


def test_two_process_ddp_training_on_cpu(corpus, tmp_path, bnn_env):
    """steps/train_nnet.sh --ngpu N runs bnn-train under torchrun (DDP); gloo makes it testable
    on CPU: two ranks shard the utterances and rank 0 writes the model dir."""
    cfg = tmp_path / "dnn.yaml"
    cfg.write_text(CONFIG.replace("EPOCHS", "2"))
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "bnn.bin.train"] + train_cmd(corpus, cfg, out, "--device", "cpu")[3:]
    r = subprocess.run(cmd, env=bnn_env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    hist = json.load(open(out / "history.json"))
    assert len(hist["epochs"]) == 2 and hist["epochs"][-1]["cv_acc"] > 60.0
    # the all-reduced epoch statistics cover both shards (the corpus minus the 10% CV hold-out,
    # less what the ranks drop when the shorter shard runs out), not one rank's half
    total = sum(m.shape[0] for m in kaldiio.load_scp(f"{corpus}/feats.scp").values())
    assert 0.7 * total < hist["epochs"][-1]["train_frames"] <= 0.95 * total
    assert (out / "final.pt").exists()


def test_convergence_rule_on_hand_computed_histories():
    """gain = max(acc[-W:]) - max(acc[:-W]) over the initial and per-epoch CV accuracies."""
    from bnn.train.convergence import check

    def hist(accs):
        return {"initial_cv": {"acc": accs[0]}, "epochs": [{"cv_acc": a} for a in accs[1:]]}

    # still climbing: max(70, 71) - max(20, 50) = 21 > 1
    rec = check(hist([20.0, 50.0, 70.0, 71.0]))
    assert rec["converged"] is False and rec["gain"] == pytest.approx(21.0) and rec["window"] == 2
    # levelled off: max(80.5, 80.9) - max(20, 80) = 0.9 <= 1
    rec = check(hist([20.0, 80.0, 80.5, 80.9]))
    assert rec["converged"] is True and rec["gain"] == pytest.approx(0.9)
    # a worse last epoch (newbob rejection) is no gain: max(60, 59) - max(20, 60.5) < 0
    assert check(hist([20.0, 60.5, 60.0, 59.0]))["converged"] is True
    # one epoch: the window shrinks to 1 and compares with the initial model
    rec = check(hist([20.0, 60.0]), window=2, threshold=5.0)
    assert rec["window"] == 1 and rec["gain"] == pytest.approx(40.0) and not rec["converged"]
    assert check({"epochs": []}) is None


def test_training_log_and_history_say_not_converged(corpus, tmp_path, bnn_env):
    """One epoch from random init gains far more than the threshold on CV: warned and recorded."""
    cfg = tmp_path / "dnn.yaml"
    cfg.write_text(CONFIG.replace("EPOCHS", "1") + "convergence: {window: 2, threshold: 1.0}\n")
    out = tmp_path / "dnn"
    r = subprocess.run(train_cmd(corpus, cfg, out), env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    hist = json.load(open(out / "history.json"))
    conv = hist["convergence"]
    gain = hist["epochs"][0]["cv_acc"] - hist["initial_cv"]["acc"]
    assert gain > 1.0 and conv["converged"] is False
    assert conv["gain"] == pytest.approx(gain, abs=1e-3) and conv["window"] == 1
    assert "NOT CONVERGED: CV frame accuracy still rose by" in r.stderr
