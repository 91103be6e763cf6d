"""``bnn-gmm-align``: forced alignment with a GMM (Kaldi gmm-align-compiled with graphs from L.fst).

Usage: ``bnn-gmm-align [options] <lang-dir> <final.mdl> <data-dir> <ali.gz>``
Writes a gzipped binary int32-vector archive of transition-ids.
"""
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv):
    from bnn.gmm.steps import align_dir
    p = make_parser("Align a data dir with a monophone GMM model.", prog="bnn-gmm-align")
    p.add_argument("--beam", type=float, default=10.0)
    p.add_argument("--retry-beam", type=float, default=40.0)
    p.add_argument("--boost-silence", type=float, default=1.0)
    p.add_argument("--careful", default="false")
    p.add_argument("--cmvn-opts", default="")
    p.add_argument("--delta-opts", default="")
    p.add_argument("lang_dir")
    p.add_argument("model")
    p.add_argument("data_dir")
    p.add_argument("ali_gz")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    align_dir(a.data_dir, a.lang_dir, a.model, a.ali_gz, cmvn_opts=a.cmvn_opts,
              delta_opts=a.delta_opts, beam=a.beam, retry_beam=a.retry_beam,
              boost_silence=a.boost_silence, careful=a.careful.lower() == "true")
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
