"""egs/yesno/run.sh end to end on real speech (../shared), with the CI grid of binary nets.

Runs in a scratch copy of the recipe dir (data/ and exp/ land in tmp_path): features, mono GMM,
graph, GMM decoding, the systems of conf/nnet_systems_ci.txt (float DNN, Lu binary weights /
binary activations / binary neural network, Qian BDNN / BDNN-noBN / BDNN+KD / BCNN-FPFC), each decoded
through ``bnn-forward ... ark:- | bnn-latgen-faster-mapped``, Lu and Qian nets also with
``--engine packed``; then RESULTS.md.
"""
import re
import shutil
import subprocess

import pytest

WER_RE = re.compile(r"%WER ([0-9.]+) \[ (\d+) / (\d+)")


def best_wer(decode_dir):
    """Best %WER over the LM-weight/penalty sweep (Kaldi utils/best_wer.sh)."""
    best = None
    for f in decode_dir.glob("wer_*"):
        m = WER_RE.search(f.read_text())
        if m and (best is None or float(m.group(1)) < best[0]):
            best = (float(m.group(1)), f.name)
    assert best is not None, f"no wer_* files in {decode_dir}"
    return best


def wer_table(decode_dir):
    return {f.name: WER_RE.search(f.read_text()).group(0) for f in decode_dir.glob("wer_*")}


@pytest.fixture(scope="module")
def yesno_run(shared_dir, repo_root, tmp_path_factory, bnn_env):
    corpus = shared_dir / "corpora/yesno/waves_yesno"
    rec = tmp_path_factory.mktemp("yesno")
    src = repo_root / "egs/yesno"
    for name in ("steps", "utils", "local", "conf"):
        (rec / name).symlink_to((src / name).resolve())
    for name in ("run.sh", "cmd.sh"):
        shutil.copy(src / name, rec / name)
    (rec / "path.sh").write_text(f'export BNN_ROOT="{repo_root}"\n. "$BNN_ROOT/utils/bnn_env.sh"\n')
    r = subprocess.run(["bash", "run.sh", "--corpus-dir", str(corpus),
                        "--systems", "conf/nnet_systems_ci.txt"],
                       cwd=rec, env=bnn_env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-4000:]
    return rec


def test_gmm_and_float_dnn_wer(yesno_run):
    assert best_wer(yesno_run / "exp/mono/decode_test_yesno")[0] <= 5.0
    assert best_wer(yesno_run / "exp/dnn_float/decode_test_yesno")[0] <= 5.0


@pytest.mark.parametrize("system", ["lu_bw_p0", "lu_ba_k1_01", "lu_bnn_a15", "qian_bdnn",
                                    "qian_bdnn_kd05", "qian_bdnn_nobn", "qian_bcnn_fpfc"])
def test_binary_systems_decode_below_sanity_bound(yesno_run, system):
    exp = yesno_run / "exp" / system
    assert (exp / "final.pt").exists() and (exp / "history.json").exists()
    assert best_wer(exp / "decode_test_yesno")[0] < 50.0
    assert "bytes as deployed" in (exp / "model_size.txt").read_text()


@pytest.mark.parametrize("system", ["lu_bw_p0", "qian_bdnn"])
def test_packed_engine_decodes_to_the_same_wer(yesno_run, system):
    exp = yesno_run / "exp" / system
    torch_wers = wer_table(exp / "decode_test_yesno")
    packed_wers = wer_table(exp / "decode_test_yesno_packed")
    assert torch_wers and torch_wers == packed_wers


def test_results_table_lists_every_system(yesno_run):
    text = (yesno_run / "RESULTS.md").read_text()
    for system in ("mono", "dnn_float", "lu_bw_p0", "lu_ba_k1_01", "lu_bnn_a15", "qian_bdnn",
                   "qian_bdnn_kd05", "qian_bcnn_fpfc"):
        assert f"| {system} |" in text, system
    assert "%WER" in text and "git" in text
