"""Speed and storage of the binary D-FSMN (BiFSMNv2) on the packed engine vs the float teacher.

All numbers come from one process and one thread count (``bnn-bench --kws``):

* latency per 1 s window at batch 1 (features excluded: both models take the same 32 x 32
  log-mel), best of ``repeats`` timing runs: the float D-FSMN teacher in torch ``eval()`` under
  ``inference_mode`` (its convolutions run on oneDNN, ``aten::mkldnn_convolution``), the binary
  student in torch (simulated binarization, for reference), and the packed model
  (:class:`bnn.kws.packed.PackedKWS`) at every thinning option;
* throughput in windows/s at batch ``--kws-batch`` (streaming with a hop: a batch of windows);
* model bytes: the teacher's float32 parameters and buffers used at inference (option 0), the
  packed model's deployment file (:meth:`PackedKWS.to_bytes`: weight bits, float16 constants,
  int8 classifier, JSON index; also the float32-constant file of option 0, whose predictions
  equal torch's); ratios are printed, and a per-tensor table of that file shows where its bytes
  go.

The packed model runs in one C call per batch (``bnn/kws/csrc/dfsmn.c``); the numpy path of the
same model is timed too, for reference.

Without trained models (``--kws-model``/``--kws-teacher``) the paper's D-FSMN (8 layers, hidden
256, memory 128, 12 classes) is built with random weights and batch-norm statistics: timing and
storage depend on the shapes only.
"""
import time

import numpy as np

from bnn.utils.errors import BnnError


def best_time(fn, repeats: int, min_time: float) -> float:
    """Best seconds per call over ``repeats`` runs of enough calls to last ``min_time``."""
    fn()
    t0 = time.perf_counter()
    fn()
    n = max(1, int(min_time / max(time.perf_counter() - t0, 1e-7)))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def inference_float_bytes(model, option: int = 0) -> int:
    """float32 bytes of the tensors a D-FSMN needs at ``option`` (no other options' BN/PReLU,
    no ``num_batches_tracked``)."""
    total = 0
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        parts = k.split(".")
        if ("out_bn" in parts or "out_act" in parts):
            i = parts.index("out_bn" if "out_bn" in parts else "out_act")
            if int(parts[i + 1]) != option:
                continue
        total += v.numel() * 4
    return total


