"""TransitionModel mappings (Triples and Tuples layouts), printing and the kaldi_hmm_gmm bridge."""
import numpy as np
import pytest

from bnn.kaldi.alignments import read_alignments, read_symbol_table
from bnn.kaldi.model_io import read_transition_model
from bnn.kaldi.transition_model import TransitionModel
from bnn.utils.errors import BnnError

MONO = "fixtures/kaldi_mono_digits"
MB = "fixtures/kaldi_outputs/mono_binary"
MT = "fixtures/kaldi_outputs/mono_tuples"


def _kaldi_text_ark(path):
    out = {}
    for line in open(path):
        parts = line.split()
        if parts:
            out[parts[0]] = [int(x) for x in parts[1:]]
    return out


def test_triples_model_mappings(shared_dir):
    tm = read_transition_model(shared_dir / MONO / "final.mdl")
    assert (tm.num_phones, tm.num_pdfs, tm.num_transition_ids, tm.num_transition_states) == (11, 33, 69, 33)
    assert tm.info_text() == (shared_dir / MB / "hmm_info.txt").read_text()
    # silence (phone 1) has 3 transitions per state, the other phones 2: state 1 = tids 1..3
    assert [tm.transition_id_to_transition_state(t) for t in (1, 3, 4, 10)] == [1, 1, 2, 4]
    assert tm.pair_to_transition_id(4, 1) == 11
    assert tm.transition_id_to_transition_index(11) == 1
    # sil state 2's transitions are (1, 2, 3): index 1 is its self-loop (tid 8)
    assert [tm.is_self_loop(t) for t in (7, 8, 9)] == [False, True, False]
    assert [tm.is_final(t) for t in (7, 8, 9)] == [False, False, True]
    assert tm.transition_id_to_phone(69) == 11 and tm.transition_id_to_hmm_state(69) == 2
    assert tm.transition_id_to_pdf(69) == 32
    assert tm.pdf_array()[0] == -1 and tm.pdf_array().shape == (70,)
    with pytest.raises(BnnError, match=r"transition-id 70 out of range \[1, 69\]"):
        tm.transition_id_to_pdf(70)


def test_triples_pdfs_equal_kaldi_ali_to_pdf(shared_dir):
    tm = read_transition_model(shared_dir / MB / "final.mdl")
    ali = read_alignments(f"ark:gunzip -c {shared_dir / MB / 'ali.1.gz'}|", tm)
    want = _kaldi_text_ark(shared_dir / MB / "ali.1.pdf.txt")
    assert list(ali) == list(want)
    for utt, tids in ali.items():
        assert tm.map_pdfs(tids).tolist() == want[utt]
        assert [tm.transition_id_to_pdf(t) for t in tids] == want[utt]


def test_tuples_model_self_loop_pdf(shared_dir):
    tm = read_transition_model(shared_dir / MT / "0.mdl")
    assert not tm.is_hmm() and tm.num_pdfs == 22 and tm.num_transition_ids == 22
    # tid 1 = self-loop of phone 1 -> self-loop pdf 1; tid 2 = forward -> forward pdf 0
    assert (tm.transition_id_to_pdf(1), tm.transition_id_to_pdf(2)) == (1, 0)
    assert tm.transition_state_to_tuple(11) == (11, 0, 20, 21)
    ali = read_alignments(f"ark:{shared_dir / MT / 'ali.ark'}", tm)
    assert {u: a.tolist() for u, a in ali.items()} == _kaldi_text_ark(shared_dir / MT / "ali.txt")
    want = _kaldi_text_ark(shared_dir / MT / "ali.pdf.txt")
    assert {u: tm.map_pdfs(a).tolist() for u, a in ali.items()} == want
    phones = {u: [tm.transition_id_to_phone(s[0]) for s in tm.split_to_phones(a)[0]]
              for u, a in ali.items()}
    assert phones == _kaldi_text_ark(shared_dir / MT / "ali.phones.txt")


def test_text_and_binary_tuples_models_equal(shared_dir):
    a = read_transition_model(shared_dir / MT / "0.trans.txt.mdl")
    b = read_transition_model(shared_dir / MT / "0.mdl")
    assert a == b and np.array_equal(a.pdf_array(), b.pdf_array())


