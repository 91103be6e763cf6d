"""Every paper table row's config builds the network the row describes.

The expected properties of each row are written here as data, read off the papers' tables
(../shared/papers/tables.md) and text: layer pattern in Lu's Table 2 notation, per-layer update
policy (fixed / real / binary), widths, binarizer settings, batch-norm, knowledge distillation.
Each is compared with the model that ``bnn.nn.models.build_model`` makes from the row's config
(on the meta device: paper-sized nets, no memory), so a config whose pattern, policy or size
disagrees with its row fails (see test_a_wrong_config_fails).
"""
import os
import re
import shlex

import pytest
import torch

from bnn.nn.layers import BNHardTanhBinarize
from bnn.nn.models import build_model
from bnn.nn.quantizers import MaskedSign, Sign, StochasticSign, SteSign
from bnn.results.paper_numbers import PAPERS, all_rows
from bnn.train.config import load_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNET = os.path.join(REPO, "conf", "nnet")
SENONES = 3307        # Lu WSJ softmax size (Sec. 3); any positive number would do
LU_INPUT = 11 * 80    # 40 fbank + deltas, 11 frames (Sec. 3)
QIAN_INPUT = 1188     # 11 x 36 x 3 (Table 4)

FIX, REAL, BIN = "fixed", "real", "binary"


def lu(acts="ssssss", io=(REAL, REAL), hidden=REAL, width=1024, k=None, values="-1,1", p=0.0,
       alpha=None, wvalues="-1,1", init=None):
    """A Lu DNN row: ``acts`` one letter per hidden layer (s sigmoid, b binary); ``io`` the
    input and softmax update policies; ``hidden`` the policy of hidden layers 2-6."""
    return {"kind": "dnn", "acts": acts, "update": (io[0],) + (hidden,) * 5 + (io[1],),
            "width": width, "k": k, "values": values, "p": p, "alpha": alpha,
            "wvalues": wvalues, "bn": False, "out_bn": False, "init": init, "kd": None}


def lu_bw(io=(FIX, FIX), width=1024, **kw):
    return lu(io=io, hidden=BIN, width=width, init=f"dnn_sigmoid_6x{width}", **kw)


def lu_ba(acts="sbbbbs", io=(FIX, FIX), width=1024, k=1, values="-1,1"):
    return lu(acts=acts, io=io, width=width, k=k, values=values, init=f"dnn_sigmoid_6x{width}")


def qian(width=2048, inp=REAL, bn=True, binarizer="stochastic", kd=None, out=BIN):
    return {"kind": "dnn", "acts": "hhhhhh", "update": (inp,) + (BIN,) * 5 + (out,),
            "width": width, "binarizer": binarizer, "bn": bn, "out_bn": bn and out == BIN,
            "wvalues": "-1,1", "p": 0.0, "alpha": None, "init": None, "kd": kd}


# Sainath CNN of Qian Table 4: conv 8x7 256, pool 1x3, conv 4x3 256, FC 4 x 2048.
CNN_CONV = [(256, (8, 7), (1, 3)), (256, (4, 3), None)]
# VDCNN of Qian Table 4: 64,64,P1x2,128,128,P1x2,128,128,P2x2,256,256,P2x2,256,256,P2x2.
VDCNN_CONV = [(64, (3, 3), None), (64, (3, 3), (1, 2)), (128, (3, 3), None), (128, (3, 3), (1, 2)),
              (128, (3, 3), None), (128, (3, 3), (2, 2)), (256, (3, 3), None),
              (256, (3, 3), (2, 2)), (256, (3, 3), None), (256, (3, 3), (2, 2))]


def cnn(conv=CNN_CONV, binary_conv=False, binary_fc=False, kd=None, input_shape=(11, 3, 36),
        fc_in=2048):
    n = len(conv)
    return {"kind": "cnn", "conv": conv, "input_shape": input_shape, "fc": [2048] * 4,
            "fc_in": fc_in,
            "update": (REAL,) + ((BIN if binary_conv else REAL),) * (n - 1)
            + ((BIN if binary_fc else REAL),) * 4 + ((BIN if binary_fc else REAL),),
            "conv_act": "h" if binary_conv else "relu", "fc_act": "h" if binary_fc else "relu",
            "kd": kd}


