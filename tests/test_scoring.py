"""Scoring: compute-wer output identical to Kaldi's, score.sh sweep, error cases, best_wer.sh."""
import subprocess

import pytest

from bnn.decode.scoring import compute_wer, read_text_archive, score_decode_dir
from bnn.utils.errors import BnnError


def run(cmd, env, cwd=None):
    return subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("mode", ["present", "all"])
def test_compute_wer_identical_to_kaldi(shared_dir, bnn_env, mode):
    w = shared_dir / "fixtures/kaldi_outputs/decode/wer"
    r = run(f"bnn-compute-wer --text --mode={mode} ark:ref.txt ark:hyp.txt", bnn_env, w)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (w / f"compute-wer_{mode}.txt").read_text()


def test_compute_wer_strict_fails_naming_utt(shared_dir, bnn_env):
    w = shared_dir / "fixtures/kaldi_outputs/decode/wer"
    r = run("bnn-compute-wer --text --mode=strict ark:ref.txt ark:hyp.txt", bnn_env, w)
    assert r.returncode != 0 and "utt4" in r.stderr and r.stdout == ""


def test_wer_hand_computed():
    st = compute_wer({"a": "x y z w".split()}, {"a": "x q z".split()})
    assert (st.subs, st.dels, st.ins, st.words) == (1, 1, 0, 4)
    assert st.kaldi_lines()[0] == "%WER 50.00 [ 2 / 4, 0 ins, 1 del, 1 sub ]"


def _decode_dir(tmp_path, lines):
    d = tmp_path / "decode"
    d.mkdir()
    (d / "sweep.1.txt").write_text("".join(lines))
    (tmp_path / "words.txt").write_text("<eps> 0\nNO 1\nYES 2\n")
    (tmp_path / "text").write_text("u1 YES NO\nu2 NO NO\n")
    return d


def test_score_sweep_picks_best_and_applies_fixed(tmp_path):
    d = _decode_dir(tmp_path, ["1 0.0 u1 2 1\n", "1 0.0 u2 1\n", "2 0.0 u1 2 1\n", "2 0.0 u2 1 1\n",
                               "1 0.5 u1 2\n", "1 0.5 u2 1\n", "2 0.5 u1 2\n", "2 0.5 u2 1\n"])
    lmwt, wip, st = score_decode_dir(str(d), str(tmp_path / "text"), str(tmp_path / "words.txt"))
    assert (lmwt, wip, st.errors) == ("2", "0.0", 0)
    assert (d / "wer_1_0.0").read_text().splitlines()[1] == "%WER 25.00 [ 1 / 4, 0 ins, 1 del, 0 sub ]"
    assert (d / "scoring_kaldi/penalty_0.5/2.txt").read_text() == "u1 YES\nu2 NO\n"
    assert (d / "scoring_kaldi/best_wer").read_text().startswith("%WER 0.00 [ 0 / 4")
    lmwt, wip, st = score_decode_dir(str(d), str(tmp_path / "text"), str(tmp_path / "words.txt"), fixed=("1", "0.5"))
    assert (lmwt, wip, st.errors) == ("1", "0.5", 2)


def test_score_missing_reference_utt_leaves_no_wer(tmp_path):
    d = _decode_dir(tmp_path, ["1 0.0 u1 2 1\n", "1 0.0 u3 1\n"])
    with pytest.raises(BnnError, match="u3.*missing from the reference"):
        score_decode_dir(str(d), str(tmp_path / "text"), str(tmp_path / "words.txt"))
    assert not list(d.glob("wer_*")) and not (d / "scoring_kaldi").exists()


