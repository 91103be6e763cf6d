"""Monophone GMM-HMM training and forced alignment on kaldi-hmm-gmm (Kaldi's GMM code).

This is Kaldi's steps/train_mono.sh pipeline, run in memory, one program per step replaced by a
function (Kaldi sources: gmmbin/gmm-init-mono.cc, bin/compile-train-graphs.cc,
bin/align-equal-compiled.cc, gmmbin/gmm-acc-stats-ali.cc, gmmbin/gmm-est.cc,
gmmbin/gmm-align-compiled.cc, gmmbin/gmm-boost-silence.cc):

1. :func:`init_mono` (gmm-init-mono): a monophone tree whose pdf sharing follows
   ``phones/sets.int``, a TransitionModel from ``topo``, and every pdf a 1-Gaussian GMM with the
   global mean and variance of the first ``num_init_utts`` utterances.
2. :class:`GraphCompiler` (compile-train-graphs): per-utterance training graphs from ``L.fst``
   and the transcript, OOVs mapped to ``oov.int``.
3. :func:`equal_align` (align-equal-compiled): a random path of exactly T emitting arcs.
4. :func:`accumulate` (gmm-acc-stats-ali): for frame t with transition-id a_t and pdf p(a_t),
   GMM stats with weight 1 (posteriors over the Gaussians of p) and transition count
   ``c[a_t] += 1``; returns sum_t log p(x_t | p(a_t)), the log-likelihood printed per frame.
5. :func:`update` (gmm-est): transition MLE update, MLE of means/variances/weights
   (``--min-gaussian-occupancy``, 3 on the first pass and Kaldi's default 10 afterwards), then
   mixing up to the Gaussian target with ``SplitByCount`` (Gaussians allocated to pdfs in
   proportion to occupancy^power, power 0.25, min-count 20, perturb-factor 0.01).
6. :func:`align` (gmm-align-compiled): Viterbi through the graph with transition probs added
   (transition-scale 1.0, self-loop-scale 0.1), acoustic scale 0.1, ``--beam``/``--retry-beam``;
   the model may first have optional-silence weights multiplied by ``boost_silence``
   (gmm-boost-silence, which does not renormalise: silence log-likelihoods rise by ln boost).

:func:`train_mono` runs Kaldi's schedule: realign on iterations
1 2 3 4 5 6 7 8 9 10 12 14 16 18 20 23 26 29 32 35 38, beam 6 (retry 24) on the first alignment
and 10 (retry 40) afterwards, Gaussian target increased by (totgauss - num_pdfs) / 30 per
iteration for the first 30 iterations.
"""
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

REALIGN_ITERS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 23, 26, 29, 32, 35, 38)


def _khg():
    import kaldi_hmm_gmm
    return kaldi_hmm_gmm


# --------------------------------------------------------------------------- lang dir
def _read_ints(path: str) -> List[List[int]]:
    out = []
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        out.append([int(x) for x in line.split()])
                    except ValueError:
                        raise BnnError(f"{path}:{n}: expected integers") from None
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    return out


