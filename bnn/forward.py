"""``bnn-forward``: Kaldi ``nnet-forward`` for bnn model dirs.

Reads features from any rspecifier, applies the model dir's feature pipeline (CMVN, deltas,
splicing, global normalisation), runs the network on all frames of an utterance in batches and
writes one (frames x num-pdfs) matrix per utterance to a wspecifier — ``ark:-`` streams to a
decoder.  Output, as nnet-forward: posteriors; ``--apply-log`` log-posteriors; ``--no-softmax``
pre-softmax activations; with ``--class-frame-counts`` the log-prior ``prior_scale * log p(s)``
is subtracted (Kaldi's PdfPrior), giving scaled log-likelihoods for hybrid decoding.
"""
import logging
import os
import time

import kaldiio
import numpy as np

from bnn.feats.tables import TableWriter, read_matrices
from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

# Kaldi PdfPrior: pdfs seen less than the floor get log-prior sqrt(FLT_MAX) (never emitted).
PRIOR_CUTOFF_LOGPRIOR = float(np.sqrt(np.finfo(np.float32).max))


def read_counts(path: str) -> np.ndarray:
    """Read a Kaldi vector (text ``[ ... ]`` or binary FV/DV) of pdf counts."""
    if not os.path.isfile(path):
        raise BnnError(f"{path}: class-frame-counts file not found")
    try:
        with open(path, "rb") as f:
            head = f.read(2)
        if head == b"\0B":
            vec = np.asarray(kaldiio.load_mat(path), dtype=np.float64)
        else:
            with open(path) as f:
                text = f.read().replace("[", " ").replace("]", " ").split()
            vec = np.array([float(t) for t in text], dtype=np.float64)
    except (ValueError, OSError) as err:
        raise BnnError(f"{path}: not a Kaldi vector of counts ({err})") from None
    return vec.reshape(-1)


def log_priors(counts: np.ndarray, prior_floor: float = 1e-10) -> np.ndarray:
    """``log(count / sum)``; counts below ``prior_floor * sum`` get Kaldi's cut-off value."""
    total = counts.sum()
    if total <= 0:
        raise BnnError("class-frame-counts sum to zero")
    priors = counts / total
    out = np.log(np.maximum(priors, 1e-300))
    out[priors < prior_floor] = PRIOR_CUTOFF_LOGPRIOR
    return out.astype(np.float32)


def forward_from_args(args) -> None:
    import torch
    from bnn.train.model_dir import frontend_from_payload, load_model
    torch.set_num_threads(max(1, args.num_threads))
    model, payload = load_model(args.model)
    frontend = frontend_from_payload(payload, data_dir=args.data_dir,
                                     cmvn_rspecifier=args.cmvn, utt2spk=args.utt2spk)
    num_pdfs = payload["num_pdfs"]
    prior = None
    if args.class_frame_counts:
        if not (args.apply_log or args.no_softmax):
            raise BnnError("--class-frame-counts needs --apply-log=true or --no-softmax=true")
        counts = read_counts(args.class_frame_counts)
        if len(counts) != num_pdfs:
            raise BnnError(f"{args.class_frame_counts}: {len(counts)} pdf counts but the network "
                           f"has {num_pdfs} outputs")
        prior = args.prior_scale * log_priors(counts, args.prior_floor)
    engine = make_engine(args.engine, model, args.num_threads,
                         real_layers=getattr(args, "real_layers", "fp32"),
                         device=getattr(args, "device", "cpu"))
    n_utt = n_frames = 0
    t_net = 0.0
    start = time.time()
    # read_matrices names the utterance of a parse error; TableWriter renames its files into
    # place only when the loop finished, so a failure leaves no output that looks complete.
    with TableWriter(args.wspecifier) as writer:
        for utt, feats in read_matrices(args.feats_rspecifier):
            x = frontend(utt, np.asarray(feats))
            if x.shape[1] != payload["input_dim"]:
                raise BnnError(f"utterance {utt}: features give input dim {x.shape[1]} but the "
                               f"model {args.model} expects {payload['input_dim']}")
            t0 = time.time()
            logits = engine(x, args.batch_frames)
            t_net += time.time() - t0
            out = postprocess(logits, args.apply_log, args.no_softmax, prior)
            if not np.all(np.isfinite(out)):
                raise BnnError(f"utterance {utt}: network output has NaN/inf")
            writer(utt, out)
            n_utt += 1
            n_frames += len(out)
    elapsed = time.time() - start
    logger.info("Done %d utterances, %d frames, %.1f frames/s (network %.1f frames/s, engine %s)",
                n_utt, n_frames, n_frames / max(elapsed, 1e-9), n_frames / max(t_net, 1e-9),
                args.engine)
    if n_utt == 0:
        raise BnnError(f"{args.feats_rspecifier}: no utterances read")


def make_engine(name: str, model, num_threads: int, real_layers: str = "fp32",
                device: str = "cpu"):
    """Return ``f(x[T, D] float32, batch_frames) -> logits[T, P] float32``.

    ``real_layers`` int8: the packed engine's float layers in int8 (CPU, oneDNN); ``device`` cuda:
    the packed engine's layers on the GPU (:mod:`bnn.infer.gpu`; Triton kernel when installed)."""
    if device not in ("cpu", "cuda"):
        raise BnnError(f"--device {device}: expected cpu or cuda")
    if real_layers != "fp32" and (name != "packed" or device != "cpu"):
        raise BnnError(f"--real-layers {real_layers} needs --engine packed --device cpu")
    if device == "cuda":
        from bnn.infer import gpu
        gpu.require_cuda()
        if name == "torch":
            model = model.to("cuda")
    if name == "torch":
        import torch

        def run_torch(x, batch):
            outs = []
            with torch.no_grad():
                for s in range(0, len(x), batch):
                    xb = torch.from_numpy(x[s:s + batch]).to(device)
                    outs.append(model(xb).cpu().numpy())
            return np.concatenate(outs) if outs else np.zeros((0, model.num_pdfs), np.float32)
        return run_torch
    if name == "packed":
        from bnn.infer.engine import PackedModel
        packed = PackedModel.from_torch(model, num_threads=num_threads, real_layers=real_layers)
        if device == "cuda":
            from bnn.infer.gpu import TorchPackedModel
            packed = TorchPackedModel.from_packed(packed, "cuda")

        def run_packed(x, batch):
            outs = [packed.forward(x[s:s + batch]) for s in range(0, len(x), batch)]
            return np.concatenate(outs).astype(np.float32)
        return run_packed
    raise BnnError(f"--engine {name}: expected torch or packed")


def postprocess(logits: np.ndarray, apply_log: bool, no_softmax: bool, prior) -> np.ndarray:
    out = logits.astype(np.float32)
    if not no_softmax:
        m = out.max(axis=1, keepdims=True)
        lse = m + np.log(np.exp(out - m).sum(axis=1, keepdims=True))
        out = out - lse
        if not apply_log:
            out = np.exp(out)
    if prior is not None:
        out = out - prior
    return out