def test_decode_sh_end_to_end_with_our_decoder(shared_dir, tmp_path, bnn_env, repo_root):
    """steps/decode.sh: forward command (here: cat of a loglikes ark) | bnn-latgen-faster-mapped,
    then the LM-weight sweep scored; the words at LM weight 1 / penalty 0 are Kaldi's."""
    dec = shared_dir / "fixtures/kaldi_outputs/decode"
    work = tmp_path / "w"
    (work / "data/test").mkdir(parents=True)
    for n in ("steps", "utils"):
        (work / n).symlink_to(repo_root / n)
    id2w = dict(ln.split()[::-1] for ln in (dec / "graph/words.txt").read_text().splitlines())
    text = "".join(f"{ln.split()[0]} {' '.join(id2w[i] for i in ln.split()[1:])}\n"
                   for ln in (dec / "mapped/hyp_words.int").read_text().splitlines())
    (work / "data/test/text").write_text(text)
    (work / "data/test/feats.scp").write_text("".join(f"rand_utt{i} x\n" for i in (1, 2, 3)))
    (work / "data/test/utt2spk").write_text("".join(f"rand_utt{i} rand\n" for i in (1, 2, 3)))
    (work / "data/test/spk2utt").write_text("rand rand_utt1 rand_utt2 rand_utt3\n")
    (work / "exp/m").mkdir(parents=True)
    (work / "exp/m/final.mdl").write_bytes((dec.parent / "mono_binary/final.mdl").read_bytes())
    (work / "exp/m/num_pdfs").write_text("33\n")
    r = run(f"steps/decode.sh --nj 1 --acwt 1.0 --beam 10 --min-lmwt 1 --max-lmwt 3 "
            f"--forward-cmd 'cat {dec}/mapped/loglikes.ark' {dec}/graph data/test exp/m/decode", bnn_env, work)
    assert r.returncode == 0, r.stdout + r.stderr
    ddir = work / "exp/m/decode"
    assert "real-time factor" in r.stdout
    assert (ddir / "wer_1_0.0").read_text().splitlines()[1] == "%WER 0.00 [ 0 / 31, 0 ins, 0 del, 0 sub ]"
    assert len(list(ddir.glob("wer_*"))) == 9
    (work / "exp/m/num_pdfs").write_text("34\n")
    r = run(f"steps/decode.sh --nj 1 --forward-cmd 'cat {dec}/mapped/loglikes.ark' {dec}/graph data/test "
            "exp/m/decode2", bnn_env, work)
    assert r.returncode == 1 and "num_pdfs" in r.stderr


def test_best_wer_sh(shared_dir, bnn_env, repo_root):
    d = shared_dir / "fixtures/kaldi_yesno_s5/exp/mono0a/decode_test_yesno"
    r = run(f"grep WER {d}/wer_* | {repo_root}/utils/best_wer.sh", bnn_env)
    assert r.stdout.startswith("%WER 1.25 [ 3 / 240, 3 ins, 0 del, 0 sub ] ") and r.stdout.rstrip().endswith("wer_10_0.0")


def test_pick_best_ties_go_to_the_centre_of_the_plateau():
    from bnn.decode.scoring import pick_best

    class E:
        def __init__(self, errors):
            self.errors = errors
    keys = [(str(lm), wip) for wip in ("0.0", "1.0") for lm in range(6, 15)]
    # a flat optimum everywhere: median LM weight 10, then the lower median penalty 0.0
    assert pick_best(keys, {k: E(0) for k in keys}) == ("10", "0.0")
    # plateau over LM weights 9..14 at penalty 1.0 only: centre 11 (lower median of 9..14)
    stats = {k: E(0 if int(k[0]) >= 9 and k[1] == "1.0" else 3) for k in keys}
    assert pick_best(keys, stats) == ("11", "1.0")
    # a unique minimum wins whatever the ties elsewhere
    stats = {k: E(2) for k in keys}
    stats[("7", "0.0")] = E(1)
    assert pick_best(keys, stats) == ("7", "0.0")


def test_results_table_notes_a_kept_initial_model(tmp_path):
    """A system whose training never beat its --init-from model on CV says so in RESULTS."""
    import json

    from bnn.decode.results import gather

    for name, best_epoch in (("kept", -1), ("trained", 2), ("gmm", None)):
        for part, wer in (("dev", "1.00 [ 1 / 100"), ("test", "2.00 [ 2 / 100")):
            d = tmp_path / name / f"decode_{part}"
            d.mkdir(parents=True)
            (d / "wer_10_0.0").write_text(f"compute-wer\n%WER {wer}, 0 ins, 0 del, 1 sub ]\n")
            (d / "scoring_kaldi/wer_details").mkdir(parents=True)
            (d / "scoring_kaldi/wer_details/lmwt").write_text("10\n")
            (d / "scoring_kaldi/wer_details/wip").write_text("0.0\n")
        if best_epoch is not None:
            (tmp_path / name / "history.json").write_text(json.dumps({"best_epoch": best_epoch}))
    notes = {name: note for name, _, _, _, note in gather(str(tmp_path), "dev", "test")}
    assert notes == {"kept": "initial model kept: no epoch improved CV", "trained": "", "gmm": ""}
