"""HCLG building and FST I/O against Kaldi's decode/graph fixture."""
import kaldiio
import numpy as np

from bnn.decode.decoder import DecodeOptions, GraphDecoder, load_model
from bnn.decode.fstio import read_fst_arrays, write_fst
from bnn.decode.graph import make_hclg


def test_read_kaldi_const_hclg_matches_fstprint(shared_dir):
    g = shared_dir / "fixtures/kaldi_outputs/decode/graph"
    fa = read_fst_arrays(str(g / "HCLG.fst"))
    assert (fa.num_states, fa.num_arcs) == (40, 98)
    arcs, finals = [], {}
    for ln in (g / "HCLG.fst.txt").read_text().splitlines():
        f = ln.split()
        if len(f) >= 4:
            arcs.append((int(f[0]), int(f[1]), int(f[2]), int(f[3]), float(f[4]) if len(f) > 4 else 0.0))
        else:
            finals[int(f[0])] = float(f[1]) if len(f) > 1 else 0.0
    ours = sorted((int(s), int(a["nextstate"]), int(a["ilabel"]), int(a["olabel"]), float(a["weight"]))
                  for s, a in zip(fa.arc_state, fa.arcs))
    assert [o[:4] for o in ours] == sorted(a[:4] for a in arcs)
    assert np.allclose([o[4] for o in ours], [a[4] for a in sorted(arcs, key=lambda a: (a[0], a[1], a[2], a[3], a[4]))], atol=1e-4)
    assert {s: float(v) for s, v in enumerate(fa.finals) if np.isfinite(v)} == \
        {s: np.float32(v) for s, v in finals.items()} or all(
            abs(fa.finals[s] - v) < 1e-4 for s, v in finals.items())
    assert fa.start == 22


def test_own_hclg_decodes_like_kaldis(shared_dir, tmp_path):
    d = shared_dir / "fixtures/kaldi_outputs/decode"
    tm, _, ctx = load_model(str(d.parent / "mono_binary/final.mdl"))
    hclg, disambig_tid, ilabels = make_hclg(str(d / "graph/L_disambig.fst"), str(d / "graph/G.fst"), [12], tm,
                                            ctx_dep=ctx)
    out = tmp_path / "HCLG.fst"
    write_fst(hclg, str(out), const=True)
    assert out.read_bytes()[8:13] == b"const"
    fa = read_fst_arrays(str(out))
    assert (fa.num_states, fa.num_arcs) == (40, 98)  # Kaldi's HCLG.fstinfo.txt: 40 states, 98 arcs
    opts = DecodeOptions(1.0, 10.0, 4.0, 7000)
    ours, kaldis = GraphDecoder(str(out), tm, opts), GraphDecoder(str(d / "graph/HCLG.fst"), tm, opts)
    for key, m in kaldiio.load_ark(str(d / "mapped/loglikes.ark")):
        a, b = ours.decode_loglikes(key, m), kaldis.decode_loglikes(key, m)
        assert a.words == b.words and a.alignment == b.alignment
        assert abs(a.likelihood - b.likelihood) < 1e-2


def test_mkgraph_sh_on_yesno_lang(shared_dir, tmp_path, bnn_env, repo_root):
    import subprocess
    k = shared_dir / "fixtures/kaldi_yesno_s5"
    (tmp_path / "exp/mono").mkdir(parents=True)
    (tmp_path / "exp/mono/final.mdl").write_bytes((k / "exp/mono0a/final.mdl").read_bytes())
    for n in ("steps", "utils"):
        (tmp_path / n).symlink_to(repo_root / n)
    r = subprocess.run(["bash", "utils/mkgraph.sh", str(k / "data/lang_test_tg"), "exp/mono", "exp/mono/graph"],
                       cwd=tmp_path, env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    g = tmp_path / "exp/mono/graph"
    assert (g / "num_pdfs").read_text().strip() == "11"
    assert (g / "words.txt").read_text() == (k / "exp/mono0a/graph_tgpr/words.txt").read_text()
    assert (g / "phones/disambig.int").is_file()
    fa, kf = read_fst_arrays(str(g / "HCLG.fst")), read_fst_arrays(str(k / "exp/mono0a/graph_tgpr/HCLG.fst"))
    # Kaldi: 24 states / 54 arcs; ours has one more state (no fstpushspecial / fstrmepslocal).
    assert abs(fa.num_states - kf.num_states) <= 2 and abs(fa.num_arcs - kf.num_arcs) <= 2
    feats = ("bnn-apply-cmvn --utt2spk=ark:data/test_yesno/utt2spk scp:data/test_yesno/cmvn.scp "
             "'scp:head -n 5 data/test_yesno/feats.scp |' ark:- | bnn-add-deltas ark:- ark:-")
    outs = []
    for graph in (g, k / "exp/mono0a/graph_tgpr"):
        r = subprocess.run(["bash", "-o", "pipefail", "-c", f"{feats} | bnn-gmm-latgen-faster --acoustic-scale=0.083333 "
                            f"--beam=13 exp/mono0a/final.mdl {graph}/HCLG.fst ark:- ark:/dev/null ark,t:-"],
                           cwd=k, env=bnn_env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1] and len(outs[0].splitlines()) == 5
