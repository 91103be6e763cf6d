"""`bnn-lm-score-nbest --old-lm G.fst [--ngram-lm G2.fst] --lstm-lm <dir|npz> <words.txt> <nbest> <scores-out>`:
add the old LM, n-gram and LSTM LM costs of every hypothesis (see :mod:`bnn.lm.rescore`)."""
from bnn.utils.cli import make_parser, run_main, setup_logging


def lm_score_nbest(argv=None) -> int:
    p = make_parser("Score n-best hypotheses with the old LM, an n-gram and an LSTM LM.", prog="bnn-lm-score-nbest")
    p.add_argument("--old-lm", required=True, help="G.fst of the decoding graph (its cost is removed)")
    p.add_argument("--ngram-lm", default="", help="G.fst of the n-gram to interpolate with (default: --old-lm)")
    p.add_argument("--lstm-lm", required=True, help="LSTM LM dir or packed .npz (words.txt beside it)")
    p.add_argument("--lowercase", action="store_true", help="lower-case words for the LSTM LM (e.g. WikiText models)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("words", help="words.txt of the lattices")
    p.add_argument("nbest")
    p.add_argument("scores")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    import logging

    import torch

    from bnn.decode.decoder import read_symbol_table
    from bnn.lm.rescore import FstLM, lstm_costs, read_hyps, write_scores
    from bnn.lm.train import load_lm
    from bnn.utils.errors import BnnError
    from bnn.utils.fileio import atomic_write
    torch.set_num_threads(args.threads)
    syms = read_symbol_table(args.words)
    inv = {w: i for i, w in syms.items()}
    backoff = {0} | ({inv["#0"]} if "#0" in inv else set())
    old = FstLM(args.old_lm, backoff)
    ngram = FstLM(args.ngram_lm, backoff) if args.ngram_lm else old
    model, vocab = load_lm(args.lstm_lm)
    nbest = read_hyps(args.nbest)
    hyps = [h for hs in nbest.values() for h in hs]
    sents = []
    for h in hyps:
        try:
            words = [syms[i] for i in h.ids]
        except KeyError as err:
            raise BnnError(f"{args.words}: word id {err} of utterance {h.utt} is not in the symbol table") from None
        sents.append([w.lower() for w in words] if args.lowercase else words)
        h.old_lm = old.cost(h.ids, h.utt)
        h.ngram = ngram.cost(h.ids, h.utt)
    for h, c in zip(hyps, lstm_costs(model, vocab, sents)):
        h.lstm = c
    n_unk = sum(1 for s in sents for w in s if w not in vocab.index)
    logging.getLogger("bnn.lm").info("%d hypotheses of %d utterances scored; %d word tokens outside the LSTM "
                                     "vocabulary (scored as <unk>)", len(hyps), len(nbest), n_unk)
    with atomic_write(args.scores) as f:
        write_scores(f, hyps)
    return 0


def main(argv=None):
    run_main(lm_score_nbest, argv)


if __name__ == "__main__":
    main()
