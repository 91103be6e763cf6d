"""What the two papers report: their result rows, their WERs and the findings the recipe checks.

Papers
  * Lu, Rao & Renals 2017, "Toward computation and memory efficient neural network acoustic
    models with binary weights and activations", arXiv:1706.09453 (ASRU 2017).  WSJ and AMI;
    Table 1 binary weights, Table 2 binary activations, Table 3 binary neural networks.
  * Qian & Xiang 2019, "Binary neural networks for speech recognition", Frontiers of Information
    Technology & Electronic Engineering 20(5):701-715, doi:10.1631/FITEE.1800469.  Switchboard;
    Tables 5-9: BDNN variants, knowledge distillation, BCNN / BCNN-FPFC / very deep CNN.

WER numbers (``test_wer`` / ``dev_wer``)
  Every number here must be copied from the paper's table with a comment naming table and row.
  The stored copies of both papers that could be read while this file was written hold only the
  abstract and introduction (deepai.org, ar5iv and arxiv abstract pages for Lu; the FITEE / hep /
  jzus abstract pages for Qian), not the result tables, so every WER below is ``None`` ("not
  found"), never a guess.  Fill a number in only from the paper itself, citing "Table N, row R".
  A ``None`` shows as "—" in the tables of :mod:`bnn.results.paper_tables`.

Findings (:data:`FINDINGS`)
  The claims issue 6 names, each with where the paper states it, decided from *our* numbers by a
  fixed rule in :mod:`bnn.results.paper_tables` (never tuned to make it reproduce).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass(frozen=True)
class PaperRow:
    """One row of a paper's result table.

    ``key`` is the name the recipe config (``conf/paper_tables.yaml``) maps to a system;
    ``baseline`` the key of the float row the paper compares this row against (``None`` for a
    baseline row itself); ``test_wer``/``dev_wer`` the paper's WER (percent) or ``None`` when it
    could not be read; ``where`` the table/row it comes from."""
    key: str
    label: str
    where: str
    baseline: Optional[str] = None
    test_wer: Optional[float] = None
    dev_wer: Optional[float] = None
    note: str = ""


@dataclass(frozen=True)
class Finding:
    """A claim of a paper checked on our numbers.

    ``kind`` selects the rule (see :func:`bnn.results.paper_tables.evaluate_finding`):
      * ``"better_than"``: our test WER of ``row`` < our test WER of ``other`` (strictly);
      * ``"close_to_baseline"``: relative change of ``row``'s test WER vs its float baseline
        <= ``threshold`` percent.
    ``source`` says where the claim comes from (paper section / abstract / issue 6)."""
    row: str
    kind: str
    text: str
    source: str
    other: Optional[str] = None
    threshold: Optional[float] = None


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    citation: str
    test_set: str
    rows: List[PaperRow] = field(default_factory=list)
    findings: List[Finding] = field(default_factory=list)

    def row(self, key: str) -> PaperRow:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(key)


_LU_NOT_FOUND = "WER not found: only the abstract/introduction of arXiv:1706.09453 was readable"
_QIAN_NOT_FOUND = "WER not found: only the abstract of doi:10.1631/FITEE.1800469 was readable"

LU2017 = Paper(
    key="lu2017",
    title="Lu, Rao & Renals 2017: binary weights and activations (feed-forward sigmoid DNN)",
    citation="arXiv:1706.09453",
    test_set="WSJ eval92",
    rows=[
        # Table 1, real-valued baseline row (sigmoid DNN, trained from random init, lr 0.008).
        PaperRow("baseline", "float DNN (sigmoid)", "Table 1, baseline row", None,
                 test_wer=None, dev_wer=None, note=_LU_NOT_FOUND),
        # Table 1, binary weights, semi-stochastic p = 0, input and softmax layers fixed.
        PaperRow("bw_p0", "binary weights, p=0, input+softmax fixed", "Table 1, p=0 row",
                 "baseline", test_wer=None, dev_wer=None, note=_LU_NOT_FOUND),
        # Table 1, binary weights, p = 0.001, input and softmax fixed.
        PaperRow("bw_p0001", "binary weights, p=0.001, input+softmax fixed", "Table 1, p=0.001 row",
                 "baseline", test_wer=None, dev_wer=None, note=_LU_NOT_FOUND),
        # Table 1, binary weights, p = 0.01, input and softmax fixed.
        PaperRow("bw_p001", "binary weights, p=0.01, input+softmax fixed", "Table 1, p=0.01 row",
                 "baseline", test_wer=None, dev_wer=None, note=_LU_NOT_FOUND),
        # Table 1, binary weights, p = 0.05, input and softmax fixed.
        PaperRow("bw_p005", "binary weights, p=0.05, input+softmax fixed", "Table 1, p=0.05 row",
                 "baseline", test_wer=None, dev_wer=None, note=_LU_NOT_FOUND),
        # Table 2, binary activations (-1,+1), mask k = 1.
        PaperRow("ba_k1_pm1", "binary activations (-1,+1), k=1", "Table 2, (-1,+1) k=1 row",
                 "baseline", test_wer=None, dev_wer=None, note=_LU_NOT_FOUND),
        # Table 2, binary activations (-1,+1), mask k = 2.
        PaperRow("ba_k2_pm1", "binary activations (-1,+1), k=2", "Table 2, (-1,+1) k=2 row",
                 "baseline", test_wer=None, dev_wer=None, note=_LU_NOT_FOUND),
        # Table 2, binary activations (0,1) (hard sigmoid), mask k = 1.
        PaperRow("ba_k1_01", "binary activations (0,1), k=1", "Table 2, (0,1) k=1 row",
                 "baseline", test_wer=None, dev_wer=None, note=_LU_NOT_FOUND),
        # Table 2, binary activations (0,1), mask k = 2.
        PaperRow("ba_k2_01", "binary activations (0,1), k=2", "Table 2, (0,1) k=2 row",
                 "baseline", test_wer=None, dev_wer=None, note=_LU_NOT_FOUND),
        # Table 3, binary neural network (binary weights + activations), gradient clip alpha = 15.
        PaperRow("bnn_a15", "binary neural network, alpha=15", "Table 3, alpha=15 row",
                 "baseline", test_wer=None, dev_wer=None, note=_LU_NOT_FOUND),
    ],
    findings=[
        Finding("bw_p0", "close_to_baseline",
                "binary weights with fixed input/softmax close to the float baseline (<= 20% rel.)",
                "Lu 2017 Table 1 / issue 6 acceptance (20% relative bound)", threshold=20.0),
        Finding("bw_p001", "close_to_baseline",
                "binary weights with fixed input/softmax close to the float baseline (<= 20% rel.)",
                "Lu 2017 Table 1 / issue 6 acceptance (20% relative bound)", threshold=20.0),
        Finding("ba_k1_01", "better_than", "(0,1) activations better than (-1,+1), k=1",
                "Lu 2017 Table 2 (as summarised in issue 6)", other="ba_k1_pm1"),
        Finding("ba_k2_01", "better_than", "(0,1) activations better than (-1,+1), k=2",
                "Lu 2017 Table 2 (as summarised in issue 6)", other="ba_k2_pm1"),
    ],
)

QIAN2019 = Paper(
    key="qian2019",
    title="Qian & Xiang 2019: binary DNNs/CNNs with batch-norm and knowledge distillation",
    citation="doi:10.1631/FITEE.1800469",
    test_set="Switchboard Hub5'00",
    rows=[
        # Tables 5-9, float DNN baseline (teacher of the BDNNs).
        PaperRow("dnn", "float DNN", "Tables 5-9, DNN baseline row", None,
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # BDNN (Algorithms 2-3): real first layer, BN + HardTanh + Binarize, binary output layer.
        PaperRow("bdnn", "BDNN", "Tables 5-9, BDNN row", "dnn",
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # BDNN-inBin: input-layer weights binarized too.
        PaperRow("bdnn_inbin", "BDNN-inBin", "Tables 5-9, BDNN-inBin row", "dnn",
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # BDNN-noBN: no batch normalisation.
        PaperRow("bdnn_nobn", "BDNN-noBN", "Tables 5-9, BDNN-noBN row", "dnn",
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # BDNN-3072: 3072 hidden units.
        PaperRow("bdnn_3072", "BDNN-3072", "Tables 5-9, BDNN-3072 row", "dnn",
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # BDNN + knowledge distillation (Eq. 16), lambda = 0.5.
        PaperRow("bdnn_kd05", "BDNN + KD, lambda=0.5", "Tables 5-9, KD lambda=0.5 row", "dnn",
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # BDNN + knowledge distillation (Eq. 16), lambda = 0.0 (soft targets only).
        PaperRow("bdnn_kd00", "BDNN + KD, lambda=0.0", "Tables 5-9, KD lambda=0.0 row", "dnn",
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # Float (very deep) CNN baseline (teacher of the BCNNs).
        PaperRow("cnn", "float CNN", "Tables 5-9, CNN baseline row", None,
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # BCNN-FPFC: binary conv layers, full-precision fully connected layers.
        PaperRow("bcnn_fpfc", "BCNN-FPFC", "Tables 5-9, BCNN-FPFC row", "cnn",
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # BCNN: conv and fully connected layers binarized.
        PaperRow("bcnn", "BCNN", "Tables 5-9, BCNN row", "cnn",
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # Float very deep CNN (ten 3x3 convolutions), the teacher of the BCNNs.
        PaperRow("vdcnn", "float very deep CNN", "Tables 5-9, very deep CNN row", "cnn",
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
        # BCNN + knowledge distillation (Eq. 16) from the very deep CNN, lambda = 0.5.
        PaperRow("bcnn_kd05", "BCNN + KD from the very deep CNN, lambda=0.5",
                 "Tables 5-9, BCNN KD lambda=0.5 row", "cnn",
                 test_wer=None, dev_wer=None, note=_QIAN_NOT_FOUND),
    ],
    findings=[
        Finding("bdnn_kd05", "better_than", "KD (lambda=0.5) improves the BDNN",
                "Qian 2019 abstract and Eq. 16 (as summarised in issue 6)", other="bdnn"),
        Finding("bdnn_kd00", "better_than", "KD (lambda=0.0) improves the BDNN",
                "Qian 2019 abstract and Eq. 16 (as summarised in issue 6)", other="bdnn"),
        # Abstract: "the binary DNNs or binary CNNs can restrict the WER degradation to within
        # 15.0%" with knowledge distillation.
        Finding("bdnn_kd05", "close_to_baseline", "with KD, BDNN within 15% rel. of the float DNN",
                "Qian 2019 abstract (15.0% bound)", threshold=15.0),
        # Abstract: binarizing only the conv layers gives a "very small", "almost negligible"
        # degradation; 5% relative is this toolkit's fixed reading of "almost negligible".
        Finding("bcnn_fpfc", "close_to_baseline",
                "BCNN-FPFC almost as good as the float CNN (<= 5% rel.)",
                "Qian 2019 abstract (5% is our fixed reading of 'almost negligible')",
                threshold=5.0),
        Finding("bcnn_fpfc", "better_than", "BCNN-FPFC better than BCNN",
                "Qian 2019 abstract (binarizing only the conv layers degrades least)",
                other="bcnn"),
        Finding("bcnn_kd05", "better_than", "KD from the very deep CNN improves the BCNN",
                "Qian 2019 abstract and Eq. 16 (as summarised in issue 6)", other="bcnn"),
    ],
)

PAPERS: Dict[str, Paper] = {p.key: p for p in (LU2017, QIAN2019)}
