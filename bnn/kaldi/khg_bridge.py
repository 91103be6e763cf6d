"""Bridge our :class:`~bnn.kaldi.transition_model.TransitionModel` to ``kaldi_hmm_gmm`` objects.

kaldi-hmm-gmm (1.1.x) cannot read Kaldi model or tree files: ``TransitionModel`` has no reader,
``ContextDependency`` only a ``write``.  What it can do is read a *text topology*
(``HmmTopology.read(str)``) and build a monophone tree (``monophone_context_dependency``), so a
monophone model is rebuilt from its topology and then verified transition-id by transition-id
(transition-state, pdf, phone, self-loop, final) against ours.  Its ``log_probs`` property has no
setter; the probabilities are copied through ``mle_update`` with the model's own probabilities as
statistics (``floor=0``, so ``p_new = p / sum(p)`` per transition-state: equal to ours up to float
rounding, max |diff| of the log-probs checked ``< 1e-4``).  Models whose pdfs are not the plain
monophone numbering (triphone trees) cannot be rebuilt this way: a one-line :class:`BnnError`
says so.  Monophone models whose pdfs are shared between phones (``gmm-init-mono
--shared-phones``, a lang dir's ``phones/sets.int``) are rebuilt when the ``sets`` are given.

The acoustic model goes both ways too (:func:`to_khg_am`, :func:`from_khg_am`): both sides store,
per pdf and Gaussian, the weight, the mean times inverse variance and the inverse variance
(Kaldi ``DiagGmm``); the gconsts are recomputed on both sides.
"""
from typing import Optional, Sequence

import numpy as np

from bnn.kaldi.transition_model import TransitionModel
from bnn.utils.errors import BnnError


def to_khg_topology(trans: TransitionModel):
    """``kaldi_hmm_gmm.HmmTopology`` read from our topology's Kaldi text form."""
    import kaldi_hmm_gmm as khg
    topo = khg.HmmTopology()
    topo.read(trans.topo.to_text())
    return topo


def to_khg_transition_model(trans: TransitionModel, name: str = "transition model",
                            copy_probs: bool = True,
                            sets: Optional[Sequence[Sequence[int]]] = None):
    """A ``kaldi_hmm_gmm.TransitionModel`` equal to ``trans`` (monophone models only).

    ``sets`` (the lines of ``phones/sets.int``) are the groups of phones sharing pdfs; ``None``:
    every phone its own pdfs.  Use :func:`to_khg_monophone_tree` (same ``sets``) for the matching
    tree.  ``name`` is used in error messages (pass the model's file name).
    """
    import kaldi_hmm_gmm as khg
    topo = to_khg_topology(trans)
    ktm = khg.TransitionModel(_monophone_tree(topo, sets), topo)
    _verify(trans, ktm, name, sets is not None)
    if copy_probs:
        _copy_log_probs(trans, ktm, name)
    return ktm


def to_khg_monophone_tree(trans: TransitionModel, sets: Optional[Sequence[Sequence[int]]] = None):
    """The ``kaldi_hmm_gmm.ContextDependency`` of a monophone model's topology (``sets``: the
    phones sharing pdfs, as in :func:`to_khg_transition_model`)."""
    return _monophone_tree(to_khg_topology(trans), sets)


def _monophone_tree(topo, sets):
    import kaldi_hmm_gmm as khg
    if sets is None:
        return khg.monophone_context_dependency(topo.phones, topo.get_phone_to_num_pdf_classes())
    return khg.monophone_context_dependency_shared(
        phone_classes=[list(s) for s in sets],
        phone2num_pdf_classes=topo.get_phone_to_num_pdf_classes())


def _verify(trans: TransitionModel, ktm, name: str, shared: bool = False) -> None:
    numbering = "the lang dir's phone sets" if shared else "the standard pdf numbering"

    def fail(what):
        return BnnError(f"{name}: cannot be bridged to kaldi_hmm_gmm (only monophone models "
                        f"with {numbering} can): {what}")
    if ktm.num_transition_states != trans.num_transition_states:
        raise fail(f"{trans.num_transition_states} transition-states, the monophone rebuild has "
                   f"{ktm.num_transition_states}")
    if ktm.num_transition_ids != trans.num_transition_ids or ktm.num_pdfs != trans.num_pdfs:
        raise fail(f"{trans.num_transition_ids} transition-ids / {trans.num_pdfs} pdfs, the "
                   f"monophone rebuild has {ktm.num_transition_ids} / {ktm.num_pdfs}")
    if list(ktm.state2id)[1:trans.num_transition_states + 2] != trans.state2id[1:].tolist():
        raise fail("transition-state to transition-id tables differ")
    for tid in range(1, trans.num_transition_ids + 1):
        ours = (int(trans.id2pdf[tid]), int(trans.id2phone[tid]), bool(trans.id_is_self_loop[tid]),
                bool(trans.id_is_final[tid]), int(trans.id2state[tid]))
        theirs = (ktm.transition_id_to_pdf(tid), ktm.transition_id_to_phone(tid),
                  ktm.is_self_loop(tid), ktm.is_final(tid), int(ktm.id2state[tid]))
        if ours != theirs:
            raise fail(f"transition-id {tid} is (pdf, phone, self-loop, final, state) {ours}, "
                       f"rebuilt {theirs}")


