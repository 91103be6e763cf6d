"""Model size from the bits actually stored, and a bit-packed export.

Storage formula (this module is the one place it is computed)::

    stored_bits = N_bin * 1 + (N_scale + N_real) * 32
    float_bits  = (N_bin + N_real) * 32          (the same architecture with every weight float)
    compression = float_bits / stored_bits

``N_bin``: weights of binary matrices (embedding, output layer, LSTM ``W_ih``/``W_hh``; one bit
each); ``N_scale``: their float scales (one per matrix, gate or row); ``N_real``: real parameters
(all biases; every parameter of a float model).  The export (:func:`export_packed`) writes exactly
these payloads: each binary matrix as ``np.packbits(Sign(w) > 0)`` (``ceil(n/8)`` bytes) plus
float32 scales and real parameters, so its payload bytes are
``sum_m ceil(N_bin,m / 8) + 4 (N_scale + N_real)`` (= stored_bits / 8 when every binary matrix
has a multiple of 8 weights).  The file adds the .npz/.npy headers and a JSON config.
"""
import json
import math
import os
import zipfile
from dataclasses import dataclass
from typing import Dict

import numpy as np
import torch

from bnn.lm.model import LMConfig, LSTMLM
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write


@dataclass
class Storage:
    n_binary: int
    n_scale: int
    n_real: int
    binary_sizes: tuple

    @property
    def stored_bits(self) -> int:
        return self.n_binary + 32 * (self.n_scale + self.n_real)

    @property
    def float_bits(self) -> int:
        return 32 * (self.n_binary + self.n_real)

    @property
    def compression(self) -> float:
        return self.float_bits / self.stored_bits

    @property
    def payload_bytes(self) -> int:
        return sum(math.ceil(n / 8) for n in self.binary_sizes) + 4 * (self.n_scale + self.n_real)


def storage(model: LSTMLM) -> Storage:
    """Counts of the storage formula for ``model`` (see module docstring)."""
    latents = model.binary_latents() if model.cfg.binary is not None else {}
    bin_ids = {id(p) for p in latents.values()}
    n_bin = sum(p.numel() for p in latents.values())
    n_scale = sum(q.num_scales() for q in model.binarizers.values())
    n_real = sum(p.numel() for n, p in model.named_parameters()
                 if id(p) not in bin_ids and not n.startswith("binarizers."))
    return Storage(n_bin, n_scale, n_real, tuple(p.numel() for p in latents.values()))


def export_packed(model: LSTMLM, path: str) -> Storage:
    """Write ``model`` with 1 bit per binary weight (see module docstring); returns its :class:`Storage`."""
    cfg = model.cfg.to_dict()
    arrays: Dict[str, np.ndarray] = {}
    latents = model.binary_latents() if model.cfg.binary is not None else {}
    bin_ids = {id(p) for p in latents.values()}
    for name, w in latents.items():
        q = model.binarizers[name.replace(".", "__")]
        arrays["bin/" + name] = np.packbits(q.binary(w).numpy().reshape(-1) > 0)
        arrays["scale/" + name] = q.current_alpha(w).detach().to(torch.float32).numpy().copy()
    for name, p in model.named_parameters():
        if id(p) not in bin_ids and not name.startswith("binarizers."):
            arrays["real/" + name] = p.detach().to(torch.float32).numpy().copy()
    if model.cfg.binary is not None:
        gran = "matrix" if model.cfg.binary.scale == "const" else model.cfg.binary.granularity
        cfg["binary"] = {"scale": "stored", "granularity": gran}
    arrays["config"] = np.frombuffer(json.dumps(cfg).encode(), dtype=np.uint8)
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)
    st = storage(model)
    payload = sum(a.nbytes for k, a in arrays.items() if k != "config")
    if payload != st.payload_bytes:  # the formula and the file must agree
        raise BnnError(f"{path}: payload {payload} bytes but the storage formula says {st.payload_bytes}")
    return st


def payload_bytes_of(path: str) -> int:
    """Bytes of the arrays (without headers and config) in an export."""
    with np.load(path) as z:
        return sum(z[k].nbytes for k in z.files if k != "config")


def load_packed(path: str) -> LSTMLM:
    """Rebuild the model written by :func:`export_packed` (binary matrices as ``alpha * (+-1)``)."""
    try:
        z = np.load(path)
        cfg = LMConfig.from_dict(json.loads(bytes(z["config"]).decode()))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise BnnError(f"{path}: not a packed LM export ({err})") from None
    model = LSTMLM(cfg)
    latents = model.binary_latents() if cfg.binary is not None else {}
    with torch.no_grad():
        for name, w in latents.items():
            bits = np.unpackbits(z["bin/" + name], count=w.numel())
            w.copy_(torch.from_numpy(bits.astype(np.float32) * 2 - 1).view_as(w))
            model.binarizers[name.replace(".", "__")].alpha.copy_(torch.from_numpy(z["scale/" + name]))
        params = dict(model.named_parameters())
        for key in z.files:
            if key.startswith("real/"):
                params[key[5:]].copy_(torch.from_numpy(z[key]))
    model.eval()
    return model


def file_bytes(path: str) -> int:
    return os.path.getsize(path)
