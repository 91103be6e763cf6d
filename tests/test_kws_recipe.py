"""egs/fsdd_kws/run.sh end to end with tiny settings (CI): exit 0 and a RESULTS.md with every
system, the packed-engine columns and the benchmark table."""
import os
import shutil
import subprocess
import time


def _recipe_copy(repo, tmp_path):
    """A throw-away BNN_ROOT: the recipe copied, everything else linked, so data/ and exp/ land
    in ``tmp_path`` and never in the working tree."""
    root = tmp_path / "root"
    (root / "egs").mkdir(parents=True)
    for name in ("steps", "utils", "conf", ".venv", "bnn"):
        os.symlink(repo / name, root / name)
    dst = root / "egs" / "fsdd_kws"
    shutil.copytree(repo / "egs" / "fsdd_kws", dst, symlinks=True,
                    ignore=shutil.ignore_patterns("data", "exp", "RESULTS.md"))
    return dst


def test_fsdd_kws_recipe_ci(repo_root, shared_dir, bnn_env, tmp_path):
    corpus = shared_dir / "corpora" / "fsdd"
    if not (corpus / "recordings").is_dir():
        import pytest
        pytest.skip("FSDD corpus not in ../shared")
    d = _recipe_copy(repo_root, tmp_path)
    t0 = time.time()
    p = subprocess.run(
        ["./run.sh", "--corpus-dir", str(corpus), "--size-conf", "conf/size_ci.yaml",
         "--teacher-epochs", "1", "--limit", "100", "--students", "bnn bifsmnv2",
         "--bench-opts", "--quick --repeats 1 --kws-batch 4"],
        cwd=d, env=bnn_env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    text = (d / "RESULTS.md").read_text()
    for needle in ("| float |", "| bnn |", "| bifsmnv2 | 0 (4 layers)", "| bifsmnv2 | 2 (1 layers)",
                   "BiFSMNv2 packed, option 0", "## Per-class errors", "x smaller"):
        assert needle in text, needle
    # packed accuracy column filled for BiFSMNv2 and equal to torch's
    row = next(ln for ln in text.splitlines() if ln.startswith("| bifsmnv2 | 0"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == cells[7], row
    # a rerun skips finished work
    p2 = subprocess.run(["./run.sh", "--corpus-dir", str(corpus), "--size-conf",
                         "conf/size_ci.yaml", "--limit", "100", "--students", "bnn bifsmnv2",
                         "--stop-stage", "3"],
                        cwd=d, env=bnn_env, capture_output=True, text=True, timeout=120)
    assert p2.returncode == 0, p2.stderr[-2000:]
    assert "is complete, skipping" in p2.stdout + p2.stderr
    print(f"recipe took {time.time() - t0:.0f}s")


def test_fsdd_kws_missing_corpus(repo_root, bnn_env, tmp_path):
    d = _recipe_copy(repo_root, tmp_path)
    p = subprocess.run(["./run.sh", "--corpus-dir", str(tmp_path / "nowhere")], cwd=d,
                       env=bnn_env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "FSDD not found" in p.stderr
