"""Conversions between :mod:`bnn.kaldi` containers and kaldi-hmm-gmm objects, for the GMM code.

The one implementation lives in :mod:`bnn.kaldi.khg_bridge`; this module re-exports it:

* :func:`to_khg_am` / :func:`from_khg_am`: ``bnn.kaldi.am_gmm.AmDiagGmm`` <->
  ``kaldi_hmm_gmm.AmDiagGmm``.
* :func:`to_khg_transition_model` (``sets=`` the lang dir's ``phones/sets.int`` for shared pdfs)
  and :func:`to_khg_monophone_tree`: a kaldi-hmm-gmm TransitionModel and tree equal to a
  monophone ``bnn.kaldi.transition_model.TransitionModel``, checked transition-id by
  transition-id.
* :func:`from_khg_transition_model`: back to ours (for writing ``final.mdl``).
"""
from bnn.kaldi.khg_bridge import (from_khg_am, from_khg_transition_model, to_khg_am,
                                  to_khg_monophone_tree, to_khg_transition_model)

__all__ = ["to_khg_am", "from_khg_am", "to_khg_transition_model", "to_khg_monophone_tree",
           "from_khg_transition_model"]
