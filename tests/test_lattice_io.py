"""Kaldi CompactLattice archives (bnn.decode.lattice_io) against lattices written by real Kaldi."""
import gzip

import pytest

from bnn.decode.lattice_io import (CompactLattice, add_word_insertion_penalty, best_path,
                                   best_path_full, lattice_to_text, nbest_paths, prune_lattice,
                                   read_compact_lattices, scale_lattice, write_compact_lattices)
from bnn.utils.errors import BnnError


def _dec(shared_dir):
    return shared_dir / "fixtures" / "kaldi_outputs" / "decode"


def _int_archive(path):
    out = {}
    for line in open(path):
        p = line.split()
        if p:
            out[p[0]] = [int(x) for x in p[1:]]
    return out


@pytest.mark.parametrize("sub", ["mapped", "gmm"])
def test_binary_and_text_round_trip_byte_identical(shared_dir, tmp_path, sub):
    d = _dec(shared_dir) / sub
    lats = list(read_compact_lattices(f"ark:gunzip -c {d}/lat.1.gz|"))
    assert len(lats) in (3, 6)
    # binary write-back is byte-identical to Kaldi's archive (header properties kept from the read)
    write_compact_lattices(f"ark:{tmp_path}/a.ark", lats)
    assert (tmp_path / "a.ark").read_bytes() == gzip.open(d / "lat.1.gz").read()
    # text output equals lattice-copy's ark,t
    write_compact_lattices(f"ark,t:{tmp_path}/a.txt", lats)
    assert (tmp_path / "a.txt").read_text() == (d / "lat.1.txt").read_text()
    # reading Kaldi's text gives the same lattices up to the 6 significant digits of the text
    text = dict(read_compact_lattices(f"ark,t:{d}/lat.1.txt"))
    for key, lat in lats:
        t = text[key]
        assert t.start == lat.start and t.finals.keys() == lat.finals.keys()
        for sa, sb in zip(t.arcs, lat.arcs):
            assert [(a[0], a[3], a[4]) for a in sa] == [(b[0], b[3], b[4]) for b in sb]
            for a, b in zip(sa, sb):
                assert a[1] == pytest.approx(b[1], rel=1e-5, abs=1e-5)
                assert a[2] == pytest.approx(b[2], rel=1e-5, abs=1e-5)
    # gzip pipe and scp
    write_compact_lattices(f"ark,scp:{tmp_path}/b.ark,{tmp_path}/b.scp", lats)
    write_compact_lattices(f"ark:| gzip -c > {tmp_path}/c.gz", lats)
    back = list(read_compact_lattices(f"scp:{tmp_path}/b.scp"))
    assert [k for k, _ in back] == [k for k, _ in lats] and [v for _, v in back] == [v for _, v in lats]
    assert gzip.open(tmp_path / "c.gz").read() == gzip.open(d / "lat.1.gz").read()


def test_scale_penalty_best_path_match_kaldi_tools(shared_dir):
    d = _dec(shared_dir) / "mapped"
    lats = list(read_compact_lattices(f"ark:{d}/lat.1.ark"))
    scaled = [(k, scale_lattice(v, lm_scale=2.0, acoustic_scale=0.5)) for k, v in lats]
    assert "".join(f"{k} \n{lattice_to_text(v)}\n" for k, v in scaled) == (d / "lat.1.scaled_ac0.5_lm2.txt").read_text()
    pen = [(k, add_word_insertion_penalty(v, 1.5)) for k, v in lats]
    assert "".join(f"{k} \n{lattice_to_text(v)}\n" for k, v in pen) == (d / "lat.1.wip1.5.txt").read_text()
    words = _int_archive(d / "best_path.words.int")
    ali = _int_archive(d / "best_path.ali.txt")
    words_wip = _int_archive(d / "best_path_wip1.5.words.int")
    for k, v in lats:
        w, g, a, tids = best_path_full(v)
        assert list(w) == words[k] and list(tids) == ali[k]
        assert list(best_path(v, word_ins_penalty=1.5)[0]) == words_wip[k]
        nb = nbest_paths(v, 5)
        assert nb[0][0] == w and nb[0][1] == pytest.approx(g) and nb[0][2] == pytest.approx(a)
        totals = [x[1] + x[2] for x in nb]
        assert totals == sorted(totals) and len({x[0] for x in nb}) == len(nb) == 5
        # pruning with a zero beam keeps exactly the best path
        p = prune_lattice(v, 0.0)
        assert nbest_paths(p, 3) == [nb[0]]
        assert len(nbest_paths(prune_lattice(v, totals[-1] - totals[0] + 1e-3), 10)) >= 5