@dataclass
class Lang:
    """What GMM training reads from a Kaldi lang dir."""
    path: str
    topo_text: str
    words: Dict[str, int]
    phones: Dict[str, int]
    disambig: List[int]
    sets: List[List[int]]
    optional_silence: List[int]
    silence: List[int]
    oov: int

    @classmethod
    def load(cls, lang_dir: str) -> "Lang":
        from bnn.lang.prepare_lang import read_symbol_table
        needed = ["topo", "words.txt", "phones.txt", "L.fst", "oov.int", "phones/disambig.int",
                  "phones/sets.int", "phones/optional_silence.csl", "phones/silence.csl"]
        for f in needed:
            if not os.path.isfile(os.path.join(lang_dir, f)):
                raise BnnError(f"{os.path.join(lang_dir, f)}: missing (run utils/prepare_lang.sh)")
        with open(os.path.join(lang_dir, "topo")) as f:
            topo_text = f.read()

        def csl(name):
            with open(os.path.join(lang_dir, name)) as f:
                txt = f.read().strip()
            return [int(x) for x in txt.split(":")] if txt else []

        oov = _read_ints(os.path.join(lang_dir, "oov.int"))
        return cls(lang_dir, topo_text, read_symbol_table(os.path.join(lang_dir, "words.txt")),
                   read_symbol_table(os.path.join(lang_dir, "phones.txt")),
                   [x[0] for x in _read_ints(os.path.join(lang_dir, "phones/disambig.int"))],
                   _read_ints(os.path.join(lang_dir, "phones/sets.int")),
                   csl("phones/optional_silence.csl"), csl("phones/silence.csl"), oov[0][0])

    def l_fst(self):
        import kaldifst
        path = os.path.join(self.path, "L.fst")
        fst = kaldifst.StdVectorFst.read(path)
        if fst is None:
            raise BnnError(f"{path}: not an OpenFst vector FST")
        kaldifst.arcsort(fst, sort_type="olabel")
        return fst

    def transcript_ids(self, text: str, utt: str, text_path: str) -> List[int]:
        """``sym2int.pl --map-oov <oov> -f 2- words.txt``."""
        ids = []
        for w in text.split():
            i = self.words.get(w)
            ids.append(self.oov if i is None else i)
        if not ids:
            raise BnnError(f"{text_path}: utterance {utt} has an empty transcript")
        return ids


def make_topology(topo_text: str):
    khg = _khg()
    topo = khg.HmmTopology()
    try:
        topo.read(topo_text)
    except Exception as err:  # noqa: BLE001
        raise BnnError(f"topo: cannot parse HMM topology ({err})") from None
    return topo


# --------------------------------------------------------------------------- init
def init_mono(topo_text: str, sets: Sequence[Sequence[int]], init_feats: Sequence[np.ndarray]):
    """gmm-init-mono: returns ``(transition_model, ctx_dep, am_gmm, topo)``.

    Every pdf gets one Gaussian with the global mean mu = E[x] and variance E[x^2] - mu^2 of
    ``init_feats`` (gmm-init-mono --train-feats); pdfs are shared by the phones of one line of
    ``sets`` (``--shared-phones``).
    """
    khg = _khg()
    topo = make_topology(topo_text)
    x = np.concatenate([np.asarray(f, dtype=np.float64) for f in init_feats], axis=0)
    if x.shape[0] == 0:
        raise BnnError("gmm init: no feature frames to initialise from")
    mean = x.mean(axis=0)
    var = np.maximum((x * x).mean(axis=0) - mean * mean, 1.0e-10)
    dim = x.shape[1]
    phone2npdf = topo.get_phone_to_num_pdf_classes()
    covered = sorted(p for s in sets for p in s)
    if covered != sorted(topo.phones):
        raise BnnError(f"phones/sets.int covers phones {covered}, topo has {list(topo.phones)}")
    ctx_dep = khg.monophone_context_dependency_shared(
        phone_classes=[list(s) for s in sets], phone2num_pdf_classes=phone2npdf)
    gmm = khg.DiagGmm(nmix=1, dim=dim)
    gmm.set_weights(np.ones(1, dtype=np.float32))
    gmm.set_invvars((1.0 / var)[None, :].astype(np.float32))
    gmm.set_means(mean[None, :].astype(np.float32))
    gmm.compute_gconsts()
    am = khg.AmDiagGmm()
    for _ in range(ctx_dep.num_pdfs):
        am.add_pdf(gmm)
    tm = khg.TransitionModel(ctx_dep=ctx_dep, hmm_topo=topo)
    return tm, ctx_dep, am, topo


