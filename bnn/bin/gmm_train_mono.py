"""``bnn-gmm-train-mono``: monophone GMM training (Kaldi steps/train_mono.sh), see :mod:`bnn.gmm.mono`.

Usage: ``bnn-gmm-train-mono [options] <data-dir> <lang-dir> <exp-dir>``
"""
from bnn.utils.cli import make_parser, run_main, setup_logging


def _bool(s):
    return s.lower() in ("true", "1", "yes")


def _main(argv):
    from bnn.gmm.steps import train_mono_dir
    p = make_parser("Train a monophone GMM-HMM and write final.mdl, tree, ali.N.gz.",
                    prog="bnn-gmm-train-mono")
    p.add_argument("--nj", type=int, default=1, help="number of alignment archives (data split)")
    p.add_argument("--num-iters", type=int, default=40)
    p.add_argument("--totgauss", type=int, default=1000, help="target number of Gaussians")
    p.add_argument("--boost-silence", type=float, default=1.0)
    p.add_argument("--cmvn-opts", default="", help="apply-cmvn options")
    p.add_argument("--delta-opts", default="", help="add-deltas options")
    p.add_argument("--realign-iters", default="", help="space-separated; default Kaldi's")
    p.add_argument("--binary", type=_bool, default=True, help="write final.mdl/tree in binary")
    p.add_argument("data_dir")
    p.add_argument("lang_dir")
    p.add_argument("exp_dir")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    import torch  # noqa: F401  (keep BLAS/OpenMP threads at 1 on shared machines)
    torch.set_num_threads(1)
    train_mono_dir(a.data_dir, a.lang_dir, a.exp_dir, nj=a.nj, num_iters=a.num_iters,
                   totgauss=a.totgauss, boost_silence=a.boost_silence, cmvn_opts=a.cmvn_opts,
                   delta_opts=a.delta_opts, binary=a.binary,
                   realign_iters=[int(x) for x in a.realign_iters.split()] or None)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
