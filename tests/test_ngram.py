"""Witten-Bell n-gram trainer and ARPA -> G.fst."""
import gzip
import math

import pytest

from bnn.decode.fstio import read_fst_arrays
from bnn.lang.format_lm import format_lm
from bnn.lang.ngram import WittenBellLM, train_arpa
from bnn.utils.errors import BnnError


def test_witten_bell_hand_computed_and_normalised():
    lm = WittenBellLM(2).fit([["a", "b"], ["a", "a"]])
    # unigrams: tokens a a a b </s> </s>: N=6, T=3, V=3 (a, b, </s>)
    assert lm.prob("b") == pytest.approx((1 + 3 / 3) / (6 + 3))
    # history a: followers b, a, </s> (c=3, T=3): P(b|a) = (1 + 3*P(b)) / 6
    assert lm.prob("b", ("a",)) == pytest.approx((1 + 3 * lm.prob("b")) / 6)
    for h in [(), ("a",), ("b",), ("<s>",)]:
        assert sum(lm.prob(w, h) for w in lm.vocab) == pytest.approx(1.0)
    assert lm.backoff(("a",)) == pytest.approx(3 / 6)


def test_arpa_and_g_fst_on_yesno(shared_dir, tmp_path):
    k = shared_dir / "fixtures/kaldi_yesno_s5"
    (tmp_path / "text").write_text((k / "data/train_yesno/text").read_text() + "x1 YES MAYBE\n")
    train_arpa(str(tmp_path / "text"), str(tmp_path / "lm.arpa.gz"), order=2)
    arpa = gzip.open(tmp_path / "lm.arpa.gz", "rt").read()
    assert "ngram 1=5" in arpa and "-99.000000\t<s>" in arpa and "MAYBE" in arpa
    oovs = format_lm(str(k / "data/lang"), str(tmp_path / "lm.arpa.gz"), str(tmp_path / "lang_test"))
    assert oovs == ["MAYBE"]
    assert (tmp_path / "lang_test/oovs_lm.txt").read_text() == "MAYBE\n"
    assert (tmp_path / "lang_test/L_disambig.fst").read_bytes() == (k / "data/lang/L_disambig.fst").read_bytes()
    g = read_fst_arrays(str(tmp_path / "lang_test/G.fst"))
    words = dict(ln.split() for ln in (k / "data/lang/words.txt").read_text().splitlines())
    il = set(g.arcs["ilabel"].tolist())
    assert int(words["#0"]) in il  # back-off arcs carry #0
    assert int(words["<s>"]) not in il and int(words["</s>"]) not in il
    assert g.num_states >= 3


def test_format_lm_rejects_non_arpa(shared_dir, tmp_path):
    (tmp_path / "x.arpa").write_text("hello\n")
    with pytest.raises(BnnError, match="not an ARPA file"):
        format_lm(str(shared_dir / "fixtures/kaldi_yesno_s5/data/lang"), str(tmp_path / "x.arpa"), str(tmp_path / "o"))
