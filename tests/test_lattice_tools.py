"""Kaldi's lattice commands (bnn-lattice-*) against the outputs of Kaldi's own lattice tools."""
import subprocess

import pytest

from bnn.decode.lattice_io import CompactLattice, read_compact_lattices
from bnn.decode.lattice_tools import oracle_path


def run(cmd, env, cwd=None):
    return subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def mapped(shared_dir):
    return shared_dir / "fixtures/kaldi_outputs/decode/mapped"


def test_scale_penalty_best_path_and_1best_equal_kaldi(mapped, bnn_env, tmp_path):
    r = run(f"bnn-lattice-scale --acoustic-scale=0.5 --lm-scale=2.0 ark:{mapped}/lat.1.ark ark,t:-", bnn_env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (mapped / "lat.1.scaled_ac0.5_lm2.txt").read_text()
    r = run(f"bnn-lattice-add-penalty --word-ins-penalty=1.5 'ark:gunzip -c {mapped}/lat.1.gz|' ark,t:-", bnn_env)
    assert r.returncode == 0 and r.stdout == (mapped / "lat.1.wip1.5.txt").read_text()
    r = run(f"bnn-lattice-add-penalty --word-ins-penalty=1.5 'ark:gunzip -c {mapped}/lat.1.gz|' ark:- | "
            "bnn-lattice-best-path --acoustic-scale=1.0 ark:- ark,t:-", bnn_env)
    assert r.returncode == 0 and r.stdout == (mapped / "best_path_wip1.5.words.int").read_text()
    r = run(f"bnn-lattice-best-path --acoustic-scale=1.0 'ark:gunzip -c {mapped}/lat.1.gz|' ark,t:- "
            f"ark,t:{tmp_path}/ali.txt", bnn_env)
    assert r.returncode == 0 and r.stdout == (mapped / "best_path.words.int").read_text()
    assert (tmp_path / "ali.txt").read_text() == (mapped / "best_path.ali.txt").read_text()
    # n-best with n=1 is lattice-1best's linear lattice; keys get -1
    r = run(f"bnn-lattice-to-nbest --n=1 ark:{mapped}/lat.1.ark ark,t:-", bnn_env)
    assert r.returncode == 0
    assert r.stdout.replace("-1 \n", " \n") == (mapped / "lat.1.1best.txt").read_text()


def test_nbest_and_prune(mapped, bnn_env, tmp_path):
    r = run(f"bnn-lattice-to-nbest --n=5 --acoustic-scale=0.5 ark:{mapped}/lat.1.ark ark:{tmp_path}/nb.ark", bnn_env)
    assert r.returncode == 0, r.stderr
    nb = list(read_compact_lattices(f"ark:{tmp_path}/nb.ark"))
    assert [k for k, _ in nb][:6] == [f"rand_utt1-{i}" for i in range(1, 6)] + ["rand_utt2-1"]
    costs = [sum(a[0][1] + 0.5 * a[0][2] for a in lat.arcs if a) + sum(g + 0.5 * a for g, a, _ in lat.finals.values())
             for k, lat in nb[:5]]
    assert costs == sorted(costs) and len(set(costs)) == 5
    # prune with a zero beam keeps one path: its best path is the original best path
    r = run(f"bnn-lattice-prune --beam=0.0001 ark:{mapped}/lat.1.ark ark:- | bnn-lattice-best-path ark:- ark,t:-", bnn_env)
    assert r.returncode == 0 and r.stdout == (mapped / "best_path.words.int").read_text()
    r = run(f"bnn-lattice-prune --beam=0.0001 ark:{mapped}/lat.1.ark ark,t:-", bnn_env)
    assert r.returncode == 0 and r.stdout.count("rand_utt") == 3
    lines = [ln for ln in r.stdout.splitlines() if ln and not ln.startswith("rand")]
    onebest = [ln for ln in (mapped / "lat.1.1best.txt").read_text().splitlines() if ln and not ln.startswith("rand")]
    assert len(lines) == len(onebest) == 34  # the three 1-best paths (arcs + finals)


def test_oracle_hand_made_and_on_kaldi_lattices(shared_dir, bnn_env):
    # 0 -a-> 1 -b-> 2(final); 0 -c-> 2; 1 -<eps>-> 2: paths "a b", "c", "a"
    lat = CompactLattice(0, [[(1, 0.0, 0.0, (), 1), (3, 0.0, 0.0, (), 2)], [(2, 0.0, 0.0, (), 2), (0, 0.0, 0.0, (), 2)], []],
                         {2: (0.0, 0.0, ())})
    assert oracle_path(lat, [1, 2]) == ([1, 2], 0)
    assert oracle_path(lat, [3]) == ([3], 0)
    assert oracle_path(lat, [1, 4, 2]) == ([1, 2], 1)
    assert oracle_path(lat, [5, 1]) == ([1], 1)
    assert oracle_path(lat, []) == ([1], 1) or oracle_path(lat, []) == ([3], 1)
    k = shared_dir / "fixtures/kaldi_an4_s5"
    r = run(f"bnn-lattice-oracle --word-symbol-table={k}/exp/tri1/graph/words.txt "
            f"'ark:gunzip -c {k}/exp/tri1/decode_test/lat.*.gz|' ark:{k}/data/test/text ark,t:-", bnn_env)
    assert r.returncode == 0, r.stderr
    assert "Overall %WER 1.03 [ 8 / 773," in r.stderr  # Kaldi's best 1-best is 8.67 [ 67 / 773 ]
    assert len(r.stdout.splitlines()) == 130
