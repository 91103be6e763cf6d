"""egs/yesno/run.sh end to end on real speech (../shared), with the CI grid of binary nets.

Runs in a scratch copy of the recipe dir (data/ and exp/ land in tmp_path): features, mono GMM,
graph, GMM decoding, the systems of conf/nnet_systems_ci.txt (float DNN, Lu binary weights /
binary activations / binary neural network, Qian BDNN / BDNN-noBN / BDNN+KD / BCNN-FPFC), each decoded
through ``bnn-forward ... ark:- | bnn-latgen-faster-mapped``, Lu and Qian nets also with
``--engine packed``; then RESULTS.md.
"""
import os
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


def test_results_table_lists_packed_rows_and_marks_its_block(yesno_run):
    text = (yesno_run / "RESULTS.md").read_text()
    for system in ("lu_bw_p0", "qian_bdnn"):
        assert f"| {system} | torch |" in text and f"| {system} | packed |" in text, system
    assert "| mono | gmm |" in text
    assert "<!-- bnn-make-results-table: begin" in text and "<!-- bnn-make-results-table: end -->" in text
    assert (yesno_run / "exp/curves_acc.png").stat().st_size > 0


# --- stage 8 of steps/hybrid_asr.sh on a made-up exp/ (no training: fast) -----------------------

def _scored_decode(d, wer, errors):
    d.mkdir(parents=True)
    (d / "wer_10_0.5").write_text(f"compute-wer\n%WER {wer:.2f} [ {errors} / 240, 0 ins, 0 del, "
                                  f"{errors} sub ]\n")
    (d / "scoring_kaldi/wer_details").mkdir(parents=True)
    (d / "scoring_kaldi/wer_details/lmwt").write_text("10\n")
    (d / "scoring_kaldi/wer_details/wip").write_text("0.5\n")


def _history(accs, converged=None):
    import json
    hist = {"initial_cv": {"loss": 2.0, "acc": accs[0], "frames": 100},
            "epochs": [{"epoch": i, "lr": 0.01, "train_loss": 1.0, "train_acc": a, "cv_loss": 1.0,
                        "cv_acc": a, "train_frames": 100, "cv_frames": 100, "seconds": 1.0,
                        "frames_per_sec": 100.0, "skipped_utts": 0, "accepted": True}
                       for i, a in enumerate(accs[1:])],
            "best_epoch": len(accs) - 2}
    if converged is not None:
        from bnn.train.convergence import check
        hist["convergence"] = check(hist)
        assert hist["convergence"]["converged"] is converged
    return json.dumps(hist)


@pytest.fixture
def stage8_recipe(tmp_path, repo_root):
    """A recipe dir after stage 7: GMM and nnet decodes (torch and packed), and, listed last,
    an exp dir without history.json (exp/mono_ali), the layout that made stage 8 exit 1."""
    rec = tmp_path / "rec"
    rec.mkdir()
    for name in ("steps", "utils"):
        (rec / name).symlink_to(repo_root / name)
    shutil.copy(repo_root / "egs/yesno/cmd.sh", rec / "cmd.sh")
    exp = rec / "exp"
    _scored_decode(exp / "mono/decode_test", 1.25, 3)
    _scored_decode(exp / "dnn/decode_test", 2.50, 6)
    _scored_decode(exp / "dnn/decode_test_packed", 2.50, 6)
    _scored_decode(exp / "bdnn/decode_test", 20.00, 48)
    (exp / "dnn/final.pt").write_bytes(b"x")
    (exp / "bdnn/final.pt").write_bytes(b"x")
    (exp / "dnn/history.json").write_text(_history([20.0, 80.0, 80.5, 80.9], converged=True))
    (exp / "bdnn/history.json").write_text(_history([20.0, 40.0, 50.0, 60.0], converged=False))
    (exp / "mono_ali").mkdir()
    (exp / "mono_ali/ali.1.gz").write_bytes(b"")
    return rec


def run_stage8(rec, env):
    return subprocess.run(["bash", "steps/hybrid_asr.sh", "--stage", "8", "--dev-set", "",
                           "--test-sets", "test", "--results-title", "made-up"],
                          cwd=rec, env=env, capture_output=True, text=True, timeout=120)


def test_stage8_exits_0_when_last_exp_dir_has_no_history(stage8_recipe, bnn_env):
    """Issue 12 items 1-2: the model-dir loop ended on exp/mono_ali (no history.json) with status 1."""
    r = run_stage8(stage8_recipe, bnn_env)
    assert r.returncode == 0, r.stderr[-3000:]
    text = (stage8_recipe / "RESULTS.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "WER" not in line
            and not line.startswith("| ---")]
    assert rows == [
        "| bdnn | torch | 20.00 | 10 | 0.5 | best on test (no dev decode); NOT CONVERGED: CV acc "
        "+20.00% in the last 2 epoch(s) |",
        "| dnn | torch | 2.50 | 10 | 0.5 | best on test (no dev decode) |",
        "| dnn | packed | 2.50 | 10 | 0.5 | best on test (no dev decode) |",
        "| mono | gmm | 1.25 | 10 | 0.5 | best on test (no dev decode) |"]
    assert "exp/dnn/decode_test_packed/wer_10_0.5" in text
    assert (stage8_recipe / "exp/curves_acc.png").stat().st_size > 0


