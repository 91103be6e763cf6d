"""Bootstrap significance (bnn.results.significance, bnn-wer-bootstrap) on hand-computed cases."""
import math

import pytest

from bnn.results import significance as sig
from bnn.utils.errors import BnnError


def test_read_per_utt_csid_rows(tmp_path):
    p = tmp_path / "per_utt"
    p.write_text("u1 ref  a  b  c\nu1 hyp  a  x  ***\nu1 op   C  S  D\nu1 #csid 1 1 0 1\n"
                 "u2 ref  a\nu2 hyp  a  b\nu2 op   C  I\nu2 #csid 1 0 1 0\n")
    # errors = S + I + D, words = C + S + D
    assert sig.read_per_utt(str(p)) == {"u1": (2, 3), "u2": (1, 1)}
    (tmp_path / "bad").write_text("u1 #csid 1 x 0 0\n")
    with pytest.raises(BnnError, match="bad:1"):
        sig.read_per_utt(str(tmp_path / "bad"))


def test_two_utterance_case_matches_hand_computed_distribution():
    # A: u1 1 error / 1 word, u2 0 / 1.  Draws of 2 utterances: {u1,u1} p=1/4 WER 100,
    # {u1,u2} p=1/2 WER 50, {u2,u2} p=1/4 WER 0: mean 50, std sqrt(3750 - 2500) = 35.36.
    a = {"u1": (1, 1), "u2": (0, 1)}
    iv = sig.wer_interval(a, replications=40000, seed=1)
    assert iv.wer == 50.0
    assert iv.mean == pytest.approx(50.0, abs=1.0)
    assert iv.half_width == pytest.approx(1.96 * math.sqrt(1250.0), rel=0.02)
    # B makes no error: B improves unless both draws are u2 (p = 1/4) -> P(improvement) = 3/4
    b = {"u1": (0, 1), "u2": (0, 1)}
    c = sig.compare(a, b, replications=40000, seed=2)
    assert c.wer_a == 50.0 and c.wer_b == 0.0
    assert c.p_improvement == pytest.approx(0.75, abs=0.01)
    # difference WER_B - WER_A per replicate is -100, -50 or 0: the 95 % interval is [-100, 0]
    assert (c.diff_low, c.diff_high) == (-100.0, 0.0)
    assert not c.significant and c.verdict() == "n.s."


def test_identical_and_uniformly_better_systems():
    a = {f"u{i}": (i % 3, 5) for i in range(30)}
    same = sig.compare(a, dict(a), replications=2000)
    assert same.p_improvement == 0.0 and same.diff_low == same.diff_high == 0.0
    assert same.verdict() == "n.s."
    better = {u: (max(e - 1, 0), w) for u, (e, w) in a.items()}
    c = sig.compare(a, better, replications=2000)
    # 20 of 30 utterances lose one error, none gains: every replicate with at least one of them
    # improves; P(no such utterance in 30 draws) = (10/30)^30 ~ 5e-15
    assert c.p_improvement == 1.0 and c.significant and c.verdict() == "better"
    worse = sig.compare(better, a, replications=2000)
    assert worse.p_improvement == 0.0 and worse.verdict() == "worse"


def test_mismatched_utterances_and_references_are_errors():
    with pytest.raises(BnnError, match="same utterances"):
        sig.compare({"u1": (0, 1)}, {"u2": (0, 1)}, names=("sysA", "sysB"))
    with pytest.raises(BnnError, match="reference length of u1"):
        sig.compare({"u1": (0, 1)}, {"u1": (0, 2)})


def test_cli_texts_and_decode_dirs(tmp_path, capsys):
    from bnn.bin.wer_bootstrap import _main
    ref = tmp_path / "ref.txt"
    ref.write_text("u1 a b c d\nu2 a b\nu3 c d e\n")
    (tmp_path / "h1.txt").write_text("u1 a b c x\nu2 a\nu3 c d e f\n")   # 1 sub, 1 del, 1 ins
    (tmp_path / "h2.txt").write_text("u1 a b c d\nu2 a b\nu3 c d e\n")
    assert _main(["--replications", "500", f"ark:{ref}", f"ark:{tmp_path}/h1.txt",
                  f"ark:{tmp_path}/h2.txt"]) == 0
    out = capsys.readouterr().out
    assert "Set1: %WER 33.33" in out and "Set2: %WER 0.00" in out   # 3 / 9 words
    assert "Probability of Set2 improving Set1: 100.0" in out
    for name, text in (("d1", "u1 #csid 3 1 0 0\nu2 #csid 2 0 0 0\n"),
                       ("d2", "u1 #csid 4 0 0 0\nu2 #csid 2 0 0 0\n")):
        det = tmp_path / name / "scoring_kaldi" / "wer_details"
        det.mkdir(parents=True)
        (det / "per_utt").write_text(text)
    assert _main(["--replications", "500", str(tmp_path / "d1"), str(tmp_path / "d2")]) == 0
    out = capsys.readouterr().out
    assert "Set1: %WER 16.67" in out and "Set2: %WER 0.00" in out
    with pytest.raises(BnnError, match="no hypothesis"):
        (tmp_path / "h3.txt").write_text("u1 a\n")
        _main([f"ark:{ref}", f"ark:{tmp_path}/h3.txt"])