def _random_models(classes=12):
    import torch
    from bnn.kws.model import DFSMN
    torch.manual_seed(0)
    teacher = DFSMN(classes, mode="float").eval()
    student = DFSMN(classes, mode="bifsmn").eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in student.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.normal_(0, 0.5, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
            if hasattr(m, "t0"):
                for t in (m.t0, m.t1, m.t2):
                    t.normal_(0, 0.1, generator=g)
    return teacher, student, 3


def run(teacher_path=None, model_path=None, repeats=7, min_time=0.05, batch=16,
        num_threads=1) -> list:
    """Table lines (markdown): the trained models when given, then always the paper-size
    random-weight D-FSMNs (timing and storage depend on the shapes only)."""
    out = []
    if model_path:
        out += _table(teacher_path, model_path, repeats, min_time, batch, num_threads) + [""]
    return out + _table(None, None, repeats, min_time, batch, num_threads)


def _table(teacher_path, model_path, repeats, min_time, batch, num_threads) -> list:
    import torch
    from bnn.kws.model import kept_layers
    from bnn.kws.packed import PackedKWS
    if bool(teacher_path) != bool(model_path):
        raise BnnError("give both --kws-teacher and --kws-model, or neither")
    if model_path:
        from bnn.kws.train import load_model
        teacher, _ = load_model(teacher_path)
        student, payload = load_model(model_path)
        options = int(payload.get("thin_options", 1))
        what = f"trained models {teacher_path} (float) and {model_path} (binary)"
    else:
        teacher, student, options = _random_models()
        what = "random-weight paper-size D-FSMNs (8 layers, hidden 256, memory 128)"
    if student.cfg["mode"] != "bifsmn":
        raise BnnError(f"{model_path}: the packed engine needs a BiFSMNv2 model")
    rng = np.random.default_rng(0)
    x1 = rng.standard_normal((1, 32, 32)).astype(np.float32) * 10 - 40
    xb = rng.standard_normal((batch, 32, 32)).astype(np.float32) * 10 - 40
    t1, tb = torch.from_numpy(x1), torch.from_numpy(xb)
    nl = teacher.cfg["num_layers"]
    models = [("float D-FSMN teacher, torch", nl, teacher, True, inference_float_bytes(teacher)),
              ("binary D-FSMN, torch (simulated)", nl, student, True,
               inference_float_bytes(student))]
    packed = []
    for o in range(options):
        pk = PackedKWS.from_torch(student, o)
        pk = PackedKWS.from_bytes(pk.to_bytes())          # what runs is the deployed file
        pk.threads = num_threads
        packed.append(pk)
        eng = "C" if pk.use_c else "numpy (no C extension)"
        models.append((f"BiFSMNv2 packed, option {o}, {eng}", len(kept_layers(nl, o)), pk,
                       False, pk.storage()["total"]))
        if o == 0:
            # the exact fold (float32 constants and classifier): predictions identical to torch
            p32 = PackedKWS.from_torch(student, o, "float32", "float32")
            models.append((f"BiFSMNv2 packed, option {o}, {eng}, float32 constants",
                           len(kept_layers(nl, o)), p32, False, p32.storage()["total"]))
        if o == 0 and pk.use_c:
            models.append((f"BiFSMNv2 packed, option {o}, numpy path", len(kept_layers(nl, o)),
                           _Numpy(pk), False, pk.storage()["total"]))

    def call(m, is_torch, x):
        if is_torch:
            with torch.inference_mode():
                return m(x)
        return m.forward(x)
    # interleaved rounds: every model is timed once per round, so a load spike on a shared
    # machine hits all of them alike; ratios are the median over rounds of per-round ratios
    lat = np.zeros((repeats, len(models)))
    thr = np.zeros((repeats, len(models)))
    for r in range(repeats):
        for i, (_, _, m, is_torch, _) in enumerate(models):
            lat[r, i] = best_time(lambda: call(m, is_torch, t1 if is_torch else x1), 1, min_time)
            thr[r, i] = batch / best_time(lambda: call(m, is_torch, tb if is_torch else xb), 1,
                                          min_time)
    fbytes = models[0][4]
    out = [f"KWS D-FSMN, {what}; batch-1 latency per 1 s window (features excluded), "
           f"throughput at batch {batch}; {repeats} interleaved rounds, best latency and "
           "median per-round ratio", "",
           "| model | layers | latency (us) | x faster (batch 1) | windows/s | x faster (batch "
           f"{batch}) | model bytes | x smaller |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for i, (name, layers, _, _, nbytes) in enumerate(models):
        out.append(f"| {name} | {layers} | {lat[:, i].min() * 1e6:,.0f} | "
                   f"{np.median(lat[:, 0] / lat[:, i]):.2f} | {thr[:, i].max():,.0f} | "
                   f"{np.median(thr[:, i] / thr[:, 0]):.2f} | {nbytes:,d} | "
                   f"{fbytes / nbytes:.1f} |")
    st = packed[0].storage()
    out += ["", f"Where the bytes of the option-0 deployment file go ({st['total']:,d} bytes: "
            f"weight bits {st['bits']:,d}, constants and real layers {st['const']:,d}, header "
            f"{st['header']:,d}); `l*_` rows sum over the {packed[0].meta['layers']} D-FSMN "
            "layers", "", "| tensor | dtype | values | bytes |", "|---|---|---:|---:|"]
    out += [f"| {k} | {dt} | {n:,d} | {b:,d} |" for k, dt, n, b in packed[0].storage_table()]
    return out


class _Numpy:
    """The numpy path of a packed model, for timing next to the C path."""

    def __init__(self, pk):
        self.pk = pk

    def forward(self, x):
        return self.pk.forward_numpy(x)