def test_split_to_phones_reordered_and_plain(shared_dir):
    tm = read_transition_model(shared_dir / MONO / "final.mdl")
    # phone 2 ("liN"): state0 tids 10 (loop) 11 (0->1), state1 12/13, state2 14/15 (15 = final)
    plain = [10, 10, 11, 12, 13, 14, 15, 10, 11, 12, 13, 14, 14, 15]
    segs, ok = tm.split_to_phones(plain)
    assert ok and segs == [[10, 10, 11, 12, 13, 14, 15], [10, 11, 12, 13, 14, 14, 15]]
    reordered = [11, 10, 13, 12, 15, 14, 14, 11, 13, 15]
    segs, ok = tm.split_to_phones(reordered)
    assert ok and segs == [[11, 10, 13, 12, 15, 14, 14], [11, 13, 15]]
    segs, ok = tm.split_to_phones([10, 11, 12])  # ends inside the phone
    assert not ok and segs == [[10, 11, 12]]


def test_show_transitions_text(shared_dir):
    names = read_symbol_table(shared_dir / MONO / "phones.txt")
    tm = read_transition_model(shared_dir / MB / "final.mdl")
    from bnn.bin.show_transitions import read_kaldi_vector
    occs = read_kaldi_vector(shared_dir / MB / "final.occs")
    text = tm.print_transitions(names, occs)
    assert text == (shared_dir / MB / "show_transitions.txt").read_text()
    assert len({line.split("pdf = ")[1] for line in text.splitlines()
                if line.startswith("Transition-state")}) == 33
    assert tm.print_transitions(names) == (shared_dir / MB / "show_transitions_noocc.txt").read_text()
    tt = read_transition_model(shared_dir / MT / "0.trans.mdl")
    assert tt.print_transitions(names) == (shared_dir / MT / "show_transitions.txt").read_text()


def test_default_log_probs_from_topology(shared_dir):
    tm = read_transition_model(shared_dir / MT / "0.text.mdl")
    fresh = TransitionModel(tm.topo, tm.tuples)
    assert np.array_equal(fresh.log_probs, tm.log_probs)  # gmm-init-mono: log(0.5)


def test_khg_bridge(shared_dir):
    pytest.importorskip("kaldi_hmm_gmm")
    from bnn.kaldi.khg_bridge import to_khg_transition_model
    for path in (shared_dir / MONO / "final.mdl", shared_dir / MT / "0.mdl",
                 shared_dir / "fixtures/kaldi_yesno_s5/exp/mono0a/final.mdl"):
        tm = read_transition_model(path)
        k = to_khg_transition_model(tm, str(path))
        assert k.num_pdfs == tm.num_pdfs and k.num_transition_ids == tm.num_transition_ids
        assert list(k.transition_id_to_pdf_array())[1:] == tm.pdf_array()[1:].tolist()
        np.testing.assert_allclose(np.asarray(k.log_probs)[1:], tm.log_probs[1:], atol=1e-4)
    # a model whose pdf numbering is not monophone-standard is refused
    tm = read_transition_model(shared_dir / MONO / "final.mdl")
    tuples = tm.tuples.copy()
    tuples[:, 2] = tuples[::-1, 2]
    tuples[:, 3] = tuples[:, 2]
    with pytest.raises(BnnError, match=r"^x\.mdl: cannot be bridged to kaldi_hmm_gmm"):
        to_khg_transition_model(TransitionModel(tm.topo, tuples, tm.log_probs), "x.mdl")


def test_khg_round_trip_back_to_ours(shared_dir):
    k = pytest.importorskip("kaldi_hmm_gmm")
    from bnn.kaldi.khg_bridge import from_khg_am, from_khg_transition_model, to_khg_transition_model
    from bnn.kaldi.model_io import read_model
    for path in (shared_dir / MONO / "final.mdl", shared_dir / MT / "0.mdl"):
        tm, am = read_model(path)
        back = from_khg_transition_model(to_khg_transition_model(tm, str(path)), tm.topo)
        assert np.array_equal(back.tuples, tm.tuples)
        np.testing.assert_allclose(back.log_probs, tm.log_probs, atol=1e-5)
    tm, am = read_model(shared_dir / MONO / "final.mdl")
    kam = k.AmDiagGmm()
    for g in am.pdfs[:3]:
        kg = k.DiagGmm(g.num_gauss, g.dim)
        kg.set_weights(g.weights.reshape(-1, 1))
        kg.set_invvars_and_means(g.inv_vars, g.means)
        kg.compute_gconsts()
        kam.add_pdf(kg)
    ours = from_khg_am(kam)
    assert ours.num_pdfs == 3 and ours.dim == 39
    for a, b in zip(ours.pdfs, am.pdfs[:3]):
        np.testing.assert_allclose(a.inv_vars, b.inv_vars, rtol=1e-6)
        np.testing.assert_allclose(a.means_invvars, b.means_invvars, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(a.gconsts, b.gconsts, rtol=1e-4)
