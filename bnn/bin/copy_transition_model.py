"""bnn-copy-transition-model: copy the transition model of a Kaldi model file
(Kaldi ``copy-transition-model``), dropping the acoustic model.

Usage: bnn-copy-transition-model [--binary=true|false] <model-in> <transition-model-out>
e.g.: bnn-copy-transition-model --binary=false exp/mono/final.mdl exp/mono/final.trans.mdl
"""
from bnn.kaldi.alignments import expand_bool_flags, kaldi_bool
from bnn.kaldi.model_io import read_transition_model, write_model
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-copy-transition-model")
    p.add_argument("--binary", type=kaldi_bool, default=True,
                   help="write in binary mode")
    p.add_argument("model_in")
    p.add_argument("model_out")
    args = p.parse_args(expand_bool_flags(argv, ("--binary",)))
    setup_logging(args.verbose)
    write_model(args.model_out, read_transition_model(args.model_in), None, binary=args.binary)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
