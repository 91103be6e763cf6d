"""Training input throughput: the numpy path (:mod:`bnn.data.frames`) next to the batched tensor
path (:mod:`bnn.data.batched`), on the same corpus, in one process (issue 16).

"Delivered" frames are network-input rows of shuffled minibatches as the trainer receives them
(float32 tensors on the device; the numpy path's arrays are converted with ``torch.from_numpy``
as the trainer does), over one whole epoch: reading the archive, CMVN, deltas, splicing, global
normalisation and the shuffle buffer included.  Besides wall-clock frames/s, each row gives frames
per CPU-second of this process (``time.process_time``), which is much less disturbed when other
jobs share the cores; with reader worker processes it leaves their CPU time out.  Before timing, the two paths' first minibatches
are compared (they must be bit-identical).
"""
import os
import tempfile
import time
from typing import List, Optional

import kaldiio
import numpy as np
import torch

from bnn.utils.errors import BnnError

CONFIGS = {
    # name: (cmvn_opts, delta_opts, splice)
    "fbank40+cmvn+deltas2+splice5": ("--norm-means=true --norm-vars=false", "--delta-order=2", 5),
    "fbank40+cmvn+splice5": ("--norm-means=true --norm-vars=false", "", 5),
}


def make_corpus(root: str, n_utts: int = 300, dim: int = 40, seed: int = 0,
                min_frames: int = 200, max_frames: int = 600) -> str:
    """A data dir of random ``dim``-dim features (4 speakers with CMVN stats) and pdf targets."""
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    stats = {}
    with kaldiio.WriteHelper(f"ark,scp:{root}/feats.ark,{root}/feats.scp") as wf, \
            kaldiio.WriteHelper(f"ark,scp:{root}/tgt.ark,{root}/tgt.scp") as wt, \
            open(f"{root}/utt2spk", "w") as u2s:
        for i in range(n_utts):
            utt, spk = f"u{i:05d}", f"s{i % 4}"
            n = int(rng.integers(min_frames, max_frames))
            x = (rng.standard_normal((n, dim)) * 2 + 10).astype(np.float32)
            wf(utt, x)
            wt(utt, rng.integers(0, 2000, n).astype(np.int32))
            u2s.write(f"{utt} {spk}\n")
            st = stats.setdefault(spk, np.zeros((2, dim + 1)))
            st[0, :dim] += x.sum(0)
            st[0, dim] += n
            st[1, :dim] += (x.astype(np.float64) ** 2).sum(0)
    with kaldiio.WriteHelper(f"ark,scp:{root}/cmvn.ark,{root}/cmvn.scp") as w:
        for spk in sorted(stats):
            w(spk, stats[spk])
    return root


def _source(data: str, targets: str, cfg):
    from bnn.data.frames import UtteranceSource
    from bnn.train.model_dir import FeatureFrontend, estimate_input_norm, pipeline_from_args
    cmvn, delta, splice = cfg
    pipeline = pipeline_from_args(cmvn, 2 if delta else 0, splice)
    fe = FeatureFrontend(pipeline, data_dir=data)
    src = UtteranceSource(os.path.join(data, "feats.scp"), targets, fe)
    utts = src.utterances()
    if not utts:
        raise BnnError(f"{data}/feats.scp: no utterances with targets in {targets}")
    fe.input_mean, fe.input_std = estimate_input_norm(fe, src._feats, utts, max_utts=50)
    return src, utts, fe


def run(data: Optional[str], targets: Optional[str], batch_sizes: List[int], buffer_frames: int,
        device: str = "cpu", workers: List[int] = (0,), configs: List[str] = None,
        n_utts: int = 300, max_old_frames: int = 0) -> List[dict]:
    """Time one epoch per (configuration, pipeline, batch size); returns one dict per row.
    ``max_old_frames`` > 0 stops the numpy path after that many frames (it is slow)."""
    from bnn.data import batched
    from bnn.data.frames import shuffled_minibatches
    dev = torch.device(device)
    tmp = None
    if data is None:
        tmp = tempfile.TemporaryDirectory(prefix="bnn-bench-input-")
        data = make_corpus(os.path.join(tmp.name, "data"), n_utts=n_utts)
        targets = os.path.join(data, "tgt.scp")
    rows = []
    try:
        for name in configs or list(CONFIGS):
            src, utts, fe = _source(data, targets, CONFIGS[name])
            tf = batched.TensorFrontend(fe, dev)
            for bs in batch_sizes:
                # identical output, checked on the first minibatches before timing
                old = shuffled_minibatches(src, utts, bs, buffer_frames, np.random.default_rng(1))
                new = batched.shuffled_batches(src, utts, bs, buffer_frames,
                                               np.random.default_rng(1), tf)
                for _ in range(3):
                    a, b = next(old), next(new)
                    if not np.array_equal(a[0], b[0].cpu().numpy()):
                        raise BnnError(f"{name}: batched pipeline differs from the numpy one")
                old.close()
                new.close()

                def old_epoch():
                    n = 0
                    for x, y in shuffled_minibatches(src, utts, bs, buffer_frames,
                                                     np.random.default_rng(2)):
                        xt = torch.from_numpy(x).to(dev)
                        torch.from_numpy(y).to(dev)
                        n += xt.shape[0]
                        if max_old_frames and n >= max_old_frames:
                            break
                    return n, xt.shape[1]

                def new_epoch(nw):
                    n = 0
                    for xt, yt in batched.shuffled_batches(src, utts, bs, buffer_frames,
                                                           np.random.default_rng(2), tf,
                                                           num_workers=nw):
                        n += xt.shape[0]
                    if dev.type == "cuda":
                        torch.cuda.synchronize()
                    return n, xt.shape[1]

                runs = [("numpy (bnn.data.frames)", old_epoch)]
                runs += [(f"batched tensor, {nw} workers", lambda nw=nw: new_epoch(nw))
                         for nw in workers]
                base = None
                for label, fn in runs:
                    t0, c0 = time.perf_counter(), time.process_time()
                    n, dim = fn()
                    sec = time.perf_counter() - t0
                    cpu = time.process_time() - c0     # this process only (not worker processes)
                    fps = n / sec
                    base = base or fps
                    rows.append({"config": name, "dim": dim, "pipeline": label, "batch": bs,
                                 "frames": n, "seconds": sec, "fps": fps, "x_old": fps / base,
                                 "cpu_seconds": cpu, "fps_cpu": n / max(cpu, 1e-9)})
    finally:
        if tmp is not None:
            tmp.cleanup()
    return rows
