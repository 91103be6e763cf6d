"""Paper-shaped RESULTS tables and training curves on synthetic exp dirs (hand-computed numbers)."""
import json
import os

import pytest

from bnn.decode.scoring import pick_best

from bnn.results import curves, paper_tables as pt
from bnn.results.paper_numbers import PAPERS, Finding, Paper, PaperRow
from bnn.utils.errors import BnnError


def write_wer(d, lmwt, wip, errors, words, ins=None):
    """A Kaldi wer_<lmwt>_<wip> file as steps/score.sh writes it (errors split ins/del/sub)."""
    os.makedirs(d, exist_ok=True)
    ins = errors // 3 if ins is None else ins
    dels = (errors - ins) // 2
    subs = errors - ins - dels
    with open(os.path.join(d, f"wer_{lmwt}_{wip}"), "w") as f:
        f.write(f"bnn-compute-wer --text --mode=present ark:ref ark:hyp\n"
                f"%WER {100.0 * errors / words:.2f} [ {errors} / {words}, {ins} ins, {dels} del, "
                f"{subs} sub ]\n%SER 1.00 [ 1 / 100 ]\nScored 100 sentences, 0 not present in hyp.\n")


def write_choice(d, sweep_errors):
    """scoring_kaldi/wer_details/{lmwt,wip} as steps/score.sh writes them (its pick_best)."""
    class _Errors:
        def __init__(self, errors):
            self.errors = errors
    lmwt, wip = pick_best(list(sweep_errors), {k: _Errors(e) for k, (e, _) in sweep_errors.items()})
    det = os.path.join(d, "scoring_kaldi", "wer_details")
    os.makedirs(det, exist_ok=True)
    for name, value in (("lmwt", lmwt), ("wip", wip)):
        with open(os.path.join(det, name), "w") as f:
            f.write(value + "\n")


def make_system(exp, name, dev, test):
    """dev/test: {(lmwt, wip): (errors, words)}; scored as steps/score.sh would (test at dev's
    choice when there is a dev set, else at its own best)."""
    for (lm, wip), (e, n) in dev.items():
        write_wer(os.path.join(exp, name, "decode_dev"), lm, wip, e, n)
    for (lm, wip), (e, n) in test.items():
        write_wer(os.path.join(exp, name, "decode_test"), lm, wip, e, n)
    if dev:
        write_choice(os.path.join(exp, name, "decode_dev"), dev)
    if test:
        write_choice(os.path.join(exp, name, "decode_test"), test)


def sweep(test_errs, dev_errs=8):
    """Dev best at (8, 0.0); the test numbers at that pair are ``test_errs`` / 200."""
    return ({("7", "0.0"): (10, 100), ("8", "0.0"): (dev_errs, 100), ("8", "0.5"): (dev_errs + 1, 100)},
            {("7", "0.0"): (1, 200), ("8", "0.0"): (test_errs, 200), ("8", "0.5"): (0, 200)})


@pytest.fixture
def exp(tmp_path):
    e = str(tmp_path / "exp")
    make_system(e, "dnn_float", *sweep(8))          # test 4.00 %
    make_system(e, "lu_bw_p0", *sweep(9))           # 4.50 % -> +12.5 %
    make_system(e, "lu_bw_p001", *sweep(10))        # 5.00 % -> +25.0 %
    make_system(e, "lu_ba_k1_01", *sweep(6))        # 3.00 %
    make_system(e, "lu_ba_k1_pm1", *sweep(7))       # 3.50 %
    make_system(e, "lu_ba_k2_pm1", *sweep(7))
    make_system(e, "mono", *sweep(20))
    return e


def test_read_wer_file_and_checks(tmp_path):
    write_wer(str(tmp_path), 10, "1.0", 43, 896, ins=5)
    w = pt.read_wer_file(str(tmp_path / "wer_10_1.0"))
    assert (w.errors, w.words, w.lmwt, w.wip) == (43, 896, "10", "1.0")
    assert w.percent == pytest.approx(4.799107, abs=1e-5)
    bad = tmp_path / "wer_9_0.0"
    bad.write_text("%WER 4.80 [ 44 / 896, 5 ins, 12 del, 26 sub ]\n")
    with pytest.raises(BnnError, match="wer_9_0.0.*ins\\+del\\+sub"):
        pt.read_wer_file(str(bad))
    bad.write_text("nothing here\n")
    with pytest.raises(BnnError, match="no '%WER"):
        pt.read_wer_file(str(bad))