# --------------------------------------------------------------------------- graphs
class GraphCompiler:
    """compile-train-graphs: word sequence -> HCLG-like training FST over transition-ids.

    The graphs carry no transition probabilities (transition and self-loop scale 0, like the
    graphs Kaldi's compile-train-graphs writes); :func:`align` adds them with the current model's
    probabilities, as gmm-align-compiled does.  (With kaldi-hmm-gmm's default scales of 1.0 the
    probabilities would be counted twice and the alignments drift away from Kaldi's.)
"""

    def __init__(self, tm, ctx_dep, lang: Lang):
        khg = _khg()
        self.compiler = khg.TrainingGraphCompiler(
            trans_model=tm, ctx_dep=ctx_dep, lex_fst=lang.l_fst(),
            disambig_syms=lang.disambig,
            opts=khg.TrainingGraphCompilerOptions(transition_scale=0.0, self_loop_scale=0.0))

    def compile(self, word_ids: Sequence[int]):
        return self.compiler.compile_graph_from_text(list(word_ids))


def kaldi_string_hash(key: str) -> int:
    """Kaldi's ``StringHasher`` (util/stl-utils.h) cast to int32, the seed align-equal-compiled
    uses per utterance: h = h * 7853 + byte, modulo 2^64."""
    h = 0
    for b in key.encode("utf-8"):
        if b >= 128:  # char is signed on x86
            b -= 256
        h = (h * 7853 + b) & 0xFFFFFFFFFFFFFFFF
    h &= 0xFFFFFFFF
    return h - (1 << 32) if h >= (1 << 31) else h


def equal_align(graph, num_frames: int, seed: int = 0) -> Optional[List[int]]:
    """align-equal-compiled: transition-ids of a random path with ``num_frames`` emitting arcs
    (``seed`` = :func:`kaldi_string_hash` of the utterance id, as in Kaldi)."""
    import kaldifst
    ok, path = kaldifst.equal_align(ifst=graph, length=num_frames, rand_seed=seed,
                                    num_retries=10)
    if not ok:
        return None
    ok, ali, _, _ = kaldifst.get_linear_symbol_sequence(path)
    if not ok or len(ali) != num_frames:
        return None
    return list(ali)


# --------------------------------------------------------------------------- EM
class Accumulators:
    """gmm-acc-stats-ali accumulators: AccumAmDiagGmm + transition counts (per transition-id)."""

    def __init__(self, am, tm):
        khg = _khg()
        self.gmm = khg.AccumAmDiagGmm()
        self.gmm.init(am, khg.GmmUpdateFlags.kGmmAll)
        self.trans = np.zeros(tm.num_transition_ids + 1, dtype=np.float64)
        self.tot_like = 0.0
        self.frames = 0


def accumulate(acc: Accumulators, am, tm, feats: np.ndarray, ali: Sequence[int]) -> float:
    """Add one utterance; returns its total log-likelihood sum_t log p(x_t | pdf(a_t))."""
    pdf_of = _tid2pdf(tm)
    feats = np.ascontiguousarray(feats, dtype=np.float32)
    like = 0.0
    for t, tid in enumerate(ali):
        like += acc.gmm.accumulate_for_gmm(am, feats[t], int(pdf_of[tid]), 1.0)
    acc.trans += np.bincount(np.asarray(ali, dtype=np.int64), minlength=acc.trans.size)
    acc.tot_like += like
    acc.frames += len(ali)
    return like


def _tid2pdf(tm) -> np.ndarray:
    # transition_id_to_pdf_array is indexed by transition-id (entry 0 unused)
    arr = np.asarray(tm.transition_id_to_pdf_array(), dtype=np.int64)
    if arr.size == tm.num_transition_ids:
        arr = np.concatenate([[-1], arr])
    return arr


def pdf_occupancies(acc: Accumulators) -> np.ndarray:
    return np.array([acc.gmm.get_acc(i).occupancy.sum() for i in range(acc.gmm.num_accs)],
                    dtype=np.float32)


