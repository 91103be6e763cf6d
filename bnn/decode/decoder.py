"""Decoding per-frame scores with a Kaldi HCLG graph.

:class:`LatticeDecoder` is the toolkit's own lattice-generating search (C++ extension
``bnn.decode._latgen``, see ``bnn/decode/csrc/latgen.cpp``) with the semantics of Kaldi's
``LatticeFasterDecoder`` + ``DeterminizeLatticePruned``: it needs only the transition-id -> pdf map
and the graph, so it decodes with any Kaldi model (monophone or triphone) and writes Kaldi
``CompactLattice`` s (:mod:`bnn.decode.lattice_io`).  Mapped decoding follows Kaldi's
``latgen-faster-mapped`` (src/bin/latgen-faster-mapped.cc) and ``DecodableMatrixScaledMapped``
(src/decoder/decodable-matrix.h): the log-likelihood of transition-id ``t`` at frame ``i`` is
``acoustic_scale * M[i, tid2pdf[t]]`` for a (frames x num-pdfs) matrix ``M``.  GMM decoding feeds
the GMM's per-pdf log-likelihoods to the same search, which is what Kaldi's
``DecodableAmDiagGmmScaled`` computes (``scale * LogLikelihoodZeroBased(frame, pdf)``).

Scoring decodes once and takes every (LM weight, penalty) from the lattice, as Kaldi's
``steps/score_kaldi.sh`` (see :mod:`bnn.decode.scoring`).

:class:`GraphDecoder` is the earlier best-path search on kaldi-hmm-gmm (monophone models only; it
re-decodes once per LM weight and penalty, ``sweep``); it is kept for ``tests/test_graph.py`` and as
the baseline of ``bnn-bench-decode``.
"""
import logging
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from bnn.decode.fstio import arrays_to_vector_fst, read_fst_arrays
from bnn.utils.errors import BnnError

log = logging.getLogger(__name__)


@dataclass
class DecodeOptions:
    """Kaldi ``LatticeFasterDecoderConfig`` options used by the command-line decoders."""
    acoustic_scale: float = 0.1
    beam: float = 16.0
    lattice_beam: float = 10.0
    max_active: int = 2147483647
    min_active: int = 200
    allow_partial: bool = False


@dataclass
class DecodeResult:
    ok: bool
    words: List[int]
    alignment: List[int]
    likelihood: float
    num_frames: int
    partial: bool = False
    lattice: Optional[object] = None  # bnn.decode.lattice_io.CompactLattice (LatticeDecoder)


@dataclass
class SweepGrid:
    """LM weights and word insertion penalties for the scoring sweep."""
    lm_weights: Sequence[float] = field(default_factory=list)
    penalties: Sequence[float] = field(default_factory=lambda: [0.0])


def parse_range(spec: str) -> List[int]:
    """``"1:20"`` -> [1..20]; ``"7,9,11"`` -> [7, 9, 11] (Kaldi score.sh ``--min-lmwt/--max-lmwt``)."""
    spec = spec.strip()
    if not spec:
        return []
    try:
        if ":" in spec:
            lo, hi = spec.split(":")
            return list(range(int(lo), int(hi) + 1))
        return [int(x) for x in spec.split(",")]
    except ValueError:
        raise BnnError(f"bad LM weight range '{spec}' (use e.g. 1:20 or 7,9,11)") from None


def parse_floats(spec: str) -> List[float]:
    try:
        return [float(x) for x in spec.replace(",", " ").split()]
    except ValueError:
        raise BnnError(f"bad list of numbers '{spec}'") from None


def read_sets(path: str):
    """Lines of ``phones/sets.int`` (phones sharing pdfs in a monophone model) as lists of ints."""
    with open(path) as f:
        return [[int(x) for x in line.split()] for line in f if line.split()]


def load_model(model_path: str, sets_candidates: Sequence[str] = ()):
    """(kaldi_hmm_gmm.TransitionModel, our AmDiagGmm or None, kaldi_hmm_gmm monophone tree) of a
    Kaldi model file (bnn.kaldi.model_io + khg_bridge).  Monophone models whose phones share pdfs
    are rebuilt with the first existing ``phones/sets.int`` among ``sets_candidates``."""
    from bnn.kaldi.khg_bridge import to_khg_monophone_tree, to_khg_transition_model
    from bnn.kaldi.model_io import read_model
    trans, am = read_model(model_path)
    try:
        return to_khg_transition_model(trans, name=model_path), am, to_khg_monophone_tree(trans)
    except BnnError:
        for cand in sets_candidates:
            if os.path.isfile(cand):
                sets = read_sets(cand)
                return (to_khg_transition_model(trans, name=model_path, sets=sets), am,
                        to_khg_monophone_tree(trans, sets=sets))
        raise