def _copy_log_probs(trans: TransitionModel, ktm, name: str) -> None:
    import kaldi_hmm_gmm as khg
    stats = np.exp(trans.log_probs.astype(np.float64)).reshape(-1, 1)
    stats[0] = 0.0
    # Scale so every transition-state passes mincount; p / sum(p) is unchanged by scaling.
    stats *= 1.0e6
    ktm.mle_update(stats, khg.MleTransitionUpdateConfig(floor=0.0, mincount=0.0))
    got = np.asarray(ktm.log_probs, dtype=np.float64)
    want = trans.log_probs.astype(np.float64)
    diff = np.abs(got[1:] - want[1:])
    finite = np.isfinite(want[1:])
    if got.shape != want.shape or (finite.any() and diff[finite].max() > 1e-4):
        raise BnnError(f"{name}: transition probabilities could not be copied to kaldi_hmm_gmm")


def from_khg_transition_model(ktm, topo, name: str = "kaldi_hmm_gmm transition model") -> TransitionModel:
    """Our :class:`TransitionModel` (for writing ``final.mdl``) from a kaldi_hmm_gmm one.

    kaldi_hmm_gmm does not expose the tuples' HMM states, so they are recovered for models with
    one transition-state per (phone, emitting HMM state) — monophone models — where Kaldi's sorted
    tuple order lists a phone's states in order.  The pdfs come from the self-loop / forward
    transition-ids, the log-probabilities are copied exactly; the result is verified per
    transition-id.  ``topo`` is our :class:`~bnn.kaldi.hmm_topology.HmmTopology`.
    """
    rows = []
    seen = {}
    state2id = list(ktm.state2id)
    for ts in range(1, ktm.num_transition_states + 1):
        tids = range(state2id[ts], state2id[ts + 1])
        phone = ktm.transition_id_to_phone(tids[0])
        k = seen.get(phone, 0)
        seen[phone] = k + 1
        entry = topo.topology_for_phone(phone)
        emitting = [j for j, s in enumerate(entry) if s.transitions and
                    (s.forward_pdf_class != -1 or s.self_loop_pdf_class != -1)]
        if k >= len(emitting):
            raise BnnError(f"{name}: phone {phone} has more transition-states than emitting HMM "
                           "states (not a monophone model); cannot convert")
        hmm_state = emitting[k]
        loops = [t for t in tids if ktm.is_self_loop(t)]
        fwd = [t for t in tids if not ktm.is_self_loop(t)]
        fpdf = ktm.transition_id_to_pdf(fwd[0]) if fwd else ktm.transition_id_to_pdf(loops[0])
        spdf = ktm.transition_id_to_pdf(loops[0]) if loops else fpdf
        rows.append((phone, hmm_state, fpdf, spdf))
    ours = TransitionModel(topo, np.array(rows, dtype=np.int64).reshape(-1, 4),
                           np.asarray(ktm.log_probs, dtype=np.float32))
    _verify(ours, ktm, name)
    return ours


def from_khg_am(kam):
    """Our :class:`~bnn.kaldi.am_gmm.AmDiagGmm` (for writing) from a ``kaldi_hmm_gmm.AmDiagGmm``.

    Weights, means-times-inverse-variances and inverse variances are copied (float32 copies,
    not views of the C++ object); the gconsts are recomputed exactly as Kaldi's
    ``ComputeGconsts`` does.
    """
    from bnn.kaldi.am_gmm import AmDiagGmm, DiagGmm
    pdfs = []
    for j in range(kam.num_pdfs):
        g = kam.get_pdf(j)
        pdfs.append(DiagGmm(np.array(g.weights, dtype=np.float32),
                            np.array(g.means_invvars, dtype=np.float32),
                            np.array(g.inv_vars, dtype=np.float32)))
    return AmDiagGmm(pdfs, kam.dim)


def to_khg_am(am):
    """A ``kaldi_hmm_gmm.AmDiagGmm`` from our :class:`~bnn.kaldi.am_gmm.AmDiagGmm`.

    Each pdf gets the weights, the inverse variances and the means ``(mean * invvar) / invvar``
    (computed in float64), then Kaldi's ``ComputeGconsts``.
    """
    import kaldi_hmm_gmm as khg
    out = khg.AmDiagGmm()
    for p in am.pdfs:
        g = khg.DiagGmm(nmix=p.num_gauss, dim=p.dim)
        g.set_weights(np.asarray(p.weights, dtype=np.float32))
        means = p.means_invvars.astype(np.float64) / p.inv_vars.astype(np.float64)
        g.set_invvars_and_means(np.ascontiguousarray(p.inv_vars, dtype=np.float32),
                                np.ascontiguousarray(means, dtype=np.float32))
        g.compute_gconsts()
        out.add_pdf(g)
    return out
