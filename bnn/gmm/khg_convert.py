"""Bridge between the toolkit's Kaldi-format containers (:mod:`bnn.kaldi`) and kaldi-hmm-gmm.

* :func:`to_khg_am` / :func:`from_khg_am`: ``bnn.kaldi.am_gmm.AmDiagGmm`` (numpy arrays, what
  ``read_model``/``write_model`` handle) <-> ``kaldi_hmm_gmm.AmDiagGmm`` (Kaldi's C++ object,
  what training and alignment use).  Both store, per pdf and Gaussian, the weight, the
  mean times inverse variance and the inverse variance (Kaldi ``DiagGmm``); the gconsts are
  recomputed on both sides.
* :func:`transition_model_from_khg`: a ``bnn.kaldi.transition_model.TransitionModel`` with the
  same transition-states and transition log-probabilities as a kaldi-hmm-gmm one built from a
  topology and a monophone tree (tuples (phone, hmm-state, forward-pdf, self-loop-pdf) in
  Kaldi's sorted order, pdfs looked up in the tree as ``TransitionModel::ComputeTuples`` does).
"""
from typing import List

import numpy as np

from bnn.kaldi.am_gmm import AmDiagGmm, DiagGmm
from bnn.kaldi.hmm_topology import HmmTopology
from bnn.kaldi.kaldi_binary import KaldiReader
from bnn.kaldi.transition_model import TransitionModel
from bnn.utils.errors import BnnError


def to_khg_am(am: AmDiagGmm):
    """``bnn.kaldi.am_gmm.AmDiagGmm`` -> ``kaldi_hmm_gmm.AmDiagGmm``."""
    import kaldi_hmm_gmm as khg
    out = khg.AmDiagGmm()
    for p in am.pdfs:
        g = khg.DiagGmm(nmix=p.num_gauss, dim=p.dim)
        g.set_weights(np.asarray(p.weights, dtype=np.float32))
        means = (p.means_invvars.astype(np.float64) / p.inv_vars.astype(np.float64))
        g.set_invvars_and_means(np.ascontiguousarray(p.inv_vars, dtype=np.float32),
                                np.ascontiguousarray(means, dtype=np.float32))
        g.compute_gconsts()
        out.add_pdf(g)
    return out


def from_khg_am(am) -> AmDiagGmm:
    """``kaldi_hmm_gmm.AmDiagGmm`` -> ``bnn.kaldi.am_gmm.AmDiagGmm`` (exact float32 copies)."""
    pdfs = []
    for j in range(am.num_pdfs):
        g = am.get_pdf(j)
        pdfs.append(DiagGmm(np.array(g.weights, dtype=np.float32),
                            np.array(g.means_invvars, dtype=np.float32),
                            np.array(g.inv_vars, dtype=np.float32)))
    return AmDiagGmm(pdfs, am.dim)


def topology_from_text(topo_text: str) -> HmmTopology:
    return HmmTopology.read(KaldiReader(topo_text.encode(), name="topo"))


def monophone_tuples(topo: HmmTopology, ctx_dep) -> List[List[int]]:
    """(phone, hmm-state, forward-pdf, self-loop-pdf) for every emitting state, sorted."""
    tuples = set()
    for phone in topo.phones:
        for hmm_state, st in enumerate(topo.topology_for_phone(phone)):
            fwd, loop = st.forward_pdf_class, st.self_loop_pdf_class
            if fwd < 0:  # the final (non-emitting) state
                continue
            ok_f, pdf_f = ctx_dep.compute([phone], fwd)
            ok_s, pdf_s = ctx_dep.compute([phone], loop)
            if not (ok_f and ok_s):
                raise BnnError(f"tree: no pdf for phone {phone} pdf-class {fwd}")
            tuples.add((phone, hmm_state, pdf_f, pdf_s))
    return [list(t) for t in sorted(tuples)]


def transition_model_from_khg(tm_khg, ctx_dep, topo_text: str) -> TransitionModel:
    """Our TransitionModel equal to ``tm_khg`` (same tuples, same log-probs), checked tid by tid."""
    topo = topology_from_text(topo_text)
    tuples = monophone_tuples(topo, ctx_dep)
    log_probs = np.asarray(tm_khg.log_probs, dtype=np.float32)
    tm = TransitionModel(topo, tuples, log_probs)
    if tm.num_transition_ids != tm_khg.num_transition_ids:
        raise BnnError(f"transition model: {tm.num_transition_ids} transition-ids, "
                       f"kaldi-hmm-gmm has {tm_khg.num_transition_ids}")
    for tid in range(1, tm.num_transition_ids + 1):
        if (tm.transition_id_to_pdf(tid) != tm_khg.transition_id_to_pdf(tid)
                or tm.transition_id_to_phone(tid) != tm_khg.transition_id_to_phone(tid)):
            raise BnnError(f"transition model: transition-id {tid} maps differently")
    return tm


def to_khg_transition_model(tm: TransitionModel, sets):
    """A kaldi-hmm-gmm TransitionModel equal to ``tm`` (monophone, pdfs shared as in ``sets``).

    kaldi-hmm-gmm builds a TransitionModel only from (tree, topology) with the topology's
    probabilities; the trained ones are installed with one MLE update from counts
    ``c[tid] = 1e9 * exp(log_prob[tid])`` (no floor, no min-count), which reproduces them to
    float precision.  Returns ``(tm_khg, ctx_dep_khg)``.
    """
    import kaldi_hmm_gmm as khg
    topo = khg.HmmTopology()
    topo.read(tm.topo.to_text())
    ctx = khg.monophone_context_dependency_shared(
        phone_classes=[list(s) for s in sets],
        phone2num_pdf_classes=topo.get_phone_to_num_pdf_classes())
    out = khg.TransitionModel(ctx_dep=ctx, hmm_topo=topo)
    if out.num_transition_ids != tm.num_transition_ids:
        raise BnnError(f"model has {tm.num_transition_ids} transition-ids, the lang dir's "
                       f"phone sets give {out.num_transition_ids}")
    for tid in range(1, tm.num_transition_ids + 1):
        if out.transition_id_to_pdf(tid) != tm.transition_id_to_pdf(tid):
            raise BnnError(f"model: transition-id {tid} maps to pdf {tm.transition_id_to_pdf(tid)}"
                           f", the lang dir's phone sets give {out.transition_id_to_pdf(tid)}")
    stats = 1.0e9 * np.exp(np.asarray(tm.log_probs, dtype=np.float64))
    stats[0] = 0.0
    out.mle_update(stats, khg.MleTransitionUpdateConfig(floor=1.0e-30, mincount=0.0))
    return out, ctx