def load_transition_model(model_path: str, sets_candidates: Sequence[str] = ()):
    """(kaldi_hmm_gmm.TransitionModel, our AmDiagGmm or None) of a Kaldi model file."""
    tm, am, _ = load_model(model_path, sets_candidates)
    return tm, am


def load_am_gmm(model_path: str, sets_candidates: Sequence[str] = ()):
    """The kaldi_hmm_gmm (TransitionModel, AmDiagGmm) of a Kaldi GMM model file."""
    from bnn.kaldi.khg_bridge import to_khg_am
    tm, am = load_transition_model(model_path, sets_candidates)
    if am is None:
        raise BnnError(f"{model_path}: model has no AmDiagGmm (a transition model only)")
    return tm, to_khg_am(am)


def check_scores(key: str, mat: np.ndarray, num_pdfs: Optional[int], source: str) -> np.ndarray:
    """Validate one utterance's (frames x num-pdfs) score matrix; return it as float32."""
    mat = np.asarray(mat)
    if mat.ndim != 2:
        raise BnnError(f"{source}: utterance {key}: expected a matrix, got an array of shape {mat.shape}")
    if num_pdfs is not None and mat.shape[1] != num_pdfs:
        raise BnnError(f"{source}: utterance {key}: log-likelihood matrix has {mat.shape[1]} columns "
                       f"but the model has {num_pdfs} pdfs")
    if mat.shape[0] == 0:
        raise BnnError(f"{source}: utterance {key}: empty log-likelihood matrix (0 frames)")
    if not np.all(np.isfinite(mat)):
        bad = int(np.argmax(~np.isfinite(mat).all(axis=1)))
        raise BnnError(f"{source}: utterance {key}: non-finite score (NaN or inf) at frame {bad}")
    return np.asarray(mat, dtype=np.float32)


class GraphDecoder:
    """Kaldi lattice-faster decoding over an HCLG graph (vector or const OpenFst file)."""

    def __init__(self, hclg_path: str, trans_model, opts: DecodeOptions):
        import kaldi_hmm_gmm as khg
        self.khg = khg
        self.path = hclg_path
        self.tm = trans_model
        self.opts = opts
        self.graph = read_fst_arrays(hclg_path)
        if self.graph.num_states == 0:
            raise BnnError(f"{hclg_path}: empty decoding graph")
        max_tid = int(self.graph.arcs["ilabel"].max()) if self.graph.num_arcs else 0
        if max_tid > trans_model.num_transition_ids:
            raise BnnError(f"{hclg_path}: graph uses transition-id {max_tid} but the model has only "
                           f"{trans_model.num_transition_ids} (graph built for another model?)")
        self.tid2pdf = np.asarray(trans_model.transition_id_to_pdf_array(), dtype=np.int64)
        self.num_pdfs = int(trans_model.num_pdfs)
        self._decoders: Dict[float, object] = {}

    def _config(self):
        cfg = self.khg.LatticeFasterDecoderConfig()
        cfg.beam = self.opts.beam
        cfg.lattice_beam = self.opts.lattice_beam
        cfg.max_active = self.opts.max_active
        cfg.min_active = self.opts.min_active
        return cfg

    def _decoder(self, wip: float):
        """A decoder on the graph with ``wip`` added to the cost of every arc with a word label."""
        if wip not in self._decoders:
            import kaldifst
            fa = self.graph
            if wip != 0.0:
                arcs = fa.arcs.copy()
                has_word = arcs["olabel"] != 0
                arcs["weight"][has_word] += np.float32(wip)
                fa = type(fa)(fa.start, fa.finals, fa.arc_state, arcs, fa.properties)
            const = kaldifst.StdConstFst(arrays_to_vector_fst(fa))
            self._decoders[wip] = (self.khg.LatticeFasterDecoderStdConstFst(const, self._config()), const)
        return self._decoders[wip][0]

    def _run(self, key: str, decodable, num_frames: int, wip: float) -> DecodeResult:
        ok, ali, words, like = self.khg.decode_utterance_lattice_faster(
            self._decoder(wip), decodable, self.tm, key, self.opts.allow_partial)
        # kaldi-hmm-gmm returns ok=False both for "no final state" (with allow_partial it still
        # gives the partial best path) and for a total failure (no path at all).
        partial = bool(not ok and len(ali) > 0)
        return DecodeResult(bool(ok) or (partial and self.opts.allow_partial), list(words),
                            list(ali), float(like), num_frames, partial)

    def mapped_decodable(self, loglikes: np.ndarray, acoustic_scale: float):
        scaled = np.ascontiguousarray(loglikes[:, self.tid2pdf[1:]] * np.float32(acoustic_scale),
                                      dtype=np.float32)
        return self.khg.DecodableCtc(scaled)

    def decode_loglikes(self, key: str, loglikes: np.ndarray, acoustic_scale: Optional[float] = None,
                        wip: float = 0.0) -> DecodeResult:
        """Decode one (frames x num-pdfs) matrix of log-likelihoods (Kaldi latgen-faster-mapped)."""
        scale = self.opts.acoustic_scale if acoustic_scale is None else acoustic_scale
        return self._run(key, self.mapped_decodable(loglikes, scale), loglikes.shape[0], wip)

    def decode_decodable(self, key: str, decodable, num_frames: int, wip: float = 0.0) -> DecodeResult:
        return self._run(key, decodable, num_frames, wip)

    def sweep(self, key: str, loglikes: np.ndarray, grid: SweepGrid):
        """Best word sequence for each (LM weight, penalty): {(lmwt, wip): [word ids]}."""
        out = {}
        for wip in grid.penalties:
            for lmwt in grid.lm_weights:
                res = self.decode_loglikes(key, loglikes, 1.0 / float(lmwt), wip)
                out[(lmwt, wip)] = res.words if res.ok else None
        return out