def update(am, tm, acc: Accumulators, mixup: int = 0, min_gaussian_occupancy: float = 10.0,
           power: float = 0.25, perturb_factor: float = 0.01, min_count: float = 20.0) -> Dict:
    """gmm-est: transition + GMM MLE update, then mix up to ``mixup`` Gaussians (if > 0)."""
    khg = _khg()
    occs = pdf_occupancies(acc)
    timpr, tcount = tm.mle_update(acc.trans, khg.MleTransitionUpdateConfig())
    opts = khg.MleDiagGmmOptions()
    opts.min_gaussian_occupancy = min_gaussian_occupancy
    gimpr, gcount = khg.mle_am_diag_gmm_update(
        config=opts, amdiag_gmm_acc=acc.gmm,
        flags=int(khg.GmmUpdateFlags.kGmmAll), am_gmm=am)
    if mixup > 0:
        am.split_by_count(state_occs=occs, target_components=int(mixup),
                          perturb_factor=perturb_factor, power=power, min_count=min_count)
    return {"trans_impr_per_frame": timpr / max(tcount, 1.0),
            "gmm_impr_per_frame": gimpr / max(gcount, 1.0), "occs": occs,
            "num_gauss": am.num_gauss}


def boost_silence(am, tm, phones: Sequence[int], boost: float):
    """gmm-boost-silence: a copy of ``am`` whose pdfs of ``phones`` have weights * boost."""
    khg = _khg()
    if boost == 1.0:
        return am
    out = khg.AmDiagGmm()
    out.copy_from_am_diag_gmm(am)
    ok, pdfs = khg.get_pdfs_for_phones(tm, list(phones))
    if not ok:
        logger.warning("boost-silence: pdfs of silence phones are shared with other phones")
    for p in pdfs:
        g = out.get_pdf(p)
        g.set_weights(np.asarray(g.weights, dtype=np.float32) * np.float32(boost))
        g.compute_gconsts()
    return out


@dataclass
class AlignOptions:
    beam: float = 10.0
    retry_beam: float = 40.0
    careful: bool = False
    acoustic_scale: float = 0.1
    transition_scale: float = 1.0
    self_loop_scale: float = 0.1


def align(am, tm, graph, feats: np.ndarray, opts: AlignOptions, utt: str = ""):
    """gmm-align-compiled for one utterance: ``(alignment or None, log-like, retried)``.

    The log-likelihood is Kaldi's "log-like per frame" numerator: the best path's acoustic
    (unscaled) plus graph score.
    """
    khg = _khg()
    fst = graph.copy()
    khg.add_transition_probs(trans_model=tm, transition_scale=opts.transition_scale,
                             self_loop_scale=opts.self_loop_scale, fst=fst)
    dec = khg.DecodableAmDiagGmmScaled(am=am, tm=tm,
                                       feats=np.ascontiguousarray(feats, dtype=np.float32),
                                       scale=opts.acoustic_scale)
    cfg = khg.AlignConfig(beam=opts.beam, retry_beam=opts.retry_beam, careful=opts.careful)
    done, err, retried, like, frames, ali, _ = khg.align_utterance_wrapper(
        config=cfg, utt=utt, acoustic_scale=opts.acoustic_scale, fst=fst, decodable=dec,
        num_done=0, num_error=0, num_retried=0, tot_like=0.0, frame_count=0)
    if done != 1 or len(ali) != feats.shape[0]:
        return None, 0.0, bool(retried)
    return list(ali), float(like), bool(retried)


# --------------------------------------------------------------------------- driver
@dataclass
class MonoConfig:
    num_iters: int = 40
    max_iter_inc: int = 30
    totgauss: int = 1000
    power: float = 0.25
    boost_silence: float = 1.0
    realign_iters: Tuple[int, ...] = REALIGN_ITERS
    first_beam: float = 6.0
    beam: float = 10.0
    careful: bool = False
    num_init_utts: int = 10


