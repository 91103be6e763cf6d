"""Issue 8: nets dropped into a real Kaldi s5 dir (../shared/fixtures/kaldi_yesno_s5).

* every check of bnn.kaldi.dropin fails with a one-line error naming the file;
* the imported data dirs read the same features as Kaldi's scp files from the Kaldi dir;
* (our decoder on Kaldi's GMM log-likelihoods and const HCLG = Kaldi's words: see
  tests/test_decoders.py::test_yesno_gmm_pipe_equals_gmm_decoder_equals_kaldi);
* egs/kaldi_yesno/run.sh trains a float and a binary-weights DNN to WER <= 2.5% and leaves every
  file of the Kaldi dir unchanged (checksums).
"""
import hashlib
import os
import pathlib
import shutil
import subprocess

import kaldiio
import numpy as np
import pytest

from bnn.kaldi import dropin
from bnn.utils.errors import BnnError

FIX = "fixtures/kaldi_yesno_s5"
CHECK = dict(train_set="train_yesno", dev_set="", test_sets=["test_yesno"],
             ali_dir="exp/mono0a_ali", graph_dir="exp/mono0a/graph_tgpr", lang_dir="data/lang")


@pytest.fixture(scope="module")
def kaldi_dir(shared_dir):
    return shared_dir / FIX


@pytest.fixture
def kcopy(kaldi_dir, tmp_path):
    """A writable copy of the Kaldi dir (the error cases modify it)."""
    dst = tmp_path / "s5"
    shutil.copytree(kaldi_dir, dst, symlinks=True)
    return dst


def tree_checksums(root: pathlib.Path) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def one_line_error(exc_info, *needles):
    msg = str(exc_info.value)
    assert "\n" not in msg
    for n in needles:
        assert str(n) in msg, (n, msg)
    return msg


# ----------------------------------------------------------------------------- checks pass
def test_checks_pass_on_kaldi_fixture(kaldi_dir, tmp_path):
    info = dropin.check_all(str(kaldi_dir), data_out=str(tmp_path / "data"), **CHECK)
    assert info["num_pdfs"] == 11  # README: 11 pdfs; graph_tgpr/num_pdfs says 11
    assert info["cmvn_opts"] == "--norm-means=true --norm-vars=false"  # empty cmvn_opts file
    assert len(info["ali_files"]) == 1


def test_import_reads_kaldi_features_from_any_cwd(kaldi_dir, tmp_path, monkeypatch):
    before = tree_checksums(kaldi_dir)
    n = dropin.import_data_dir(str(kaldi_dir), "data/test_yesno", str(tmp_path / "d"))
    assert n == 30
    for line in (tmp_path / "d" / "feats.scp").read_text().splitlines():
        # paths as given (not resolved): ../shared may be a symlink (test_datadir.py)
        assert line.split()[1].startswith(os.path.abspath(kaldi_dir) + "/mfcc/")
    monkeypatch.chdir(kaldi_dir)  # Kaldi's way: relative paths against the s5 dir
    ref = dict(kaldiio.load_scp("data/test_yesno/feats.scp"))
    ref_cmvn = kaldiio.load_scp("data/test_yesno/cmvn.scp")["global"]
    monkeypatch.chdir(tmp_path)
    ours = kaldiio.load_scp(str(tmp_path / "d" / "feats.scp"))
    assert sorted(ours) == sorted(ref)
    for k in list(ref)[:3]:
        np.testing.assert_array_equal(ours[k], ref[k])
    np.testing.assert_array_equal(kaldiio.load_scp(str(tmp_path / "d" / "cmvn.scp"))["global"],
                                  ref_cmvn)
    for name in ("utt2spk", "spk2utt", "text"):
        assert (tmp_path / "d" / name).read_bytes() == (kaldi_dir / "data/test_yesno" / name).read_bytes()
    # wav.scp: paths resolved against the Kaldi dir, reading the same audio from here
    wav = dict(ln.split(None, 1) for ln in (tmp_path / "d" / "wav.scp").read_text().splitlines())
    ref_wav = dict(ln.split(None, 1)
                   for ln in (kaldi_dir / "data/test_yesno/wav.scp").read_text().splitlines())
    assert sorted(wav) == sorted(ref_wav)
    for k, v in wav.items():
        assert v == os.path.normpath(os.path.join(kaldi_dir, ref_wav[k].strip()))
        assert os.path.isfile(v)
    assert tree_checksums(kaldi_dir) == before


