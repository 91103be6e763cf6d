"""Paper-shaped RESULTS tables and training curves on synthetic exp dirs (hand-computed numbers)."""
import json
import os

import pytest

from bnn.decode.scoring import pick_best

from bnn.results import curves, paper_tables as pt
from bnn.results.paper_numbers import PAPERS, Finding, all_rows
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


def _section(text, heading):
    start = text.index(heading)
    end = text.find("\n### ", start + 1)
    return text[start:end if end != -1 else len(text)]


# ------------------------------------------------------------- the papers' numbers, from tables.md
def _parse_tables_md(path):
    """{paper: {table: [(label cells..., numbers...)]}} from ../shared/papers/tables.md: every
    markdown row of every '### Table N' section, plus the one-line Table 8."""
    import re
    out, paper, table = {}, None, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("## "):
            paper = "lu2017" if "Lu" in line else "qian2019"
            out[paper] = {}
        m = re.match(r"### (Table \d+)", line)
        if m:
            table = m.group(1)
            out[paper][table] = []
            if table == "Table 8":   # "BDNN-2048 19.7/33.0/25.1/35.1; BDNN-3072 18.6/..."
                for name, nums in re.findall(r"(BDNN-\d+) ([\d./]+)", line):
                    out[paper][table].append([name] + [float(x) for x in nums.split("/")])
            continue
        if table and line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0] in ("Model", "ID", "Size"):
                continue
            out[paper][table].append(cells)
    return out


def _numbers(cells):
    nums = []
    for c in cells:
        try:
            nums.append(float(c))
        except ValueError:
            pass
    return nums


def test_every_paper_number_matches_tables_md(shared_dir):
    md = _parse_tables_md(str(shared_dir / "papers" / "tables.md"))
    for paper in PAPERS.values():
        for table in paper.tables():
            rows = [r for r in paper.rows if r.table == table]
            printed = md[paper.key][table]
            ncol = len(paper.columns[table])
            # printed rows, in order, each with its WER columns (the trailing ncol numbers, or the
            # numbers after the label/size/k columns; FPS of Qian Table 5 dropped)
            printed_wers = []
            for cells in printed:
                if paper.key == "qian2019" and table == "Table 8":
                    printed_wers.append(("not converged" not in cells, tuple(cells[1:])))
                    continue
                text = " ".join(cells)
                if "not converged" in text:
                    printed_wers.append((False, None))
                    continue
                nums = _numbers(cells)
                if paper.key == "qian2019" and table == "Table 5":
                    nums = nums[:4] if cells[-1] == "-" else nums[:4]
                elif paper.key == "qian2019" and table == "Table 7":
                    nums = nums[-4:]
                else:
                    nums = nums[-ncol:]
                printed_wers.append((True, tuple(nums)))
            ours = [r for r in rows if not r.label.startswith("Baseline (Table 1)")]
            if paper.key == "qian2019" and table == "Table 8":
                ours = [r for r in rows if r.key != "t8_fpdnn"]
            assert len(ours) == len(printed_wers), (paper.key, table)
            for r, (converged, wers) in zip(ours, printed_wers):
                if not converged:
                    assert r.status == "not converged" and all(x is None for x in r.wers), r.key
                else:
                    assert r.status == "" and r.wers == wers, (r.key, r.wers, wers)
    # Qian Table 5 frames/s and the shared FPDNN row of Tables 7-8 (printed in Table 5)
    t5 = {c[0]: c[-1] for c in md["qian2019"]["Table 5"]}
    from bnn.results.paper_numbers import QIAN_T5_FPS, QIAN2019
    for key, fps in QIAN_T5_FPS.items():
        assert float(t5[QIAN2019.row(key).label]) == fps
    assert QIAN2019.row("t8_fpdnn").wers == QIAN2019.row("t5_fpdnn").wers


def test_rows_reference_configs_baselines_and_grid():
    import glob
    configs = {os.path.basename(p)[:-5] for p in glob.glob(os.path.join(
        os.path.dirname(__file__), "..", "conf", "nnet", "*.yaml"))}
    for paper, row in all_rows():
        assert row.config in configs, row.key
        assert row.baseline is None or paper.row(row.baseline).table == row.table, row.key
        assert len(row.wers) == len(paper.columns[row.table]), row.key
    for paper in PAPERS.values():
        keys = {r.key for r in paper.rows}
        assert len(keys) == len(paper.rows)
        for f in paper.findings:
            assert set(f.rows) <= keys and f.quote and f.where.startswith("Sec."), f.key


def test_every_finding_holds_on_the_papers_own_numbers():
    for paper in PAPERS.values():
        values = {r.key: (None if r.status else r.wers) for r in paper.rows}
        for fd in paper.findings:
            holds, detail = pt.evaluate_finding(fd, values)
            assert holds is True, (fd.key, detail)