@dataclass
class MonoResult:
    tm: object
    ctx_dep: object
    am: object
    alignments: Dict[str, List[int]]
    iter_loglikes: List[float] = field(default_factory=list)
    log: List[str] = field(default_factory=list)


def train_mono(utts: Sequence[str], get_feats: Callable[[str], np.ndarray],
               transcripts: Dict[str, List[int]], lang: Lang, config: MonoConfig = MonoConfig(),
               log: Callable[[str], None] = None) -> MonoResult:
    """Kaldi's steps/train_mono.sh on in-memory data; see the module docstring."""
    log = log or logger.info
    lines: List[str] = []

    def say(msg):
        lines.append(msg)
        log(msg)

    utts = [u for u in utts if u in transcripts]
    if not utts:
        raise BnnError("train_mono: no utterance has both features and a transcript")
    feats_cache: Dict[str, np.ndarray] = {u: get_feats(u) for u in utts}
    tm, ctx_dep, am, _ = init_mono(lang.topo_text, lang.sets,
                                   [feats_cache[u] for u in utts[:config.num_init_utts]])
    numgauss = am.num_gauss
    incgauss = (config.totgauss - numgauss) // config.max_iter_inc
    say(f"init: {tm.num_pdfs} pdfs, {tm.num_transition_ids} transition-ids, "
        f"dim {am.dim}, {len(utts)} utterances")

    compiler = GraphCompiler(tm, ctx_dep, lang)
    graphs = {u: compiler.compile(transcripts[u]) for u in utts}

    ali: Dict[str, List[int]] = {}
    for i, u in enumerate(utts):
        a = equal_align(graphs[u], feats_cache[u].shape[0], seed=kaldi_string_hash(u))
        if a is None:
            say(f"equal-align: could not align utterance {u} "
                f"({feats_cache[u].shape[0]} frames too few for its transcript)")
            continue
        ali[u] = a
    if not ali:
        raise BnnError("train_mono: equal alignment failed for every utterance")

    def em(it: int, mixup: int, min_occ: float):
        acc = Accumulators(am, tm)
        for u in utts:
            if u in ali:
                accumulate(acc, am, tm, feats_cache[u], ali[u])
        avg = acc.tot_like / max(acc.frames, 1)
        result.iter_loglikes.append(avg)
        st = update(am, tm, acc, mixup=mixup, min_gaussian_occupancy=min_occ, power=config.power)
        say(f"iter {it}: average log-likelihood per frame {avg:.6f} over {acc.frames} frames; "
            f"GMM objf improvement/frame {st['gmm_impr_per_frame']:.6f}, "
            f"transition improvement/frame {st['trans_impr_per_frame']:.6f}; "
            f"{st['num_gauss']} Gaussians")

    result = MonoResult(tm, ctx_dep, am, ali, [], lines)
    em(0, numgauss, 3.0)
    beam = config.first_beam
    for x in range(1, config.num_iters):
        if x in config.realign_iters:
            t0 = time.time()
            ali_am = boost_silence(am, tm, lang.optional_silence, config.boost_silence)
            opts = AlignOptions(beam=beam, retry_beam=4 * beam, careful=config.careful)
            tot, frames, failed = 0.0, 0, 0
            for u in utts:
                a, like, _ = align(ali_am, tm, graphs[u], feats_cache[u], opts, u)
                if a is None:
                    failed += 1
                    ali.pop(u, None)
                    continue
                ali[u] = a
                tot += like
                frames += len(a)
            say(f"iter {x}: aligned {len(utts) - failed} utterances, {failed} failed, "
                f"alignment log-like per frame {tot / max(frames, 1):.6f} "
                f"(beam {beam}, {time.time() - t0:.1f}s)")
            if not ali:
                raise BnnError("train_mono: alignment failed for every utterance")
        em(x, numgauss, 10.0)
        if x <= config.max_iter_inc:
            numgauss += incgauss
        beam = config.beam
    return result
