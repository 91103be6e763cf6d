"""Features for GMM training and alignment, as Kaldi's steps/train_mono.sh builds them:

``apply-cmvn $cmvn_opts --utt2spk=ark:$data/utt2spk scp:$data/cmvn.scp scp:$data/feats.scp ark:- |
add-deltas $delta_opts ark:- ark:-``

The arithmetic is :mod:`bnn.feats` (``bnn.feats.cmvn.apply_cmvn``, ``bnn.feats.deltas.add_deltas``
through :class:`bnn.feats.pipeline.FeaturePipeline`).  Only the reading of the option strings
differs from :meth:`FeaturePipeline.from_opts`: in a Kaldi GMM dir apply-cmvn and add-deltas
always run, so an empty ``cmvn_opts`` means apply-cmvn's defaults (mean normalisation) and an
empty ``delta_opts`` add-deltas' defaults (order 2, window 2), not "not applied" as in nnet dirs
(see :func:`gmm_pipeline`).  ``--norm-means=false`` makes apply-cmvn a copy (Kaldi
apply-cmvn.cc), so no stats are read then.

The model dir records the option strings (``cmvn_opts``, ``delta_opts``) as given, as
train_mono.sh does, so that alignment and decoding rebuild the same features.
"""
import dataclasses
import logging
import os
from typing import Iterator, List, Optional, Tuple

import numpy as np

from bnn.feats.pipeline import FeaturePipeline
from bnn.kaldi.datadir import read_table
from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)


def gmm_pipeline(cmvn_opts: str = "", delta_opts: str = "", source: str = "") -> FeaturePipeline:
    """The :class:`FeaturePipeline` of ``apply-cmvn $cmvn_opts | add-deltas $delta_opts``.

    Empty strings mean the programs' defaults (Kaldi GMM dirs); no splicing.
    """
    pipe = FeaturePipeline.from_opts(cmvn_opts, delta_opts, source=source)
    changes = {}
    if not cmvn_opts.strip():
        changes.update(cmvn=True, norm_means=True, norm_vars=False)
    elif not pipe.norm_means and not pipe.norm_vars:
        changes.update(cmvn=False)
    if not delta_opts.strip():
        changes.update(delta_order=2, delta_window=2)
    return dataclasses.replace(pipe, **changes) if changes else pipe


class GmmFeatures:
    """Per-utterance GMM features of a Kaldi data dir (feats.scp + cmvn.scp + utt2spk)."""

    def __init__(self, data_dir: str, cmvn_opts: str = "", delta_opts: str = "",
                 utt_list: Optional[List[str]] = None):
        import kaldiio
        self.data_dir = data_dir
        feats_scp = os.path.join(data_dir, "feats.scp")
        if not os.path.isfile(feats_scp):
            raise BnnError(f"{feats_scp}: missing (run steps/make_mfcc.sh first)")
        self.scp = read_table(feats_scp, check_sorted=False)
        self.utts = list(utt_list) if utt_list is not None else sorted(self.scp)
        for u in self.utts:
            if u not in self.scp:
                raise BnnError(f"{feats_scp}: no features for utterance {u}")
        self.pipeline = gmm_pipeline(cmvn_opts, delta_opts)
        self.cmvn_opts, self.delta_opts = cmvn_opts, delta_opts
        cmvn_scp = os.path.join(data_dir, "cmvn.scp")
        utt2spk = os.path.join(data_dir, "utt2spk")
        self.utt2spk = read_table(utt2spk, check_sorted=False) if os.path.isfile(utt2spk) \
            else {u: u for u in self.scp}
        self.stats = None
        if self.pipeline.cmvn:
            if not os.path.isfile(cmvn_scp):
                raise BnnError(f"{cmvn_scp}: missing (run steps/compute_cmvn_stats.sh first)")
            from bnn.feats.tables import load_scp
            self.stats = load_scp(cmvn_scp)
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
        if self.stats is None:
            return self.pipeline.apply(x, None, utt)
        spk = self.utt2spk.get(utt)
        if spk is None:
            raise BnnError(f"{self.data_dir}/utt2spk: no speaker for utterance {utt}")
        if spk not in self.stats:
            raise BnnError(f"{self.cmvn_scp}: no CMVN stats for speaker {spk} "
                           f"(utterance {utt})")
        from bnn.feats.tables import load_entry
        st = load_entry(self.stats, spk, self.cmvn_scp)
        try:
            return self.pipeline.apply(x, st, utt)
        except BnnError as err:
            raise BnnError(f"{self.cmvn_scp}: speaker {spk}: {err}") from None

    def __iter__(self) -> Iterator[Tuple[str, np.ndarray]]:
        for u in self.utts:
            yield u, self(u)

    @property
    def dim(self) -> int:
        return self.pipeline.output_dim(self.raw(self.utts[0]).shape[1])