def graph_csr(fa):
    """CSR arrays (start, finals, offsets, ilabel, olabel, weight, nextstate) of FstArrays."""
    n = fa.num_states
    if fa.num_arcs and np.any(np.diff(fa.arc_state) < 0):
        order = np.argsort(fa.arc_state, kind="stable")
        arcs, arc_state = fa.arcs[order], fa.arc_state[order]
    else:
        arcs, arc_state = fa.arcs, fa.arc_state
    offsets = np.zeros(n + 1, dtype=np.int64)
    if fa.num_arcs:
        offsets[1:] = np.cumsum(np.bincount(arc_state, minlength=n))
    return (fa.start, np.ascontiguousarray(fa.finals, dtype=np.float32), offsets,
            np.ascontiguousarray(arcs["ilabel"], dtype=np.int32),
            np.ascontiguousarray(arcs["olabel"], dtype=np.int32),
            np.ascontiguousarray(arcs["weight"], dtype=np.float32),
            np.ascontiguousarray(arcs["nextstate"], dtype=np.int32))


def phone_start_array(trans) -> np.ndarray:
    """int32 array over transition-ids: the phone of a transition-id that starts a phone (HMM
    state 0, not a self-loop: Kaldi ``DeterminizeLatticeInsertPhones``), else 0; entry 0 unused.
    Given to :class:`LatticeDecoder`, it enables the phone-level first determinization pass."""
    starts = (np.asarray(trans.id2hmm_state) == 0) & ~np.asarray(trans.id_is_self_loop, dtype=bool)
    out = np.where(starts, np.asarray(trans.id2phone), 0).astype(np.int32)
    out[0] = 0
    return np.ascontiguousarray(out)


def load_tid2pdf(model_path: str):
    """(tid -> pdf int32 array with entry 0 unused, num_pdfs) of any Kaldi model file, from the
    toolkit's own TransitionModel reader (monophone and triphone models alike)."""
    from bnn.kaldi.model_io import read_model
    trans, am = read_model(model_path)
    tid2pdf = np.asarray(trans.pdf_array(), dtype=np.int32).copy()
    tid2pdf[0] = 0
    return tid2pdf, int(trans.num_pdfs), trans, am


