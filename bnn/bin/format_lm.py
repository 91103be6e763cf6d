"""`bnn-format-lm [--map-oov WORD] <lang-dir> <arpa[.gz]> <out-lang-dir>`: ARPA -> G.fst (see
:mod:`bnn.lang.format_lm`)."""
from bnn.utils.cli import make_parser, run_main, setup_logging


def format_lm_main(argv=None) -> int:
    from bnn.lang.format_lm import format_lm
    p = make_parser("Copy a lang dir and add G.fst from an ARPA LM (Kaldi utils/format_lm.sh).",
                    prog="bnn-format-lm")
    p.add_argument("--map-oov", default=None, help="map OOV words to this word instead of dropping their n-grams")
    p.add_argument("lang_dir")
    p.add_argument("arpa")
    p.add_argument("out_dir")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    format_lm(args.lang_dir, args.arpa, args.out_dir, args.map_oov)
    return 0


def main(argv=None):
    run_main(format_lm_main, argv)


if __name__ == "__main__":
    main()
