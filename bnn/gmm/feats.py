"""Features for GMM training and alignment, as Kaldi's steps/train_mono.sh builds them:

``apply-cmvn $cmvn_opts --utt2spk=ark:$data/utt2spk scp:$data/cmvn.scp scp:$data/feats.scp ark:- |
add-deltas $delta_opts ark:- ark:-``

* CMVN (Kaldi src/transform/cmvn.cc ``ApplyCmvn``): the stats are a 2 x (D+1) double matrix,
  row 0 = (sum_t x_t, count), row 1 = (sum_t x_t^2, 0); mean normalisation subtracts
  ``sum / count``; ``--norm-vars=true`` also divides by ``sqrt(sumsq / count - mean^2)``.
* Deltas (Kaldi src/feat/feature-functions.cc ``DeltaFeatures``): order-k coefficients are the
  order-(k-1) ones convolved with the window ``j / sum_{i=-N..N} i^2`` for ``j = -N..N``
  (default order 2, window N = 2), frames beyond the edges replicate the first/last frame.

The model dir records the options (``cmvn_opts``, ``delta_opts``) so that alignment and decoding
rebuild the same features.
"""
import logging
import os
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)


def delta_scales(order: int = 2, window: int = 2) -> List[np.ndarray]:
    """Kaldi's ``DeltaFeatures`` filter taps, one array per order (length 1 + 2*order*window)."""
    scales = [np.array([1.0])]
    norm = float(sum(j * j for j in range(-window, window + 1)))
    for _ in range(order):
        prev = scales[-1]
        prev_off = (len(prev) - 1) // 2
        cur = np.zeros(len(prev) + 2 * window)
        cur_off = prev_off + window
        for j in range(-window, window + 1):
            for k in range(-prev_off, prev_off + 1):
                cur[j + k + cur_off] += j * prev[k + prev_off]
        scales.append(cur / norm)
    return scales


def add_deltas(feats: np.ndarray, order: int = 2, window: int = 2) -> np.ndarray:
    """``add-deltas --delta-order=order --delta-window=window`` on a (T, D) matrix -> (T, D*(order+1))."""
    feats = np.asarray(feats, dtype=np.float64)
    num_frames, dim = feats.shape
    scales = delta_scales(order, window)
    out = np.zeros((num_frames, dim * (order + 1)))
    for i, sc in enumerate(scales):
        off = (len(sc) - 1) // 2
        block = np.zeros((num_frames, dim))
        idx = np.arange(num_frames)
        for j in range(-off, off + 1):
            if sc[j + off] != 0.0:
                block += sc[j + off] * feats[np.clip(idx + j, 0, num_frames - 1)]
        out[:, i * dim:(i + 1) * dim] = block
    return out.astype(np.float32)


def apply_cmvn(feats: np.ndarray, stats: np.ndarray, norm_vars: bool = False) -> np.ndarray:
    """Kaldi ``apply-cmvn`` with one stats matrix (2 x (D+1))."""
    stats = np.asarray(stats, dtype=np.float64)
    dim = feats.shape[1]
    if stats.shape != (2, dim + 1):
        raise ValueError(f"CMVN stats of shape {stats.shape} do not fit {dim}-dim features")
    count = stats[0, dim]
    if count < 1.0:
        raise ValueError(f"CMVN stats have count {count} < 1")
    mean = stats[0, :dim] / count
    out = feats.astype(np.float64) - mean
    if norm_vars:
        var = stats[1, :dim] / count - mean * mean
        var = np.maximum(var, 1.0e-20)
        out /= np.sqrt(var)
    return out.astype(np.float32)


def parse_cmvn_opts(opts: str) -> Dict[str, bool]:
    """Understands the ``cmvn_opts`` strings Kaldi recipes use (``--norm-means``, ``--norm-vars``)."""
    res = {"norm_means": True, "norm_vars": False}
    for tok in opts.split():
        name, _, val = tok.lstrip("-").partition("=")
        name = name.replace("-", "_")
        if name not in res:
            raise BnnError(f"cmvn_opts '{opts}': unsupported option '{tok}'")
        res[name] = val.lower() in ("", "true", "t", "1")
    return res


