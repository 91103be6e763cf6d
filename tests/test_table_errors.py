"""Bad ark/scp input (issue 12 item 4): every reader turns a parse error into one line naming the
file and the utterance, exits 1, and leaves no output behind (no traceback, no partial ark)."""
import subprocess

import numpy as np
import pytest

kaldiio = pytest.importorskip("kaldiio")

BAD_TEXT = "utt1 [ 1 2 3\nnot a matrix ]]]\n"   # the archive of the issue


def run(cmd, env, cwd):
    return subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def one_line_error(r, *needles):
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "Warning" not in r.stderr, r.stderr
    err = [ln for ln in r.stderr.splitlines() if "ERROR" in ln]
    assert len(err) == 1, r.stderr
    for n in needles:
        assert n in err[0], err[0]
    return err[0]


@pytest.fixture
def bad_inputs(tmp_path):
    (tmp_path / "ll.ark").write_text(BAD_TEXT)
    good = np.arange(12, dtype=np.float32).reshape(4, 3)
    kaldiio.save_ark(str(tmp_path / "two.ark"), {"utt1": good, "utt2": good + 1})
    data = (tmp_path / "two.ark").read_bytes()
    (tmp_path / "cut.ark").write_bytes(data[:-10])        # utt2's matrix truncated
    (tmp_path / "bad.scp").write_text("utt1 ll.ark:5\n")   # points into the text archive
    (tmp_path / "short.scp").write_text("utt1 two.ark:5\nutt2\n")
    return tmp_path


def test_copy_feats_names_file_and_utterance_and_writes_nothing(bad_inputs, bnn_env):
    d = bad_inputs
    one_line_error(run("bnn-copy-feats ark:ll.ark ark,scp:out.ark,out.scp", bnn_env, d),
                   "ll.ark: utterance utt1:", "not a Kaldi matrix")
    one_line_error(run("bnn-copy-feats ark:cut.ark ark,scp:out.ark,out.scp", bnn_env, d),
                   "cut.ark: utterance utt2 (the one after utt1):", "truncated")
    one_line_error(run("cat cut.ark | bnn-copy-feats ark:- ark:out.ark", bnn_env, d),
                   "-: utterance utt2 (the one after utt1):", "truncated")
    one_line_error(run("bnn-copy-feats scp:bad.scp ark:out.ark", bnn_env, d),
                   "bad.scp: utterance utt1: cannot read matrix ll.ark:5")
    one_line_error(run("bnn-copy-feats scp:short.scp ark:out.ark", bnn_env, d),
                   "short.scp:2: expected '<utterance> <rxfilename>', got 'utt2'")
    assert sorted(p.name for p in d.iterdir()) == ["bad.scp", "cut.ark", "ll.ark", "short.scp",
                                                   "two.ark"]


def test_gmm_compute_loglikes_and_decoder_on_bad_text_archive(bad_inputs, shared_dir, bnn_env):
    dec = shared_dir / "fixtures/kaldi_outputs/decode"
    mdl, hclg = dec / "../mono_binary/final.mdl", dec / "graph/HCLG.fst"
    d = bad_inputs
    one_line_error(run(f"bnn-gmm-compute-loglikes {mdl} ark:ll.ark ark:out.ark", bnn_env, d),
                   "ll.ark: utterance utt1:")
    one_line_error(run(f"bnn-latgen-faster-mapped {mdl} {hclg} ark:ll.ark ark:/dev/null", bnn_env,
                       d), "ll.ark: utterance utt1:", "not a Kaldi matrix")
    assert not (d / "out.ark").exists()


def test_decoder_leaves_no_words_archive_on_bad_input(bad_inputs, shared_dir, bnn_env):
    dec = shared_dir / "fixtures/kaldi_outputs/decode"
    r = run(f"bnn-latgen-faster-mapped {dec}/../mono_binary/final.mdl {dec}/graph/HCLG.fst "
            "ark:ll.ark ark:/dev/null ark,t:w.int", bnn_env, bad_inputs)
    assert r.returncode == 1
    assert not (bad_inputs / "w.int").exists()
