"""Features: option files, fbank/MFCC, CMVN, deltas, splicing, tables -- against Kaldi's own outputs
(``shared/fixtures/kaldi_outputs/features``, written by compute-fbank-feats, compute-cmvn-stats,
apply-cmvn, add-deltas, splice-feats, copy-feats) and against hand-computed numbers."""
import os
import re
import subprocess
import sys

import kaldi_native_fbank as knf
import kaldiio
import numpy as np
import pytest

from bnn.feats.cmvn import (accumulate_cmvn_stats, apply_cmvn, apply_cmvn_table, cmvn_stats,
                            compute_cmvn_stats_table)
from bnn.feats.compute import FeatureComputer, compute_table, iter_waves
from bnn.feats.deltas import add_deltas
from bnn.feats.options import load_feature_options, read_option_file, resolve_options
from bnn.feats.pipeline import FeaturePipeline
from bnn.feats.splice import splice_feats
from bnn.feats.tables import TableWriter, random_access, read_matrices
from bnn.utils.errors import BnnError

FSDD = ["fsdd_0_george_0", "fsdd_1_george_0", "fsdd_2_george_0"]
YESNO = ["yesno_0_0_0_0_1_1_1_1", "yesno_0_0_0_1_0_0_0_1", "yesno_0_0_0_1_0_1_1_0"]


def read_text_ark(path):
    """Kaldi text archive -> {key: float64 matrix} (kaldiio would parse text as float32)."""
    out = {}
    with open(path) as f:
        text = f.read()
    for m in re.finditer(r"(\S+)\s+\[(.*?)\]", text, re.S):
        rows = [r.split() for r in m.group(2).strip().split("\n") if r.strip()]
        out[m.group(1)] = np.array(rows, dtype=np.float64)
    return out


@pytest.fixture(scope="module")
def feat_dir(shared_dir):
    d = shared_dir / "fixtures" / "kaldi_outputs" / "features"
    if not d.is_dir():
        pytest.skip(f"{d} not found")
    return d


@pytest.fixture
def in_feat_dir(feat_dir, monkeypatch):
    """Kaldi wrote the fixtures with cwd = features/ (wav.scp and scp paths are relative to it)."""
    monkeypatch.chdir(feat_dir)
    return feat_dir


@pytest.fixture(scope="module")
def kaldi_mfcc(feat_dir):
    return dict(kaldiio.load_ark(str(feat_dir / "mfcc.ark")))


# ---- option files -------------------------------------------------------------------------------

def test_option_file_syntax_and_kaldi_defaults(tmp_path):
    conf = tmp_path / "fbank.conf"
    conf.write_text("# comment line\n\n--sample-frequency=8000   # trailing comment\n"
                    "--num_mel_bins=40\n--use-energy\n--snip-edges=false\n--window-type=hamming\n")
    assert [o[0] for o in read_option_file(str(conf))] == [
        "sample-frequency", "num-mel-bins", "use-energy", "snip-edges", "window-type"]
    opts, prog = load_feature_options("fbank", str(conf), ["--low-freq=64"])
    assert opts.frame_opts.samp_freq == 8000
    assert opts.mel_opts.num_bins == 40
    assert opts.use_energy is True and opts.frame_opts.snip_edges is False
    assert opts.frame_opts.window_type == "hamming"
    assert opts.mel_opts.low_freq == 64            # command line wins over the file
    # Options absent from the file take Kaldi's defaults, not kaldi-native-fbank's.
    assert opts.frame_opts.dither == 1.0           # knf default: 3e-5
    assert opts.mel_opts.high_freq == 0 and opts.mel_opts.vtln_high == -500
    assert prog.channel == -1 and prog.subtract_mean is False
    mfcc, _ = load_feature_options("mfcc", None)
    assert mfcc.frame_opts.samp_freq == 16000 and mfcc.use_energy is True and mfcc.num_ceps == 13