def test_import_refuses_to_write_into_kaldi_dir(kcopy):
    with pytest.raises(BnnError) as e:
        dropin.import_data_dir(str(kcopy), "data/test_yesno", str(kcopy / "data" / "x"))
    one_line_error(e, "refusing to write inside")


def test_kaldi_best_wer_of_fixture(kaldi_dir):
    wer, line, path = dropin.best_wer(str(kaldi_dir / "exp/mono0a/decode_test_yesno"))
    assert wer == 1.25
    assert line.startswith("%WER 1.25 [ 3 / 240, 3 ins, 0 del, 0 sub ]")
    assert os.path.basename(path) == "wer_10_0.0"  # all 33 tie; first in sorted order


# ----------------------------------------------------------------------------- error cases
def test_error_kaldi_dir_missing(tmp_path, bnn_env):
    missing = tmp_path / "no_such_s5"
    with pytest.raises(BnnError) as e:
        dropin.check_all(str(missing), **CHECK)
    one_line_error(e, missing, "does not exist")
    r = subprocess.run(["bnn-check-kaldi-dir", str(missing)], env=bnn_env, capture_output=True,
                       text=True)
    assert r.returncode == 1
    err = [ln for ln in r.stderr.splitlines() if "ERROR" in ln]
    assert len(err) == 1 and str(missing) in err[0]


def test_error_ali_dir_without_alignments(kcopy):
    (kcopy / "exp/mono0a_ali/ali.1.gz").unlink()
    with pytest.raises(BnnError) as e:
        dropin.check_all(str(kcopy), **CHECK)
    one_line_error(e, kcopy / "exp/mono0a_ali", "no ali.N.gz")


def test_error_ali_dir_without_final_mdl(kcopy):
    (kcopy / "exp/mono0a_ali/final.mdl").unlink()
    with pytest.raises(BnnError) as e:
        dropin.check_all(str(kcopy), **CHECK)
    one_line_error(e, kcopy / "exp/mono0a_ali/final.mdl", "missing")


@pytest.mark.parametrize("num_jobs,extra", [("2", False), ("1", True)])
def test_error_num_jobs_disagrees(kcopy, num_jobs, extra):
    ali = kcopy / "exp/mono0a_ali"
    (ali / "num_jobs").write_text(num_jobs + "\n")
    if extra:
        shutil.copy(ali / "ali.1.gz", ali / "ali.2.gz")
    with pytest.raises(BnnError) as e:
        dropin.check_all(str(kcopy), **CHECK)
    one_line_error(e, ali / "num_jobs", "ali.2.gz")


def test_error_graph_words_differ_from_lang(kcopy):
    words = kcopy / "exp/mono0a/graph_tgpr/words.txt"
    words.write_text(words.read_text().replace("YES 3", "MAYBE 3"))
    with pytest.raises(BnnError) as e:
        dropin.check_all(str(kcopy), **CHECK)
    one_line_error(e, words, kcopy / "data/lang/words.txt")


def test_error_pdf_count_num_pdfs_file(kcopy):
    (kcopy / "exp/mono0a/graph_tgpr/num_pdfs").write_text("12\n")
    with pytest.raises(BnnError) as e:
        dropin.check_all(str(kcopy), **CHECK)
    one_line_error(e, kcopy / "exp/mono0a/graph_tgpr/num_pdfs", "12", "11")