def test_dev_best_pair_is_applied_to_test(exp):
    r = pt.system_result(exp, "dnn_float", "dev", "test")
    # dev: (8,0.0) 8% is best ((8,0.5) 9%, (7,0.0) 10%); test at (8,0.0) = 8/200 although
    # (8,0.5) has 0 errors on test: never pick on test.
    assert (r.dev.lmwt, r.dev.wip, r.dev.errors) == ("8", "0.0", 8)
    assert (r.test.lmwt, r.test.wip, r.test.errors, r.test.words) == ("8", "0.0", 8, 200)
    assert not r.test_is_own_best


def test_dev_tie_goes_to_the_centre_of_the_plateau(tmp_path):
    # tied LM weights {8, 9}: lower median 8; at 8 tied penalties {0.0, 0.5}: lower median 0.0
    e = str(tmp_path)
    make_system(e, "s", {("9", "0.0"): (5, 100), ("8", "0.5"): (5, 100), ("8", "0.0"): (5, 100)},
                {("9", "0.0"): (1, 10), ("8", "0.5"): (2, 10), ("8", "0.0"): (3, 10)})
    assert pt.system_result(e, "s", "dev", "test").test.errors == 3


def test_no_dev_uses_test_best_and_marks_it(tmp_path):
    e = str(tmp_path)
    make_system(e, "s", {}, {("7", "0.0"): (4, 100), ("9", "0.0"): (2, 100)})
    r = pt.system_result(e, "s", "dev", "test")
    assert r.dev is None and r.test.errors == 2 and r.test_is_own_best


def test_dev_pair_missing_on_test_is_an_error(tmp_path):
    e = str(tmp_path)
    make_system(e, "s", {("12", "0.0"): (1, 10)}, {("7", "0.0"): (4, 100)})
    with pytest.raises(BnnError, match="decode_test: no wer_12_0.0"):
        pt.system_result(e, "s", "dev", "test")


def test_relative_change_arithmetic():
    assert pt.relative_change(4.5, 4.0) == pytest.approx(12.5)
    assert pt.relative_change(3.0, 4.0) == pytest.approx(-25.0)
    assert pt.relative_change(4.0, 0.0) is None
    assert pt.relative_change(None, 4.0) is None and pt.relative_change(4.0, None) is None


def _cells(table, label):
    for line in table.splitlines():
        if line.startswith(f"| {label} |"):
            return [c.strip() for c in line.strip().strip("|").split("|")]
    raise AssertionError(f"no row {label}:\n{table}")


def test_lu_table_rows_changes_and_findings(exp, repo_root):
    cfg = pt.load_config(str(repo_root / "egs/fsdd/conf/paper_tables.yaml"))
    text = pt.render(cfg, exp)
    assert text.startswith(pt.BEGIN_MARK) and text.rstrip().endswith(pt.END_MARK)
    base = _cells(text, "float DNN (sigmoid)")
    assert base[1:5] == ["dnn_float", "8.00", "4.00", "(baseline)"]
    bw0 = _cells(text, "binary weights, p=0, input+softmax fixed")
    assert bw0[1:5] == ["lu_bw_p0", "8.00", "4.50", "+12.5"]
    assert bw0[5] == pt.DASH and bw0[6] == pt.DASH    # paper numbers not available
    assert "yes: +12.5% <= 20%" in bw0[7]
    bw1 = _cells(text, "binary weights, p=0.01, input+softmax fixed")
    assert bw1[4] == "+25.0" and "no: +25.0% > 20%" in bw1[7]
    k1 = _cells(text, "binary activations (0,1), k=1")
    assert k1[3:5] == ["3.00", "-25.0"]
    assert "yes: 3.00 < 3.50 (lu_ba_k1_pm1)" in k1[7]
    # missing system: a row of dashes, and the finding says what is missing
    k2 = _cells(text, "binary activations (0,1), k=2")
    assert k2[1:5] == ["lu_ba_k2_01", pt.DASH, pt.DASH, pt.DASH]
    assert "(missing: lu_ba_k2_01)" in k2[7]
    assert "Reference mono: dev 8.00, test 10.00" in text
    # Qian: everything but the float DNN is missing -> dashes, no crash
    kd = _cells(text, "BDNN + KD, lambda=0.5")
    assert kd[1:5] == ["qian_bdnn_kd05", pt.DASH, pt.DASH, pt.DASH]
    assert "Not (yet) decoded/scored:" in text and "qian_bcnn" in text