def test_stage8_keeps_hand_notes_outside_the_generated_block(stage8_recipe, bnn_env):
    """Issue 12 item 12: a rerun replaces only the marked block; a file without markers is kept."""
    results = stage8_recipe / "RESULTS.md"
    results.write_text("# my notes\n\nhand-written, no markers\n")
    assert run_stage8(stage8_recipe, bnn_env).returncode == 0
    assert (stage8_recipe / "RESULTS.md.bak").read_text() == "# my notes\n\nhand-written, no markers\n"
    text = results.read_text()
    head, rest = text.split("<!-- bnn-make-results-table: begin", 1)
    results.write_text(head + "> Note above the table, by hand.\n\n<!-- bnn-make-results-table: begin"
                       + rest + "\nNote below, by hand.\n")
    _scored_decode(stage8_recipe / "exp/lstm/decode_test", 3.75, 9)
    r = run_stage8(stage8_recipe, bnn_env)
    assert r.returncode == 0, r.stderr[-3000:]
    text = results.read_text()
    assert text.startswith("# made-up\n\n> Note above the table, by hand.\n\n<!-- bnn-make")
    assert text.endswith("<!-- bnn-make-results-table: end -->\n\nNote below, by hand.\n")
    assert "| lstm | gmm | 3.75 |" in text and text.count("| dnn | packed |") == 1


def test_yesno_local_template_writes_kaldis_data_and_lang(shared_dir, repo_root, tmp_path, bnn_env):
    """egs/yesno/local is the plain-shell template of docs/new_corpus.md: its data dirs are
    byte-identical to Kaldi's egs/yesno/s5 ones, and its dict dir gives Kaldi's phones/words."""
    kaldi = shared_dir / "fixtures/kaldi_yesno_s5/data"
    rec = repo_root / "egs/yesno"
    r = subprocess.run(["local/prepare_data.sh", "--corpus-dir",
                        str(shared_dir / "corpora/yesno/waves_yesno"), "--download", "false",
                        str(tmp_path / "data")], cwd=rec, env=bnn_env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for s in ("train_yesno", "test_yesno"):
        for name in ("text", "utt2spk", "spk2utt"):
            assert (tmp_path / "data" / s / name).read_bytes() == (kaldi / s / name).read_bytes()
        wav = [ln.split() for ln in (tmp_path / "data" / s / "wav.scp").read_text().splitlines()]
        assert len(wav) == 30 and all(os.path.isfile(p) and p.endswith(f"/{u}.wav") for u, p in wav)
    r = subprocess.run(["local/prepare_dict.sh", str(tmp_path / "dict")], cwd=rec, env=bnn_env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["utils/prepare_lang.sh", "--position-dependent-phones", "false",
                        str(tmp_path / "dict"), "<SIL>", str(tmp_path / "tmp"),
                        str(tmp_path / "lang")], cwd=rec, env=bnn_env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for name in ("phones.txt", "words.txt"):
        assert (tmp_path / "lang" / name).read_bytes() == (kaldi / "lang" / name).read_bytes()
    r = subprocess.run(["local/prepare_data.sh", "--corpus-dir", str(tmp_path / "none"),
                        "--download", "false", str(tmp_path / "d2")], cwd=rec, env=bnn_env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "--corpus-dir" in r.stderr and not (tmp_path / "d2").exists()


ARPA = """\\data\\
ngram 1=4

\\1-grams:
-0.30103 </s>
-99 <s>
-0.60206 YES
-0.60206 NO

\\end\\
"""


def test_hybrid_asr_stage2_uses_a_given_arpa_lm(repo_root, tmp_path, bnn_env):
    """Issue 12 item 9: --lm <arpa> makes G.fst from that LM instead of training one."""
    rec = tmp_path / "rec"
    rec.mkdir()
    for name in ("steps", "utils", "local"):
        (rec / name).symlink_to(repo_root / "egs/yesno" / name)
    shutil.copy(repo_root / "egs/yesno/cmd.sh", rec / "cmd.sh")
    assert subprocess.run(["local/prepare_dict.sh", "data/local/dict"], cwd=rec, env=bnn_env,
                          capture_output=True).returncode == 0
    (rec / "my.arpa").write_text(ARPA)
    r = subprocess.run(["bash", "steps/hybrid_asr.sh", "--stage", "1", "--stop-stage", "2",
                        "--lm", "my.arpa", "--oov", "<SIL>", "--train-set", "none"],
                       cwd=rec, env=bnn_env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Stage 2: ARPA LM my.arpa" in r.stderr
    assert not (rec / "data/local/lm/lm.arpa").exists()   # nothing trained (no data/none/text)
    ref = subprocess.run(["utils/format_lm.sh", "data/lang", "my.arpa", str(tmp_path / "ref")],
                         cwd=rec, env=bnn_env, capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr
    assert (rec / "data/lang_test/G.fst").read_bytes() == (tmp_path / "ref/G.fst").read_bytes()
    r = subprocess.run(["bash", "steps/hybrid_asr.sh", "--stage", "2", "--stop-stage", "2",
                        "--lm", "missing.arpa"], cwd=rec, env=bnn_env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "--lm missing.arpa: no such file" in r.stderr
