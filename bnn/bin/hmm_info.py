"""bnn-hmm-info: print the sizes of a transition model (Kaldi ``hmm-info``).

Usage: bnn-hmm-info <model>
e.g.: bnn-hmm-info exp/mono/final.mdl
"""
import sys

from bnn.kaldi.model_io import read_transition_model
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-hmm-info")
    p.add_argument("model", help="Kaldi model (final.mdl), binary or text")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    sys.stdout.write(read_transition_model(args.model).info_text())
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