def test_paper_relative_change_and_cnn_family_baseline():
    paper = Paper("p", "P", "cite", "eval", rows=[
        PaperRow("dnn", "float DNN", "T1 r1", None, test_wer=10.0),
        PaperRow("b", "binary", "T1 r2", "dnn", test_wer=12.5),
        PaperRow("cnn", "float CNN", "T2 r1", None, test_wer=8.0),
        PaperRow("bc", "binary CNN", "T2 r2", "cnn", test_wer=None, note="not found"),
    ])
    W = pt.Wer
    res = {"d": pt.SystemResult("d", W(1, 10), W(5, 100)), "x": pt.SystemResult("x", W(1, 10), W(6, 100)),
           "c": pt.SystemResult("c", W(1, 10), W(4, 100)), "y": pt.SystemResult("y", W(1, 10), W(3, 100))}
    t = pt.paper_table(paper, {"dnn": "d", "b": "x", "cnn": "c", "bc": "y"}, res, "dev", "test")
    assert _cells(t, "binary")[4:7] == ["+20.0", "12.50", "+25.0"]
    # the binary CNN is compared with the float CNN (4.00 -> 3.00), not the DNN
    assert _cells(t, "binary CNN")[4:7] == ["-25.0", pt.DASH, pt.DASH]
    assert "Paper WER —: not found" in t


def _ours(**wers):
    return {k: (pt.SystemResult(k, None, pt.Wer(e, 100)) if e is not None else None) for k, e in wers.items()}


def test_finding_rules():
    paper = Paper("p", "P", "c", "t", rows=[PaperRow("base", "b", "w"), PaperRow("a", "a", "w", "base"),
                                             PaperRow("o", "o", "w", "base")])
    m = {"base": "sys_base", "a": "sys_a", "o": "sys_o"}
    better = Finding("a", "better_than", "a better", "src", other="o")
    assert pt.evaluate_finding(better, _ours(base=4, a=3, o=4), paper, m).startswith("yes")
    assert pt.evaluate_finding(better, _ours(base=4, a=4, o=4), paper, m) == "no: 4.00 = 4.00 (sys_o)"
    assert pt.evaluate_finding(better, _ours(base=4, a=5, o=4), paper, m).startswith("no: 5.00 > 4.00")
    assert pt.evaluate_finding(better, _ours(base=4, a=5, o=None), paper, m) == "— (missing: sys_o)"
    close = Finding("a", "close_to_baseline", "close", "src", threshold=20.0)
    assert pt.evaluate_finding(close, _ours(base=10, a=12, o=1), paper, m) == "yes: +20.0% <= 20%"
    assert pt.evaluate_finding(close, _ours(base=10, a=13, o=1), paper, m) == "no: +30.0% > 20%"
    assert pt.evaluate_finding(close, _ours(base=0, a=0, o=1), paper, m).startswith("yes")
    assert pt.evaluate_finding(close, _ours(base=0, a=1, o=1), paper, m).startswith("no")
    assert pt.evaluate_finding(close, _ours(base=None, a=1, o=1), paper, m) == "— (missing: sys_base)"
    assert pt.evaluate_finding(better, _ours(base=4, a=3, o=4), paper, {"base": "x", "a": "y"}) == \
        "— (no system mapped to o)"


def test_paper_numbers_cite_tables_and_never_guess():
    for paper in PAPERS.values():
        keys = {r.key for r in paper.rows}
        for r in paper.rows:
            assert r.where and (r.baseline is None or r.baseline in keys)
            assert r.test_wer is not None or r.note, f"{paper.key}.{r.key}: None needs a note"
        for f in paper.findings:
            assert f.row in keys and (f.other is None or f.other in keys) and f.source


