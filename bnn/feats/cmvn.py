"""Cepstral mean and variance normalisation in Kaldi's format (src/transform/cmvn.cc).

Statistics are a ``(2, dim + 1)`` float64 matrix, as written by ``compute-cmvn-stats``::

    row 0: sum_t x_t[0] ... sum_t x_t[dim-1]   count
    row 1: sum_t x_t[0]^2 ... sum_t x_t[dim-1]^2   0

``apply-cmvn`` (``ApplyCmvn``): with count ``c``, mean ``m_d = S_d / c``; mean only:
``y_d = x_d - m_d``; with ``norm_vars``: ``var_d = Q_d / c - m_d^2`` (floored at 1e-20),
``y_d = (x_d - m_d) / sqrt(var_d)`` computed as ``x_d * scale_d + offset_d`` in float32 with
``scale_d = 1/sqrt(var_d)``, ``offset_d = -m_d * scale_d``.  A count below 1 is an error; stats
with one row are accepted for mean normalisation only.  The arithmetic is kaldi-native-fbank's
``compute_cmvn_stats``/``apply_cmvn`` (a port of the same Kaldi code); this module adds Kaldi's
checks with messages naming the utterance, and the table-level programs.
"""
from __future__ import annotations

import logging
from typing import Dict, List, Optional, Tuple

import kaldi_native_fbank as knf
import numpy as np

from bnn.feats.tables import TableWriter, random_access, read_matrices, read_text_map
from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)


def _as_feats(feats, what: str = "features") -> np.ndarray:
    feats = np.ascontiguousarray(feats, dtype=np.float32)
    if feats.ndim != 2:
        raise BnnError(f"{what}: expected a (frames x dim) matrix, got shape {feats.shape}")
    return feats


def cmvn_stats(feats: np.ndarray) -> np.ndarray:
    """CMVN statistics of one feature matrix: ``(2, dim + 1)`` float64 (see module docstring)."""
    feats = _as_feats(feats)
    if feats.shape[0] == 0:
        stats = np.zeros((2, feats.shape[1] + 1))
        return stats
    return knf.compute_cmvn_stats(feats)


def accumulate_cmvn_stats(stats: Optional[np.ndarray], feats: np.ndarray, utt: str = "") -> np.ndarray:
    """``stats + cmvn_stats(feats)`` (``stats`` None starts from zero); checks dimensions."""
    new = cmvn_stats(feats)
    if stats is None:
        return new
    if stats.shape != new.shape:
        raise BnnError(f"utterance {utt}: features have dimension {feats.shape[1]} but the stats "
                       f"accumulated so far have dimension {stats.shape[1] - 1}")
    return stats + new


def check_stats(stats: np.ndarray, dim: int, norm_vars: bool, key: str = "") -> np.ndarray:
    """Validate CMVN stats against a feature dimension (Kaldi's checks in ApplyCmvn)."""
    who = f"utterance {key}: " if key else ""
    stats = np.asarray(stats, dtype=np.float64)
    if stats.ndim != 2 or stats.shape[0] not in (1, 2):
        raise BnnError(f"{who}CMVN stats must be a 2 x (dim+1) matrix, got shape {stats.shape}")
    if stats.shape[1] != dim + 1:
        raise BnnError(f"{who}dimension mismatch: CMVN stats have dimension {stats.shape[1] - 1} "
                       f"but features have dimension {dim}")
    if norm_vars and stats.shape[0] != 2:
        raise BnnError(f"{who}--norm-vars needs 2-row CMVN stats, got 1 row")
    count = stats[0, dim]
    if count < 1.0:
        raise BnnError(f"{who}insufficient CMVN stats: count = {count:g}")
    return np.ascontiguousarray(stats)


def apply_cmvn(feats: np.ndarray, stats: np.ndarray, norm_means: bool = True,
               norm_vars: bool = False, utt: str = "") -> np.ndarray:
    """Kaldi's ``apply-cmvn`` on one matrix; returns a new float32 matrix."""
    feats = _as_feats(feats, f"utterance {utt}" if utt else "features")
    if norm_vars and not norm_means:
        raise BnnError("you cannot normalise the variance but not the mean (--norm-vars without "
                       "--norm-means)")
    stats = check_stats(stats, feats.shape[1], norm_vars, utt)
    if not norm_means or feats.shape[0] == 0:
        return feats.copy()
    opts = knf.CmvnOptions()
    opts.norm_vars = bool(norm_vars)
    return knf.apply_cmvn(stats, opts, feats)


# ---- table programs ---------------------------------------------------------------------------

