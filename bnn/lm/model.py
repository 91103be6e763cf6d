"""Word-level LSTM LM (Zaremba, Sutskever & Vinyals 2014 layout): embedding -> L LSTM layers ->
linear output layer (optionally tied to the embedding, Press & Wolf 2017), dropout between layers.

``binary=None`` is the float baseline.  With a :class:`BinaryConfig` the input embedding, the
output weight matrix and every LSTM ``W_ih``/``W_hh`` are binary with float scales
(:mod:`bnn.lm.binarize`); all biases stay real (Liu, Cao & Yu, NAACL 2018 binarize the
embeddings and LSTM weights; what else they kept real is not public, so this choice is ours).
"""
from dataclasses import asdict, dataclass, field
from typing import Dict, Optional

import torch
from torch import nn
from torch.nn import functional as F

from bnn.lm.binarize import BinaryWeight, clip_, validate
from bnn.utils.errors import BnnError


@dataclass
class BinaryConfig:
    """Which scale the binary matrices carry (see :mod:`bnn.lm.binarize`)."""
    scale: str = "learned"
    granularity: str = "matrix"

    def __post_init__(self):
        validate(self.scale, self.granularity)


@dataclass
class LMConfig:
    vocab_size: int
    emb_dim: int = 256
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.3
    tie: bool = False
    binary: Optional[BinaryConfig] = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LMConfig":
        d = dict(d)
        b = d.pop("binary", None)
        return cls(binary=BinaryConfig(**b) if b else None, **d)


class LSTMLM(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        if cfg.tie and cfg.emb_dim != cfg.hidden:
            raise BnnError(f"tied weights need emb_dim == hidden, got {cfg.emb_dim} and {cfg.hidden}")
        self.cfg = cfg
        v, e, h = cfg.vocab_size, cfg.emb_dim, cfg.hidden
        self.embedding = nn.Parameter(torch.empty(v, e).uniform_(-0.1, 0.1))
        self.lstm = nn.LSTM(e, h, cfg.layers, dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.out_weight = None if cfg.tie else nn.Parameter(torch.empty(v, h).uniform_(-0.1, 0.1))
        self.out_bias = nn.Parameter(torch.zeros(v))
        self.drop = nn.Dropout(cfg.dropout)
        self.binarizers = nn.ModuleDict()
        if cfg.binary is not None:
            for name, w in self.binary_latents().items():
                gates = 4 if name.startswith("lstm.") else 1
                q = BinaryWeight(tuple(w.shape), cfg.binary.scale, cfg.binary.granularity, gates)
                q.init_from(w)
                self.binarizers[name.replace(".", "__")] = q

    # -- which parameters are binary ------------------------------------------------------
    def binary_latents(self) -> Dict[str, nn.Parameter]:
        """Latent matrices that are binary when ``cfg.binary`` is set, by name."""
        out = {"embedding": self.embedding}
        if self.out_weight is not None:
            out["out_weight"] = self.out_weight
        for name, p in self.lstm.named_parameters():
            if name.startswith("weight_"):
                out["lstm." + name] = p
        return out

    def effective(self, name: str, w: torch.Tensor) -> torch.Tensor:
        if self.cfg.binary is None:
            return w
        return self.binarizers[name.replace(".", "__")](w)

    def clip_latents_(self) -> None:
        if self.cfg.binary is not None:
            for w in self.binary_latents().values():
                clip_(w)

    # -- forward ------------------------------------------------------------------------------
    def init_state(self, batch: int):
        z = self.out_bias.new_zeros(self.cfg.layers, batch, self.cfg.hidden)
        return (z, z.clone())

    def forward(self, x: torch.Tensor, state=None):
        """``x``: (T, B) word ids -> (logits (T, B, V), new state)."""
        emb_w = self.effective("embedding", self.embedding)
        h = self.drop(F.embedding(x, emb_w))
        if state is None:
            state = self.init_state(x.size(1))
        if self.cfg.binary is None:
            y, state = self.lstm(h, state)
        else:
            params = {n: (self.effective("lstm." + n, p) if n.startswith("weight_") else p)
                      for n, p in self.lstm.named_parameters()}
            y, state = torch.func.functional_call(self.lstm, params, (h, state))
        y = self.drop(y)
        out_w = emb_w if self.cfg.tie else self.effective("out_weight", self.out_weight)
        return F.linear(y, out_w, self.out_bias), state


def detach_state(state):
    return tuple(s.detach() for s in state)


def count_params(model: LSTMLM) -> int:
    return sum(p.numel() for p in model.parameters())
