"""steps/make_fbank.sh, steps/make_mfcc.sh, steps/compute_cmvn_stats.sh on a tiny data dir built in
tmp_path from fixture wavs; results compared with Kaldi's own fbank.ark / per-utterance stats."""
import os
import subprocess

import kaldiio
import numpy as np
import pytest

from test_feats import read_text_ark

UTTS = ["fsdd_0_george_0", "fsdd_2_george_0", "yesno_0_0_0_1_0_0_0_1"]


@pytest.fixture
def tiny_data(shared_dir, tmp_path):
    """data/tiny with 3 fixture wavs (absolute paths); each utterance its own speaker."""
    feat_dir = shared_dir / "fixtures" / "kaldi_outputs" / "features"
    if not feat_dir.is_dir():
        pytest.skip(f"{feat_dir} not found")
    data = tmp_path / "data" / "tiny"
    data.mkdir(parents=True)
    wavs = dict(line.split(None, 1) for line in (feat_dir / "wav.scp").read_text().splitlines())
    with open(data / "wav.scp", "w") as f:
        for utt in UTTS:
            f.write(f"{utt} {os.path.normpath(feat_dir / wavs[utt].strip())}\n")
    (data / "utt2spk").write_text("".join(f"{u} {u}\n" for u in UTTS))
    (data / "spk2utt").write_text("".join(f"{u} {u}\n" for u in UTTS))
    return feat_dir, data


def _step(repo_root, script, args, env, cwd):
    return subprocess.run([str(repo_root / "steps" / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


def test_make_fbank_and_cmvn_steps(repo_root, tiny_data, bnn_env, tmp_path):
    feat_dir, data = tiny_data
    r = _step(repo_root, "make_fbank.sh",
              ["--nj", "2", "--fbank-config", str(repo_root / "conf" / "fbank.conf"),
               str(data), str(tmp_path / "exp" / "make_fbank"), str(tmp_path / "fbank")],
              bnn_env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    for n in (1, 2):
        assert (tmp_path / "fbank" / f"raw_fbank_tiny.{n}.ark").is_file()
        log = (tmp_path / "exp" / "make_fbank" / f"make_fbank_tiny.{n}.log").read_text()
        assert "compute_fbank_feats" in log and "(code 0)" in log
    scp_lines = (data / "feats.scp").read_text().splitlines()
    assert [line.split()[0] for line in scp_lines] == UTTS
    # feats.scp works from any directory and gives Kaldi's features
    ref = dict(kaldiio.load_ark(str(feat_dir / "fbank.ark")))
    feats = dict(kaldiio.load_scp(str(data / "feats.scp")))
    for utt in UTTS:
        assert feats[utt].shape == ref[utt].shape
        assert np.abs(feats[utt] - ref[utt]).max() < 2e-5
    assert (data / "utt2num_frames").read_text() == "".join(
        f"{u} {ref[u].shape[0]}\n" for u in UTTS)
    assert (data / "conf" / "fbank.conf").is_file()
    r = subprocess.run([str(bnn_env["PATH"].split(os.pathsep)[0] + "/python"), "-m",
                        "bnn.bin.feat_to_dim", f"scp:{data}/feats.scp", "-"],
                       env=bnn_env, capture_output=True, text=True)
    assert r.stdout == "23\n", r.stderr

    r = _step(repo_root, "compute_cmvn_stats.sh", [str(data)], bnn_env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    stats = dict(kaldiio.load_scp(str(data / "cmvn.scp")))
    kaldi_stats = read_text_ark(feat_dir / "cmvn_utt_fbank.txt")   # speaker == utterance here
    assert list(stats) == UTTS
    for utt in UTTS:
        assert stats[utt].dtype == np.float64
        np.testing.assert_allclose(stats[utt], kaldi_stats[utt], rtol=1e-6)


def test_make_mfcc_with_segments(repo_root, tiny_data, bnn_env, tmp_path):
    feat_dir, data = tiny_data
    (data / "segments").write_text("seg_a yesno_0_0_0_1_0_0_0_1 0.0 2.0\n"
                                   "seg_b yesno_0_0_0_1_0_0_0_1 2.0 4.5\n")
    (data / "utt2spk").write_text("seg_a yesno\nseg_b yesno\n")
    (data / "spk2utt").write_text("yesno seg_a seg_b\n")
    r = _step(repo_root, "make_mfcc.sh",
              ["--nj", "2", "--mfcc-config", str(feat_dir / "conf" / "mfcc.conf"), str(data)],
              bnn_env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    feats = dict(kaldiio.load_scp(str(data / "feats.scp")))
    assert {k: v.shape for k, v in feats.items()} == {"seg_a": (198, 13), "seg_b": (248, 13)}
    assert (data / "data" / "raw_mfcc_tiny.1.scp").is_file()


def test_make_fbank_missing_wav_fails(repo_root, tiny_data, bnn_env, tmp_path):
    _, data = tiny_data
    lines = (data / "wav.scp").read_text().splitlines()
    lines[1] = f"{UTTS[1]} {tmp_path}/gone.wav"
    (data / "wav.scp").write_text("\n".join(lines) + "\n")
    r = _step(repo_root, "make_fbank.sh",
              ["--nj", "1", "--fbank-config", str(repo_root / "conf" / "fbank.conf"), str(data)],
              bnn_env, tmp_path)
    assert r.returncode != 0
    assert f"utterance {UTTS[1]}: wav file not found: {tmp_path}/gone.wav" in r.stderr
    assert not (data / "feats.scp").exists()


def test_make_fbank_usage_and_input_checks(repo_root, tiny_data, bnn_env, tmp_path):
    _, data = tiny_data
    r = _step(repo_root, "make_fbank.sh", [], bnn_env, tmp_path)
    assert r.returncode == 2 and "e.g.:" in r.stderr
    r = _step(repo_root, "make_fbank.sh", ["--fbank-config", "nope.conf", str(data)], bnn_env,
              tmp_path)
    assert r.returncode == 1 and "missing nope.conf" in r.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text("--sample-frequency=8000\n--num-ceps=13\n")
    r = _step(repo_root, "make_fbank.sh", ["--nj", "1", "--fbank-config", str(bad), str(data)],
              bnn_env, tmp_path)
    assert r.returncode == 1
    assert "bad.conf:2: unknown option --num-ceps for fbank features" in r.stderr
