"""Checkpoints: plain dicts of tensors and primitives, always loaded with ``weights_only=True``.

``final.pt`` of a model dir holds everything needed to run the net (no pickled objects):
``{"format": "bnn-nnet-v1", "config": {...}, "input_dim": D, "num_pdfs": P,
"state_dict": {...}, "input_mean": T[D], "input_std": T[D], "feature_opts": {...}}``.
Per-epoch checkpoints add the optimizer, schedule, RNG states and history for ``--resume``.
"""
import os

import torch

from bnn.utils.errors import BnnError

FORMAT = "bnn-nnet-v1"


def save(obj: dict, path: str) -> None:
    """Save atomically (write a temp file, then rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load(path: str) -> dict:
    """Load a checkpoint without unpickling arbitrary objects."""
    if not os.path.isfile(path):
        raise BnnError(f"{path}: checkpoint not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for corrupt files
        raise BnnError(f"{path}: not a readable bnn checkpoint ({type(err).__name__})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise BnnError(f"{path}: not a bnn checkpoint (format tag missing)")
    return obj
