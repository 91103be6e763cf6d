"""The papers' result tables as data: every row, its WERs, its config and grid system, and the
findings the papers state about them.

Papers (full texts and ``tables.md`` in ``../shared/papers/``)
  * Lu, Rao & Renals 2017, "Toward computation and memory efficient neural network acoustic
    models with binary weights and activations", arXiv:1706.09453.  Tables 1-3: WSJ1 (dev93,
    eval92); Table 4: AMI IHM (dev, eval).
  * Qian & Xiang 2019, "Binary neural networks for speech recognition", FITEE 20(5):701-715,
    doi:10.1631/FITEE.1800469.  Tables 5-9: Switchboard, Hub5'00 SWB / CH and RT03S FSH / SWB.

Rows (:class:`PaperRow`): ``key`` (unique within the paper), ``table``, the row ``label`` as
printed, ``config`` (the conf/nnet name that builds it), ``system`` (its name in
``conf/paper_grid.txt`` and under ``exp/``), ``baseline`` (the key of the float row of the same
table it is compared with), ``wers`` (one number per column of :attr:`Paper.columns`, ``None``
where the paper prints nothing) and ``status`` (``"not converged"`` where the paper says so).
A row printed in two tables (e.g. Lu's p = 0 binary weights in Tables 1 and 3) is two rows with
the same config and system.  ``tests/test_paper_tables.py`` parses ``tables.md`` and checks
every number here against it.

Findings (:class:`Finding`): a sentence of the paper, quoted with its section, and a rule that
decides it from WERs, first on the paper's own columns (it must hold there: thresholds are set
so that it does, with a note where the paper's wording is stricter than its numbers), then on
ours.  Rules (``kind``):

  * ``better``: row ``rows[0]`` has a lower WER than ``rows[1]`` on at least ``min_frac`` of the
    columns;
  * ``worse_by``: ``rows[0]`` is worse than ``rows[1]`` by at least ``lo`` percent relative on
    every column;
  * ``rel_within``: relative change of ``rows[0]`` vs ``rows[1]`` lies in ``[lo, hi]`` percent
    on every column;
  * ``abs_within``: ``rows[0]`` minus ``rows[1]`` lies in ``[lo, hi]`` WER points on every column;
  * ``ordered``: ``rows[0] < rows[1] < ...`` on every column;
  * ``spread``: ``(max - min) / min`` over ``rows`` is at most ``hi`` percent on every column;
  * ``not_all_better``: ``rows[0]`` is *not* better than ``rows[1]`` on every column (the paper
    states an inconsistent effect).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

NOT_CONVERGED = "not converged"


@dataclass(frozen=True)
class PaperRow:
    key: str
    table: str
    label: str
    config: str
    system: str
    baseline: Optional[str]
    wers: Tuple[Optional[float], ...]
    status: str = ""


@dataclass(frozen=True)
class Finding:
    key: str
    table: str
    quote: str          # the paper's sentence
    where: str          # section
    kind: str
    rows: Tuple[str, ...]
    lo: Optional[float] = None
    hi: Optional[float] = None
    min_frac: float = 1.0
    note: str = ""      # where the rule's bound differs from the paper's wording, and why


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    citation: str
    corpus: str
    columns: Dict[str, Tuple[str, ...]]      # table -> column names of ``wers``
    rows: List[PaperRow] = field(default_factory=list)
    findings: List[Finding] = field(default_factory=list)

    def row(self, key: str) -> PaperRow:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(key)

    def tables(self) -> List[str]:
        out = []
        for r in self.rows:
            if r.table not in out:
                out.append(r.table)
        return out


NC = None   # a "not converged" cell


def _lu_rows() -> List[PaperRow]:
    R = PaperRow
    b1, b2 = "t1_baseline", "t4_baseline"
    return [
        # Table 1: binary weight networks, WSJ1, 1024 hidden units
        R("t1_baseline", "Table 1", "Baseline", "dnn_sigmoid_6x1024", "dnn_float", None, (6.8, 3.8)),
        R("t1_bw_p0", "Table 1", "Binary weights (p = 0), input fixed, softmax fixed",
          "lu_binary_weights_p0", "lu_bw_p0", b1, (7.7, 4.8)),
        R("t1_bw_p0001", "Table 1", "Binary weights (p = .001), input fixed, softmax fixed",
          "lu_binary_weights_p0001", "lu_bw_p0001", b1, (8.0, 4.5)),
        R("t1_bw_p001", "Table 1", "Binary weights (p = .01), input fixed, softmax fixed",
          "lu_binary_weights_p001", "lu_bw_p001", b1, (8.0, 4.4)),
        R("t1_bw_p0_real_io", "Table 1", "Binary weights (p = 0), input real, softmax real",
          "lu_binary_weights_p0_real_io", "lu_bw_p0_real_io", b1, (10.4, 6.7)),
        R("t1_bw_p0_binary_input", "Table 1", "Binary weights (p = 0), input binary, softmax fixed",
          "lu_binary_weights_p0_binary_input", "lu_bw_p0_binary_input", b1, (12.0, 7.3)),
        R("t1_bw_p0_binary_io", "Table 1", "Binary weights (p = 0), input binary, softmax binary",
          "lu_binary_weights_p0_binary_io", "lu_bw_p0_binary_io", b1, (19.0, 12.0)),
        # Table 2: binary activations (Update layer x = fixed, X = updated)
        R("t2_baseline", "Table 2", "Baseline (Table 1)", "dnn_sigmoid_6x1024", "dnn_float", None,
          (6.8, 3.8)),
        R("t2_r1", "Table 2", "1 (σ,b,b,b,b,σ,δ) k=1 input x softmax x", "lu_binary_act_k1_pm1",
          "lu_ba_k1_pm1", "t2_baseline", (8.2, 4.4)),
        R("t2_r2", "Table 2", "2 (σ,b,b,b,b,σ,δ) k=2 input x softmax x", "lu_binary_act_k2_pm1",
          "lu_ba_k2_pm1", "t2_baseline", (7.8, 4.8)),
        R("t2_r3", "Table 2", "3 (σ,b,b,b,b,σ,δ) k=3 input x softmax x", "lu_binary_act_k3_pm1",
          "lu_ba_k3_pm1", "t2_baseline", (8.0, 4.5)),
        R("t2_r4", "Table 2", "4 (σ,b,b,b,b,σ,δ) k=1 input X softmax X",
          "lu_binary_act_k1_pm1_real_io", "lu_ba_k1_pm1_real_io", "t2_baseline", (9.1, 5.3)),
        R("t2_r5", "Table 2", "5 (σ,b,b,b,b,σ,δ) k=1 input X softmax x",
          "lu_binary_act_k1_pm1_real_input", "lu_ba_k1_pm1_real_input", "t2_baseline", (9.6, 5.8)),
        R("t2_r6", "Table 2", "6 (b,b,b,b,b,σ,δ) k=1 input x softmax x",
          "lu_binary_act_pattern_bbbbbs", "lu_ba_bbbbbs", "t2_baseline", (8.1, 4.8)),
        R("t2_r7", "Table 2", "7 (b,b,b,b,b,σ,δ) k=1 input X softmax x",
          "lu_binary_act_pattern_bbbbbs_real_input", "lu_ba_bbbbbs_real_input", "t2_baseline",
          (11.3, 7.0)),
        R("t2_r8", "Table 2", "8 (b,b,b,b,b,σ,δ) k=1 input X softmax X",
          "lu_binary_act_pattern_bbbbbs_real_io", "lu_ba_bbbbbs_real_io", "t2_baseline", (10.7, 6.7)),
        R("t2_r9", "Table 2", "9 (b,b,b,b,b,b,δ) k=1 input x softmax x",
          "lu_binary_act_pattern_bbbbbb", "lu_ba_bbbbbb", "t2_baseline", (20.4, 14.5)),
        R("t2_r10", "Table 2", "10 (b,b,b,b,b,b,δ) k=1 input x softmax X",
          "lu_binary_act_pattern_bbbbbb_real_softmax", "lu_ba_bbbbbb_real_softmax", "t2_baseline",
          (12.1, 7.0)),
        R("t2_r11", "Table 2", "11 (b,b,b,b,b,b,δ) k=1 input X softmax X",
          "lu_binary_act_pattern_bbbbbb_real_io", "lu_ba_bbbbbb_real_io", "t2_baseline", (20.5, 12.7)),
        # Table 3: binary weights and activations, WSJ1 (p = 0, k = 1)
        R("t3_baseline_1024", "Table 3", "Baseline 1024", "dnn_sigmoid_6x1024", "dnn_float", None,
          (6.8, 3.8)),
        R("t3_baseline_2048", "Table 3", "Baseline 2048", "dnn_sigmoid_6x2048", "dnn_float_2048",
          None, (6.5, 3.5)),
        R("t3_bw_1024_pm1", "Table 3", "Binary weights 1024 (-1,+1)", "lu_binary_weights_p0",
          "lu_bw_p0", "t3_baseline_1024", (7.7, 4.8)),
        R("t3_bw_1024_01", "Table 3", "Binary weights 1024 (0,1)", "lu_binary_weights_p0_01",
          "lu_bw_p0_01", "t3_baseline_1024", (NC, NC), NOT_CONVERGED),
        R("t3_ba_1024_pm1", "Table 3", "Binary activations 1024 (-1,+1)", "lu_binary_act_k1_pm1",
          "lu_ba_k1_pm1", "t3_baseline_1024", (8.2, 4.4)),
        R("t3_ba_1024_01", "Table 3", "Binary activations 1024 (0,1)", "lu_binary_act_k1_01",
          "lu_ba_k1_01", "t3_baseline_1024", (7.2, 4.1)),
        R("t3_bnn_1024", "Table 3", "Binary neural network 1024 (-1,+1)", "lu_bnn_alpha15",
          "lu_bnn_a15", "t3_baseline_1024", (15.6, 10.7)),
        R("t3_ba_2048_pm1", "Table 3", "Binary activations 2048 (-1,+1)", "lu_binary_act_k1_pm1_2048",
          "lu_ba_k1_pm1_2048", "t3_baseline_2048", (7.3, 4.4)),
        R("t3_bw_2048_pm1", "Table 3", "Binary weights 2048 (-1,+1)", "lu_binary_weights_p0_2048",
          "lu_bw_p0_2048", "t3_baseline_2048", (7.5, 4.4)),
        R("t3_bnn_2048", "Table 3", "Binary neural network 2048 (-1,+1)", "lu_bnn_alpha15_2048",
          "lu_bnn_a15_2048", "t3_baseline_2048", (NC, NC), NOT_CONVERGED),
        # Table 4: AMI, 2048 hidden units
        R("t4_baseline", "Table 4", "Baseline", "dnn_sigmoid_6x2048", "dnn_float_2048", None,
          (26.1, 27.5)),
        R("t4_bw_p0", "Table 4", "Binary weights (p = 0) (-1,+1)", "lu_binary_weights_p0_2048",
          "lu_bw_p0_2048", b2, (30.3, 32.7)),
        R("t4_bw_p0001", "Table 4", "Binary weights (p = .001) (-1,+1)",
          "lu_binary_weights_p0001_2048", "lu_bw_p0001_2048", b2, (30.0, 32.2)),
        R("t4_bw_p001", "Table 4", "Binary weights (p = .01) (-1,+1)", "lu_binary_weights_p001_2048",
          "lu_bw_p001_2048", b2, (29.6, 31.7)),
        R("t4_bw_p005", "Table 4", "Binary weights (p = .05) (-1,+1)", "lu_binary_weights_p005_2048",
          "lu_bw_p005_2048", b2, (29.6, 31.9)),
        R("t4_ba_k1_pm1", "Table 4", "Binary activations (k = 1) (-1,+1)",
          "lu_binary_act_k1_pm1_2048", "lu_ba_k1_pm1_2048", b2, (30.1, 32.5)),
        R("t4_ba_k2_pm1", "Table 4", "Binary activations (k = 2) (-1,+1)",
          "lu_binary_act_k2_pm1_2048", "lu_ba_k2_pm1_2048", b2, (29.9, 32.3)),
        R("t4_ba_k3_pm1", "Table 4", "Binary activations (k = 3) (-1,+1)",
          "lu_binary_act_k3_pm1_2048", "lu_ba_k3_pm1_2048", b2, (30.2, 32.4)),
        R("t4_ba_k4_pm1", "Table 4", "Binary activations (k = 4) (-1,+1)",
          "lu_binary_act_k4_pm1_2048", "lu_ba_k4_pm1_2048", b2, (29.8, 32.0)),
        R("t4_ba_k1_01", "Table 4", "Binary activations (k = 1) (0,1)", "lu_binary_act_k1_01_2048",
          "lu_ba_k1_01_2048", b2, (27.5, 29.5)),
        R("t4_ba_k2_01", "Table 4", "Binary activations (k = 2) (0,1)", "lu_binary_act_k2_01_2048",
          "lu_ba_k2_01_2048", b2, (28.0, 30.2)),
        R("t4_ba_k3_01", "Table 4", "Binary activations (k = 3) (0,1)", "lu_binary_act_k3_01_2048",
          "lu_ba_k3_01_2048", b2, (29.8, 32.2)),
        R("t4_bnn", "Table 4", "Binary neural network (-1,+1)", "lu_bnn_alpha15_2048",
          "lu_bnn_a15_2048", b2, (NC, NC), NOT_CONVERGED),
    ]


def _lu_findings() -> List[Finding]:
    F = Finding
    return [
        F("lu_t1_fixed_best", "Table 1",
          "fixing the weights of the input and Softmax layers to be initialized values and only "
          "updating the binary weights of the intermediate hidden layers achieves the best results",
          "Sec. 3.1", "better", ("t1_bw_p0", "t1_bw_p0_real_io")),
        F("lu_t1_close", "Table 1",
          "[the fixed input/softmax binary weight nets] are around 1% absolute worse than our "
          "baseline", "Sec. 3.1", "abs_within", ("t1_bw_p0", "t1_baseline"), lo=0.0, hi=1.5,
          note="'around 1%': bound 1.5 points (the paper's p = 0 row is +0.9 / +1.0; a relative "
               "bound of 20% fails on its own eval92, +26%)"),
        F("lu_t1_binary_io_harmful", "Table 1",
          "we have also tried using binary weights for the input layer and the Softmax layer. As "
          "expected, we achieved much lower accuracy", "Sec. 3.1", "ordered",
          ("t1_bw_p0", "t1_bw_p0_binary_input", "t1_bw_p0_binary_io")),
        F("lu_t1_semi_stochastic", "Table 1",
          "as Table 1 shows, we did not achieve consistent improvements [with semi-stochastic "
          "binarization] on the dev93 and eval92 sets", "Sec. 3.1", "not_all_better",
          ("t1_bw_p001", "t1_bw_p0")),
        F("lu_t2_fixed_best", "Table 2",
          "keeping both layers fixed still works the best", "Sec. 3.2", "better",
          ("t2_r1", "t2_r4")),
        F("lu_t2_k", "Table 2",
          "setting k between 1 and 3 did not make a big difference in terms of WERs for both "
          "evaluation sets", "Sec. 3.2", "spread", ("t2_r1", "t2_r2", "t2_r3"), hi=10.0,
          note="'no big difference': (max - min) / min <= 10% (paper: 5.1% dev93, 9.1% eval92)"),
        F("lu_t2_first_layer", "Table 2",
          "when the weights in both input layer and Softmax layer are fixed, using binary "
          "activations for the first hidden layer can achieve comparable accuracy", "Sec. 3.2",
          "rel_within", ("t2_r6", "t2_r1"), lo=-10.0, hi=10.0,
          note="'comparable': within +/-10% relative (paper: -1.2% dev93, +9.1% eval92)"),
        F("lu_t2_last_layer", "Table 2",
          "using binary activations for the last hidden layer degraded the accuracy remarkably",
          "Sec. 3.2", "worse_by", ("t2_r9", "t2_r6"), lo=50.0,
          note="'remarkably': at least 50% relative worse (paper: +152% / +202%)"),
        F("lu_t3_01_activations", "Table 3",
          "Using (0, 1) for binary activations, however, we achieved lower WER", "Sec. 3.2",
          "better", ("t3_ba_1024_01", "t3_ba_1024_pm1")),
        F("lu_t3_wider", "Table 3",
          "Using a larger number of hidden units works slightly better for both binary weight "
          "and binary activation systems", "Sec. 3.2", "better", ("t3_bw_2048_pm1", "t3_bw_1024_pm1")),
        F("lu_t3_wider_ba", "Table 3",
          "Using a larger number of hidden units works slightly better for both binary weight "
          "and binary activation systems", "Sec. 3.2", "better", ("t3_ba_2048_pm1", "t3_ba_1024_pm1"),
          min_frac=0.5,
          note="binary activations: better on dev93 (7.3 < 8.2), equal on eval92 (4.4), so "
               "'better on at least half of the columns'"),
        F("lu_t3_bnn_inferior", "Table 3",
          "we only managed to train the network with 1024 hidden units and achieved much inferior "
          "accuracies", "Sec. 3.2", "worse_by", ("t3_bnn_1024", "t3_ba_1024_pm1"), lo=50.0,
          note="'much inferior': at least 50% relative worse than binary activations alone "
               "(paper: +90% / +143%)"),
        F("lu_t4_semi_stochastic", "Table 4",
          "we obtained small but consistent improvements on both of dev and eval sets [with "
          "semi-stochastic binarization, p = 0.01]", "Sec. 3.3", "better", ("t4_bw_p001", "t4_bw_p0")),
        F("lu_t4_01_k1", "Table 4",
          "the binary activation system with (0, 1) worked much better than its counterpart with "
          "(-1,+1) when k = 1", "Sec. 3.3", "better", ("t4_ba_k1_01", "t4_ba_k1_pm1")),
        F("lu_t4_01_k_degrades", "Table 4",
          "this is not the case for binarization with (0, 1), as the system degrades rapidly when "
          "k increases", "Sec. 3.3", "ordered", ("t4_ba_k1_01", "t4_ba_k2_01", "t4_ba_k3_01")),
        F("lu_t4_pm1_k_tolerant", "Table 4",
          "the models are relatively tolerant to changing k with (-1,+1) for binarization",
          "Sec. 3.3", "spread", ("t4_ba_k1_pm1", "t4_ba_k2_pm1", "t4_ba_k3_pm1", "t4_ba_k4_pm1"),
          hi=5.0, note="'tolerant': (max - min) / min <= 5% (paper: 1.3% dev, 1.6% eval)"),
    ]


QIAN_COLS = ("SWB", "CH", "FSH", "RT03 SWB")


def _qian_rows() -> List[PaperRow]:
    R = PaperRow
    return [
        # Table 5: DNN (FPS column: bnn.results.paper_numbers.QIAN_T5_FPS)
        R("t5_fpdnn", "Table 5", "FPDNN", "dnn_sigmoid_6x2048", "dnn_float_2048", None,
          (15.6, 27.9, 20.7, 30.2)),
        R("t5_bdnn", "Table 5", "BDNN", "qian_bdnn", "qian_bdnn", "t5_fpdnn", (20.8, 34.6, 26.6, 36.6)),
        R("t5_bdnn_inbin", "Table 5", "BDNN-inBin", "qian_bdnn_inbin", "qian_bdnn_inbin", "t5_fpdnn",
          (21.8, 35.6, 27.4, 37.4)),
        R("t5_bdnn_nobn", "Table 5", "BDNN-noBN", "qian_bdnn_nobn", "qian_bdnn_nobn", "t5_fpdnn",
          (73.1, 81.9, 75.2, 78.9)),
        R("t5_fpdnn_3072", "Table 5", "FPDNN-3072", "dnn_sigmoid_6x3072", "dnn_float_3072", "t5_fpdnn",
          (15.9, 27.9, 20.7, 30.1)),
        R("t5_bdnn_3072", "Table 5", "BDNN-3072", "qian_bdnn_3072", "qian_bdnn_3072", "t5_fpdnn_3072",
          (19.5, 32.7, 25.0, 34.8)),
        # Table 6: CNN / VDCNN
        R("t6_fpcnn", "Table 6", "FPCNN", "cnn_float", "cnn_float", None, (15.1, 26.9, 20.3, 29.6)),
        R("t6_bcnn", "Table 6", "BCNN", "qian_bcnn", "qian_bcnn", "t6_fpcnn", (21.1, 34.7, 26.8, 37.1)),
        R("t6_bcnn_fpfc", "Table 6", "BCNN-FPFC", "qian_bcnn_fpfc", "qian_bcnn_fpfc", "t6_fpcnn",
          (16.3, 28.8, 21.4, 31.2)),
        R("t6_fpvdcnn", "Table 6", "FPVDCNN", "vdcnn_float", "vdcnn_float", "t6_fpcnn",
          (13.8, 24.6, 18.7, 27.9)),
        R("t6_bvdcnn", "Table 6", "BVDCNN", "qian_bvdcnn", "qian_bvdcnn", "t6_fpvdcnn",
          (21.6, 33.5, 26.1, 35.7)),
        # Table 7: BDNN + KD from the FPDNN
        R("t7_fpdnn", "Table 7", "FPDNN", "dnn_sigmoid_6x2048", "dnn_float_2048", None,
          (15.6, 27.9, 20.7, 30.2)),
        R("t7_kd10", "Table 7", "BDNN+TS lambda = 1.0", "qian_bdnn", "qian_bdnn", "t7_fpdnn",
          (20.8, 34.6, 26.6, 36.6)),
        R("t7_kd05", "Table 7", "BDNN+TS lambda = 0.5", "qian_bdnn_kd05", "qian_bdnn_kd05", "t7_fpdnn",
          (19.6, 33.5, 25.3, 35.3)),
        R("t7_kd00", "Table 7", "BDNN+TS lambda = 0.0", "qian_bdnn_kd00", "qian_bdnn_kd00", "t7_fpdnn",
          (19.7, 33.0, 25.1, 35.1)),
        # Table 8: students of the FPDNN
        R("t8_fpdnn", "Table 8", "FPDNN", "dnn_sigmoid_6x2048", "dnn_float_2048", None,
          (15.6, 27.9, 20.7, 30.2)),
        R("t8_bdnn_2048", "Table 8", "BDNN-2048 (teacher FPDNN)", "qian_bdnn_kd00", "qian_bdnn_kd00",
          "t8_fpdnn", (19.7, 33.0, 25.1, 35.1)),
        R("t8_bdnn_3072", "Table 8", "BDNN-3072 (teacher FPDNN)", "qian_bdnn_3072_kd00",
          "qian_bdnn_3072_kd00", "t8_fpdnn", (18.6, 31.5, 23.6, 33.6)),
        # Table 9: BCNN + KD from the FPVDCNN
        R("t9_fpcnn", "Table 9", "FPCNN", "cnn_float", "cnn_float", None, (15.1, 26.9, 20.3, 29.6)),
        R("t9_bcnn", "Table 9", "BCNN", "qian_bcnn", "qian_bcnn", "t9_fpcnn", (21.1, 34.7, 26.8, 37.1)),
        R("t9_bcnn_kd", "Table 9", "BCNN (teacher FPVDCNN)", "qian_bcnn_kd00", "qian_bcnn_kd00",
          "t9_fpcnn", (18.8, 31.5, 23.9, 33.8)),
        R("t9_bcnn_fpfc", "Table 9", "BCNN-FPFC", "qian_bcnn_fpfc", "qian_bcnn_fpfc", "t9_fpcnn",
          (16.3, 28.8, 21.4, 31.2)),
        R("t9_bcnn_fpfc_kd", "Table 9", "BCNN-FPFC (teacher FPVDCNN)", "qian_bcnn_fpfc_kd00",
          "qian_bcnn_fpfc_kd00", "t9_fpcnn", (15.2, 27.4, 20.3, 29.8)),
    ]


# Qian Table 5's frames/s (i3-4150, one thread, batch 16); "-" rows are absent.
QIAN_T5_FPS = {"t5_fpdnn": 459, "t5_bdnn": 1679, "t5_fpdnn_3072": 229, "t5_bdnn_3072": 1080}


def _qian_findings() -> List[Finding]:
    F = Finding
    return [
        F("qian_t5_bdnn_25", "Table 5",
          "compared with FPDNN, BDNN can achieve about 4.0 times speedup with about 25.0% WER "
          "degradation", "Sec. 6.2", "rel_within", ("t5_bdnn", "t5_fpdnn"), lo=15.0, hi=35.0,
          note="'about 25%': 15-35% relative (paper: +21.2% to +33.3% over its four sets)"),
        F("qian_t5_inbin", "Table 5",
          "there is an obvious WER degradation when doing the binarization on the first input "
          "layer", "Sec. 6.2.1", "better", ("t5_bdnn", "t5_bdnn_inbin")),
        F("qian_t5_bn", "Table 5",
          "[batch normalization] is critical to train a good binary neural network model ... the "
          "binary model without batch normalization does not converge well, leading to high WERs",
          "Sec. 6.2.2", "worse_by", ("t5_bdnn_nobn", "t5_bdnn"), lo=100.0,
          note="'does not converge well': at least twice the BDNN's WER (paper: +116% to +251%)"),
        F("qian_t5_fp_wider", "Table 5",
          "enlarging the hidden layer does not achieve any further improvement on the normal full "
          "precision DNN", "Sec. 6.2.3", "rel_within", ("t5_fpdnn_3072", "t5_fpdnn"), lo=-2.0, hi=None,
          note="'no further improvement': FPDNN-3072 at most 2% relative better (paper: -0.3% to "
               "+1.9%)"),
        F("qian_t5_b_wider", "Table 5",
          "using more hidden units in the binary DNN obtains more than 6.0% WER improvement over "
          "all test sets", "Sec. 6.2.3", "rel_within", ("t5_bdnn_3072", "t5_bdnn"), lo=None, hi=-4.5,
          note="the paper's own numbers improve by 6.3% (SWB), 5.5% (CH), 6.0% (FSH) and 4.9% "
               "(RT03 SWB), not 'more than 6.0% over all test sets': bound 4.5% relative"),
        F("qian_t6_bcnn_25", "Table 6",
          "the degradation is about 25.0% from FPCNN to BCNN, which is consistent with the "
          "observation on DNN", "Sec. 6.3.1", "rel_within", ("t6_bcnn", "t6_fpcnn"), lo=15.0, hi=40.0,
          note="'about 25%': 15-40% relative (paper: +25.3% to +39.7%)"),
        F("qian_t6_fpfc_gap", "Table 6",
          "Compared to FPCNN, the WER gap [of BCNN-FPFC] is reduced to 5.0% over all test sets",
          "Sec. 6.3.1", "rel_within", ("t6_bcnn_fpfc", "t6_fpcnn"), lo=0.0, hi=8.0,
          note="the paper's own gap is +5.4% to +7.9%, not 5.0%: bound 8% relative"),
        F("qian_t6_fpfc_better", "Table 6",
          "the performance is substantially improved with this partly binarized CNN",
          "Sec. 6.3.1", "better", ("t6_bcnn_fpfc", "t6_bcnn")),
        F("qian_t6_vdcnn", "Table 6",
          "very deep CNNs with more convolutional layers significantly achieve better performance "
          "than shallow ones using either the full precision VDCNN (FPVDCNN) or the binary VDCNN",
          "Sec. 6.3.2", "better", ("t6_fpvdcnn", "t6_fpcnn")),
        F("qian_t6_bvdcnn", "Table 6",
          "very deep CNNs ... achieve better performance than shallow ones using either the "
          "full precision VDCNN (FPVDCNN) or the binary VDCNN (BVDCNN)", "Sec. 6.3.2", "better",
          ("t6_bvdcnn", "t6_bcnn"), min_frac=0.75,
          note="BVDCNN is worse than BCNN on SWB (21.6 > 21.1) and better on the other three "
               "sets: 'better on at least 3 of 4 columns'"),
        F("qian_t7_kd", "Table 7",
          "the knowledge in full precision DNN (FPDNN) can be effectively transferred ..., "
          "resulting in a significant and consistent improvement for all test sets", "Sec. 6.4",
          "better", ("t7_kd00", "t7_kd10")),
        F("qian_t7_kd05", "Table 7", "[same sentence, lambda = 0.5]", "Sec. 6.4", "better",
          ("t7_kd05", "t7_kd10")),
        F("qian_t7_soft_enough", "Table 7",
          "Using purely soft labels (lambda = 0.0) seems sufficient", "Sec. 6.4", "rel_within",
          ("t7_kd00", "t7_kd05"), lo=None, hi=1.0,
          note="'sufficient': lambda = 0 at most 1% relative worse than 0.5 (paper: +0.5% SWB, "
               "better elsewhere)"),
        F("qian_t8_wider_student", "Table 8",
          "the performance is obviously further boosted with more hidden units in the student "
          "model", "Sec. 6.4", "better", ("t8_bdnn_3072", "t8_bdnn_2048")),
        F("qian_t8_gap", "Table 8",
          "Compared with FPDNN, there is a 10.0%-15.0% performance deterioration with our "
          "proposed binary DNNs over all the test sets", "Sec. 6.4", "rel_within",
          ("t8_bdnn_3072", "t8_fpdnn"), lo=0.0, hi=20.0,
          note="the paper's BDNN-3072 student is +19.2% on SWB (+11.3% to +14.0% elsewhere): "
               "bound 20% relative; the 2048 student is +16% to +26% (issue 14: the old 15% bound "
               "failed the paper's own Table 7)"),
        F("qian_t9_kd", "Table 9",
          "doing knowledge distillation from a powerful full precision deep model to the binary "
          "CNN will obviously improve the WER", "Sec. 6.4", "better", ("t9_bcnn_kd", "t9_bcnn")),
        F("qian_t9_kd_fpfc", "Table 9", "[same sentence, BCNN-FPFC]", "Sec. 6.4", "better",
          ("t9_bcnn_fpfc_kd", "t9_bcnn_fpfc")),
        F("qian_t9_negligible", "Table 9",
          "for the BCNN without fully connected layer binarization (BCNN-FPFC), the WER "
          "degradation is very small and negligible", "Sec. 6.4", "rel_within",
          ("t9_bcnn_fpfc_kd", "t9_fpcnn"), lo=None, hi=2.0,
          note="'negligible': at most 2% relative (paper: 0.0% to +1.9%)"),
        F("qian_cnn_vs_dnn", "Table 6",
          "the normal full precision CNN has better results than the full precision DNN shown "
          "in Table 5", "Sec. 6.3", "better", ("t6_fpcnn", "t5_fpdnn")),
    ]


LU2017 = Paper(
    key="lu2017",
    title="Lu, Rao & Renals 2017: binary weights and activations (sigmoid DNN)",
    citation="arXiv:1706.09453",
    corpus="WSJ1 si284 (Tables 1-3), AMI IHM (Table 4)",
    columns={"Table 1": ("dev93", "eval92"), "Table 2": ("dev93", "eval92"),
             "Table 3": ("dev93", "eval92"), "Table 4": ("dev", "eval")},
    rows=_lu_rows(),
    findings=_lu_findings(),
)

QIAN2019 = Paper(
    key="qian2019",
    title="Qian & Xiang 2019: binary DNNs/CNNs with batch-norm and knowledge distillation",
    citation="doi:10.1631/FITEE.1800469",
    corpus="Switchboard 300 h; Hub5'00 SWB/CH, RT03S FSH/SWB",
    columns={t: QIAN_COLS for t in ("Table 5", "Table 6", "Table 7", "Table 8", "Table 9")},
    rows=_qian_rows(),
    findings=_qian_findings(),
)

PAPERS: Dict[str, Paper] = {p.key: p for p in (LU2017, QIAN2019)}


@dataclass(frozen=True)
class Ablation:
    """One run of the Qian BDNN-gap ablation (issue 14 item 5): grid system, config, the cause
    it tests.  Reference rows: the BDNN (``qian_bdnn``) and its float DNN (``dnn_float_2048``)."""
    system: str
    config: str
    cause: str


BDNN_ABLATIONS = [
    Ablation("qian_bdnn", "qian_bdnn", "reference: Qian BDNN (Table 5), stochastic Eq. 9, binary output, BN statistics re-estimated"),
    Ablation("qian_bdnn_long", "qian_bdnn_long", "epochs and schedule: newbob on CV, up to 20 epochs"),
    Ablation("qian_bdnn_init_float", "qian_bdnn_init_float", "initialised from the float DNN"),
    Ablation("qian_bdnn_real_output", "qian_bdnn_real_output", "real-valued output layer"),
    Ablation("qian_bdnn_ste", "qian_bdnn_ste", "deterministic Sign + STE (Eq. 10) in training"),
    Ablation("qian_bdnn_train_bn_stats", "qian_bdnn_train_bn_stats",
             "BN statistics from stochastic training, not re-estimated on the eval-mode net"),
    Ablation("qian_bdnn_fullwidth", "qian_bdnn", "width: the paper's 2048 units, not scaled down"),
    Ablation("qian_bdnn_3072", "qian_bdnn_3072", "width: BDNN-3072 (Table 5), scaled as the grid"),
]
# The paper's BDNN degradation vs FPDNN (Table 5): +21.2 % (RT03 SWB) to +33.3 % (SWB); issue 14
# accepts an ablation result within 1.5 times the largest.
QIAN_BDNN_PAPER_DEGRADATION = (21.2, 33.3)


def all_rows():
    """``(paper, row)`` for every row of every paper, in table order."""
    return [(p, r) for p in PAPERS.values() for r in p.rows]
