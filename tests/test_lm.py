"""LSTM LMs: binarizer forward/backward against hand-computed values, the storage formula against
the export, the export round trip, KD loss, and n-best rescoring on a hand-made list."""
import math

import numpy as np
import pytest
import torch

from bnn.lm.binarize import BinaryWeight
from bnn.lm.data import Vocab, batchify, tokens
from bnn.lm.export import export_packed, load_packed, payload_bytes_of, storage
from bnn.lm.model import BinaryConfig, LMConfig, LSTMLM
from bnn.lm.rescore import Hyp, lstm_costs, pick, sweep_lines
from bnn.lm.train import evaluate, kd_loss
from bnn.utils.errors import BnnError

W = torch.tensor([[0.5, -0.2], [-1.5, 0.0], [0.1, 2.0], [-0.3, 0.4]])
G = torch.tensor([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5], [2.0, -2.0]])
S = np.array([[1, -1], [-1, -1], [1, 1], [-1, 1]], dtype=np.float32)  # Sign, Sign(0) = -1
INSIDE = (np.abs(W.numpy()) <= 1).astype(np.float32)  # STE window


def run(q, alpha=None):
    w = W.clone().requires_grad_(True)
    if alpha is not None:
        with torch.no_grad():
            q.alpha.copy_(torch.tensor(alpha, dtype=torch.float32).view(q.alpha_shape()))
    y = q(w)
    (y * G).sum().backward()
    return y.detach().numpy(), w.grad.numpy(), None if q.alpha is None or q.alpha.grad is None else q.alpha.grad.numpy()


def test_learned_matrix_scale_forward_backward():
    y, gw, ga = run(BinaryWeight((4, 2), "learned", "matrix"), [0.3])
    np.testing.assert_allclose(y, 0.3 * S)
    np.testing.assert_allclose(gw, G.numpy() * 0.3 * INSIDE, rtol=1e-6)
    assert ga.reshape(-1)[0] == pytest.approx(float((G.numpy() * S).sum()))  # 1-2-3-4-1+0.5-2-2 = -12.5
    assert float((G.numpy() * S).sum()) == -12.5


def test_learned_row_and_gate_scales():
    a = [0.1, 0.2, 0.3, 0.4]
    y, gw, ga = run(BinaryWeight((4, 2), "learned", "row"), a)
    np.testing.assert_allclose(y, np.array(a)[:, None] * S, rtol=1e-6)
    np.testing.assert_allclose(gw, G.numpy() * np.array(a)[:, None] * INSIDE, rtol=1e-6)
    np.testing.assert_allclose(ga.reshape(-1), [-1.0, -7.0, -0.5, -4.0])
    y, gw, ga = run(BinaryWeight((4, 2), "learned", "gate", gates=2), [0.5, 2.0])  # gates = row pairs
    np.testing.assert_allclose(y, np.array([0.5, 0.5, 2.0, 2.0])[:, None] * S)
    np.testing.assert_allclose(ga.reshape(-1), [-8.0, -4.5])


