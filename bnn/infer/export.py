"""Compact deployment files for the packed engine (Qian & Xiang 2019, Section 4.2 "compacting").

File layout (all integers little-endian)::

    offset 0   8 bytes   magic b"BNNPACK1"
    offset 8   8 bytes   uint64 H: length of the JSON header
    offset 16  H bytes   UTF-8 JSON header (below)
    then zero padding to a multiple of 64, then the data section: every array at a 64-byte
    aligned offset (relative to the data section), raw C-order bytes

Header: ``{"format": "bnn-packed", "version": 1, "input_dim", "num_pdfs", "meta": {...},
"extra": {name: array-spec}, "layers": [{"name", "kind", "in_dim", "out_dim", "in_values",
"out_values", "act", "arrays": {name: array-spec}}]}`` with array-spec ``{"dtype", "shape",
"offset", "nbytes", "encoding"}``.  Encodings: ``"raw"`` (numpy dtype string, e.g. ``"<f4"``)
and ``"bits"`` for binary weight matrices: the ``(n, k)`` +/-1 matrix (after the row flips of the
fold) as ``np.packbits(bits.ravel(), bitorder="little")`` -- exactly ``ceil(n*k/8)`` bytes, 1 bit
per weight, no row padding; it is re-packed into 64-bit words and kernel panels at load time.

Stored per layer: binary hidden layers ``weight_bits`` (bits) + ``thr`` (int32 per unit); binary
output layers ``weight_bits`` + ``scale``/``bias`` (float32); float layers ``weight`` (float32,
``(k, n)``) + ``bias`` or ``tau`` (float32).  ``meta`` and ``extra`` carry what a caller wants
alongside (e.g. the input normalisation of the checkpoint).
"""
import json
import os

import numpy as np

from bnn.infer import packing
from bnn.infer.fold import FoldedLayer
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

MAGIC = b"BNNPACK1"
ALIGN = 64
FORMAT = "bnn-packed"
VERSION = 1


def _layer_arrays(L: FoldedLayer) -> dict:
    arrays = {}
    if L.kind == "binary":
        arrays["weight_bits"] = ("bits", packing.unpack_bits(L.weight_bits, L.in_dim))
        if L.out_bits:
            arrays["thr"] = ("raw", np.asarray(L.thr, dtype="<i4"))
        else:
            arrays["scale"] = ("raw", np.asarray(L.scale, dtype="<f4"))
            arrays["bias"] = ("raw", np.asarray(L.bias, dtype="<f4"))
    else:
        arrays["weight"] = ("raw", np.asarray(L.weight, dtype="<f4"))
        if L.out_bits:
            arrays["tau"] = ("raw", np.asarray(L.tau, dtype="<f4"))
        else:
            arrays["bias"] = ("raw", np.asarray(L.bias, dtype="<f4"))
    return arrays


def _encode(encoding: str, arr: np.ndarray):
    if encoding == "bits":
        data = np.packbits(arr.reshape(-1).astype(bool), bitorder="little").tobytes()
        return data, {"dtype": "bits", "shape": list(arr.shape), "encoding": "bits"}
    arr = np.ascontiguousarray(arr)
    return arr.tobytes(), {"dtype": arr.dtype.str, "shape": list(arr.shape), "encoding": "raw"}


def write_packed(layers, path: str, input_dim: int, num_pdfs: int, meta: dict = None,
                 extra: dict = None) -> dict:
    """Write ``layers`` to ``path`` atomically; return the size report (:func:`size_report`)."""
    blobs, offset = [], 0

    def add(encoding, arr):
        nonlocal offset
        data, spec = _encode(encoding, arr)
        pad = (-offset) % ALIGN
        blobs.append(b"\0" * pad)
        offset += pad
        spec.update(offset=offset, nbytes=len(data))
        blobs.append(data)
        offset += len(data)
        return spec

    header = {"format": FORMAT, "version": VERSION, "input_dim": int(input_dim),
              "num_pdfs": int(num_pdfs), "meta": meta or {}, "extra": {}, "layers": []}
    for L in layers:
        L.check()
        entry = {"name": L.name, "kind": L.kind, "in_dim": L.in_dim, "out_dim": L.out_dim,
                 "in_values": L.in_values, "out_values": L.out_values, "act": L.act, "arrays": {}}
        for name, (enc, arr) in _layer_arrays(L).items():
            entry["arrays"][name] = add(enc, arr)
        header["layers"].append(entry)
    for name, arr in (extra or {}).items():
        header["extra"][name] = add("raw", np.asarray(arr))
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    prefix = MAGIC + len(head).to_bytes(8, "little") + head
    prefix += b"\0" * ((-len(prefix)) % ALIGN)
    with atomic_write(path, "wb") as f:
        f.write(prefix)
        for b in blobs:
            f.write(b)
    return size_report(path)