VDCNN = dict(conv=VDCNN_CONV, input_shape=(17, 1, 64), fc_in=1024)

# ---------------------------------------------------------------- expected rows (tables.md)
EXPECTED = {
    # Lu Table 1 (1024 units)
    ("lu2017", "t1_baseline"): lu(),
    ("lu2017", "t1_bw_p0"): lu_bw(),
    ("lu2017", "t1_bw_p0001"): lu_bw(p=0.001),
    ("lu2017", "t1_bw_p001"): lu_bw(p=0.01),
    ("lu2017", "t1_bw_p0_real_io"): lu_bw(io=(REAL, REAL)),
    ("lu2017", "t1_bw_p0_binary_input"): lu_bw(io=(BIN, FIX)),
    ("lu2017", "t1_bw_p0_binary_io"): lu_bw(io=(BIN, BIN)),
    # Lu Table 2: x = fixed, X = updated (real)
    ("lu2017", "t2_baseline"): lu(),
    ("lu2017", "t2_r1"): lu_ba(k=1),
    ("lu2017", "t2_r2"): lu_ba(k=2),
    ("lu2017", "t2_r3"): lu_ba(k=3),
    ("lu2017", "t2_r4"): lu_ba(io=(REAL, REAL)),
    ("lu2017", "t2_r5"): lu_ba(io=(REAL, FIX)),
    ("lu2017", "t2_r6"): lu_ba(acts="bbbbbs"),
    ("lu2017", "t2_r7"): lu_ba(acts="bbbbbs", io=(REAL, FIX)),
    ("lu2017", "t2_r8"): lu_ba(acts="bbbbbs", io=(REAL, REAL)),
    ("lu2017", "t2_r9"): lu_ba(acts="bbbbbb"),
    ("lu2017", "t2_r10"): lu_ba(acts="bbbbbb", io=(FIX, REAL)),
    ("lu2017", "t2_r11"): lu_ba(acts="bbbbbb", io=(REAL, REAL)),
    # Lu Table 3 (p = 0, k = 1; input/softmax fixed, first/last hidden sigmoid: Sec. 3.2)
    ("lu2017", "t3_baseline_1024"): lu(),
    ("lu2017", "t3_baseline_2048"): lu(width=2048),
    ("lu2017", "t3_bw_1024_pm1"): lu_bw(),
    ("lu2017", "t3_bw_1024_01"): lu_bw(wvalues="0,1"),
    ("lu2017", "t3_ba_1024_pm1"): lu_ba(),
    ("lu2017", "t3_ba_1024_01"): lu_ba(values="0,1"),
    ("lu2017", "t3_bnn_1024"): dict(lu_bw(), acts="sbbbbs", k=1, alpha=15.0),
    ("lu2017", "t3_ba_2048_pm1"): lu_ba(width=2048),
    ("lu2017", "t3_bw_2048_pm1"): lu_bw(width=2048),
    ("lu2017", "t3_bnn_2048"): dict(lu_bw(width=2048), acts="sbbbbs", k=1, alpha=15.0),
    # Lu Table 4 (AMI, 2048 units)
    ("lu2017", "t4_baseline"): lu(width=2048),
    ("lu2017", "t4_bw_p0"): lu_bw(width=2048),
    ("lu2017", "t4_bw_p0001"): lu_bw(width=2048, p=0.001),
    ("lu2017", "t4_bw_p001"): lu_bw(width=2048, p=0.01),
    ("lu2017", "t4_bw_p005"): lu_bw(width=2048, p=0.05),
    ("lu2017", "t4_ba_k1_pm1"): lu_ba(width=2048, k=1),
    ("lu2017", "t4_ba_k2_pm1"): lu_ba(width=2048, k=2),
    ("lu2017", "t4_ba_k3_pm1"): lu_ba(width=2048, k=3),
    ("lu2017", "t4_ba_k4_pm1"): lu_ba(width=2048, k=4),
    ("lu2017", "t4_ba_k1_01"): lu_ba(width=2048, k=1, values="0,1"),
    ("lu2017", "t4_ba_k2_01"): lu_ba(width=2048, k=2, values="0,1"),
    ("lu2017", "t4_ba_k3_01"): lu_ba(width=2048, k=3, values="0,1"),
    ("lu2017", "t4_bnn"): dict(lu_bw(width=2048), acts="sbbbbs", k=1, alpha=15.0),
    # Qian Table 5 (Table 4 DNN: 6 x 2048 sigmoid float; BDNN Alg. 2)
    ("qian2019", "t5_fpdnn"): lu(width=2048),
    ("qian2019", "t5_bdnn"): qian(),
    ("qian2019", "t5_bdnn_inbin"): qian(inp=BIN),
    ("qian2019", "t5_bdnn_nobn"): qian(bn=False),
    ("qian2019", "t5_fpdnn_3072"): lu(width=3072),
    ("qian2019", "t5_bdnn_3072"): qian(width=3072),
    # Table 6
    ("qian2019", "t6_fpcnn"): cnn(),
    ("qian2019", "t6_bcnn"): cnn(binary_conv=True, binary_fc=True),
    ("qian2019", "t6_bcnn_fpfc"): cnn(binary_conv=True),
    ("qian2019", "t6_fpvdcnn"): cnn(**VDCNN),
    ("qian2019", "t6_bvdcnn"): cnn(binary_conv=True, binary_fc=True, **VDCNN),
    # Table 7 (teacher FPDNN)
    ("qian2019", "t7_fpdnn"): lu(width=2048),
    ("qian2019", "t7_kd10"): qian(),
    ("qian2019", "t7_kd05"): qian(kd=("dnn_sigmoid_6x2048", 0.5)),
    ("qian2019", "t7_kd00"): qian(kd=("dnn_sigmoid_6x2048", 0.0)),
    # Table 8 (students of the FPDNN; BDNN-2048 = Table 7 lambda 0)
    ("qian2019", "t8_fpdnn"): lu(width=2048),
    ("qian2019", "t8_bdnn_2048"): qian(kd=("dnn_sigmoid_6x2048", 0.0)),
    ("qian2019", "t8_bdnn_3072"): qian(width=3072, kd=("dnn_sigmoid_6x2048", 0.0)),
    # Table 9 (teacher FPVDCNN)
    ("qian2019", "t9_fpcnn"): cnn(),
    ("qian2019", "t9_bcnn"): cnn(binary_conv=True, binary_fc=True),
    ("qian2019", "t9_bcnn_kd"): cnn(binary_conv=True, binary_fc=True, kd=("vdcnn_float", None)),
    ("qian2019", "t9_bcnn_fpfc"): cnn(binary_conv=True),
    ("qian2019", "t9_bcnn_fpfc_kd"): cnn(binary_conv=True, kd=("vdcnn_float", None)),
}


