"""Kaldi basic I/O, model files (TransitionModel + AmDiagGmm) and trees against real Kaldi output."""
import math
import struct

import numpy as np
import pytest

from bnn.kaldi.am_gmm import AmDiagGmm, DiagGmm
from bnn.kaldi.kaldi_binary import KaldiReader, KaldiWriter
from bnn.kaldi.model_io import model_bytes, read_model, read_transition_model, write_model
from bnn.kaldi.tree import ContextDependency, read_tree, write_tree
from bnn.utils.errors import BnnError

MONO = "fixtures/kaldi_mono_digits"
MB = "fixtures/kaldi_outputs/mono_binary"
MT = "fixtures/kaldi_outputs/mono_tuples"


# ----------------------------------------------------------------------------- basic I/O
def test_binary_scalars_bytes_as_kaldi():
    w = KaldiWriter(binary=True)
    w.write_token("<X>")
    w.write_int(-2)
    w.write_uint(12)
    w.write_float(0.25)
    w.write_int_vector([1, 2])
    w.write_vector(np.array([1.5], dtype=np.float32))
    w.write_vector(np.array([0.5], dtype=np.float64))
    w.write_matrix(np.array([[1.0, 2.0]], dtype=np.float32))
    want = (b"\0B<X> " + b"\x04" + struct.pack("<i", -2) + b"\xfc" + struct.pack("<I", 12)
            + b"\x04" + struct.pack("<f", 0.25)
            + b"\x04" + struct.pack("<i", 2) + struct.pack("<ii", 1, 2)
            + b"FV \x04" + struct.pack("<i", 1) + struct.pack("<f", 1.5)
            + b"DV \x04" + struct.pack("<i", 1) + struct.pack("<d", 0.5)
            + b"FM \x04" + struct.pack("<i", 1) + b"\x04" + struct.pack("<i", 2)
            + struct.pack("<ff", 1.0, 2.0))
    assert w.getvalue() == want
    r = KaldiReader(want)
    assert r.binary
    r.expect_token("<X>")
    assert (r.read_int(), r.read_uint(), float(r.read_float())) == (-2, 12, 0.25)
    assert r.read_int_vector() == [1, 2]
    assert r.read_vector().tolist() == [1.5]
    v = r.read_vector()
    assert v.dtype == np.float64 and v.tolist() == [0.5]
    assert r.read_matrix().tolist() == [[1.0, 2.0]]
    assert r.at_eof()


def test_text_forms_as_kaldi():
    w = KaldiWriter(binary=False)
    w.write_token("<X>")
    w.write_int(3)
    w.write_float(1.0 / 3.0)
    w.write_int_vector([4, 5])
    w.write_vector(np.array([1e-5, -2.0], dtype=np.float32))
    w.write_matrix(np.array([[1, 2], [3, 4]], dtype=np.float32))
    w.write_matrix(np.zeros((0, 0), dtype=np.float32))
    text = w.getvalue().decode()
    assert text == ("<X> 3 0.3333333 [ 4 5 ]\n [ 1e-05 -2 ]\n [\n  1 2 \n  3 4 ]\n [ ]\n")
    r = KaldiReader(w.getvalue())
    r.expect_token("<X>")
    assert r.read_int() == 3
    assert r.read_float() == np.float32(0.3333333)
    assert r.read_int_vector() == [4, 5]
    assert r.read_vector().tolist() == [np.float32(1e-5), -2.0]
    assert r.read_matrix().tolist() == [[1, 2], [3, 4]]


def test_reader_errors_name_file_and_offset():
    r = KaldiReader(b"\0B<A> \x08\x00", name="x.bin")
    r.expect_token("<A>")
    with pytest.raises(BnnError, match=r"^x\.bin: expected an integer of size byte 4, found size byte 8 at byte 6$"):
        r.read_int()
    r = KaldiReader(b"\0BFV \x04\x05\x00\x00\x00\x00", name="t.bin")
    with pytest.raises(BnnError, match=r"t\.bin: unexpected end of file \(truncated\)"):
        r.read_vector()


# ----------------------------------------------------------------------------- models
def test_text_model_to_binary_is_kaldis_bytes(shared_dir):
    trans, am = read_model(shared_dir / MONO / "final.mdl")
    assert (trans.num_pdfs, trans.num_transition_ids, am.num_pdfs, am.dim, am.num_gauss) == (33, 69, 33, 39, 200)
    assert model_bytes(trans, am, binary=True) == (shared_dir / MB / "final.mdl").read_bytes()