def test_every_fixture_option_reaches_knf(feat_dir):
    """Each option in Kaldi's fixture config lands in the knf options with the file's value."""
    for kind in ("fbank", "mfcc"):
        path = str(feat_dir / "conf" / f"{kind}.conf")
        opts, _ = load_feature_options(kind, path)
        values = resolve_options(kind, read_option_file(path))
        fields = {**opts.frame_opts.as_dict(), **opts.mel_opts.as_dict(),
                  **{k: v for k, v in opts.as_dict().items() if not isinstance(v, dict)}}
        names = {"sample-frequency": "samp_freq", "num-mel-bins": "num_bins", "dither": "dither",
                 "frame-length": "frame_length_ms", "frame-shift": "frame_shift_ms",
                 "preemphasis-coefficient": "preemph_coeff", "low-freq": "low_freq",
                 "high-freq": "high_freq", "use-energy": "use_energy",
                 "energy-floor": "energy_floor", "snip-edges": "snip_edges"}
        for kaldi_name, attr in names.items():
            assert fields[attr] == pytest.approx(values[kaldi_name]), (kind, kaldi_name)


@pytest.mark.parametrize("content,fragment", [
    ("--num-mel-bins=23\n--no-such-option=3\n", "conf:2: unknown option --no-such-option"),
    ("--use-energy=maybe\n", "invalid boolean 'maybe'"),
    ("num-mel-bins=23\n", "is not an option"),
    ("--num-mel-bins=twenty\n", "not a valid int"),
    ("--window-type=triangle\n", "--window-type=triangle is not one of"),
])
def test_bad_option_file_is_one_line_error(tmp_path, content, fragment):
    conf = tmp_path / "x.conf"
    conf.write_text(content)
    with pytest.raises(BnnError) as err:
        load_feature_options("fbank", str(conf))
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert str(conf) in str(err.value)


def test_mfcc_only_option_rejected_for_fbank(tmp_path):
    conf = tmp_path / "f.conf"
    conf.write_text("--num-ceps=13\n")
    with pytest.raises(BnnError, match="unknown option --num-ceps for fbank"):
        load_feature_options("fbank", str(conf))


# ---- fbank / MFCC against Kaldi -----------------------------------------------------------------

@pytest.mark.parametrize("kind,atol", [("fbank", 2e-5), ("mfcc", 1e-4)])
def test_features_match_kaldi_binary_ark(in_feat_dir, tmp_path, kind, atol):
    """Max abs diff seen: fbank 1.1e-5 (values 7..25), MFCC 7.2e-5 (float32 rounding)."""
    out = tmp_path / f"{kind}.ark"
    done, failed = compute_table(kind, "scp:wav.scp", f"ark,scp:{out},{tmp_path}/{kind}.scp",
                                 config=f"conf/{kind}.conf")
    assert (done, failed) == (6, 0)
    ours = list(read_matrices(f"scp:{tmp_path}/{kind}.scp"))
    ref = list(kaldiio.load_ark(f"{kind}.ark"))
    assert [k for k, _ in ours] == [k for k, _ in ref] == FSDD + YESNO
    worst = 0.0
    for (key, a), (_, b) in zip(ours, ref):
        assert a.shape == b.shape and a.dtype == np.float32, key
        worst = max(worst, float(np.abs(a - b).max()))
    assert worst < atol
    # Frame count rule at 8 kHz with snip-edges: 1 + (samples - 200) // 80.
    assert [a.shape[0] for _, a in ours] == [28, 55, 31, 633, 674, 609]
    # Same byte layout as Kaldi's ark (offsets in the scp).
    assert os.path.getsize(out) == os.path.getsize(f"{kind}.ark")


def test_features_equal_direct_knf_call(in_feat_dir):
    """FeatureComputer == a hand-configured kaldi-native-fbank call on raw int16 samples."""
    rate, samples = kaldiio.load_mat("../../../corpora/fsdd/recordings/0_george_0.wav")
    assert samples.dtype == np.int16
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = 8000
    opts.frame_opts.dither = 0
    opts.mel_opts.num_bins = 23
    opts.energy_floor = 0
    direct = knf.OnlineFbank(opts)
    direct.accept_waveform(8000, samples.astype(np.float32))
    direct.input_finished()
    expected = np.array([direct.get_frame(i) for i in range(direct.num_frames_ready)])
    ours = FeatureComputer("fbank", "conf/fbank.conf").compute(samples.astype(np.float32), rate)
    np.testing.assert_array_equal(ours, expected)