def test_config_errors(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("papers:\n  lu2017:\n    nonsense_row: dnn_float\n")
    with pytest.raises(BnnError, match="c.yaml: papers.lu2017: unknown row 'nonsense_row'"):
        pt.load_config(str(p))
    p.write_text("papers:\n  smith2020: {}\n")
    with pytest.raises(BnnError, match="unknown paper 'smith2020'"):
        pt.load_config(str(p))
    p.write_text("papers: [\n")
    with pytest.raises(BnnError, match="not valid YAML"):
        pt.load_config(str(p))


def test_merge_into_replaces_earlier_block():
    block1 = f"{pt.BEGIN_MARK}\nold\n{pt.END_MARK}\n"
    block2 = f"{pt.BEGIN_MARK}\nnew\n{pt.END_MARK}\n"
    once = pt.merge_into("# Results\n\nwer table\n", block1)
    assert once == "# Results\n\nwer table\n\n" + block1
    twice = pt.merge_into(once + "\nfooter\n", block2)
    assert "old" not in twice and twice.count(pt.BEGIN_MARK) == 1 and twice.endswith("footer\n")
    assert pt.merge_into("", block1) == block1


def test_cli_appends_and_writes(exp, tmp_path, repo_root, capsys):
    from bnn.bin.paper_tables import _main
    results = tmp_path / "RESULTS.md"
    results.write_text("# FSDD\n\n| system | WER |\n")
    cfg = str(repo_root / "egs/fsdd/conf/paper_tables.yaml")
    _main(["--config", cfg, "--append-to", str(results), exp])
    _main(["--config", cfg, "--append-to", str(results), exp])
    text = results.read_text()
    assert text.startswith("# FSDD\n") and text.count(pt.BEGIN_MARK) == 1
    assert "| binary weights, p=0, input+softmax fixed | lu_bw_p0 |" in capsys.readouterr().out
    out = tmp_path / "tables.md"
    _main(["--config", cfg, "--output", str(out), exp])
    assert out.read_text().startswith(pt.BEGIN_MARK)
    with pytest.raises(BnnError, match="no such experiment directory"):
        _main(["--config", cfg, "--output", str(out), str(tmp_path / "nope")])


# ----------------------------------------------------------------------------- curves
def write_history(d, train_acc, cv_acc, initial_cv=None):
    os.makedirs(d, exist_ok=True)
    hist = {"epochs": [{"epoch": i, "lr": 0.001, "train_loss": 1.0 / (i + 1), "train_acc": t,
                        "cv_loss": 1.2 / (i + 1), "cv_acc": c} for i, (t, c) in enumerate(zip(train_acc, cv_acc))],
            "config": {}}
    if initial_cv is not None:
        hist["initial_cv"] = {"loss": 2.0, "acc": initial_cv, "frames": 100}
    with open(os.path.join(d, "history.json"), "w") as f:
        json.dump(hist, f)


def test_read_history(tmp_path):
    write_history(str(tmp_path / "lu_bw_p0"), [50.0, 60.0, 65.0], [48.0, 55.0, 58.0], initial_cv=30.0)
    c = curves.read_history(str(tmp_path / "lu_bw_p0"))
    assert (c.label, c.epochs, c.train, c.cv, c.initial_cv) == \
        ("lu_bw_p0", [1, 2, 3], [50.0, 60.0, 65.0], [48.0, 55.0, 58.0], 30.0)
    assert curves.read_history(str(tmp_path / "lu_bw_p0"), "loss").train[1] == pytest.approx(0.5)
    with pytest.raises(BnnError, match="nope/history.json: cannot read"):
        curves.read_history(str(tmp_path / "nope"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "history.json").write_text('{"epochs": [{"epoch": 0}]}')
    with pytest.raises(BnnError, match=r"epochs\[0\] lacks"):
        curves.read_history(str(tmp_path / "bad"))


def test_plot_curves_png(tmp_path):
    write_history(str(tmp_path / "dnn_float"), [50.0, 60.0], [48.0, 55.0])
    write_history(str(tmp_path / "lu_bw_p0"), [52.0, 58.0, 61.0], [50.0, 53.0, 54.0], initial_cv=45.0)
    from bnn.bin.plot_curves import _main
    out = tmp_path / "plots" / "curves.png"
    _main(["--output", str(out), "--title", "FSDD", str(tmp_path / "dnn_float"), str(tmp_path / "lu_bw_p0")])
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    import matplotlib.image
    img = matplotlib.image.imread(str(out))
    assert img.shape[0] == 420 and img.shape[1] == 1100
    assert not [p for p in os.listdir(out.parent) if p.endswith(".tmp")]
    with pytest.raises(BnnError, match="--labels has 1 names for 2"):
        _main(["--output", str(out), "--labels", "a", str(tmp_path / "dnn_float"), str(tmp_path / "lu_bw_p0")])
