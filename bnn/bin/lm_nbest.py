"""`bnn-lm-nbest [--n 100] [--acoustic-scale 0.0833] <lattice-rspecifier> <nbest-out>`: the n best
word sequences of Kaldi CompactLattices (bnn.decode.lattice_io) with their unscaled graph and
acoustic costs, one ``utt rank graph acoustic word-id...`` line each."""
from bnn.utils.cli import make_parser, run_main, setup_logging


def lm_nbest(argv=None) -> int:
    p = make_parser("N-best lists from Kaldi lattices.", prog="bnn-lm-nbest")
    p.add_argument("--n", type=int, default=100, help="hypotheses per utterance")
    p.add_argument("--acoustic-scale", type=float, default=1.0 / 12, help="acoustic scale used to rank the paths")
    p.add_argument("--lm-scale", type=float, default=1.0)
    p.add_argument("lattices", help="e.g. 'ark:gunzip -c exp/tri2b/decode_test/lat.*.gz|'")
    p.add_argument("nbest")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    import logging

    from bnn.decode.lattice_io import nbest_paths, read_compact_lattices
    from bnn.lm.rescore import write_nbest
    from bnn.utils.errors import BnnError
    from bnn.utils.fileio import atomic_write
    if args.n < 1:
        raise BnnError(f"--n must be >= 1, got {args.n}")
    n_utt = n_hyp = 0
    with atomic_write(args.nbest) as f:
        for key, clat in read_compact_lattices(args.lattices):
            nb = nbest_paths(clat, args.n, args.lm_scale, args.acoustic_scale)
            if not nb:
                logging.getLogger("bnn.lm").warning("%s: empty lattice, no hypotheses", key)
            write_nbest(f, key, nb)
            n_utt += 1
            n_hyp += len(nb)
    if n_utt == 0:
        raise BnnError(f"{args.lattices}: no lattices")
    logging.getLogger("bnn.lm").info("%d utterances, %.1f hypotheses each on average", n_utt, n_hyp / n_utt)
    return 0


def main(argv=None):
    run_main(lm_nbest, argv)


if __name__ == "__main__":
    main()