def test_best_path_every_lm_weight_equals_kaldi_scoring(shared_dir):
    """score_kaldi.sh: lattice-scale --inv-acoustic-scale=LMWT | lattice-add-penalty | lattice-best-path."""
    exp = shared_dir / "fixtures" / "kaldi_an4_s5" / "exp" / "tri1"
    dec = exp / "decode_test"
    syms = {int(line.split()[1]): line.split()[0] for line in open(exp / "graph" / "words.txt")}
    lats = []
    for j in range(1, 5):
        lats += list(read_compact_lattices(f"ark:gunzip -c {dec}/lat.{j}.gz|"))
    assert len(lats) == 130
    for wip in ("0.0", "0.5", "1.0"):
        for lmwt in range(7, 18):
            ref = {p[0]: p[1:] for p in (line.split() for line in open(dec / "scoring_kaldi" / f"penalty_{wip}" / f"{lmwt}.txt"))}
            for key, lat in lats:
                words = best_path(lat, acoustic_scale=1.0 / lmwt, word_ins_penalty=float(wip))[0]
                assert [syms[w] for w in words] == ref[key], (wip, lmwt, key)
    # byte-identical write-back of a real triphone decode's archive
    raw = gzip.open(dec / "lat.1.gz").read()
    import io
    buf = io.BytesIO()
    from bnn.decode.lattice_io import lattice_to_binary
    for key, lat in list(read_compact_lattices(f"ark:gunzip -c {dec}/lat.1.gz|")):
        buf.write(key.encode() + b" " + lattice_to_binary(lat))
    assert buf.getvalue() == raw


def test_bad_input_is_one_line_error(tmp_path):
    (tmp_path / "bad.ark").write_bytes(b"utt1 \x00Bgarbage")
    with pytest.raises(BnnError, match="utt1"):
        list(read_compact_lattices(f"ark:{tmp_path}/bad.ark"))
    (tmp_path / "t.ark").write_bytes(b"utt1 \n0\t1\t5\t1,2,3_x\n\n")
    with pytest.raises(BnnError, match="utt1: bad CompactLattice weight"):
        list(read_compact_lattices(f"ark:{tmp_path}/t.ark"))
    with pytest.raises(BnnError, match="specifier"):
        list(read_compact_lattices(str(tmp_path / "t.ark")))


def test_hand_made_lattice_text_round_trip(tmp_path):
    lat = CompactLattice(0, [[(3, 1.5, 2.25, (1, 2), 1), (0, 0.0, 0.0, (), 1)], [(4, 0.5, 1.0, (5,), 2)], []],
                         {2: (0.0, 0.0, ()), 1: (1.0, 3.0, (7,))})
    write_compact_lattices(f"ark,t:{tmp_path}/h.txt", [("u", lat)])
    (back,) = read_compact_lattices(f"ark:{tmp_path}/h.txt")
    assert back[1] == lat
    write_compact_lattices(f"ark:{tmp_path}/h.ark", [("u", lat)])
    (back,) = read_compact_lattices(f"ark:{tmp_path}/h.ark")
    assert back[1] == lat
    # best path: 3 (1.5+2.25) then final at 1 (1+3) = 7.75 vs eps then 4 (1.5) = 1.5
    assert best_path(lat) == ((4,), 0.5, 1.0)
    assert nbest_paths(lat, 5) == [((4,), 0.5, 1.0), ((), 1.0, 3.0), ((3, 4), 2.0, 3.25), ((3,), 2.5, 5.25)]
