"""`bnn-train-ngram [--order 2] [--vocab words.txt] <text> <lm.arpa[.gz]>`: Witten-Bell n-gram LM
from a Kaldi text file (see :mod:`bnn.lang.ngram`)."""
from bnn.utils.cli import make_parser, run_main, setup_logging


def train_ngram_main(argv=None) -> int:
    from bnn.lang.ngram import train_arpa
    p = make_parser("Train an interpolated Witten-Bell n-gram LM, written as ARPA.", prog="bnn-train-ngram")
    p.add_argument("--order", type=int, default=2)
    p.add_argument("--vocab", default=None, help="words.txt or word list: vocabulary of the unigram level")
    p.add_argument("--no-utt-ids", action="store_true", help="text lines have no utterance id")
    p.add_argument("text")
    p.add_argument("arpa")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    train_arpa(args.text, args.arpa, args.order, args.vocab, not args.no_utt_ids)
    return 0


def main(argv=None):
    run_main(train_ngram_main, argv)


if __name__ == "__main__":
    main()
