"""N-best rescoring on the real Kaldi AN4 lattices: the baseline through the n-best machinery
reproduces Kaldi's own scoring, and G.fst costs match the flat unigram of the fixture."""
import math
import subprocess

import pytest

from bnn.decode.decoder import read_symbol_table
from bnn.decode.scoring import score_decode_dir
from bnn.lm.rescore import FstLM, read_hyps, sweep_lines


@pytest.fixture(scope="module")
def an4_nbest(shared_dir, tmp_path_factory, bnn_env):
    fix = shared_dir / "fixtures" / "kaldi_an4_s5"
    out = tmp_path_factory.mktemp("an4nb") / "nbest.txt"
    subprocess.run(["bnn-lm-nbest", "--n", "100", f"ark:gunzip -c {fix}/exp/tri2b/decode_test/lat.*.gz|", str(out)],
                   check=True, env=bnn_env, capture_output=True)
    return fix, read_hyps(str(out))


def test_flat_unigram_costs(an4_nbest):
    fix, nbest = an4_nbest
    syms = read_symbol_table(str(fix / "data" / "lang_test" / "words.txt"))
    g = FstLM(str(fix / "data" / "lang_test" / "G.fst"), {0, {v: k for k, v in syms.items()}["#0"]})
    h = next(iter(nbest.values()))[0]
    # etc/an4.lm is a flat unigram: every word and </s> costs the same, so C = (|W| + 1) * c
    c1 = g.cost(h.ids[:1])
    per_word = c1 / 2
    assert g.cost(h.ids) == pytest.approx(per_word * (len(h.ids) + 1), rel=1e-5)
    assert per_word > math.log(50)


def test_baseline_nbest_reproduces_kaldi_scoring(an4_nbest, tmp_path):
    fix, nbest = an4_nbest
    assert len(nbest) == 130
    dec = tmp_path / "dec"
    dec.mkdir()
    (dec / "sweep.1.txt").write_text("\n".join(sweep_lines(nbest, None, range(7, 18), ["0.0", "0.5", "1.0"])) + "\n")
    lmwt, wip, st = score_decode_dir(str(dec), str(fix / "data" / "test" / "text"),
                                     str(fix / "exp" / "tri2b" / "graph" / "words.txt"), None, None)
    kaldi = (fix / "exp" / "tri2b" / "decode_test" / "scoring_kaldi" / "best_wer").read_text()
    assert st.kaldi_lines()[0] == kaldi.split(" exp/")[0].strip()  # %WER 8.41 [ 65 / 773, 7 ins, 4 del, 54 sub ]
    for l_, w_ in ((10, "0.0"), (15, "1.0"), (17, "0.5")):  # and at other LM weights / penalties
        ours = (dec / f"wer_{l_}_{w_}").read_text().splitlines()[1]
        theirs = (fix / "exp" / "tri2b" / "decode_test" / f"wer_{l_}_{w_}").read_text().splitlines()[1]
        assert ours == theirs
