"""Batched training input: raw feature rows in, Kaldi's front end as tensor ops (issue 16).

:mod:`bnn.data.frames` transforms every utterance with numpy/kaldi-native-fbank and shuffles
fully spliced rows (1188 floats per frame for 40-dim fbank, deltas, +-5 splice): about 45,000
frames/s.  Here the work is split so that the expensive part is one gather per minibatch:

1. **Read** raw ``(T, 40)`` rows (and pdf targets) per utterance, in the epoch's utterance order,
   in this process or in ``num_workers`` DataLoader worker processes (round robin over strided
   shards of the order, so the order is the same either way).
2. **Buffer**: whole utterances are appended until ``buffer_frames`` raw frames are held, exactly
   as :func:`bnn.data.frames.shuffled_minibatches` does, then the chunk is moved to the training
   device (pinned memory and a non-blocking copy on CUDA) and transformed *as one tensor*:
   apply-cmvn (per-utterance scale/offset rows, Kaldi's ``x * scale + offset``), add-deltas (a
   ``2 * order * window + 1``-tap filter as shifted gathers with indices clamped to the
   utterance, taps in Kaldi's order, scales rounded from the exact double filter as Kaldi does),
   giving ``(N, 40 * (order + 1))`` rows: 120 floats per frame instead of 1188.
3. **Shuffle and splice**: the buffer is permuted with the same ``numpy`` generator calls as the
   old path; for each minibatch the spliced rows are gathered straight from the 120-dim chunk
   (splice indices clamped to each frame's utterance, Kaldi's splice-feats), then the global
   normalisation ``(x - mean) / std`` is applied in float32 (on CPU one C pass per minibatch,
   ``bnn.data._splice.splice_centre``, into a reused chunk workspace: no per-buffer allocation
   or concatenation of the ~50 MB chunk).  The remainder of a buffer
   (< batch_size frames) is carried into the next one as its first frames, as before.

Every operation is the float32 arithmetic of the numpy path in the same order, so minibatches are
bit-identical to :func:`bnn.data.frames.shuffled_minibatches` with a
:class:`bnn.train.model_dir.FeatureFrontend` (tested frame by frame), and ``--resume`` replays an
epoch exactly.  Memory is ``O(buffer_frames * 120)`` floats plus one minibatch, flat in corpus size.
"""
import logging
import os
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import kaldiio
import numpy as np
import torch

from bnn.data.frames import UtteranceSource
from bnn.feats.cmvn import check_stats
from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

try:  # pragma: no cover - depends on the build
    from bnn.data import _splice
except ImportError:  # torch ops do the same in three passes
    _splice = None


def delta_scales(order: int, window: int) -> List[np.ndarray]:
    """Kaldi's delta filters (feature-functions.cc ``DeltaFeatures``) as float32 taps.

    ``w_1[j] = j / (2 sum_{k<=N} k^2)``, ``w_i = w_{i-1} * w_1`` (convolution), evaluated in
    double and rounded once to float32 -- the values kaldi-native-fbank's ``compute_deltas`` uses.
    Element ``i`` has ``2 i window + 1`` taps for offsets ``-i window .. i window``.
    """
    w1 = np.arange(-window, window + 1, dtype=np.float64)
    w1 /= 2.0 * float((np.arange(1, window + 1) ** 2).sum())
    out, cur = [np.ones(1, dtype=np.float32)], np.ones(1)
    for _ in range(order):
        cur = np.convolve(cur, w1)
        out.append(cur.astype(np.float32))
    return out


def deltas_exact(order: int, window: int) -> bool:
    """Settings whose tensor deltas are verified bit-identical to kaldi-native-fbank's: order <= 1,
    window 1, or order 2 with window 2 (``add-deltas``' default, the only one bnn-train writes).
    Elsewhere knf's float rounding of the taps differs in the last bit; the numpy path is used."""
    return order <= 1 or window == 1 or (order == 2 and window == 2)