def _read_header(path: str):
    if not os.path.isfile(path):
        raise BnnError(f"{path}: packed model not found")
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 16 or data[:8] != MAGIC:
        raise BnnError(f"{path}: not a bnn packed model (bad magic)")
    hlen = int.from_bytes(data[8:16], "little")
    try:
        header = json.loads(data[16:16 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BnnError(f"{path}: corrupt packed-model header") from None
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise BnnError(f"{path}: unsupported packed-model format {header.get('format')} "
                       f"v{header.get('version')}")
    base = 16 + hlen + ((-(16 + hlen)) % ALIGN)
    return header, data, base


def _decode(path, data, base, spec):
    start = base + int(spec["offset"])
    end = start + int(spec["nbytes"])
    if end > len(data):
        raise BnnError(f"{path}: truncated packed model (array ends at {end}, file has "
                       f"{len(data)} bytes)")
    raw = data[start:end]
    shape = tuple(spec["shape"])
    if spec["encoding"] == "bits":
        count = int(np.prod(shape))
        return np.unpackbits(np.frombuffer(raw, np.uint8), count=count,
                             bitorder="little").reshape(shape)
    return np.frombuffer(raw, dtype=np.dtype(spec["dtype"])).reshape(shape).copy()


def read_packed(path: str):
    """Read a deployment file: ``(layers, header)`` (``header["extra"]`` holds decoded arrays)."""
    header, data, base = _read_header(path)
    layers = []
    for entry in header["layers"]:
        arrs = {name: _decode(path, data, base, spec) for name, spec in entry["arrays"].items()}
        L = FoldedLayer(name=entry["name"], kind=entry["kind"], in_dim=int(entry["in_dim"]),
                        out_dim=int(entry["out_dim"]), in_values=entry["in_values"],
                        out_values=entry["out_values"], act=entry.get("act"))
        if L.kind == "binary":
            L.weight_bits = packing.pack_bits(arrs["weight_bits"])
            if L.out_bits:
                L.thr = arrs["thr"].astype(np.int64)
            else:
                L.scale = arrs["scale"].astype(np.float64)
                L.bias = arrs["bias"].astype(np.float64)
        else:
            L.weight = np.ascontiguousarray(arrs["weight"], dtype=np.float32)
            if L.out_bits:
                L.tau = arrs["tau"].astype(np.float32)
            else:
                L.bias = arrs["bias"].astype(np.float32)
        try:
            L.check()
        except BnnError as err:
            raise BnnError(f"{path}: {err}") from None
        layers.append(L)
    header["extra"] = {name: _decode(path, data, base, spec)
                       for name, spec in header.get("extra", {}).items()}
    return layers, header


def size_report(path: str) -> dict:
    """``{"total": file bytes, "layers": [(name, kind, bytes, bits per weight)], "header": bytes}``."""
    header, data, base = _read_header(path)
    rows = []
    for entry in header["layers"]:
        nbytes = sum(int(s["nbytes"]) for s in entry["arrays"].values())
        wbytes = sum(int(s["nbytes"]) for n, s in entry["arrays"].items()
                     if n in ("weight_bits", "weight"))
        nweights = int(entry["in_dim"]) * int(entry["out_dim"])
        rows.append({"name": entry["name"], "kind": entry["kind"], "bytes": nbytes,
                     "weight_bits_per_weight": 8.0 * wbytes / max(1, nweights)})
    return {"total": len(data), "header": base, "layers": rows}


def float_checkpoint_bytes(model) -> int:
    """Bytes of the model's float32 state (parameters + buffers), the size of a float checkpoint."""
    return int(sum(t.numel() * t.element_size() for t in model.state_dict().values()))


def export(model, path: str, meta: dict = None, extra: dict = None) -> dict:
    """Fold a torch DNN acoustic model and write its deployment file; return the size report
    with ``float_bytes`` (float32 state of the model) added."""
    from bnn.infer.engine import PackedModel

    packed = PackedModel.from_torch(model)
    report = write_packed(packed.layers, path, model.input_dim, model.num_pdfs, meta=meta,
                          extra=extra)
    report["float_bytes"] = float_checkpoint_bytes(model)
    return report


def format_report(report: dict, float_path: str = None) -> str:
    """Human-readable table: bytes per layer, total, ratio against the float checkpoint."""
    lines = [f"{'layer':<10} {'kind':<7} {'bytes':>12} {'bits/weight':>12}"]
    for r in report["layers"]:
        lines.append(f"{r['name']:<10} {r['kind']:<7} {r['bytes']:>12,d} "
                     f"{r['weight_bits_per_weight']:>12.3f}")
    lines.append(f"{'total':<10} {'file':<7} {report['total']:>12,d}  (header {report['header']:,d})")
    fb = report.get("float_bytes")
    if float_path and os.path.isfile(float_path):
        fb = os.path.getsize(float_path)
    if fb:
        lines.append(f"float checkpoint {fb:,d} bytes; packed file is 1/{fb / report['total']:.1f}")
    return "\n".join(lines)
