"""Acoustic models built from the ``model:`` section of ``conf/nnet/*.yaml``.

:func:`build_model` ``(model_cfg, input_dim, num_pdfs)`` returns an :class:`AcousticModel`:
``forward(x[B, input_dim]) -> logits[B, num_pdfs]`` (pre-softmax).  A model is fully described by
``(model.config, model.input_dim, model.num_pdfs)`` plus its ``state_dict()``; nothing is pickled.

Structure (names the inference exporter relies on): ``model.blocks`` is an ``nn.ModuleList`` of
:class:`Block`; block ``i`` computes::

    x = x.flatten(1)                 # only the first fully connected block after the convolutions
    c = block.affine(x)              # BinaryLinear / BinaryConv2d; .weight latent float kernel,
                                     #   binarized in forward iff block.affine.kernel_quantizer
    y = block.post(c)                # BNActivation: optional block.post.bn, then block.post.act
    y = block.pool(y)                # MaxPool2d over (time, freq), convolutional blocks only

``block.name`` ("input", "hidden2", "conv1", "fc1", "output"), ``block.update`` ("real",
"binary", "fixed"), ``block.grad_clip`` and ``block.semi_stochastic_p`` are plain attributes.

CNN input: the Kaldi feature vector of one frame is a splice of ``2N+1`` frames (``N =
context``), each frame ``[static(bands), delta(bands), delta-delta(bands)]`` (add-deltas order,
``channels`` of them), so ``x`` is reshaped to ``(B, 2N+1, channels, bands)`` and permuted to
``(B, channels, 2N+1, bands)``: kernels and pools are written ``[time, freq]``.

The schema and the papers' settings are documented in ``conf/nnet/README.md``.
"""
import copy
import logging
import re
from typing import Optional

import torch
from torch import nn

from bnn.nn import hooks
from bnn.nn.layers import BinaryConv2d, BinaryLinear, BNActivation, BNHardTanhBinarize
from bnn.nn.quantizers import get_quantizer
from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)

UPDATE_POLICIES = ("real", "binary", "fixed")
FLOAT_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}
ACTIVATIONS = tuple(FLOAT_ACTIVATIONS) + ("binary", "hardtanh_binary")
PATTERN_SYMBOLS = {"sigma": "sigmoid", "σ": "sigmoid", "s": "sigmoid", "b": "binary",
                   "relu": "relu", "tanh": "tanh", "h": "hardtanh_binary"}
OUTPUT_SYMBOLS = ("delta", "δ")

COMMON_DEFAULTS = {
    "batchnorm": False,            # BN after each hidden affine (Qian Alg. 2-3)
    "output_batchnorm": False,     # BN on the output logits (Qian's binary output layer)
    "binary_activation": {"name": "masked_sign", "k": 1, "values": "-1,1"},
    "weight_quantizer": "sign",    # binarizer of kernels in blocks with update policy "binary"
    "weight_clip": 1.0,            # Lu Eq. 4 clip of latent kernels; null disables (warns)
    "binary_weight_scale": None,   # fixed H of W_b = H Sign(W): null (1), glorot, or a number
    "semi_stochastic_p": 0.0,      # Lu Alg. 1 lines 19-21
    "grad_clip_alpha": None,       # Lu Eq. 7, per layer
    "weight_init": "glorot",       # glorot (Glorot & Bengio 2010, gain per activation) | torch
    "width_scale": 1.0,            # multiplies hidden_dim / fc_dim: a recipe's scale-down factor
    "dropout": 0.0,                # dropout after each real-valued hidden activation (training
                                   # only; the float baselines on small corpora, issue 14 item 0)
}
DNN_DEFAULTS = dict(COMMON_DEFAULTS, **{
    "type": "dnn",
    "hidden_dim": 1024,
    "num_hidden": 6,
    "activation": "sigmoid",       # default activation of every hidden layer
    "pattern": None,               # Lu Table 2 notation, e.g. "(sigma, b, b, b, b, sigma, delta)"
    "weights": {"input": "real", "hidden": "real", "output": "real"},
})
CNN_DEFAULTS = dict(COMMON_DEFAULTS, **{
    "type": "cnn",
    "context": 5,                  # N: 2N+1 spliced frames
    "bands": 36,
    "channels": 3,                 # static, delta, delta-delta
    "conv": [{"channels": 256, "kernel": [8, 7], "pool": [1, 3]},
             {"channels": 256, "kernel": [4, 3]}],
    "conv_channel_scale": 1.0,     # multiplies every conv's channels (recipes shrink with it)
    "conv_activation": "relu",
    "conv_batchnorm": False,
    "fc_dim": 1024,
    "num_fc": 4,
    "fc_activation": "relu",
    "binary_activation": {"name": "stochastic_sign"},
    "weights": {"input": "real", "conv": "real", "fc": "real", "output": "real"},
})
DEFAULTS = {"dnn": DNN_DEFAULTS, "cnn": CNN_DEFAULTS}
CONV_KEYS = {"channels", "kernel", "padding", "pool"}