def test_error_pdf_count_graph_model(kcopy, shared_dir):
    # The graph's model (<graph>/../final.mdl) replaced by another Kaldi model with 33 pdfs.
    (kcopy / "exp/mono0a/graph_tgpr/num_pdfs").unlink()
    shutil.copy(shared_dir / "fixtures/kaldi_mono_digits/final.mdl", kcopy / "exp/mono0a/final.mdl")
    with pytest.raises(BnnError) as e:
        dropin.check_all(str(kcopy), **CHECK)
    one_line_error(e, kcopy / "exp/mono0a/final.mdl", "33 pdfs", "11")


def test_error_feats_archive_missing(kcopy, tmp_path):
    scp = kcopy / "data/test_yesno/feats.scp"
    lines = scp.read_text().splitlines()
    utt = lines[3].split()[0]
    lines[3] = f"{utt} mfcc/gone.ark:16"
    scp.write_text("\n".join(lines) + "\n")
    for out in (None, str(tmp_path / "data")):
        with pytest.raises(BnnError) as e:
            dropin.check_all(str(kcopy), data_out=out, **CHECK)
        one_line_error(e, scp, utt, "mfcc/gone.ark")


@pytest.mark.parametrize("text,expected", [
    ("", "--norm-means=true --norm-vars=false"),          # apply-cmvn defaults, as Kaldi
    ("--norm-vars=true", "--norm-means=true --norm-vars=true"),
    ("--norm-means=false", "--norm-means=false --norm-vars=false"),
])
def test_kaldi_cmvn_opts(tmp_path, text, expected):
    f = tmp_path / "cmvn_opts"
    f.write_text(text + "\n")
    assert dropin.kaldi_cmvn_opts([str(tmp_path / "absent"), str(f)]) == (expected, str(f))


def test_kaldi_cmvn_opts_unsupported(tmp_path):
    f = tmp_path / "cmvn_opts"
    f.write_text("--reverse=true\n")
    with pytest.raises(BnnError) as e:
        dropin.kaldi_cmvn_opts([str(f)])
    one_line_error(e, f, "--reverse")


# ----------------------------------------------------------------------------- decoder on Kaldi's graph
# Our decoder on the pdf log-likelihoods of Kaldi's own GMM (bnn-gmm-compute-loglikes on
# exp/mono0a/final.mdl) with Kaldi's const HCLG gives Kaldi's words of decode.1.log: tested in
# tests/test_decoders.py::test_yesno_gmm_pipe_equals_gmm_decoder_equals_kaldi (not repeated here).


# ----------------------------------------------------------------------------- the recipe
def test_recipe_kaldi_yesno(kaldi_dir, repo_root, tmp_path, bnn_env):
    """egs/kaldi_yesno/run.sh in a scratch copy of the recipe dir: both WERs <= 2.5%, Kaldi's
    1.25% beside them, the Kaldi dir untouched."""
    if not (repo_root / "steps/decode.sh").exists():
        pytest.fail("steps/decode.sh is missing (decoding step not merged yet)")
    before = tree_checksums(kaldi_dir)
    rec = tmp_path / "kaldi_yesno"
    rec.mkdir()
    src = repo_root / "egs/kaldi_yesno"
    for name in ("steps", "utils", "conf"):  # conf: its base: paths are relative to the repo
        (rec / name).symlink_to(src / name)
    shutil.copy(src / "run.sh", rec / "run.sh")
    shutil.copy(src / "cmd.sh", rec / "cmd.sh")
    # path.sh finds the repo from its own location: point it at the repo explicitly.
    (rec / "path.sh").write_text(f'export BNN_ROOT="{repo_root}"\n. "$BNN_ROOT/utils/bnn_env.sh"\n')
    r = subprocess.run(["bash", "run.sh", "--kaldi-dir", str(kaldi_dir)], cwd=rec, env=bnn_env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    results = (rec / "RESULTS.md").read_text()
    assert "%WER 1.25 [ 3 / 240, 3 ins, 0 del, 0 sub ]" in results
    for system in ("dnn_float", "dnn_binary_weights"):
        wer, line, _ = dropin.best_wer(str(rec / "exp" / system / "decode_test_yesno"))
        assert wer <= 2.5, line
        assert f"| {system} | test_yesno | {wer:.2f} |" in results
    assert tree_checksums(kaldi_dir) == before