def test_finding_rules_hand_computed():
    F = Finding
    v = {"a": (3.0, 5.0), "b": (4.0, 4.0), "c": (5.0, 6.0), "nc": (None, None)}
    assert pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "better", ("a", "b")), v)[0] is False
    assert pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "better", ("a", "b"), min_frac=0.5), v)[0]
    assert pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "not_all_better", ("a", "b")), v)[0]
    # a vs b: -25 % and +25 %
    h, d = pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "rel_within", ("a", "b"), lo=-25, hi=25), v)
    assert h and d == "rel. -25.0%/+25.0%"
    assert not pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "rel_within", ("a", "b"), hi=20), v)[0]
    # c vs b: +25 % and +50 %
    assert pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "worse_by", ("c", "b"), lo=25), v)[0]
    assert not pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "worse_by", ("c", "b"), lo=30), v)[0]
    assert pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "abs_within", ("c", "b"), lo=1, hi=2), v)[0]
    assert pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "ordered", ("b", "c")), v)[0]
    assert not pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "ordered", ("a", "b", "c")), v)[0]
    # spread of a, b: (4-3)/3 = 33.3 % and (5-4)/4 = 25 %
    h, d = pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "spread", ("a", "b"), hi=34), v)
    assert h and d == "spread 33.3%/25.0%"
    h, d = pt.evaluate_finding(F("x", "T", "q", "Sec. 1", "better", ("a", "nc")), v)
    assert h is None and "nc" in d


def _per_utt(d, errors, words=10, n=20):
    det = os.path.join(d, "scoring_kaldi", "wer_details")
    os.makedirs(det, exist_ok=True)
    with open(os.path.join(det, "per_utt"), "w") as f:
        for i in range(n):
            e = errors[i] if isinstance(errors, list) else errors
            f.write(f"u{i:02d} #csid {words - min(e, words)} {min(e, words)} {max(e - words, 0)} 0\n")


def test_lu_table1_rows_changes_significance_and_findings(exp):
    # per-utterance details for the test decodes: dnn_float 8 errors / 200 words, lu_bw_p0 9
    for name, errs in (("dnn_float", [1] * 8 + [0] * 12), ("lu_bw_p0", [1] * 9 + [0] * 11),
                       ("lu_bw_p001", [1] * 10 + [0] * 10)):
        _per_utt(os.path.join(exp, name, "decode_test"), errs)
    cfg = pt.load_config(None)
    cfg.reference_systems = ["mono"]
    text = pt.render(cfg, exp)
    assert text.startswith(pt.BEGIN_MARK) and text.rstrip().endswith(pt.END_MARK)
    t1 = _section(text, "### lu2017 Table 1")
    base = _cells(t1, "Baseline")
    assert base[1:8] == ["dnn_sigmoid_6x1024", "dnn_float", "8.00", "4.00", "6.8 / 3.8",
                         "(baseline)", "(baseline)"]
    bw0 = _cells(t1, "Binary weights (p = 0), input fixed, softmax fixed")
    # paper: 7.7 vs 6.8 = +13.2 %, 4.8 vs 3.8 = +26.3 %; ours: dev 8 vs 8 = 0, test 4.5 vs 4.0
    assert bw0[1:7] == ["lu_binary_weights_p0", "lu_bw_p0", "8.00", "4.50", "7.7 / 4.8",
                        "+13.2 / +26.3"]
    assert bw0[7] == "+0.0 / +12.5 (n.s.)"        # one utterance more wrong: not significant
    assert "n.s." in bw0[8] and "P(better)=0.00" in bw0[8]
    missing = _cells(t1, "Binary weights (p = 0), input binary, softmax binary")
    assert missing[2:5] == ["lu_bw_p0_binary_io", pt.DASH, pt.DASH]
    # findings: paper side holds; ours decided on (dev, test)
    row = _cells(t1, '"[the fixed input/softmax binary weight nets] are around 1% absolute worse '
                     'than our baseline"')
    assert row[3] == "yes: abs. +0.90/+1.00" and row[4] == "yes: abs. +0.00/+0.50"
    t3 = _section(text, "### lu2017 Table 3")
    nc = _cells(t3, "Binary weights 1024 (0,1)")
    assert nc[5:7] == ["not converged", pt.DASH]
    fd = _cells(t3, '"Using (0, 1) for binary activations, however, we achieved lower WER"')
    assert fd[3] == "yes: 7.2/4.1 vs 8.2/4.4 (better on 2/2, need 2)"
    assert fd[4] == "no: 8/3 vs 8/3.5 (better on 1/2, need 2)"     # dev tie: not better
    assert "Reference mono: dev 8.00, test 10.00" in text
    assert "Not (yet) decoded/scored:" in text and "qian_bcnn" in text


def test_config_overrides_tables_and_errors(tmp_path, exp):
    p = tmp_path / "c.yaml"
    p.write_text("tables: [Table 5]\nreplications: 0\npapers:\n  qian2019: {t5_fpdnn: dnn_float}\n")
    text = pt.render(pt.load_config(str(p)), exp)
    assert "### qian2019 Table 5" in text and "Table 1" not in text
    assert _cells(text, "FPDNN")[2:4] == ["dnn_float", "8.00"]
    p.write_text("papers:\n  lu2017:\n    nonsense_row: dnn_float\n")
    with pytest.raises(BnnError, match="c.yaml: papers.lu2017: unknown row 'nonsense_row'"):
        pt.load_config(str(p))
    p.write_text("papers:\n  smith2020: {}\n")
    with pytest.raises(BnnError, match="unknown paper 'smith2020'"):
        pt.load_config(str(p))
    p.write_text("tables: [Table 99]\n")
    with pytest.raises(BnnError, match="tables must be"):
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
    assert "| Binary weights (p = 0), input fixed, softmax fixed | lu_binary_weights_p0 | lu_bw_p0 |" \
        in capsys.readouterr().out
    out = tmp_path / "tables.md"
    _main(["--output", str(out), exp])
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