def test_text_model_to_text_is_kaldis_rewrite(shared_dir):
    trans, am = read_model(shared_dir / MONO / "final.mdl")
    ours = model_bytes(trans, am, binary=False)
    assert ours == (shared_dir / MB / "final.text.mdl").read_bytes()
    # Against the original input only <GCONSTS> may differ (recomputed on read), in the last digit.
    orig = (shared_dir / MONO / "final.mdl").read_bytes().decode().split("\n")
    new = ours.decode().split("\n")
    assert len(orig) == len(new)
    diff = [i for i in range(len(new)) if orig[i] != new[i]]
    for i in diff:
        assert orig[i - 1].startswith("<GCONSTS>") or orig[i].startswith("<GCONSTS>")
        a = [float(x) for x in orig[i].split("[")[1].split("]")[0].split()]
        b = [float(x) for x in new[i].split("[")[1].split("]")[0].split()]
        np.testing.assert_allclose(a, b, rtol=2e-6)


def test_binary_model_round_trip_and_equal_to_text(shared_dir, tmp_path):
    tb, ab = read_model(shared_dir / MB / "final.mdl")
    tt, at = read_model(shared_dir / MONO / "final.mdl")
    assert tb == tt
    for gb, gt in zip(ab.pdfs, at.pdfs):
        assert np.array_equal(gb.gconsts, gt.gconsts) and np.array_equal(gb.inv_vars, gt.inv_vars)
    out = tmp_path / "m.mdl"
    write_model(out, tb, ab, binary=True)
    assert out.read_bytes() == (shared_dir / MB / "final.mdl").read_bytes()
    t2, a2 = read_model(out)
    assert np.array_equal(t2.pdf_array(), tt.pdf_array())


@pytest.mark.parametrize("sub,name,binary", [
    (MB, "final.trans.mdl", True), (MB, "final.trans.txt.mdl", False),
    (MT, "0.trans.mdl", True), (MT, "0.trans.txt.mdl", False),
    (MT, "0.mdl", True), (MT, "0.text.mdl", False),
])
def test_model_files_round_trip_byte_exactly(shared_dir, sub, name, binary):
    path = shared_dir / sub / name
    trans, am = read_model(path)
    assert model_bytes(trans, am, binary=binary) == path.read_bytes()


def test_transition_model_only_written_from_full_model(shared_dir):
    trans = read_transition_model(shared_dir / MONO / "final.mdl")
    assert model_bytes(trans, None, True) == (shared_dir / MB / "final.trans.mdl").read_bytes()
    assert model_bytes(trans, None, False) == (shared_dir / MB / "final.trans.txt.mdl").read_bytes()


def test_tuples_layout_is_written_for_non_hmm_topology(shared_dir):
    trans, am = read_model(shared_dir / MT / "0.text.mdl")
    assert not trans.is_hmm()
    text = model_bytes(trans, None, False).decode()
    assert "<Tuples> 11 \n1 0 0 1 \n" in text and "<ForwardPdfClass> 0 <SelfLoopPdfClass> 1" in text
    assert am.num_pdfs == 22 and trans.num_pdfs == 22


def test_yesno_binary_model_round_trip(shared_dir):
    path = shared_dir / "fixtures/kaldi_yesno_s5/exp/mono0a/final.mdl"
    trans, am = read_model(path)
    assert (trans.num_phones, trans.num_pdfs, trans.num_transition_ids) == (3, 11, 30)
    assert model_bytes(trans, am, True) == path.read_bytes()


def test_unknown_acoustic_model_is_skipped(shared_dir, tmp_path):
    trans = read_transition_model(shared_dir / MB / "final.trans.mdl")
    path = tmp_path / "nnet.mdl"
    path.write_bytes(model_bytes(trans, None, True) + b"<Nnet3AmModel> whatever")
    t2, am = read_model(path)
    assert am is None and t2 == trans


def test_not_a_model_errors(tmp_path, shared_dir):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello world\n")
    with pytest.raises(BnnError, match=r"notes\.txt: not a Kaldi model \(expected <TransitionModel>, found hello\)$"):
        read_model(bad)
    empty = tmp_path / "empty.mdl"
    empty.write_bytes(b"")
    with pytest.raises(BnnError, match=r"empty\.mdl: not a Kaldi model \(empty file\)"):
        read_model(empty)
    with pytest.raises(BnnError, match=r"not a Kaldi model"):
        read_model(shared_dir / MB / "tree")
    trunc = tmp_path / "trunc.mdl"
    trunc.write_bytes((shared_dir / MB / "final.mdl").read_bytes()[:5000])
    with pytest.raises(BnnError, match=r"trunc\.mdl: .*truncated.* at byte \d+$"):
        read_model(trunc)
    with pytest.raises(BnnError, match=r"missing\.mdl: cannot read"):
        read_model(tmp_path / "missing.mdl")


