"""CI run of egs/wikitext2_lm/run.sh, all stages, on a cut-down WikiText-2 and the AN4 fixture
with tiny LMs (the real run's sizes are in the recipe and RESULTS.md)."""
import json
import subprocess


def test_wikitext2_lm_recipe_stages(shared_dir, repo_root, bnn_env, tmp_path):
    corpus = tmp_path / "wt2"
    corpus.mkdir()
    for name, n in (("wiki.valid.tokens", 300), ("wiki.test.tokens", 100)):
        lines = (shared_dir / "corpora" / "wikitext-2" / name).read_text().splitlines()[:n]
        (corpus / name).write_text("\n".join(lines) + "\n")
    exp = tmp_path / "exp"
    tiny = "--emb-dim 16 --hidden 16 --layers 1 --epochs 2 --batch 8"
    cmd = ["./run.sh", "--corpus-dir", str(corpus), "--an4-kaldi-dir", str(shared_dir / "fixtures" / "kaldi_an4_s5"),
           "--exp", str(exp), "--wiki-opts", tiny, "--an4-opts", tiny, "--nbest", "5", "--an4-systems", "tri2b",
           "--lstm-weights", "1.0", "--rescore-lms", "soft", "--min-lmwt", "10", "--max-lmwt", "12",
           "--word-ins-penalty", "0.0"]
    r = subprocess.run(cmd, cwd=repo_root / "egs" / "wikitext2_lm", env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    res = (exp / "RESULTS.md").read_text()
    for row in ("| float |", "| hard |", "| soft |", "Kaldi lattice (flat unigram G)", "trigram+LSTM_soft"):
        assert row in res
    soft = json.loads((exp / "wikitext2" / "soft" / "eval.json").read_text())
    assert soft["ppl"] == soft["ppl_export"]  # the 1-bit export loads back to the same perplexity
    assert soft["stored_bits"] == soft["n_binary"] + 32 * (soft["n_scale"] + soft["n_real"])
    assert 1.0 < soft["compression"] < 32.0
    assert (exp / "an4" / "tri2b" / "lstm_soft" / "eval" / "scoring_kaldi" / "best_wer").is_file()
    lw = (exp / "an4" / "tri2b" / "lstm_soft" / "lstm_weight").read_text().split()[0]
    assert lw == "1.0"
    # crosswise: tuned on half B, scored on half A; the two eval halves together are all of test
    words = []
    for d in ("lstm_soft", "lstm_soft_B"):
        best = (exp / "an4" / "tri2b" / d / "eval" / "scoring_kaldi" / "best_wer").read_text()
        words.append(int(best.split("/")[1].split(",")[0]))
    n_test = sum(len(line.split()) - 1 for line in
                 (shared_dir / "fixtures" / "kaldi_an4_s5" / "data" / "test" / "text").read_text().splitlines())
    assert sum(words) == n_test and min(words) > 0
    assert "%WER crosswise (A+B)" in res and f"/{n_test}] |" in res
    cross = (exp / "an4" / "tri2b" / "cross" / "trigram+LSTM_soft.txt").read_text().splitlines()
    assert len(cross) == len((exp / "an4" / "dev.utts").read_text().split()) + len(
        (exp / "an4" / "devB.utts").read_text().split())
    # a rerun skips finished work and still succeeds
    r = subprocess.run(cmd + ["--stage", "1", "--stop-stage", "3"], cwd=repo_root / "egs" / "wikitext2_lm",
                       env=bnn_env, capture_output=True, text=True)
    assert r.returncode == 0 and "skipping" in r.stdout + r.stderr
