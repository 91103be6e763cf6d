"""Monophone GMM training on the yesno corpus (real Kaldi data dir from the shared fixture)."""
import gzip
import os
import shutil
import subprocess

import kaldiio
import numpy as np
import pytest

from bnn.feats.cmvn import apply_cmvn
from bnn.feats.deltas import add_deltas
from bnn.gmm.mono import kaldi_string_hash
from bnn.kaldi.model_io import read_model
from bnn.lang.prepare_lang import prepare_lang


def test_deltas_and_cmvn_match_kaldi(shared_dir):
    f = shared_dir / "fixtures/kaldi_outputs/features"
    mfcc = dict(kaldiio.load_ark(str(f / "mfcc.ark")))
    deltas = dict(kaldiio.load_ark(str(f / "mfcc_deltas.txt")))
    stats = dict(kaldiio.load_ark(str(f / "cmvn_spk.ark")))
    cmvn = dict(kaldiio.load_ark(str(f / "mfcc_cmvn_spk.txt")))
    for k, x in mfcc.items():
        np.testing.assert_allclose(add_deltas(x), deltas[k], atol=2e-5)
        np.testing.assert_allclose(apply_cmvn(x, stats[k.split("_")[0]]), cmvn[k], atol=2e-5)


def test_kaldi_string_hash():
    # h = h*7853 + c over the bytes, int32 wrap-around
    assert kaldi_string_hash("a") == 97
    assert kaldi_string_hash("ab") == 97 * 7853 + 98
    h = 0
    for c in b"0_0_1_0_1_0_0_0":
        h = (h * 7853 + c) % 2 ** 64
    h %= 2 ** 32
    assert kaldi_string_hash("0_0_1_0_1_0_0_0") == (h - 2 ** 32 if h >= 2 ** 31 else h)


@pytest.fixture(scope="module")
def yesno(tmp_path_factory, shared_dir):
    """data/train (first 30 sorted yesno wavs, Kaldi MFCCs re-written with absolute paths), lang."""
    root = shared_dir / "fixtures/kaldi_yesno_s5"
    tmp = tmp_path_factory.mktemp("yesno")
    data = tmp / "data"
    data.mkdir()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        feats = kaldiio.load_scp("data/train_yesno/feats.scp")
        cmvn = kaldiio.load_scp("data/train_yesno/cmvn.scp")
        with kaldiio.WriteHelper(f"ark,scp:{data}/feats.ark,{data}/feats.scp") as w:
            for k in sorted(feats):
                w(k, feats[k])
        with kaldiio.WriteHelper(f"ark,scp:{data}/cmvn.ark,{data}/cmvn.scp") as w:
            w("global", cmvn["global"])
    finally:
        os.chdir(cwd)
    for name in ("text", "utt2spk", "spk2utt"):
        shutil.copy(root / "data/train_yesno" / name, data / name)
    d = tmp / "dict"
    d.mkdir()
    (d / "lexicon.txt").write_text("<SIL> SIL\nYES Y\nNO N\n")
    for name, text in (("silence_phones", "SIL"), ("optional_silence", "SIL"),
                       ("nonsilence_phones", "Y\nN")):
        (d / f"{name}.txt").write_text(text + "\n")
    prepare_lang(str(d), "<SIL>", str(tmp / "tmp"), str(tmp / "lang"),
                 position_dependent_phones=False)
    return tmp


def test_train_mono_yesno(yesno, repo_root, bnn_env):
    exp = yesno / "exp/mono"
    cmd = [str(repo_root / "steps/train_mono.sh"), "--nj", "1", "--num-iters", "8",
           "--totgauss", "100", str(yesno / "data"), str(yesno / "lang"), str(exp)]
    r = subprocess.run(cmd, cwd=repo_root, env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [ln for ln in (exp / "log/train.log").read_text().splitlines()
             if "average log-likelihood per frame" in ln]
    likes = [float(ln.split("per frame")[1].split()[0]) for ln in lines]
    assert len(likes) == 8 and likes[-1] > likes[0] + 5.0
    tm, am = read_model(str(exp / "final.mdl"))
    assert am.num_pdfs == tm.num_pdfs == 11 and am.dim == 39
    assert (exp / "num_jobs").read_text().strip() == "1"
    with gzip.open(exp / "ali.1.gz", "rb") as f:  # binary int32-vector archive
        head = f.read(64)
    assert b" \0B\4" in head
    with kaldiio.ReadHelper(f"ark:gunzip -c {exp}/ali.1.gz |") as rd:
        alis = dict(rd)
    assert len(alis) == 30
    feats = kaldiio.load_scp(str(yesno / "data/feats.scp"))
    sil = 1
    for utt, ali in alis.items():
        assert len(ali) == feats[utt].shape[0]
        phones = tm.map_phones(ali)
        assert phones[0] == sil and phones[-1] == sil, utt
    # align_si with the trained model writes the same layout
    ali_dir = yesno / "exp/mono_ali"
    r = subprocess.run([str(repo_root / "steps/align_si.sh"), "--nj", "1", str(yesno / "data"),
                        str(yesno / "lang"), str(exp), str(ali_dir)],
                       cwd=repo_root, env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    for f in ("final.mdl", "tree", "num_jobs", "ali.1.gz"):
        assert (ali_dir / f).is_file()
    with kaldiio.ReadHelper(f"ark:gunzip -c {ali_dir}/ali.1.gz |") as rd:
        realigned = dict(rd)
    agree = np.mean(np.concatenate([tm.map_phones(realigned[u]) == tm.map_phones(alis[u])
                                    for u in alis]))
    assert agree > 0.9
    # per-frame pdf log-likelihoods as a Kaldi matrix archive
    out = yesno / "loglikes.ark"
    u = sorted(alis)[0]
    x = add_deltas(apply_cmvn(feats[u], kaldiio.load_scp(str(yesno / "data/cmvn.scp"))["global"]))
    kaldiio.save_ark(str(yesno / "f.ark"), {u: x})
    r = subprocess.run(["bnn-gmm-compute-loglikes", str(exp / "final.mdl"),
                        f"ark:{yesno}/f.ark", f"ark:{out}"], env=bnn_env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ll = dict(kaldiio.load_ark(str(out)))[u]
    assert ll.shape == (x.shape[0], 11)
    np.testing.assert_allclose(ll[:, 3], am.log_likelihood(x, 3), rtol=1e-5)


def test_train_mono_usage_and_missing_input(tmp_path, repo_root, bnn_env):
    r = subprocess.run([str(repo_root / "steps/train_mono.sh"), "a"], cwd=repo_root,
                       env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 2
    r = subprocess.run([str(repo_root / "steps/train_mono.sh"), str(tmp_path), str(tmp_path),
                        str(tmp_path / "exp")], cwd=repo_root, env=bnn_env,
                       capture_output=True, text=True)
    assert r.returncode == 1 and "missing" in r.stderr