def test_mean_and_const_scales():
    y, gw, ga = run(BinaryWeight((4, 2), "mean", "matrix"))
    m = np.abs(W.numpy()).mean()  # 5.0 / 8 = 0.625
    assert m == pytest.approx(0.625)
    np.testing.assert_allclose(y, m * S, rtol=1e-6)
    np.testing.assert_allclose(gw, G.numpy() * m * INSIDE, rtol=1e-6)  # no gradient through the mean
    y, gw, _ = run(BinaryWeight((4, 2), "const", "row"))
    np.testing.assert_allclose(y, S / math.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(gw, G.numpy() / math.sqrt(2) * INSIDE, rtol=1e-6)
    with pytest.raises(BnnError):
        BinaryWeight((4, 2), "nope")


def small_model(binary, tie=False, v=37, e=16, h=16, layers=2):
    torch.manual_seed(3)
    return LSTMLM(LMConfig(v, e, h, layers, 0.0, tie, binary))


def test_storage_formula_and_export_size(tmp_path):
    v, e, h = 37, 16, 16
    m = small_model(BinaryConfig("learned", "gate"), v=v, e=e, h=h)
    st = storage(m)
    n_bin = v * e + v * h + 2 * (4 * h * e + 4 * h * h)
    n_scale = 1 + 1 + 2 * (4 + 4)  # embedding, output, 4 gates per LSTM matrix
    n_real = 2 * (4 * h + 4 * h) + v  # LSTM biases, output bias
    assert (st.n_binary, st.n_scale, st.n_real) == (n_bin, n_scale, n_real)
    assert st.stored_bits == n_bin + 32 * (n_scale + n_real)
    assert st.float_bits == 32 * (n_bin + n_real)
    assert st.float_bits == 32 * sum(p.numel() for p in small_model(None, v=v, e=e, h=h).parameters())
    path = str(tmp_path / "m.npz")
    export_packed(m, path)
    assert payload_bytes_of(path) == st.payload_bytes
    mats = [v * e, v * h] + [4 * h * e, 4 * h * h] * 2
    assert st.payload_bytes == sum(math.ceil(x / 8) for x in mats) + 4 * (n_scale + n_real)
    # row scales: one per row of each binary matrix
    assert storage(small_model(BinaryConfig("learned", "row"), v=v, e=e, h=h)).n_scale == v + v + 2 * (4 * h + 4 * h)
    # tied: the output matrix is the embedding, stored once
    assert storage(small_model(BinaryConfig("mean", "matrix"), tie=True)).n_binary == v * e + 2 * (4 * h * e + 4 * h * h)


@pytest.mark.parametrize("binary", [None, BinaryConfig("const", "row"), BinaryConfig("mean", "row"),
                                    BinaryConfig("learned", "gate")])
def test_export_round_trip_same_perplexity(tmp_path, binary):
    m = small_model(binary)
    if binary is not None and binary.scale == "learned":
        with torch.no_grad():
            for q in m.binarizers.values():
                q.alpha.mul_(torch.rand_like(q.alpha) + 0.5)
    m.eval()
    ids = torch.randint(0, 37, (400,))
    path = str(tmp_path / "m.npz")
    export_packed(m, path)
    m2 = load_packed(path)
    x = ids[:60].view(20, 3)
    assert torch.equal(m(x)[0], m2(x)[0])
    assert evaluate(m2, ids, 4, 7) == evaluate(m, ids, 4, 7)
    if binary is not None:  # 1 bit per binary weight: the packed file is far smaller than float32
        st = storage(m)
        assert st.payload_bytes * 4 < st.float_bits // 8 and st.compression > 4


def test_kd_loss_is_kl_of_teacher_to_student():
    s = torch.tensor([[[0.0, 1.0, 2.0]]])
    t = torch.tensor([[[1.0, 0.0, 0.0]]])
    ps = np.exp([0, 1, 2]) / np.exp([0, 1, 2]).sum()
    pt = np.exp([1, 0, 0]) / np.exp([1, 0, 0]).sum()
    assert float(kd_loss(s, t)) == pytest.approx(float((pt * np.log(pt / ps)).sum()), rel=1e-5)
    assert float(kd_loss(t, t)) == pytest.approx(0.0, abs=1e-7)


def test_rescoring_picks_best_interpolated_hypothesis():
    # graph = old LM + 2.0 of transitions; costs chosen so that each LM weight picks another one
    hyps = [Hyp("u", 1, (1, 2), graph=12.0, acoustic=100.0, old_lm=10.0, ngram=9.0, lstm=15.0),
            Hyp("u", 2, (1, 3), graph=12.0, acoustic=103.0, old_lm=10.0, ngram=14.0, lstm=6.0),
            Hyp("u", 3, (4,), graph=7.0, acoustic=130.0, old_lm=5.0, ngram=5.0, lstm=5.0)]
    # lmwt 10: total = g' + a/10.  lambda 0: g' = 2 + ngram -> 11+10, 16+10.3, 7+13 -> hyp 3 (20.0)
    assert pick(hyps, 0.0, 10, 0.0).rank == 3
    # lambda 1: g' = 2 + lstm -> 17+10, 8+10.3=18.3, 7+13=20 -> hyp 2
    assert pick(hyps, 1.0, 10, 0.0).rank == 2
    # lambda 0.5: 2+12 +10 = 24, 2+10+10.3 = 22.3, 2+5+13 = 20 -> hyp 3; with penalty 3/word:
    # 24+6=30, 22.3+6=28.3, 20+3=23 -> still 3; lmwt 1 (acoustics dominate) -> hyp 1
    assert pick(hyps, 0.5, 10, 3.0).rank == 3
    assert pick(hyps, 0.5, 1, 0.0).rank == 1
    # no rescoring: the lattice's own graph costs: 12+10, 12+10.3, 7+13 -> 3
    assert pick(hyps, None, 10, 0.0).rank == 3
    # sweep lines, lambda 0: lmwt 1: 11+100, 16+103, 7+130 -> hyp 1; lmwt 10 -> hyp 3 (above)
    lines = sweep_lines({"u": hyps}, 0.0, [1, 10], ["0.0"])
    assert lines == ["1 0.0 u 1 2", "10 0.0 u 4"]


def test_lstm_sentence_costs_match_stream_scoring():
    m = small_model(BinaryConfig("learned", "matrix"))
    vocab = Vocab([f"w{i}" for i in range(35)])
    sents = [["w3", "w7", "w1"], ["w5"], ["w9", "oov", "w2", "w2"]]
    costs = lstm_costs(m, vocab, sents, batch=2)
    for s, c in zip(sents, costs):
        ids = [vocab.eos] + vocab.ids(s) + [vocab.eos]
        with torch.no_grad():
            logits, _ = m(torch.tensor(ids[:-1]).view(-1, 1))
        lp = torch.log_softmax(logits[:, 0], -1)
        assert c == pytest.approx(-float(sum(lp[i, t] for i, t in enumerate(ids[1:]))), rel=1e-5)
    assert vocab.ids(["oov"]) == [vocab.unk]


def test_batchify_and_tokens():
    vocab = Vocab(["a", "b"])
    ids = tokens([["a", "b"], ["c"]], vocab)
    assert ids.tolist() == [2, 3, 0, 1, 0]
    assert batchify(torch.arange(7), 2).tolist() == [[0, 3], [1, 4], [2, 5]]
    with pytest.raises(BnnError):
        batchify(torch.arange(3), 2)


def _rescore_dir(d, lw, best_wer, hyps):
    """A minimal steps/lm/rescore_nbest.sh output: lstm_weight and eval/scoring_kaldi."""
    sk = d / "eval" / "scoring_kaldi"
    (sk / "penalty_0.5").mkdir(parents=True)
    (d / "lstm_weight").write_text(f"{lw}\n")
    (sk / "best_wer").write_text(best_wer + "\n")
    (sk / "penalty_0.5" / "12.txt").write_text(hyps)


def test_cross_wer_table_pools_both_halves(tmp_path):
    from bnn.lm.report import best_hyp_file, cross_wer_table
    a, b = tmp_path / "lstm_soft", tmp_path / "lstm_soft_B"
    _rescore_dir(a, "0.5", "%WER 5.00 [ 3 / 60, 1 ins, 0 del, 2 sub ] x/eval/wer_12_0.5", "u3 C\n")
    _rescore_dir(b, "0.75", "%WER 12.50 [ 5 / 40, 0 ins, 1 del, 4 sub ] y/eval/wer_12_0.5", "u1 A\n")
    rows = cross_wer_table([("soft", str(a), str(b))])
    # 3 + 5 errors over 60 + 40 words, each half scored with the other half's settings
    assert rows[2] == "| soft | 0.5 / 0.75 | 5.00 [3/60] | 12.50 [5/40] | 8.00 [8/100] |"
    assert best_hyp_file(str(a / "eval")) == str(a / "eval" / "scoring_kaldi" / "penalty_0.5" / "12.txt")
    (b / "eval" / "scoring_kaldi" / "best_wer").write_text("%WER 12.50 [ 5 / 40 ] y/eval/wer_13_0.5\n")
    with pytest.raises(BnnError, match="missing"):
        best_hyp_file(str(b / "eval"))


def test_expected_errors_choose_where_one_best_ties():
    from bnn.lm.rescore import choose_min_expected_errors, expected_errors
    ln3 = math.log(3.0)
    # ref A B; h1 = A B (0 errors), h2 = A C (1 error); acoustic 0, graph = old LM + 2
    h1 = Hyp("u", 1, (1, 2), graph=2.0, acoustic=0.0, old_lm=0.0, ngram=1.0, lstm=3.0)
    h2 = Hyp("u", 2, (1, 3), graph=2.0, acoustic=0.0, old_lm=0.0, ngram=1.0 + ln3, lstm=3.0 - ln3)
    errs = [0, 1]
    # lambda 0: costs 3, 3 + ln 3 -> P(h1) = 3/4; lambda 1: 5, 5 - ln 3 -> P(h1) = 1/4;
    # lambda 0.5: 4, 4 -> 1/2 (and the 1-best is h1 at both lambda 0 and 0.5: 0 errors each)
    assert expected_errors([h1, h2], errs, 0.0, 10.0, 0.0) == pytest.approx(0.25)
    assert expected_errors([h1, h2], errs, 1.0, 10.0, 0.0) == pytest.approx(0.75)
    assert expected_errors([h1, h2], errs, 0.5, 10.0, 0.0) == pytest.approx(0.5)
    assert pick([h1, h2], 0.0, 10, 0.0) is h1 and pick([h1, h2], 0.5, 10, 0.0) is h1
    words = {1: "A", 2: "B", 3: "C"}
    lam, lmwt, wip, v = choose_min_expected_errors({"u": [h1, h2]}, {"u": ["A", "B"]}, words,
                                                   [0.5, 1.0, 0.0], [7, 8], [0.0, 1.0])
    assert (lam, lmwt, wip) == (0.0, 7, 0.0) and v == pytest.approx(0.25)
    with pytest.raises(BnnError, match="no n-best list"):
        choose_min_expected_errors({"u": [h1, h2]}, {"v": ["A"]}, words, [0.0], [7], [0.0])