def test_segments_cut_like_extract_segments(in_feat_dir, tmp_path):
    seg = tmp_path / "segments"
    seg.write_text("yesno_a yesno_0_0_0_0_1_1_1_1 0.5 2.25\n"
                   "yesno_b yesno_0_0_0_0_1_1_1_1 3.0 -1\n"
                   "fsdd_short fsdd_0_george_0 0.1 0.15\n")   # shorter than 0.1 s: skipped
    waves = {u: (r, d) for u, r, d in iter_waves("scp:wav.scp", segments=str(seg))}
    assert sorted(waves) == ["yesno_a", "yesno_b"]
    _, full = kaldiio.load_mat("../../../corpora/yesno/waves_yesno/0_0_0_0_1_1_1_1.wav")
    np.testing.assert_array_equal(waves["yesno_a"][1][0], full[4000:18000].astype(np.float32))
    np.testing.assert_array_equal(waves["yesno_b"][1][0], full[24000:].astype(np.float32))
    out = tmp_path / "seg.ark"
    assert compute_table("mfcc", "scp:wav.scp", f"ark:{out}", config="conf/mfcc.conf",
                         segments=str(seg)) == (2, 0)
    feats = dict(kaldiio.load_ark(str(out)))
    expect = FeatureComputer("mfcc", "conf/mfcc.conf").compute(full[4000:18000], 8000)
    np.testing.assert_array_equal(feats["yesno_a"], expect)