def compute_cmvn_stats_table(feats_rspecifier: str, stats_wspecifier: str,
                             spk2utt: Optional[str] = None) -> Tuple[int, int]:
    """``compute-cmvn-stats [--spk2utt=ark:spk2utt] <feats-rspecifier> <stats-wspecifier>``.

    Per utterance without ``spk2utt``, else per speaker (in spk2utt order; an utterance without
    features is a warning, as in Kaldi's compute-cmvn-stats.cc).  A ``stats_wspecifier`` without
    ``:`` is a plain file: the global stats of all utterances.  Returns ``(done, errors)``.
    """
    done = errors = 0
    if ":" not in stats_wspecifier:
        stats = None
        for utt, feats in read_matrices(feats_rspecifier):
            stats = accumulate_cmvn_stats(stats, feats, utt)
            done += 1
        if stats is None:
            raise BnnError(f"{feats_rspecifier}: no features to accumulate")
        _write_single(stats_wspecifier, stats)
        return done, errors
    with TableWriter(stats_wspecifier) as writer:
        if spk2utt is None:
            for utt, feats in read_matrices(feats_rspecifier):
                writer(utt, accumulate_cmvn_stats(None, feats, utt))
                done += 1
        else:
            spk_map: Dict[str, List[str]] = read_text_map(spk2utt, multi=True)
            table = random_access(feats_rspecifier)
            for spk, utts in spk_map.items():
                stats = None
                for utt in utts:
                    if utt not in table:
                        log.warning("Did not find features for utterance %s (speaker %s)", utt, spk)
                        errors += 1
                        continue
                    stats = accumulate_cmvn_stats(stats, table[utt], utt)
                if stats is None:
                    log.warning("No stats accumulated for speaker %s", spk)
                    continue
                writer(spk, stats)
                done += 1
        if done == 0:
            raise BnnError(f"{feats_rspecifier}: no CMVN stats computed")
    log.info("Done accumulating CMVN stats for %d %s, %d with errors", done,
             "speakers" if spk2utt else "utterances", errors)
    return done, errors


def _write_single(path: str, matrix: np.ndarray) -> None:
    import kaldiio  # local: only this path writes a bare matrix
    from bnn.utils.fileio import atomic_write
    with atomic_write(path, "wb") as f:
        kaldiio.save_mat(f, matrix)


def apply_cmvn_table(cmvn: str, feats_rspecifier: str, feats_wspecifier: str,
                     utt2spk: Optional[str] = None, norm_means: bool = True,
                     norm_vars: bool = False) -> Tuple[int, int]:
    """``apply-cmvn [--utt2spk=ark:f] [--norm-vars] <cmvn-rspecifier|rxfilename> <feats> <out>``.

    ``cmvn`` with ``:`` is a table keyed by speaker (with ``utt2spk``) or utterance; without, a
    single global stats matrix.  An utterance without stats is skipped with a warning (Kaldi);
    one missing from utt2spk is an error.  Returns ``(done, skipped)``.
    """
    spk_of = read_text_map(utt2spk) if utt2spk else None
    if ":" in cmvn:
        table = random_access(cmvn)
        global_stats = None
    else:
        import kaldiio
        try:
            global_stats = np.asarray(kaldiio.load_mat(cmvn), dtype=np.float64)
        except FileNotFoundError:
            raise BnnError(f"{cmvn}: no such CMVN stats file") from None
        table = None
    done = skipped = 0
    with TableWriter(feats_wspecifier) as writer:
        for utt, feats in read_matrices(feats_rspecifier):
            if global_stats is not None:
                stats = global_stats
            else:
                key = utt
                if spk_of is not None:
                    if utt not in spk_of:
                        raise BnnError(f"{_target(utt2spk)}: no speaker for utterance {utt}")
                    key = spk_of[utt]
                if key not in table:
                    log.warning("No normalization statistics available for key %s, producing no "
                                "output for this utterance", key)
                    skipped += 1
                    continue
                stats = table[key]
            writer(utt, apply_cmvn(feats, stats, norm_means, norm_vars, utt))
            done += 1
        if done == 0:
            raise BnnError(f"{feats_rspecifier}: no utterances normalised ({skipped} without stats)")
    log.info("Applied cepstral mean%s normalization to %d utterances, errors on %d",
             " and variance" if norm_vars else "", done, skipped)
    return done, skipped


def _target(spec: str) -> str:
    return spec.split(":", 1)[1] if spec.split(":", 1)[0] in ("ark", "ark,t", "scp") else spec


__all__ = ["cmvn_stats", "accumulate_cmvn_stats", "check_stats", "apply_cmvn",
           "compute_cmvn_stats_table", "apply_cmvn_table"]
