"""``bnn-gmm-compute-loglikes``: per-frame pdf log-likelihoods of a GMM (Kaldi gmm-compute-likes).

Usage: ``bnn-gmm-compute-loglikes <model> <feats-rspecifier> <loglikes-wspecifier>``
e.g. ``bnn-gmm-compute-loglikes exp/mono/final.mdl "ark:feats.ark" ark:-``
Output: one (frames x num-pdfs) float matrix per utterance,
``L[t, j] = log sum_i w_ji N(x_t; mu_ji, diag(var_ji))``.
"""
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError


def _main(argv):
    import numpy as np
    from bnn.feats.tables import TableWriter, read_matrices
    from bnn.kaldi.model_io import read_model
    p = make_parser("Write GMM log-likelihoods per frame and pdf as a Kaldi matrix archive.",
                    prog="bnn-gmm-compute-loglikes")
    p.add_argument("model")
    p.add_argument("feats_rspecifier")
    p.add_argument("loglikes_wspecifier")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    _, am = read_model(a.model)
    if am is None:
        raise BnnError(f"{a.model}: has no AmDiagGmm (not a GMM model)")
    n = 0
    with TableWriter(a.loglikes_wspecifier) as writer:  # output renamed into place on success
        for utt, feats in read_matrices(a.feats_rspecifier):
            feats = np.asarray(feats, dtype=np.float32)
            if feats.ndim != 2 or feats.shape[1] != am.dim:
                raise BnnError(f"{a.feats_rspecifier}: utterance {utt} has feature dimension "
                               f"{feats.shape[-1]}, model {a.model} expects {am.dim}")
            writer(utt, np.asarray(am.log_likelihoods(feats), dtype=np.float32))
            n += 1
    import logging
    logging.getLogger(__name__).info("wrote log-likelihoods of %d utterances", n)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