def test_missing_wav_names_utterance_and_file(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt_missing {tmp_path}/nowhere.wav\n")
    with pytest.raises(BnnError) as err:
        compute_table("fbank", f"scp:{scp}", f"ark:{tmp_path}/o.ark")
    msg = str(err.value)
    assert "utt_missing" in msg and "nowhere.wav" in msg and "\n" not in msg
    assert not os.path.exists(tmp_path / "o.ark")   # nothing that looks complete


def test_sample_rate_mismatch_is_an_error(in_feat_dir, tmp_path):
    with pytest.raises(BnnError, match="sample rate 8000 differs from --sample-frequency=16000"):
        compute_table("fbank", "scp:wav.scp", f"ark:{tmp_path}/o.ark", overrides=["--dither=0"])


def test_piped_wav_scp_entry(in_feat_dir, tmp_path):
    wav = os.path.abspath("../../../corpora/fsdd/recordings/2_george_0.wav")
    scp = tmp_path / "wav.scp"
    scp.write_text(f"piped cat {wav} |\n")
    out = tmp_path / "p.ark"
    compute_table("fbank", f"scp:{scp}", f"ark:{out}", config="conf/fbank.conf")
    ref = dict(kaldiio.load_ark("fbank.ark"))["fsdd_2_george_0"]
    got = dict(kaldiio.load_ark(str(out)))["piped"]
    assert np.abs(got - ref).max() < 2e-5


# ---- CMVN ----------------------------------------------------------------------------------------

def test_cmvn_stats_hand_computed():
    x = np.array([[1, 2], [3, 6], [5, 10]], dtype=np.float32)
    expected = np.array([[9, 18, 3], [1 + 9 + 25, 4 + 36 + 100, 0]], dtype=np.float64)
    np.testing.assert_array_equal(cmvn_stats(x), expected)
    both = accumulate_cmvn_stats(cmvn_stats(x), x[:1])
    np.testing.assert_array_equal(both, expected + [[1, 2, 1], [1, 4, 0]])
    # mean only: x - mean; with variances: (x - mean) / std  (mean 3/6, var 8/3 and 32/3)
    np.testing.assert_allclose(apply_cmvn(x, expected), [[-2, -4], [0, 0], [2, 4]])
    std = np.sqrt([8 / 3, 32 / 3])
    np.testing.assert_allclose(apply_cmvn(x, expected, norm_vars=True),
                               np.array([[-2, -4], [0, 0], [2, 4]]) / std, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(apply_cmvn(x, expected, norm_means=False), x)


def test_cmvn_stats_match_kaldi(feat_dir, kaldi_mfcc, tmp_path):
    per_utt = read_text_ark(feat_dir / "cmvn_utt.txt")
    for utt, feats in kaldi_mfcc.items():
        np.testing.assert_allclose(cmvn_stats(feats), per_utt[utt], rtol=1e-6, atol=1e-9)
    fbank_utt = read_text_ark(feat_dir / "cmvn_utt_fbank.txt")
    for utt, feats in kaldiio.load_ark(str(feat_dir / "fbank.ark")):
        np.testing.assert_allclose(cmvn_stats(feats), fbank_utt[utt], rtol=1e-6)
    # per speaker, through the table program, against Kaldi's binary double archive
    out = tmp_path / "cmvn"
    compute_cmvn_stats_table(f"ark:{feat_dir}/mfcc.ark", f"ark,scp:{out}.ark,{out}.scp",
                             spk2utt=f"ark:{feat_dir}/spk2utt")
    ours = dict(read_matrices(f"scp:{out}.scp"))
    ref = dict(kaldiio.load_ark(str(feat_dir / "cmvn_spk.ark")))
    assert list(ours) == ["fsdd", "yesno"]
    for spk in ref:
        assert ours[spk].dtype == np.float64 and ref[spk].shape == (2, 14)
        np.testing.assert_allclose(ours[spk], ref[spk], rtol=1e-8)
        assert ours[spk][0, 13] == {"fsdd": 114, "yesno": 1916}[spk]


def test_apply_cmvn_matches_kaldi(in_feat_dir, kaldi_mfcc, tmp_path):
    out = tmp_path / "spk.ark"
    done, skipped = apply_cmvn_table("scp:cmvn_spk.scp", "ark:mfcc.ark", f"ark:{out}",
                                     utt2spk="ark:utt2spk")
    assert (done, skipped) == (6, 0)
    ref = read_text_ark("mfcc_cmvn_spk.txt")
    for utt, got in kaldiio.load_ark(str(out)):
        np.testing.assert_allclose(got, ref[utt], rtol=1e-6, atol=2e-6)
    # norm-vars with per-utterance stats (Kaldi read them from the 7-digit text file, as we do)
    stats = read_text_ark("cmvn_utt.txt")
    ref = read_text_ark("mfcc_cmvn_utt_normvars.txt")
    for utt, feats in kaldi_mfcc.items():
        got = apply_cmvn(feats, stats[utt], norm_vars=True, utt=utt)
        np.testing.assert_allclose(got, ref[utt], rtol=1e-6, atol=1e-6)


def test_cmvn_dimension_mismatch_names_utterance(kaldi_mfcc):
    stats = cmvn_stats(np.ones((4, 23), dtype=np.float32))
    with pytest.raises(BnnError) as err:
        apply_cmvn(kaldi_mfcc[FSDD[0]], stats, utt=FSDD[0])
    assert str(err.value) == (f"utterance {FSDD[0]}: dimension mismatch: CMVN stats have "
                              "dimension 23 but features have dimension 13")
    with pytest.raises(BnnError, match="insufficient CMVN stats: count = 0"):
        apply_cmvn(np.ones((2, 3), np.float32), np.zeros((2, 4)))
    with pytest.raises(BnnError, match="features have dimension 13 but the stats"):
        accumulate_cmvn_stats(stats, kaldi_mfcc[FSDD[0]], FSDD[0])


# ---- deltas and splicing ---------------------------------------------------------------------------

def _deltas_reference(x, order, window):
    """Straight numpy of Kaldi's DeltaFeatures: clamp indices, w1_j = j / (2 sum k^2), w_i = w_{i-1}*w1."""
    w1 = np.arange(-window, window + 1) / (2.0 * sum(k * k for k in range(1, window + 1)))
    scales = [np.array([1.0])]
    for _ in range(order):
        scales.append(np.convolve(scales[-1], w1))
    T = x.shape[0]
    blocks = []
    for s in scales:
        n = (len(s) - 1) // 2
        out = np.zeros_like(x, dtype=np.float64)
        for j, c in zip(range(-n, n + 1), s):
            out += c * x[np.clip(np.arange(T) + j, 0, T - 1)]
        blocks.append(out)
    return np.concatenate(blocks, axis=1)


def test_deltas_hand_computed():
    x = np.array([[1], [2], [4]], dtype=np.float32)
    # window 1: delta_t = (x[t+1] - x[t-1]) / 2, second order 0.25 x[t-2] - 0.5 x[t] + 0.25 x[t+2]
    np.testing.assert_allclose(add_deltas(x, order=2, window=1),
                               [[1, 0.5, 0.75], [2, 1.5, 0.25], [4, 1.0, -0.75]], rtol=1e-6)
    # window 2: delta_t = sum_j j x[clamp(t+j)] / 10
    y = np.array([[3], [1], [4], [1], [5]], dtype=np.float32)
    np.testing.assert_allclose(add_deltas(y, order=1, window=2)[:, 1],
                               [0.0, -0.3, 0.4, 0.9, 0.6], atol=1e-6)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((9, 3)).astype(np.float32)
    np.testing.assert_allclose(add_deltas(z), _deltas_reference(z, 2, 2), atol=1e-5)
    assert add_deltas(z, order=0).shape == (9, 3)


def test_deltas_and_splice_match_kaldi(feat_dir, kaldi_mfcc):
    deltas = read_text_ark(feat_dir / "mfcc_deltas.txt")
    spliced = read_text_ark(feat_dir / "mfcc_splice2.txt")
    for utt, feats in kaldi_mfcc.items():
        d = add_deltas(feats)
        assert d.shape == (feats.shape[0], 39)
        # c0 (~90) second-order deltas cancel: float32 rounding of the inputs gives ~2e-6 abs
        np.testing.assert_allclose(d, deltas[utt], rtol=1e-6, atol=1e-5)
        s = splice_feats(feats, 2, 2)
        assert s.shape == (feats.shape[0], 65)
        np.testing.assert_allclose(s, spliced[utt], rtol=1e-6, atol=1e-6)


def test_splice_hand_computed():
    x = np.array([[1, 10], [2, 20], [3, 30]], dtype=np.float32)
    np.testing.assert_array_equal(splice_feats(x, 1, 1), [
        [1, 10, 1, 10, 2, 20],
        [1, 10, 2, 20, 3, 30],
        [2, 20, 3, 30, 3, 30]])
    np.testing.assert_array_equal(splice_feats(x, 0, 2)[2], [3, 30, 3, 30, 3, 30])
    with pytest.raises(BnnError, match="contexts must be >= 0"):
        splice_feats(x, -1, 0)


# ---- pipeline --------------------------------------------------------------------------------------

def test_pipeline_files_round_trip_and_apply(tmp_path, feat_dir, kaldi_mfcc):
    pipe = FeaturePipeline(norm_vars=False, delta_order=2, splice_left=1, splice_right=1)
    pipe.write(str(tmp_path))
    assert (tmp_path / "cmvn_opts").read_text() == "--norm-means=true --norm-vars=false\n"
    assert (tmp_path / "delta_opts").read_text() == "--delta-order=2 --delta-window=2\n"
    assert (tmp_path / "splice_opts").read_text() == "--left-context=1 --right-context=1\n"
    back = FeaturePipeline.read(str(tmp_path))
    assert back == pipe
    assert back.output_dim(13) == 13 * 3 * 3
    stats = dict(kaldiio.load_ark(str(feat_dir / "cmvn_spk.ark")))["fsdd"]
    feats = kaldi_mfcc[FSDD[1]]
    got = back.apply(feats, stats, utt=FSDD[1])
    expect = splice_feats(add_deltas(apply_cmvn(feats, stats)), 1, 1)
    np.testing.assert_array_equal(got, expect)
    # Kaldi: apply-cmvn --utt2spk ... | add-deltas on the fixture, mean-only speaker stats
    ref = read_text_ark(feat_dir / "mfcc_cmvn_spk.txt")[FSDD[1]]
    np.testing.assert_allclose(FeaturePipeline().apply(feats, stats), ref, rtol=1e-6, atol=2e-6)


def test_pipeline_empty_files_mean_nothing_applied(tmp_path):
    FeaturePipeline(cmvn=False).write(str(tmp_path))
    pipe = FeaturePipeline.read(str(tmp_path))
    assert (pipe.cmvn, pipe.delta_order, pipe.splice_left, pipe.splice_right) == (False, 0, 0, 0)
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(pipe.apply(x), x)
    assert FeaturePipeline.from_opts("", "--delta-window=3").delta_order == 2  # add-deltas default
    (tmp_path / "delta_opts").write_text("--delta-order=2 --bogus=1\n")
    with pytest.raises(BnnError, match=r"delta_opts: unknown option --bogus"):
        FeaturePipeline.read(str(tmp_path))


# ---- tables, compressed matrices, commands -------------------------------------------------------

@pytest.mark.parametrize("name,max_err", [("method1_auto", 0.034), ("method2_CM", 0.034),
                                          ("method3_CM2", 1.2e-4), ("method5_CM3", 0.028)])
def test_compressed_archives_read(feat_dir, name, max_err):
    comp = feat_dir / "compressed"
    got = list(read_matrices(f"ark:{comp}/fbank_fsdd_{name}.ark"))
    assert [k for k, _ in got] == FSDD
    decompressed = read_text_ark(comp / f"fbank_fsdd_{name}.decompressed.txt")
    orig = read_text_ark(comp / "fbank_fsdd.orig.txt")
    for key, mat in got:
        np.testing.assert_allclose(mat, decompressed[key], rtol=1e-6, atol=1e-5)
        assert np.abs(mat - orig[key]).max() <= max_err
    short = dict(read_matrices(f"ark:{comp}/short5_method1_auto.ark"))["fsdd_0_george_0"]
    np.testing.assert_allclose(short, read_text_ark(comp / "short5_method1_auto.decompressed.txt")
                               ["fsdd_0_george_0"], rtol=1e-6)


def test_table_writer_is_atomic(tmp_path):
    with pytest.raises(RuntimeError):
        with TableWriter(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp") as w:
            w("u1", np.ones((2, 3), np.float32))
            raise RuntimeError("job killed")
    assert os.listdir(tmp_path) == []
    with TableWriter(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp") as w:
        w("u1", np.ones((2, 3), np.float32))
        w("u2", np.zeros((1, 3), np.float64))
    table = random_access(f"scp:{tmp_path}/a.scp")
    assert table["u2"].dtype == np.float64 and table["u1"].shape == (2, 3)
    with pytest.raises(BnnError, match="no entry for key u3"):
        table["u3"]


def _run(module, args, env, cwd):
    return subprocess.run([sys.executable, "-m", f"bnn.bin.{module}", *args], env=env, cwd=cwd,
                          capture_output=True, text=True)


def test_commands_kaldi_conventions(feat_dir, tmp_path, bnn_env):
    out = tmp_path / "cmvn.txt"
    r = _run("apply_cmvn", ["--utt2spk=ark:utt2spk", "scp:cmvn_spk.scp", "ark:mfcc.ark",
                            f"ark,t:{out}"], bnn_env, feat_dir)
    assert r.returncode == 0, r.stderr
    ref = read_text_ark(feat_dir / "mfcc_cmvn_spk.txt")
    got = read_text_ark(out)
    for utt in ref:
        np.testing.assert_allclose(got[utt], ref[utt], rtol=1e-6, atol=2e-6)
    r = _run("feat_to_dim", ["scp:mfcc.scp", "-"], bnn_env, feat_dir)
    assert r.returncode == 0 and r.stdout == "13\n", r.stderr
    r = _run("feat_to_len", ["scp:fbank.scp", "ark,t:-"], bnn_env, feat_dir)
    assert r.stdout.split("\n")[:2] == ["fsdd_0_george_0 28", "fsdd_1_george_0 55"]
    r = _run("add_deltas", ["--delta-order=1", "ark:mfcc.ark", f"ark:{tmp_path}/d.ark"],
             bnn_env, feat_dir)
    assert r.returncode == 0 and dict(kaldiio.load_ark(f"{tmp_path}/d.ark"))[FSDD[0]].shape == (28, 26)
    # dimension mismatch through the command: one-line error, exit 1
    r = _run("apply_cmvn", ["scp:cmvn_spk.scp", "ark:fbank.ark", f"ark:{tmp_path}/x.ark",
                            "--utt2spk=ark:utt2spk"], bnn_env, feat_dir)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].endswith(
        "utterance fsdd_0_george_0: dimension mismatch: CMVN stats have dimension 13 but "
        "features have dimension 23")
    r = _run("compute_fbank_feats", ["--config=conf/mfcc.conf", "scp:wav.scp", "ark:/dev/null"],
             bnn_env, feat_dir)
    assert r.returncode == 1 and "unknown option --num-ceps for fbank" in r.stderr