def parse_delta_opts(opts: str) -> Tuple[int, int]:
    order, window = 2, 2
    for tok in opts.split():
        name, _, val = tok.lstrip("-").partition("=")
        if name.replace("_", "-") == "delta-order":
            order = int(val)
        elif name.replace("_", "-") == "delta-window":
            window = int(val)
        else:
            raise BnnError(f"delta_opts '{opts}': unsupported option '{tok}'")
    return order, window


def read_table(path: str) -> Dict[str, str]:
    """``key rest-of-line`` files of a data dir (utt2spk, text, ...)."""
    out = {}
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                parts = line.rstrip("\n").split(maxsplit=1)
                if not parts:
                    continue
                out[parts[0]] = parts[1] if len(parts) > 1 else ""
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    return out


class GmmFeatures:
    """Per-utterance GMM features of a Kaldi data dir (feats.scp + cmvn.scp + utt2spk)."""

    def __init__(self, data_dir: str, cmvn_opts: str = "", delta_opts: str = "",
                 utt_list: Optional[List[str]] = None):
        import kaldiio
        self.data_dir = data_dir
        feats_scp = os.path.join(data_dir, "feats.scp")
        if not os.path.isfile(feats_scp):
            raise BnnError(f"{feats_scp}: missing (run steps/make_mfcc.sh first)")
        self.scp = read_table(feats_scp)
        self.utts = list(utt_list) if utt_list is not None else sorted(self.scp)
        for u in self.utts:
            if u not in self.scp:
                raise BnnError(f"{feats_scp}: no features for utterance {u}")
        self.cmvn = parse_cmvn_opts(cmvn_opts)
        self.delta = parse_delta_opts(delta_opts)
        self.cmvn_opts, self.delta_opts = cmvn_opts, delta_opts
        cmvn_scp = os.path.join(data_dir, "cmvn.scp")
        self.utt2spk = read_table(os.path.join(data_dir, "utt2spk")) \
            if os.path.isfile(os.path.join(data_dir, "utt2spk")) else {u: u for u in self.scp}
        self.stats = None
        if self.cmvn["norm_means"] or self.cmvn["norm_vars"]:
            if not os.path.isfile(cmvn_scp):
                raise BnnError(f"{cmvn_scp}: missing (run steps/compute_cmvn_stats.sh first)")
            self.stats = kaldiio.load_scp(cmvn_scp)
            self.cmvn_scp = cmvn_scp
        self._kaldiio = kaldiio

    def raw(self, utt: str) -> np.ndarray:
        try:
            return np.asarray(self._kaldiio.load_mat(self.scp[utt]), dtype=np.float32)
        except Exception as err:  # noqa: BLE001 - kaldiio raises many kinds
            raise BnnError(f"{os.path.join(self.data_dir, 'feats.scp')}: cannot read features "
                           f"of utterance {utt} ({err})") from None

    def __call__(self, utt: str) -> np.ndarray:
        x = self.raw(utt)
        if self.stats is not None:
            spk = self.utt2spk.get(utt)
            if spk is None:
                raise BnnError(f"{self.data_dir}/utt2spk: no speaker for utterance {utt}")
            try:
                st = self.stats[spk]
            except KeyError:
                raise BnnError(f"{self.cmvn_scp}: no CMVN stats for speaker {spk} "
                               f"(utterance {utt})") from None
            try:
                if self.cmvn["norm_means"]:
                    x = apply_cmvn(x, st, self.cmvn["norm_vars"])
            except ValueError as err:
                raise BnnError(f"{self.cmvn_scp}: speaker {spk}: {err}") from None
        return add_deltas(x, *self.delta)

    def __iter__(self) -> Iterator[Tuple[str, np.ndarray]]:
        for u in self.utts:
            yield u, self(u)

    @property
    def dim(self) -> int:
        order, _ = self.delta
        return self.raw(self.utts[0]).shape[1] * (order + 1)