def _act_letter(post) -> str:
    if isinstance(post, BNHardTanhBinarize):
        return "h"
    act = post.act
    if isinstance(act, MaskedSign):
        return "b"
    name = type(act).__name__.lower()
    return {"sigmoid": "s", "relu": "relu"}.get(name, name)


def check(full_cfg: dict, exp: dict) -> list:
    """Differences between the model built from ``full_cfg`` and the expected row ``exp``."""
    bad = []
    cfg, tcfg = full_cfg["model"], full_cfg.get("train") or {}

    def eq(what, got, want):
        if got != want:
            bad.append(f"{what}: got {got!r}, expected {want!r}")

    if exp["kind"] == "dnn":
        input_dim = QIAN_INPUT if exp.get("binarizer") else LU_INPUT
    else:
        t, c, f = exp["input_shape"]
        input_dim = t * c * f
    with torch.device("meta"):
        model = build_model(cfg, input_dim, SENONES)
    blocks = list(model.blocks)
    eq("update policies", tuple(b.update for b in blocks), exp["update"])
    for b in blocks:   # binary policy <=> binarized kernel
        eq(f"{b.name} kernel binarized", b.affine.kernel_quantizer is not None, b.update == BIN)
    if exp["kind"] == "dnn":
        hidden = blocks[:-1]
        eq("pattern", "".join(_act_letter(b.post) for b in hidden), exp["acts"])
        eq("widths", [b.affine.out_features for b in hidden], [exp["width"]] * 6)
        eq("hidden batch-norm", [b.post.bn is not None for b in hidden], [exp["bn"]] * 6)
        eq("output batch-norm", blocks[-1].post.bn is not None, exp["out_bn"])
        eq("semi-stochastic p", [b.semi_stochastic_p for b in blocks],
           [exp["p"] if b.update == BIN else 0.0 for b in blocks])
        eq("grad clip alpha", [b.grad_clip for b in blocks],
           [None if (b.update == FIX or exp["alpha"] is None) else exp["alpha"] for b in blocks])
        masked = [b.post.act for b in hidden if isinstance(b.post.act, MaskedSign)]
        if exp["acts"].count("b"):
            eq("mask k", {q.k for q in masked}, {float(exp["k"])})
            eq("activation values", {q.values for q in masked}, {exp["values"]})
        if exp.get("binarizer"):
            want = StochasticSign if exp["binarizer"] == "stochastic" else SteSign
            eq("activation binarizer", {type(b.post.act.quantizer) for b in hidden}, {want})
    else:
        convs = [b for b in blocks if b.name.startswith("conv")]
        fcs = [b for b in blocks if b.name.startswith("fc")]
        eq("input shape (T, C, F)", model.input_shape, exp["input_shape"])
        eq("conv layers", [(b.affine.out_channels, tuple(b.affine.kernel_size),
                            None if b.pool is None else tuple(b.pool.kernel_size)) for b in convs],
           [(c, k, p) for c, k, p in exp["conv"]])
        eq("FC widths", [b.affine.out_features for b in fcs], exp["fc"])
        eq("FC input (conv output flattened)", fcs[0].affine.in_features, exp["fc_in"])
        eq("conv activations", {_act_letter(b.post) for b in convs}, {exp["conv_act"]})
        eq("FC activations", {_act_letter(b.post) for b in fcs}, {exp["fc_act"]})
        eq("conv batch-norm", {b.post.bn is not None for b in convs}, {exp["conv_act"] == "h"})
    # kernel binarizer values ((0,1) weights only in Lu Table 3's non-converged row)
    wq = [b.affine.kernel_quantizer for b in blocks if b.update == BIN]
    if wq:
        eq("weight binarizer", {(type(q), q.values) for q in wq}, {(Sign, exp.get("wvalues", "-1,1"))})
    init = tcfg.get("init_from")
    eq("init_from", init, exp.get("init"))
    kd = tcfg.get("kd")
    if exp.get("kd") is None:
        eq("knowledge distillation", kd, None)
    else:
        teacher, lam = exp["kd"]
        eq("KD teacher", (kd or {}).get("teacher"), teacher)
        if lam is not None:
            eq("KD lambda", float((kd or {}).get("lambda", -1)), lam)
    return bad