class TensorFrontend:
    """A :class:`bnn.train.model_dir.FeatureFrontend`'s arithmetic on chunks of utterances.

    Args:
        frontend: the FeatureFrontend (pipeline, CMVN stats lookup, global mean/std).
        device: where the chunk transforms and minibatch gathers run.
    """

    def __init__(self, frontend, device: torch.device = torch.device("cpu")):
        self.frontend = frontend
        self.pipeline = frontend.pipeline
        self.device = torch.device(device)
        self._cmvn_cache: Dict[str, Tuple[Optional[np.ndarray], np.ndarray]] = {}
        p = self.pipeline
        self.taps = delta_scales(p.delta_order, p.delta_window) if p.delta_order > 0 else None
        self.offsets = torch.arange(-p.splice_left, p.splice_right + 1, device=self.device)
        self._norm = None
        self._ws: Dict[str, torch.Tensor] = {}
        self.use_ext = True     # the fused C gather on CPU when built (False: torch ops)

    def normalisation(self):
        """float32 ``(mean, std)`` tensors on the device, or None while they are estimated."""
        fe = self.frontend
        if fe.input_mean is None:
            return None
        if self._norm is None or self._norm[0] is not fe.input_mean:
            self._norm = (fe.input_mean,
                          torch.from_numpy(np.asarray(fe.input_mean, dtype=np.float32)).to(self.device),
                          torch.from_numpy(np.asarray(fe.input_std, dtype=np.float32)).to(self.device))
        return self._norm[1], self._norm[2]

    def output_dim(self, raw_dim: int) -> int:
        return self.pipeline.output_dim(raw_dim)

    # ---- CMVN: Kaldi ApplyCmvn's float32 scale and offset rows, per speaker -------------
    def _cmvn_rows(self, utt: str, dim: int) -> Tuple[Optional[np.ndarray], np.ndarray]:
        fe, p = self.frontend, self.pipeline
        u2s = getattr(fe, "_utt2spk", None)
        key = u2s.get(utt, utt) if u2s is not None else utt
        hit = self._cmvn_cache.get(key)
        if hit is not None and len(hit[1]) == dim:
            return hit
        stats = check_stats(fe.cmvn_stats(utt), dim, p.norm_vars, utt)
        count = stats[0, dim]
        mean = stats[0, :dim] / count
        if p.norm_vars:
            var = np.maximum(stats[1, :dim] / count - mean * mean, 1e-20)
            scale = 1.0 / np.sqrt(var)
            hit = (scale.astype(np.float32), (-(mean * scale)).astype(np.float32))
        else:
            hit = (None, (-mean).astype(np.float32))
        self._cmvn_cache[key] = hit
        return hit

    # ---- one buffer of utterances -> un-normalised delta rows -----------------------------
    def chunk(self, utts: Sequence[str], raws: Sequence[np.ndarray],
              head: Optional[torch.Tensor] = None):
        """Concatenate utterances and apply CMVN and deltas as tensor ops.

        Returns ``(D[H + N, dim * (order + 1)], start[N], end[N])`` on the device: the ``H``
        rows of ``head`` (already transformed rows carried from the previous buffer, or none),
        then the chunk's rows, and per chunk frame the first and one-past-last row of its
        utterance in ``D`` (for clamped context indices).  On CPU with the C extension ``D`` is a
        view of a workspace reused by the next call: callers copy what they keep (minibatch rows
        are gathered into new tensors).
        """
        lens = np.array([len(r) for r in raws], dtype=np.int64)
        if _splice is not None and self.device.type == "cpu" and self.use_ext:
            return self._chunk_ext(utts, raws, lens, head)
        raw = np.concatenate(raws) if len(raws) > 1 else np.array(raws[0], dtype=np.float32)
        x = torch.from_numpy(np.ascontiguousarray(raw, dtype=np.float32))
        if self.device.type == "cuda":
            x = x.pin_memory().to(self.device, non_blocking=True)
        dim = x.shape[1]
        n = x.shape[0]
        ends_u = torch.from_numpy(np.cumsum(lens)).to(self.device)
        lens_t = torch.from_numpy(lens).to(self.device)
        start = torch.repeat_interleave(ends_u - lens_t, lens_t, output_size=n)
        end = torch.repeat_interleave(ends_u, lens_t, output_size=n)
        p = self.pipeline
        if p.cmvn and p.norm_means:
            rows = [self._cmvn_rows(u, dim) for u in utts]
            off = torch.from_numpy(np.stack([r[1] for r in rows])).to(self.device)
            if p.norm_vars:
                sc = torch.from_numpy(np.stack([r[0] for r in rows])).to(self.device)
                x = x * torch.repeat_interleave(sc, lens_t, dim=0, output_size=n)
            x = x + torch.repeat_interleave(off, lens_t, dim=0, output_size=n)
        elif p.cmvn:
            for u in utts:       # norm-means=false: Kaldi still checks the stats
                check_stats(self.frontend.cmvn_stats(u), dim, p.norm_vars, u)
        if self.taps is None:
            return self._with_head(head, x, start, end)
        g = torch.arange(n, device=self.device)
        last = end - 1
        out = torch.empty((n, dim * len(self.taps)), dtype=torch.float32, device=self.device)
        out[:, :dim] = x
        for i, taps in enumerate(self.taps[1:], 1):
            half = (len(taps) - 1) // 2
            acc = None
            for j in range(-half, half + 1):       # Kaldi's order: offsets ascending
                s = float(taps[j + half])
                if s == 0.0:
                    continue
                idx = torch.minimum(torch.maximum(g + j, start), last)
                term = x.index_select(0, idx) * s
                if acc is None:          # Kaldi adds to a zeroed row: 0 + (-0) = +0
                    acc = torch.zeros_like(term)
                acc.add_(term)
            out[:, i * dim:(i + 1) * dim] = acc
        return self._with_head(head, out, start, end)

    @staticmethod
    def _with_head(head, rows, start, end):
        if head is None or not len(head):
            return rows, start, end
        base = head.shape[0]
        return torch.cat([head, rows]), start + base, end + base

    def _workspace(self, name: str, rows: int, cols: int, dtype=torch.float32) -> torch.Tensor:
        """A ``(rows, cols)`` view of a buffer kept between calls (grown by 25% when short):
        one buffer per chunk instead of a fresh ~50 MB allocation whose pages the kernel must
        fault in and zero on every shuffle buffer."""
        ws = self._ws.get(name)
        if ws is None or ws.shape[0] < rows or ws.shape[1] != cols or ws.dtype != dtype:
            ws = self._ws[name] = torch.empty((rows + rows // 4 + 1, cols), dtype=dtype)
        return ws[:rows]

    def _chunk_ext(self, utts, raws: Sequence[np.ndarray], lens: np.ndarray, head=None):
        """:meth:`chunk` on CPU in one C pass per utterance (bnn.data._splice.front_end),
        written after the ``head`` rows into the reused workspace."""
        n, dim = int(lens.sum()), raws[0].shape[1]
        raw = self._workspace("raw", n, dim).numpy()
        np.concatenate([np.asarray(r, dtype=np.float32) for r in raws], out=raw)
        p = self.pipeline
        scale = offset = None
        if p.cmvn and p.norm_means:
            rows = [self._cmvn_rows(u, dim) for u in utts]
            offset = np.ascontiguousarray(np.stack([r[1] for r in rows]))
            if p.norm_vars:
                scale = np.ascontiguousarray(np.stack([r[0] for r in rows]))
        elif p.cmvn:
            for u in utts:
                check_stats(self.frontend.cmvn_stats(u), dim, p.norm_vars, u)
        order = len(self.taps) - 1 if self.taps is not None else 0
        half = order * p.delta_window
        taps = np.zeros((max(order, 1), 2 * half + 1), dtype=np.float32)
        for i in range(1, order + 1):
            t = self.taps[i]
            h = (len(t) - 1) // 2
            taps[i - 1, half - h:half + h + 1] = t
        base = 0 if head is None else head.shape[0]
        width = dim * (order + 1)
        out = self._workspace("chunk", base + n, width)
        if base:
            out[:base].copy_(head.reshape(base, width))
        _splice.front_end(raw, n, dim, lens, len(lens), scale, offset, taps, order, half,
                          out[base:].numpy())
        ends = torch.from_numpy(np.cumsum(lens) + base)
        lens_t = torch.from_numpy(lens)
        start = torch.repeat_interleave(ends - lens_t, lens_t, output_size=n)
        end = torch.repeat_interleave(ends, lens_t, output_size=n)
        return out, start, end

    def spliced(self, feats: torch.Tensor, frames: torch.Tensor, start: torch.Tensor,
                end: torch.Tensor, normalise: bool = True) -> torch.Tensor:
        """Rows ``(B, (L + 1 + R) * C)`` spliced around ``frames`` (rows of ``feats``), contexts
        clamped to ``[start[f], end[f])``, normalised by the global mean/std unless
        ``normalise`` is False: :meth:`rows` of :meth:`gather_index` in one C pass on CPU."""
        norm = self.normalisation() if normalise else None
        if _splice is not None and feats.device.type == "cpu" and self.use_ext:
            n, c = feats.shape
            b, p = frames.shape[0], len(self.offsets)
            out = torch.empty((b, p * c), dtype=torch.float32)
            frames = frames.contiguous()
            _splice.splice_centre(feats.numpy(), n, c, frames.numpy(), start.numpy(),
                                  end.numpy(), b, p, int(-self.offsets[0]),
                                  None if norm is None else norm[0].numpy(),
                                  None if norm is None else norm[1].numpy(), out.numpy(),
                                  min(2, torch.get_num_threads()))
            return out
        index = self.gather_index(frames, start, end)
        if not normalise:
            return feats.index_select(0, index.reshape(-1)).view(len(frames), -1)
        return self.rows(feats, index)

    def gather_index(self, frames: torch.Tensor, start: torch.Tensor, end: torch.Tensor):
        """Splice row indices ``(B, L + 1 + R)`` of ``frames``, clamped to their utterances."""
        idx = frames[:, None] + self.offsets[None, :]
        return torch.minimum(torch.maximum(idx, start[frames, None]), end[frames, None] - 1)

    def rows(self, feats: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Spliced, normalised network inputs: ``(feats[index] - mean) / std``, float32."""
        b, p = index.shape
        norm = self.normalisation()
        if _splice is not None and feats.device.type == "cpu" and self.use_ext:
            n, c = feats.shape
            out = torch.empty((b, p * c), dtype=torch.float32)
            feats, index = feats.contiguous(), index.contiguous()
            _splice.splice_norm(feats.numpy(), n, c, index.numpy(), b, p,
                                None if norm is None else norm[0].numpy(),
                                None if norm is None else norm[1].numpy(), out.numpy(),
                                min(2, torch.get_num_threads()))
            return out
        x = feats.index_select(0, index.reshape(-1)).view(b, -1)
        if norm is not None:
            x.sub_(norm[0]).div_(norm[1])
        return x


# ---- reading raw rows ---------------------------------------------------------------------

class _RawRows(torch.utils.data.IterableDataset):
    """Raw features and targets of ``order`` (strided over DataLoader workers)."""

    def __init__(self, source: UtteranceSource, utts: Sequence[str]):
        self.source = source
        self.utts = list(utts)
        self._loader = None
        self._pid = None
        self._tgt_index = self._tgt_files = self._tgt_pid = None

    def _feats(self):
        if self._loader is None or self._pid != os.getpid():
            self._loader = kaldiio.load_scp(self.source.feats_scp, max_cache_fd=4)
            self._pid = os.getpid()
        return self._loader

    def read(self, utt: str):
        try:
            raw = np.asarray(self._feats()[utt], dtype=np.float32)
        except KeyError:
            raise BnnError(f"{self.source.feats_scp}: no features for utterance {utt}") from None
        except (OSError, ValueError) as err:
            raise BnnError(f"{self.source.feats_scp}: cannot read features of {utt}: {err}") \
                from None
        if raw.ndim != 2:
            raise BnnError(f"{self.source.feats_scp}: features of {utt} are not a matrix")
        y = None
        if self.source._targets is not None:
            y = self._read_targets(utt)
        return utt, raw, y

    def _read_targets(self, utt: str) -> np.ndarray:
        """pdf targets; a binary Kaldi int32 vector at ``file:offset`` is read with one numpy
        call (kaldiio unpacks it element by element), anything else through kaldiio."""
        if self._tgt_index is None or self._tgt_pid != os.getpid():
            self._tgt_index, self._tgt_files, self._tgt_pid = {}, {}, os.getpid()
            with open(self.source.targets_scp) as f:
                for line in f:
                    fields = line.split(None, 1)
                    if len(fields) == 2:
                        path, _, off = fields[1].strip().rpartition(":")
                        if path and off.isdigit() and "[" not in off:
                            self._tgt_index[fields[0]] = (path, int(off))
        loc = self._tgt_index.get(utt)
        if loc is not None:
            fh = self._tgt_files.get(loc[0])
            if fh is None:
                fh = self._tgt_files[loc[0]] = open(loc[0], "rb")
            fh.seek(loc[1])
            head = fh.read(7)
            if head[:3] == b"\0B\4":
                size = int(np.frombuffer(head[3:7], "<i4")[0])
                rec = np.frombuffer(fh.read(5 * size), dtype=[("s", "u1"), ("v", "<i4")])
                if len(rec) == size and (rec["s"] == 4).all():
                    return rec["v"].astype(np.int64)
        return np.asarray(self.source._targets[utt]).astype(np.int64)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        first, step = (0, 1) if info is None else (info.id, info.num_workers)
        for i in range(first, len(self.utts), step):
            yield self.read(self.utts[i])


def read_raw(source: UtteranceSource, utts: Sequence[str], num_workers: int = 0,
             prefetch: int = 8) -> Iterator[Tuple[str, np.ndarray, Optional[np.ndarray]]]:
    """``(utt, raw[T, D] float32, targets[T] int64 or None)`` in ``utts`` order; utterances whose
    target count differs from their frame count are skipped and reported (as
    :meth:`UtteranceSource.load` does)."""
    ds = _RawRows(source, utts)
    if num_workers > 0 and len(utts) > 1:
        items = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=num_workers,
                                            prefetch_factor=prefetch, persistent_workers=False)
    else:
        items = iter(ds)
    for utt, raw, y in items:
        if isinstance(raw, torch.Tensor):
            raw = raw.numpy()
            y = y.numpy() if isinstance(y, torch.Tensor) else y
        if y is not None and len(y) != len(raw):
            source.num_skipped += 1
            if utt not in source._skipped_logged:
                source._skipped_logged.add(utt)
                logger.warning("utterance %s: %d feature frames but %d targets in %s; skipped",
                               utt, len(raw), len(y), source.targets_scp)
            continue
        if len(raw) == 0:
            continue
        yield utt, raw, y


# ---- minibatches --------------------------------------------------------------------------

class _Buffer:
    """Utterances held for one shuffle: raw rows, names, targets, plus the carried rows."""

    def __init__(self):
        self.utts: List[str] = []
        self.raws: List[np.ndarray] = []
        self.ys: List[np.ndarray] = []
        self.held = 0


def shuffled_batches(source: UtteranceSource, utts: Sequence[str], batch_size: int,
                     buffer_frames: int, rng: np.random.Generator, frontend: TensorFrontend,
                     drop_last: bool = False, num_workers: int = 0
                     ) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled ``(x[B, D_in] float32, y[B] int64)`` tensor minibatches on ``frontend.device``,
    bit-identical to :func:`bnn.data.frames.shuffled_minibatches` with the same ``rng``."""
    order = rng.permutation(len(utts))
    dev = frontend.device
    carry_x: Optional[torch.Tensor] = None      # (R, ctx, D) un-normalised carried frames
    carry_y: Optional[torch.Tensor] = None
    buf = _Buffer()

    def flush(final: bool):
        nonlocal carry_x, carry_y, buf
        n_carry = 0 if carry_x is None else carry_x.shape[0]
        if not buf.raws and not n_carry:
            return
        ctx = len(frontend.offsets)
        starts, ends, ys = [], [], []
        base = 0
        feats = head = None
        if n_carry:     # carried frames first, each its own ctx rows, already spliced
            head = carry_x.reshape(n_carry * ctx, -1)
            s = torch.arange(n_carry, device=dev).repeat_interleave(ctx) * ctx
            starts.append(s)
            ends.append(s + ctx)
            ys.append(carry_y)
            base = n_carry * ctx
        if buf.raws:     # the chunk's rows follow the head rows in one tensor
            feats, st, en = frontend.chunk(buf.utts, buf.raws, head)
            starts.append(st)
            ends.append(en)
            ys.append(torch.from_numpy(np.concatenate(buf.ys)).to(dev))
        else:
            feats = head
        start = starts[0] if len(starts) == 1 else torch.cat(starts)
        end = ends[0] if len(ends) == 1 else torch.cat(ends)
        y = ys[0] if len(ys) == 1 else torch.cat(ys)
        # frame f of this buffer: carried frame f (centre row f*ctx + left) or chunk row
        centre = torch.cat([torch.arange(n_carry, device=dev) * ctx + int(-frontend.offsets[0]),
                            torch.arange(base, feats.shape[0], device=dev)]) if n_carry else \
            torch.arange(feats.shape[0], device=dev)
        total = centre.shape[0]
        perm = torch.from_numpy(rng.permutation(total)).to(dev)
        rows = centre[perm]
        y = y[perm]
        n_full = (total // batch_size) * batch_size
        for s0 in range(0, n_full, batch_size):
            yield frontend.spliced(feats, rows[s0:s0 + batch_size], start, end), \
                y[s0:s0 + batch_size]
        rest = rows[n_full:]
        buf = _Buffer()
        if final:
            if len(rest) and not drop_last:
                yield frontend.spliced(feats, rest, start, end), y[n_full:]
            carry_x = carry_y = None
        elif len(rest):     # a copy: feats is the frontend's workspace, reused next buffer
            carry_x = frontend.spliced(feats, rest, start, end, normalise=False) \
                .view(len(rest), ctx, -1)
            carry_y = y[n_full:]
        else:
            carry_x = carry_y = None

    for utt, raw, tgt in read_raw(source, [utts[i] for i in order], num_workers):
        buf.utts.append(utt)
        buf.raws.append(raw)
        buf.ys.append(tgt)
        buf.held += len(raw)
        if buf.held + (0 if carry_x is None else carry_x.shape[0]) >= buffer_frames:
            yield from flush(final=False)
    yield from flush(final=True)


def sequential_batches(source: UtteranceSource, utts: Sequence[str], batch_size: int,
                       frontend: TensorFrontend, num_workers: int = 0
                       ) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
    """Unshuffled tensor minibatches (cross-validation), identical to
    :func:`bnn.data.frames.sequential_minibatches`: whole utterances until ``batch_size``."""
    buf = _Buffer()

    def emit():
        d, st, en = frontend.chunk(buf.utts, buf.raws)
        x = frontend.spliced(d, torch.arange(d.shape[0], device=frontend.device), st, en)
        return x, torch.from_numpy(np.concatenate(buf.ys)).to(frontend.device)

    for utt, raw, tgt in read_raw(source, utts, num_workers):
        buf.utts.append(utt)
        buf.raws.append(raw)
        buf.ys.append(tgt)
        buf.held += len(raw)
        if buf.held >= batch_size:
            yield emit()
            buf = _Buffer()
    if buf.raws:
        yield emit()


def tensor_frontend_for(source: UtteranceSource, device) -> Optional[TensorFrontend]:
    """A :class:`TensorFrontend` for ``source`` when its transform is a FeatureFrontend (the
    trainer's case) and it has targets; None otherwise (callers fall back to the numpy path)."""
    fe = source.transform
    if source._targets is None or not all(hasattr(fe, a) for a in
                                          ("pipeline", "cmvn_stats", "input_mean", "input_std")):
        return None
    if not deltas_exact(fe.pipeline.delta_order, fe.pipeline.delta_window):
        logger.info("deltas of order %d, window %d: numpy input pipeline (the tensor one is "
                    "bit-exact only for the settings in bnn.data.batched.deltas_exact)",
                    fe.pipeline.delta_order, fe.pipeline.delta_window)
        return None
    return TensorFrontend(fe, device)


__all__ = ["TensorFrontend", "delta_scales", "read_raw", "shuffled_batches",
           "sequential_batches", "tensor_frontend_for"]