class LatticeDecoder:
    """The toolkit's lattice-generating decoder over an HCLG graph (vector or const OpenFst file).

    ``decode_loglikes(key, M)`` runs the C++ search (Kaldi ``LatticeFasterDecoder`` semantics) on
    the (frames x num-pdfs) matrix ``M`` and returns a :class:`DecodeResult` with the best path
    (words, transition-id alignment, likelihood = -(graph + acoustic cost) at the decoding acoustic
    scale, as latgen-faster-mapped logs it) and ``lattice``: the determinized word lattice
    (CompactLattice) with acoustic costs divided by the acoustic scale again, as Kaldi writes it.
    """

    def __init__(self, hclg_path: str, tid2pdf: np.ndarray, num_pdfs: int, opts: DecodeOptions,
                 prune_interval: int = 25, beam_delta: float = 0.5, prune_scale: float = 0.1,
                 determinize: bool = True, max_det_states: int = 200000, graph_arrays=None,
                 phone_start: Optional[np.ndarray] = None):
        try:
            from bnn.decode import _latgen
        except ImportError as err:
            raise BnnError(f"the lattice decoder's C++ extension bnn.decode._latgen is not built ({err}); "
                           "run: pip install --no-deps --no-build-isolation -e .") from None
        self._latgen = _latgen
        self.path = hclg_path
        self.opts = opts
        fa = read_fst_arrays(hclg_path) if graph_arrays is None else graph_arrays
        if fa.num_states == 0:
            raise BnnError(f"{hclg_path}: empty decoding graph")
        self.graph_arrays = fa
        self.tid2pdf = np.ascontiguousarray(tid2pdf, dtype=np.int32)
        self.num_pdfs = int(num_pdfs)
        max_tid = int(fa.arcs["ilabel"].max()) if fa.num_arcs else 0
        if max_tid >= len(self.tid2pdf):
            raise BnnError(f"{hclg_path}: graph uses transition-id {max_tid} but the model has only "
                           f"{len(self.tid2pdf) - 1} (graph built for another model?)")
        self.graph = _latgen.Graph(*graph_csr(fa))
        if phone_start is not None:
            phone_start = np.ascontiguousarray(phone_start, dtype=np.int32)
            if len(phone_start) != len(self.tid2pdf):
                raise BnnError(f"{hclg_path}: phone_start has {len(phone_start)} entries, the model "
                               f"{len(self.tid2pdf)} (transition-ids + 1)")
        self.extra = dict(prune_interval=prune_interval, beam_delta=beam_delta, prune_scale=prune_scale,
                          determinize=determinize, max_det_states=max_det_states, phone_start=phone_start)
        self.last_info: Dict[str, object] = {}

    def with_word_penalty(self, wip: float) -> "LatticeDecoder":
        """A decoder on the same graph with ``wip`` added to the cost of every arc with a word
        (the graph a re-decoding sweep searches for penalty ``wip``)."""
        fa = self.graph_arrays
        arcs = fa.arcs.copy()
        arcs["weight"][arcs["olabel"] != 0] += np.float32(wip)
        fa2 = type(fa)(fa.start, fa.finals, fa.arc_state, arcs, fa.properties)
        return LatticeDecoder(self.path, self.tid2pdf, self.num_pdfs, self.opts, graph_arrays=fa2, **self.extra)

    def search(self, loglikes: np.ndarray, acoustic_scale: Optional[float] = None) -> dict:
        """The raw result dict of the C++ search (see latgen.cpp ``decode``)."""
        mat = np.ascontiguousarray(loglikes, dtype=np.float32)
        if mat.ndim != 2 or mat.shape[1] != self.num_pdfs:
            raise BnnError(f"score matrix of shape {mat.shape} does not match the model's {self.num_pdfs} pdfs")
        o = self.opts
        scale = o.acoustic_scale if acoustic_scale is None else acoustic_scale
        return self._latgen.decode(self.graph, mat, self.tid2pdf, float(scale), float(o.beam),
                                   int(min(o.max_active, 2147483647)), int(o.min_active), float(o.lattice_beam),
                                   int(self.extra["prune_interval"]), float(self.extra["beam_delta"]),
                                   float(self.extra["prune_scale"]), bool(self.extra["determinize"]),
                                   int(self.extra["max_det_states"]), self.extra["phone_start"])

    def decode_loglikes(self, key: str, loglikes: np.ndarray, acoustic_scale: Optional[float] = None) -> DecodeResult:
        r = self.search(loglikes, acoustic_scale)
        self.last_info = {k: r[k] for k in ("raw_states", "phone_lat_states", "clat_states", "links",
                                            "det_complete", "det_beam")}
        n = int(r["num_frames"])
        if not r["ok"] or not r["have_best"]:
            return DecodeResult(False, [], [], float("-inf"), n)
        if not r["det_complete"]:
            log.warning("Determinization finished earlier than the beam for utterance %s (beam %.3g)",
                        key, r["det_beam"])
        partial = not r["reached_final"]
        words = np.frombuffer(r["words"], dtype=np.int32).tolist()
        ali = np.frombuffer(r["alignment"], dtype=np.int32).tolist()
        like = -(float(r["graph_cost"]) + float(r["acoustic_cost"]))
        lat = _compact_from_result(r) if self.extra["determinize"] else None
        ok = (not partial) or self.opts.allow_partial
        return DecodeResult(ok, words, ali, like, n, partial, lat)