ROWS = [(p.key, r) for p, r in all_rows()]


def test_every_row_has_an_expectation():
    assert {(p, r.key) for p, r in ROWS} == set(EXPECTED)


@pytest.mark.parametrize("paper,row", ROWS, ids=[f"{p}-{r.key}" for p, r in ROWS])
def test_row_config_builds_the_rows_network(paper, row):
    full = load_config(os.path.join(NNET, f"{row.config}.yaml"))
    assert check(full, EXPECTED[(paper, row.key)]) == [], f"{row.config} vs {paper} {row.label}"


def test_a_wrong_config_fails():
    # the mismatches issue 14 found: lu_bnn was (b,b,b,b,b,b,d), binary-activation nets trained
    # their input/softmax layers, the CNN's FC layers were 1024 wide, the VDCNN had 4 pools
    bnn = load_config(os.path.join(NNET, "lu_bnn_alpha15.yaml"))
    bnn["model"]["pattern"] = "(b, b, b, b, b, b, delta)"
    bad = check(bnn, EXPECTED[("lu2017", "t3_bnn_1024")])
    assert bad == ["pattern: got 'bbbbbb', expected 'sbbbbs'"]
    ba = load_config(os.path.join(NNET, "lu_binary_act_k1_pm1.yaml"))
    ba["model"]["weights"] = {"input": "real", "hidden": "real", "output": "real"}
    assert check(ba, EXPECTED[("lu2017", "t2_r1")])[0].startswith("update policies: got ('real',")
    c = load_config(os.path.join(NNET, "cnn_float.yaml"))
    c["model"]["fc_dim"] = 1024
    assert check(c, EXPECTED[("qian2019", "t6_fpcnn")]) == [
        "FC widths: got [1024, 1024, 1024, 1024], expected [2048, 2048, 2048, 2048]"]
    v = load_config(os.path.join(NNET, "vdcnn_float.yaml"))
    v["model"]["conv"][3].pop("pool")
    v["model"]["num_fc"] = 2
    bad = check(v, EXPECTED[("qian2019", "t6_fpvdcnn")])
    assert any(b.startswith("conv layers:") for b in bad) and any(b.startswith("FC widths") for b in bad)
    # and a row that claims the wrong width
    assert check(load_config(os.path.join(NNET, "qian_bdnn.yaml")),
                 EXPECTED[("qian2019", "t5_bdnn_3072")])[0].startswith("widths: got [2048")


