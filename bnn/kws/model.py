"""D-FSMN keyword spotter (BiFSMN/BiFSMNv2 architecture of the released code) with thinnable depth.

Input ``(B, 32, 32)`` features (time x mel), normalised with the training set's per-bin mean and
standard deviation (buffers of the model).  Layers (``mode`` binarizes the marked ones, see
:mod:`bnn.kws.binarize`; the others stay real):

1. ``Conv2d(1->16, 5x5, stride 2, pad 2) + BN + PReLU`` (real);
   ``Conv2d(16->32, 5x5, stride 2, pad 2) + BN + PReLU`` (**binary**) -> ``(B, 32 x 8, T=8)``
   (channel-major ``c * 8 + f``);
2. ``Linear(256->128)`` as a 1x1 convolution ``+ PReLU`` (**binary**);
3. ``L`` D-FSMN layers on ``x`` (B x memory x T): memory
   ``m = PReLU(BN(DWConv_k(x))) + x`` with a depthwise kernel of ``lorder + rorder + 1`` taps
   (look-back 2, look-ahead 2, zero padding, **binary**), then
   ``y = PReLU_o(BN_o(Conv1x1(hidden->memory)(Dropout(PReLU(BN(Conv1x1(memory->hidden)(m))))))) + m``
   (both 1x1 convolutions **binary**), with a separate ``BN_o``/``PReLU_o`` per thinning option
   ``o`` (switchable batch-norm);
4. ``Dropout + Linear(memory * 8 -> classes)`` (real).

Thinnable depth (BiFSMNv2's Thinnable 1-bit Architecture): option ``o`` runs the layers ``j``
(0-based) with ``(j + 1) % 2^o == 0`` -- for 8 layers o=0 all, o=1 {1,3,5,7}, o=2 {3,7}, o=3 {7}
-- and skips the others (identity).
"""
from typing import List

import torch
from torch import nn

from bnn.kws.binarize import BConv1d, BConv2d
from bnn.utils.errors import BnnError

DEFAULTS = {"mode": "float", "num_layers": 8, "hidden": 256, "memory": 128, "lorder": 2,
            "rorder": 2, "dropout": 0.1, "num_options": 4, "frames": 32, "bins": 32}


def kept_layers(num_layers: int, option: int) -> List[int]:
    """0-based indices of the layers thinning option ``option`` runs."""
    step = 2 ** option
    return [j for j in range(num_layers) if (j + 1) % step == 0]


class FSMNLayer(nn.Module):
    def __init__(self, memory, hidden, lorder, rorder, mode, dropout, num_options):
        super().__init__()
        self.lorder, self.rorder = lorder, rorder
        self.mem_conv = BConv1d(memory, memory, lorder + rorder + 1, mode=mode, groups=memory,
                                bias=False)
        self.mem_bn = nn.BatchNorm1d(memory)
        self.mem_act = nn.PReLU(memory)
        self.expand = BConv1d(memory, hidden, 1, mode=mode)
        self.exp_bn = nn.BatchNorm1d(hidden)
        self.exp_act = nn.PReLU(hidden)
        self.drop = nn.Dropout(dropout)
        self.project = BConv1d(hidden, memory, 1, mode=mode)
        self.out_bn = nn.ModuleList(nn.BatchNorm1d(memory) for _ in range(num_options))
        self.out_act = nn.ModuleList(nn.PReLU(memory) for _ in range(num_options))

    def memory(self, x):
        # zero padding of the binarized input: BConv1d binarizes, then pads (look-back, look-ahead)
        xb = self.mem_conv.act(x)
        xb = nn.functional.pad(xb, (self.lorder, self.rorder))
        h = nn.functional.conv1d(xb, self.mem_conv.binary_weight(), None, groups=xb.shape[1])
        return self.mem_act(self.mem_bn(h)) + x

    def forward(self, x, option=0):
        m = self.memory(x)
        h = self.drop(self.exp_act(self.exp_bn(self.expand(m))))
        return self.out_act[option](self.out_bn[option](self.project(h))) + m


class DFSMN(nn.Module):
    def __init__(self, num_classes: int, **cfg):
        super().__init__()
        unknown = set(cfg) - set(DEFAULTS)
        if unknown:
            raise BnnError(f"unknown D-FSMN options {sorted(unknown)}; known {sorted(DEFAULTS)}")
        c = dict(DEFAULTS, **cfg)
        self.cfg = dict(c, num_classes=num_classes)
        mode = c["mode"]
        if c["frames"] % 4 or c["bins"] % 4:
            raise BnnError("D-FSMN: frames and bins must be multiples of 4")
        self.register_buffer("feat_mean", torch.zeros(c["bins"]))
        self.register_buffer("feat_std", torch.ones(c["bins"]))
        self.conv1 = nn.Conv2d(1, 16, 5, stride=2, padding=2)
        self.bn1 = nn.BatchNorm2d(16)
        self.act1 = nn.PReLU(16)
        self.conv2 = BConv2d(16, 32, 5, mode=mode, stride=2, padding=2)
        self.bn2 = nn.BatchNorm2d(32)
        self.act2 = nn.PReLU(32)
        self.t_out = c["frames"] // 4
        in_dim = 32 * (c["bins"] // 4)
        self.linear = BConv1d(in_dim, c["memory"], 1, mode=mode)
        self.lin_act = nn.PReLU(c["memory"])
        self.layers = nn.ModuleList(
            FSMNLayer(c["memory"], c["hidden"], c["lorder"], c["rorder"], mode, c["dropout"],
                      c["num_options"]) for _ in range(c["num_layers"]))
        self.drop = nn.Dropout(c["dropout"])
        self.classifier = nn.Linear(c["memory"] * self.t_out, num_classes)

    @property
    def num_options(self) -> int:
        return self.cfg["num_options"]

    def frontend(self, feats):
        x = (feats - self.feat_mean) / self.feat_std
        x = self.act1(self.bn1(self.conv1(x.unsqueeze(1))))
        x = self.act2(self.bn2(self.conv2(x)))                  # (B, 32, T/4, F/4)
        b, c, t, f = x.shape
        x = x.permute(0, 1, 3, 2).reshape(b, c * f, t)          # (B, 32 * F/4, T/4)
        return self.lin_act(self.linear(x))

    def forward(self, feats, option: int = 0, return_feats: bool = False):
        if not 0 <= option < self.num_options:
            raise BnnError(f"thinning option {option} out of range 0..{self.num_options - 1}")
        x = self.frontend(feats)
        keep = set(kept_layers(len(self.layers), option))
        hidden = []
        for j, layer in enumerate(self.layers):
            if j in keep:
                x = layer(x, option)
                hidden.append((j, x))
        logits = self.classifier(self.drop(x.flatten(1)))
        return (logits, hidden) if return_feats else logits


def init_from_teacher(student: DFSMN, teacher: DFSMN) -> None:
    """Copy the teacher's weights into the student (the extra binarizer parameters keep their
    initial values); the teacher's option-0 output BN/PReLU initialise every option."""
    sd = teacher.state_dict()
    own = student.state_dict()
    new = {}
    for k, v in own.items():
        src = k
        if ".out_bn." in k or ".out_act." in k:
            parts = k.split(".")
            i = parts.index("out_bn" if ".out_bn." in k else "out_act")
            parts[i + 1] = "0"
            src = ".".join(parts)
        new[k] = sd[src].clone() if src in sd and sd[src].shape == v.shape else v
    student.load_state_dict(new)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