def _compact_from_result(r: dict):
    from bnn.decode.lattice_io import CompactLattice
    src = np.frombuffer(r["arc_src"], dtype=np.int32).tolist()
    dst = np.frombuffer(r["arc_dst"], dtype=np.int32).tolist()
    word = np.frombuffer(r["arc_word"], dtype=np.int32).tolist()
    g = np.frombuffer(r["arc_g"], dtype=np.float32).tolist()
    a = np.frombuffer(r["arc_a"], dtype=np.float32).tolist()
    off = np.frombuffer(r["arc_off"], dtype=np.int64).tolist()
    tids = np.frombuffer(r["arc_tids"], dtype=np.int32).tolist()
    n = int(r["clat_states"])
    arcs = [[] for _ in range(n)]
    for i in range(len(src)):
        arcs[src[i]].append((word[i], g[i], a[i], tuple(tids[off[i]:off[i + 1]]), dst[i]))
    fs = np.frombuffer(r["final_state"], dtype=np.int32).tolist()
    fg = np.frombuffer(r["final_g"], dtype=np.float32).tolist()
    fa = np.frombuffer(r["final_a"], dtype=np.float32).tolist()
    foff = np.frombuffer(r["final_off"], dtype=np.int64).tolist()
    ftids = np.frombuffer(r["final_tids"], dtype=np.int32).tolist()
    finals = {fs[i]: (fg[i], fa[i], tuple(ftids[foff[i]:foff[i + 1]])) for i in range(len(fs))}
    return CompactLattice(0 if n else -1, arcs, finals)


def read_symbol_table(path: str) -> Dict[int, str]:
    """``words.txt`` (``<symbol> <id>`` per line) as {id: symbol}."""
    table = {}
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2:
                    raise BnnError(f"{path}:{n}: expected '<symbol> <id>', got '{line.strip()}'")
                table[int(parts[1])] = parts[0]
    except OSError as err:
        raise BnnError(f"{path}: cannot read symbol table ({err.strerror})") from None
    except ValueError:
        raise BnnError(f"{path}: bad integer id in symbol table") from None
    return table


class DecodeStats:
    """Kaldi-style end-of-job summary (latgen-faster-mapped.cc: RTF, overall log-likelihood)."""

    def __init__(self):
        import time
        self._time = time.time
        self.start = time.time()
        self.done = self.failed = self.partial = 0
        self.frames = 0
        self.tot_like = 0.0

    def add(self, res: DecodeResult):
        if res.ok:
            self.done += 1
            self.partial += int(res.partial)
            self.frames += res.num_frames
            self.tot_like += res.likelihood
        else:
            self.failed += 1

    def log_summary(self, logger=log):
        elapsed = self._time() - self.start
        rtf = elapsed / (self.frames / 100.0) if self.frames else float("nan")
        fps = self.frames / elapsed if elapsed > 0 else float("inf")
        logger.info("Time taken %.2fs: real-time factor assuming 100 frames/sec is %.4f (%.1f frames/s)",
                    elapsed, rtf, fps)
        logger.info("Done %d utterances, failed for %d (%d partial)", self.done, self.failed, self.partial)
        per_frame = self.tot_like / self.frames if self.frames else float("nan")
        logger.info("Overall log-likelihood per frame is %s over %d frames.",
                    f"{per_frame:.6g}" if not math.isnan(per_frame) else "nan", self.frames)