def _grid(path):
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, config, *opts = shlex.split(line)
        out.append((name, config, opts))
    return out


def test_paper_grid_runs_every_row_with_its_config():
    grid = _grid(os.path.join(REPO, "conf", "paper_grid.txt"))
    by_name = {}
    for name, config, opts in grid:
        assert os.path.isfile(os.path.join(NNET, f"{config}.yaml")), config
        assert by_name.setdefault(name, config) == config, f"{name}: two configs"
        for flag in ("--init-from", "--teacher"):
            if flag in opts:   # the model dir it names is trained earlier in the grid
                dep = re.sub(r"^exp/", "", opts[opts.index(flag) + 1])
                assert dep in by_name and dep != name, f"{name}: {flag} {dep} not trained before"
    for paper, row in ROWS:
        assert by_name.get(row.system) == row.config, f"{paper} {row.key}: {row.system}"
    # every Lu binary row initialises from the float baseline of its own width (Sec. 3.1)
    for name, config, opts in grid:
        init = load_config(os.path.join(NNET, f"{config}.yaml"))["train"].get("init_from")
        if init and "--init-from" in opts:
            dep = by_name[re.sub(r"^exp/", "", opts[opts.index("--init-from") + 1])]
            assert dep == init, (name, dep, init)


def test_width_scale_keeps_the_rows_ratios():
    with torch.device("meta"):
        for cfg, width in (("dnn_sigmoid_6x1024", 256), ("dnn_sigmoid_6x2048", 512),
                           ("qian_bdnn_3072", 768)):
            m = load_config(os.path.join(NNET, f"{cfg}.yaml"))["model"]
            m["width_scale"] = 0.25
            model = build_model(m, 40, 10)
            assert [b.affine.out_features for b in model.blocks[:-1]] == [width] * 6
        c = load_config(os.path.join(NNET, "cnn_float.yaml"))["model"]
        c.update(width_scale=0.125, conv_channel_scale=0.125)
        model = build_model(c, 1188, 10)
        assert [b.affine.out_features for b in model.blocks if b.name.startswith("fc")] == [256] * 4