# ----------------------------------------------------------------------------- GMM numbers
def test_gconsts_and_loglik_match_formula(shared_dir):
    _, am = read_model(shared_dir / MB / "final.mdl")
    gmm = am.pdfs[5]
    mean, var, w = gmm.means.astype(np.float64), gmm.variances.astype(np.float64), gmm.weights
    d = gmm.dim
    gc = np.log(w) - 0.5 * d * math.log(2 * math.pi) - 0.5 * np.log(var).sum(1) - 0.5 * (mean ** 2 / var).sum(1)
    np.testing.assert_allclose(gmm.gconsts, gc, rtol=1e-5, atol=1e-3)
    x = np.random.default_rng(0).standard_normal((4, d)) * 3
    comp = np.stack([np.log(w[i]) - 0.5 * (d * math.log(2 * math.pi) + np.log(var[i]).sum()
                                           + ((x - mean[i]) ** 2 / var[i]).sum(1))
                     for i in range(gmm.num_gauss)], axis=1)
    ref = np.log(np.exp(comp).sum(1))
    np.testing.assert_allclose(am.log_likelihood(x, 5), ref, rtol=1e-6, atol=1e-3)


def test_diag_gmm_from_means_vars():
    g = DiagGmm.from_means_vars([1.0], [[1.0, -2.0]], [[4.0, 0.25]])
    assert g.inv_vars.tolist() == [[0.25, 4.0]] and g.means_invvars.tolist() == [[0.25, -8.0]]
    expect = -math.log(2 * math.pi) - 0.5 * (math.log(4.0) + math.log(0.25)) - 0.5 * (1 / 4 + 4 / 0.25)
    assert g.gconsts[0] == pytest.approx(expect, rel=1e-6)
    am = AmDiagGmm([g])
    w = KaldiWriter(binary=False)
    am.write(w)
    assert w.getvalue().decode().startswith("<DIMENSION> 2 <NUMPDFS> 1 <DiagGMM> \n<GCONSTS>  [ ")


# ----------------------------------------------------------------------------- trees
@pytest.mark.parametrize("sub", [MB, MT])
def test_tree_round_trips(shared_dir, sub, tmp_path):
    tb = read_tree(shared_dir / sub / "tree")
    tt = read_tree(shared_dir / sub / "tree.text")
    assert tb == tt and tb.N == 1 and tb.P == 0
    assert tb.to_bytes(True) == (shared_dir / sub / "tree").read_bytes()
    assert tt.to_bytes(False) == (shared_dir / sub / "tree.text").read_bytes()
    out = tmp_path / "tree"
    write_tree(out, tt, binary=True)
    assert out.read_bytes() == (shared_dir / sub / "tree").read_bytes()


def test_tree_num_pdfs_and_lookup(shared_dir):
    tree = read_tree(shared_dir / MONO / "tree")
    info = (shared_dir / MB / "tree_info.txt").read_text().split()
    assert tree.num_pdfs == int(info[1]) == 33
    assert tree.compute([1], 0) == 0 and tree.compute([11], 2) == 32
    assert read_tree(shared_dir / MT / "tree").num_pdfs == 22


def test_split_event_map_round_trip():
    from bnn.kaldi.tree import ConstantEventMap, SplitEventMap, TableEventMap
    emap = TableEventMap(-1, [SplitEventMap(0, [1, 3], ConstantEventMap(0), ConstantEventMap(1)), None])
    tree = ContextDependency(3, 1, emap)
    for binary in (True, False):
        data = tree.to_bytes(binary)
        assert ContextDependency.read(KaldiReader(data)) == tree
    assert tree.to_bytes(False) == (b"ContextDependency 3 1 ToPdf TE -1 2 ( SE 0 [ 1 3 ]\n"
                                    b"{ CE 0 CE 1 } \nNULL ) \nEndContextDependency ")
    assert tree.compute([3, 0, 0], 0) == 0 and tree.compute([2, 3, 3], 0) == 1
    assert tree.num_pdfs == 2


def test_not_a_tree(tmp_path):
    p = tmp_path / "tree"
    p.write_text("garbage")
    with pytest.raises(BnnError, match=r"tree: not a Kaldi tree"):
        read_tree(p)