# ----------------------------------------------------------------------------- Pareto picture
def _size_file(d, deployed):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model_size.txt"), "w") as f:
        f.write("| layer | update | kernel params | other params | bytes as trained | "
                "bytes as deployed | ratio |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n"
                f"| input | real | 10 | 1 | 44 | 44 | 1.0x |\n"
                f"| total |  | 10 | 1 | 44 | {deployed} | 1.0x |\n")


def _decode_log(d, jobs):
    os.makedirs(os.path.join(d, "log"), exist_ok=True)
    for i, (frames, fps, engine) in enumerate(jobs, 1):
        with open(os.path.join(d, "log", f"decode.{i}.log"), "w") as f:
            f.write(f"bnn-forward ...\nINFO Done 3 utterances, {frames} frames, 10.0 frames/s "
                    f"(network {fps} frames/s, engine {engine})\n# Ended (code 0)\n")


def test_pareto_points_fronts_and_plot(exp, tmp_path):
    from bnn.results import pareto
    # dnn_float: test 4.00 %, 4000 bytes; lu_bw_p0: 4.50 %, 500 bytes; lu_bw_p001: 5.00 %,
    # 600 bytes (dominated on size by lu_bw_p0)
    for name, nbytes in (("dnn_float", 4000), ("lu_bw_p0", 500), ("lu_bw_p001", 600)):
        _size_file(os.path.join(exp, name), nbytes)
    # two jobs: 100 frames at 1000/s + 300 frames at 3000/s = 400 frames in 0.2 s = 2000/s
    _decode_log(os.path.join(exp, "dnn_float", "decode_test"), [(100, 1000.0, "torch"),
                                                                (300, 3000.0, "torch")])
    _decode_log(os.path.join(exp, "lu_bw_p0", "decode_test"), [(400, 1000.0, "torch")])
    _decode_log(os.path.join(exp, "lu_bw_p001", "decode_test"), [(400, 8000.0, "torch")])
    pts = {p.system: p for p in pareto.collect_points(exp)}
    assert set(pts) == {"dnn_float", "lu_bw_p0", "lu_bw_p001"}
    assert pts["dnn_float"].frames_per_sec == pytest.approx(2000.0)
    assert (pts["lu_bw_p0"].wer, pts["lu_bw_p0"].deployed_bytes) == (4.5, 500)
    size_front = [p.system for p in pareto.pareto_front(list(pts.values()), "deployed_bytes", False)]
    assert size_front == ["lu_bw_p0", "dnn_float"]
    speed_front = [p.system for p in pareto.pareto_front(list(pts.values()), "frames_per_sec", True)]
    assert speed_front == ["dnn_float", "lu_bw_p001"]      # lu_bw_p0: slower and worse than dnn
    from bnn.bin.plot_pareto import _main
    out, md = tmp_path / "pareto.png", tmp_path / "pareto.md"
    assert _main(["--output", str(out), "--table", str(md), exp]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| lu_bw_p0 | torch | 4.50 | 500 | 1000 | yes / no |" in md.read_text()
    with pytest.raises(BnnError, match="with a 'total' row"):
        (tmp_path / "bad.txt").write_text("| layer | x |\n")
        pareto.read_deployed_bytes(str(tmp_path / "bad.txt"))


def test_bdnn_ablation_table(exp):
    from bnn.results.paper_numbers import BDNN_ABLATIONS
    make_system(exp, "dnn_float_2048", *sweep(8))     # 4.00 %
    make_system(exp, "qian_bdnn", *sweep(12))         # 6.00 % -> +50.0 % (bound 1.5 x 33.3)
    make_system(exp, "qian_bdnn_ste", *sweep(10))     # 5.00 % -> +25.0 %
    cfg = pt.load_config(None)
    text = pt.ablation_table(cfg, exp, {})
    assert _cells(text, "qian_bdnn")[3:7] == ["8.00", "6.00", "+0.0 / +50.0", "no"]
    assert _cells(text, "qian_bdnn_ste")[3:7] == ["8.00", "5.00", "+0.0 / +25.0", "yes"]
    assert _cells(text, "qian_bdnn_long")[3:5] == [pt.DASH, pt.DASH]
    # every ablation run is a line of the paper grid with its config
    grid = {}
    for line in open(os.path.join(os.path.dirname(__file__), "..", "conf", "paper_grid.txt")):
        if line.strip() and not line.startswith("#"):
            name, config = line.split()[:2]
            grid[name] = config
    for a in BDNN_ABLATIONS:
        assert grid.get(a.system) == a.config, a.system