class Block(nn.Module):
    """One layer: ``pool(post(affine(flatten?(x))))``; see the module docstring."""

    def __init__(self, name: str, affine: nn.Module, post: BNActivation,
                 pool: Optional[nn.Module] = None, flatten: bool = False, update: str = "real",
                 grad_clip: Optional[float] = None, semi_stochastic_p: float = 0.0):
        super().__init__()
        self.name = name
        self.affine = affine
        self.post = post
        self.pool = pool
        self.flatten = flatten
        self.update = update
        self.grad_clip = None if grad_clip is None else float(grad_clip)
        self.semi_stochastic_p = float(semi_stochastic_p or 0.0)

    def forward(self, x):
        if self.flatten:
            x = x.flatten(1)
        x = self.post(self.affine(x))
        if self.pool is not None:
            x = self.pool(x)
        return x

    def extra_repr(self):
        return (f"name={self.name}, update={self.update}, grad_clip={self.grad_clip}, "
                f"semi_stochastic_p={self.semi_stochastic_p}")


class AcousticModel(nn.Module):
    """Frame classifier ``x[B, input_dim] -> logits[B, num_pdfs]`` made of :class:`Block` s.

    Attributes: ``config`` (the normalised ``model:`` mapping, defaults filled in),
    ``input_dim``, ``num_pdfs``, ``blocks``, ``input_shape`` (``None`` for DNNs, ``(T, C, F)``
    for CNNs).
    """

    def __init__(self, config: dict, input_dim: int, num_pdfs: int, blocks, input_shape=None):
        super().__init__()
        self.config = copy.deepcopy(config)
        self.input_dim = int(input_dim)
        self.num_pdfs = int(num_pdfs)
        self.input_shape = input_shape
        self.blocks = nn.ModuleList(blocks)
        hooks.freeze_fixed_(self.blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.input_dim:
            raise BnnError(f"model input: expected (batch, {self.input_dim}) features, "
                           f"got {tuple(x.shape)}")
        if self.input_shape is not None:
            t, c, f = self.input_shape
            x = x.reshape(x.shape[0], t, c, f).permute(0, 2, 1, 3)
        for block in self.blocks:
            x = block(x)
        return x

    # ----- training hooks (called by bnn.train.trainer) -----
    def before_optimizer_step(self) -> None:
        """Per-layer gradient-norm clipping (Lu Eq. 7) where ``grad_clip_alpha`` is set."""
        hooks.clip_grad_norms_(self.blocks)

    def after_optimizer_step(self, generator: torch.Generator) -> None:
        """Clip binary latent kernels to [-1, 1] (Lu Eq. 4), then semi-stochastic binarization
        with probability ``semi_stochastic_p`` (Lu Alg. 1 lines 19-21) drawn from ``generator``."""
        hooks.clip_weights_(self.blocks)
        hooks.semi_stochastic_binarize_(self.blocks, generator)

    def binary_blocks(self):
        return [b for b in self.blocks if b.update == "binary"]

    # ----- batch-norm statistics for the deterministic (evaluation) network -----
    def has_stochastic_binarizer(self) -> bool:
        from bnn.nn.quantizers import StochasticSign
        return any(isinstance(m, StochasticSign) for m in self.modules())

    @torch.no_grad()
    def reestimate_bn_stats_(self, batches, max_frames: Optional[int] = None) -> int:
        """Recompute every batch-norm layer's running mean/variance on ``batches`` (an iterable
        of input tensors ``x[B, input_dim]``) with the binarizers in evaluation mode.

        Why: with Qian & Xiang's stochastic binarizer (Eq. 9) a unit's training-time output is
        ``+1`` with probability ``Phi(a)``, so ``E[Binarize(a)] = 2 Phi(a) - 1``, while at test
        time it is ``Sign(a)`` (Eq. 8).  The running statistics that batch-norm collects in
        training (Ioffe & Szegedy 2015; Qian Eq. 11-12 folds them into the deployed threshold)
        therefore describe the next layer's input under noise the test network never sees.
        Here the statistics are the plain (cumulative, ``momentum=None``) average over the given
        frames of the deterministic network, layer by layer in one pass (each BN layer sees the
        outputs of the already re-estimated layers below it, because a forward in train mode
        normalises with the batch's own statistics, as in training).  Returns the frames used.
        The module is left in evaluation mode.
        """
        bns = [m for m in self.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not bns:
            return 0
        saved = [(bn.momentum, bn.training) for bn in bns]
        self.eval()
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
            bn.train()
        frames = 0
        try:
            for x in batches:
                if max_frames is not None and frames >= max_frames:
                    break
                if max_frames is not None:
                    x = x[:max_frames - frames]
                if x.shape[0] < 2:
                    continue
                self(x)
                frames += int(x.shape[0])
        finally:
            for bn, (momentum, _) in zip(bns, saved):
                bn.momentum = momentum
            self.eval()
        if frames == 0:
            raise BnnError("batch-norm re-estimation: no frames (need batches of >= 2 frames)")
        return frames

    # ----- initialisation from a float baseline (Lu Sec. 3.1) -----
    def load_init(self, state_dict: dict, source: str = "init model") -> None:
        """Initialise from a trained model of the same layer shapes (e.g. the float baseline).

        Affine kernels and biases must be present with equal shapes; batch-norm entries absent
        from ``state_dict`` keep their fresh values; entries of ``state_dict`` this model lacks
        are ignored (logged).  Blocks with update policy ``fixed`` then get requires_grad=False.
        Raises BnnError naming every missing key or mismatched shape.
        """
        if state_dict and all(k.startswith("module.") for k in state_dict):
            state_dict = {k[len("module."):]: v for k, v in state_dict.items()}
        own = self.state_dict()
        missing, mismatched, new = [], [], {}
        for key, value in own.items():
            if key not in state_dict:
                if ".post.bn." not in key:
                    missing.append(key)
                continue
            theirs = state_dict[key]
            if tuple(theirs.shape) != tuple(value.shape):
                mismatched.append(f"{key} {tuple(theirs.shape)} vs {tuple(value.shape)}")
            else:
                new[key] = theirs
        if mismatched or missing:
            parts = []
            if mismatched:
                parts.append("shape mismatch (init vs model): " + ", ".join(mismatched))
            if missing:
                parts.append("missing: " + ", ".join(missing))
            raise BnnError(f"{source}: cannot initialise model: " + "; ".join(parts))
        extra = sorted(set(state_dict) - set(own))
        if extra:
            log.warning("%s: ignoring %d entries the model lacks: %s", source, len(extra),
                        ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else ""))
        with torch.no_grad():
            for key, value in new.items():
                own[key].copy_(value.to(own[key].device, own[key].dtype))
        hooks.freeze_fixed_(self.blocks)


# ----------------------------------------------------------------------------- builders
def _normalise(model_cfg: dict) -> dict:
    if not isinstance(model_cfg, dict):
        raise BnnError(f"model config: expected a mapping, got {type(model_cfg).__name__}")
    kind = model_cfg.get("type", "dnn")
    if kind not in DEFAULTS:
        raise BnnError(f"model config: unknown type {kind!r} (known: {', '.join(DEFAULTS)})")
    defaults = DEFAULTS[kind]
    unknown = sorted(set(model_cfg) - set(defaults))
    if unknown:
        raise BnnError(f"model config: unknown key(s) {', '.join(unknown)} for type {kind}")
    cfg = copy.deepcopy(defaults)
    for key, value in model_cfg.items():
        if key == "weights":
            if not isinstance(value, dict):
                raise BnnError("model config: 'weights' must map layer groups to update policies")
            bad = sorted(set(value) - set(defaults["weights"]))
            if bad:
                raise BnnError(f"model config: weights: unknown layer group(s) {', '.join(bad)}"
                               f" (known: {', '.join(defaults['weights'])})")
            cfg["weights"].update(value)
        else:
            cfg[key] = copy.deepcopy(value)
    for group, policy in cfg["weights"].items():
        if policy not in UPDATE_POLICIES:
            raise BnnError(f"model config: weights.{group}: {policy!r} is not one of "
                           f"{', '.join(UPDATE_POLICIES)}")
    return cfg


def parse_pattern(pattern: str, num_hidden: int) -> list:
    """Lu Table 2 notation ``"(sigma, b, b, b, b, sigma, delta)"`` -> hidden activation names.

    One symbol per hidden layer: ``sigma``/``σ`` (sigmoid), ``b`` (binary activation,
    ``binary_activation``), ``relu``, ``tanh``, ``h`` (BN-free HardTanh+Binarize); an optional
    final ``delta``/``δ`` stands for the softmax output layer.
    """
    text = str(pattern).strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    symbols = [s for s in re.split(r"[,\s]+", text.strip()) if s]
    if symbols and symbols[-1].lower() in OUTPUT_SYMBOLS:
        symbols = symbols[:-1]
    acts = []
    for sym in symbols:
        key = sym if sym == "σ" else sym.lower()
        if key not in PATTERN_SYMBOLS:
            raise BnnError(f"model config: pattern {pattern!r}: unknown symbol {sym!r} "
                           f"(use sigma, b, relu, tanh, h; delta last for the output layer)")
        acts.append(PATTERN_SYMBOLS[key])
    if len(acts) != num_hidden:
        raise BnnError(f"model config: pattern {pattern!r} has {len(acts)} hidden-layer symbols "
                       f"but num_hidden is {num_hidden}")
    return acts


def _post(activation: str, width: int, batchnorm: bool, cfg: dict, conv: bool) -> BNActivation:
    if activation in FLOAT_ACTIVATIONS:
        return BNActivation(width, batchnorm, FLOAT_ACTIVATIONS[activation](), conv=conv,
                            dropout=_dropout(cfg))
    if activation == "binary":          # Lu Alg. 2: h = Sign(h_hat), masked gradient
        return BNActivation(width, batchnorm, get_quantizer(cfg["binary_activation"]), conv=conv)
    if activation == "hardtanh_binary":  # Qian Alg. 2-3
        return BNHardTanhBinarize(width, batchnorm, cfg["binary_activation"], conv=conv)
    raise BnnError(f"model config: unknown activation {activation!r} "
                   f"(known: {', '.join(ACTIVATIONS)})")


def _dropout(cfg: dict) -> float:
    p = cfg["dropout"]
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise BnnError(f"model config: dropout must be a number in [0, 1), got {p!r}")
    return float(p)


def _kernel_args(policy: str, cfg: dict) -> dict:
    if policy == "binary":
        return {"kernel_quantizer": cfg["weight_quantizer"], "kernel_clip": cfg["weight_clip"],
                "kernel_scale": cfg["binary_weight_scale"]}
    return {"kernel_quantizer": None, "kernel_clip": None}


def _block_args(policy: str, cfg: dict) -> dict:
    return {"update": policy,
            "grad_clip": None if policy == "fixed" else cfg["grad_clip_alpha"],
            "semi_stochastic_p": cfg["semi_stochastic_p"] if policy == "binary" else 0.0}


def _positive_int(cfg, key, minimum=1):
    value = cfg[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise BnnError(f"model config: {key} must be an integer >= {minimum}, got {value!r}")
    return value


def _scaled_width(cfg: dict, key: str) -> int:
    """``cfg[key]`` times ``width_scale`` (rounded, at least 1): recipes on small corpora shrink
    every paper row by one factor in their size file, so the rows keep their width ratios
    (1024 : 2048 : 3072) and the row's own config keeps the paper's size."""
    width = _positive_int(cfg, key)
    scale = cfg["width_scale"]
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise BnnError(f"model config: width_scale must be a positive number, got {scale!r}")
    return max(1, int(round(width * float(scale))))


def _build_dnn(cfg: dict, input_dim: int, num_pdfs: int):
    num_hidden = _positive_int(cfg, "num_hidden", 0)
    width = _scaled_width(cfg, "hidden_dim")
    if cfg["pattern"] is not None:
        acts = parse_pattern(cfg["pattern"], num_hidden)
    else:
        acts = [cfg["activation"]] * num_hidden
    blocks, dim = [], input_dim
    for i, act in enumerate(acts):
        group = "input" if i == 0 else "hidden"
        policy = cfg["weights"][group]
        affine = BinaryLinear(dim, width, **_kernel_args(policy, cfg))
        blocks.append(Block("input" if i == 0 else f"hidden{i + 1}", affine,
                            _post(act, width, cfg["batchnorm"], cfg, conv=False),
                            **_block_args(policy, cfg)))
        dim = width
    policy = cfg["weights"]["output"]
    blocks.append(Block("output", BinaryLinear(dim, num_pdfs, **_kernel_args(policy, cfg)),
                        BNActivation(num_pdfs, cfg["output_batchnorm"], None),
                        **_block_args(policy, cfg)))
    return blocks, None


def _pair(value, what):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    raise BnnError(f"model config: {what} must be an integer or [time, freq], got {value!r}")


def _build_cnn(cfg: dict, input_dim: int, num_pdfs: int):
    context = _positive_int(cfg, "context", 0)
    bands, channels = _positive_int(cfg, "bands"), _positive_int(cfg, "channels")
    frames = 2 * context + 1
    expected = frames * channels * bands
    if input_dim != expected:
        raise BnnError(f"model config: input_dim {input_dim} does not match context {context} "
                       f"({frames} frames) x channels {channels} x bands {bands} = {expected}")
    if not isinstance(cfg["conv"], list) or not cfg["conv"]:
        raise BnnError("model config: cnn needs a non-empty 'conv' list")
    scale = float(cfg["conv_channel_scale"])
    blocks, c_in, t, f = [], channels, frames, bands
    for i, layer in enumerate(cfg["conv"]):
        name = f"conv{i + 1}"
        if not isinstance(layer, dict) or set(layer) - CONV_KEYS or "channels" not in layer \
                or "kernel" not in layer:
            raise BnnError(f"model config: conv[{i}] must be a mapping with channels, kernel "
                           f"(and optional padding, pool), got {layer!r}")
        c_out = max(1, int(round(layer["channels"] * scale)))
        kt, kf = _pair(layer["kernel"], f"{name} kernel")
        pt, pf = _pair(layer.get("padding", 0), f"{name} padding")
        policy = cfg["weights"]["input" if i == 0 else "conv"]
        affine = BinaryConv2d(c_in, c_out, (kt, kf), padding=(pt, pf), **_kernel_args(policy, cfg))
        t, f = t + 2 * pt - kt + 1, f + 2 * pf - kf + 1
        pool = None
        if layer.get("pool"):
            qt, qf = _pair(layer["pool"], f"{name} pool")
            pool = nn.MaxPool2d((qt, qf))
            t, f = (t // qt, f // qf) if t > 0 and f > 0 else (t, f)
        if t < 1 or f < 1:
            raise BnnError(f"model config: {name}: output size {t}x{f} (time x freq) is empty "
                           f"for a {frames}x{bands} input; reduce kernel/pool sizes")
        blocks.append(Block(name, affine, _post(cfg["conv_activation"], c_out,
                                                cfg["conv_batchnorm"], cfg, conv=True),
                            pool=pool, **_block_args(policy, cfg)))
        c_in = c_out
    dim = c_in * t * f
    num_fc, width = _positive_int(cfg, "num_fc", 0), _scaled_width(cfg, "fc_dim")
    for i in range(num_fc):
        policy = cfg["weights"]["fc"]
        blocks.append(Block(f"fc{i + 1}", BinaryLinear(dim, width, **_kernel_args(policy, cfg)),
                            _post(cfg["fc_activation"], width, cfg["batchnorm"], cfg, conv=False),
                            flatten=(i == 0), **_block_args(policy, cfg)))
        dim = width
    policy = cfg["weights"]["output"]
    blocks.append(Block("output", BinaryLinear(dim, num_pdfs, **_kernel_args(policy, cfg)),
                        BNActivation(num_pdfs, cfg["output_batchnorm"], None),
                        flatten=(num_fc == 0), **_block_args(policy, cfg)))
    return blocks, (frames, channels, bands)


def build_model(model_cfg: dict, input_dim: int, num_pdfs: int) -> AcousticModel:
    """Build the model described by ``model_cfg`` (a config's ``model:`` section).

    ``input_dim`` is the spliced feature dimension, ``num_pdfs`` the output size.  Raises
    BnnError (one line) for unknown keys, bad values or an input_dim that does not match a CNN's
    context x channels x bands.
    """
    if int(num_pdfs) < 1 or int(input_dim) < 1:
        raise BnnError(f"model: input_dim {input_dim} and num_pdfs {num_pdfs} must be positive")
    cfg = _normalise(model_cfg)
    builder = _build_dnn if cfg["type"] == "dnn" else _build_cnn
    blocks, input_shape = builder(cfg, int(input_dim), int(num_pdfs))
    model = AcousticModel(cfg, input_dim, num_pdfs, blocks, input_shape)
    init_weights(model, cfg["weight_init"])
    return model


# Glorot & Bengio 2010 uniform init, U(-g sqrt(6 / (fan_in + fan_out)), +...), with the gain g
# of the layer's activation: 4 for sigmoid (its slope at 0 is 1/4), 5/3 tanh, sqrt(2) ReLU, 1
# otherwise (binary/HardTanh, output).  PyTorch's default (Kaiming-uniform with a = sqrt(5))
# shrinks the signal of deep sigmoid stacks so much that 6-layer sigmoid DNNs without RBM
# pre-training do not leave the silence-only solution in the first epochs.
INIT_GAINS = {nn.Sigmoid: 4.0, nn.Tanh: 5.0 / 3.0, nn.ReLU: 2.0 ** 0.5}


def init_weights(model: "AcousticModel", scheme: str) -> None:
    """Initialise every block's kernel (and zero its bias) by ``scheme``."""
    if scheme == "torch":
        return
    if scheme != "glorot":
        raise BnnError(f"model config: weight_init {scheme!r} is not glorot or torch")
    with torch.no_grad():
        for block in model.blocks:
            act = getattr(block.post, "act", None)
            gain = INIT_GAINS.get(type(act), 1.0)
            nn.init.xavier_uniform_(block.affine.weight, gain=gain)
            if block.affine.kernel_clip is not None:
                block.affine.weight.clamp_(-block.affine.kernel_clip, block.affine.kernel_clip)
            if block.affine.bias is not None:
                block.affine.bias.zero_()
