"""`bnn-lm-train [options] <train-text> <out-dir>`: train a float, binarized or soft-binarized
LSTM LM (see :mod:`bnn.lm.train`); writes <out-dir>/{words.txt,final.pt,last.pt,history.json}."""
import os

from bnn.utils.cli import make_parser, run_main, setup_logging


def lm_train(argv=None) -> int:
    p = make_parser("Train an LSTM language model (float / binary / soft-binary with KD).", prog="bnn-lm-train")
    p.add_argument("--heldout-text", default="", help="held-out text for the lr schedule (default: the "
                   "last --heldout-fraction of the training lines)")
    p.add_argument("--heldout-fraction", type=float, default=0.1)
    p.add_argument("--utt-ids", action="store_true", help="text lines start with an utterance id (Kaldi text)")
    p.add_argument("--vocab", default="", help="existing words.txt (one word a line, <eos> <unk> first)")
    p.add_argument("--vocab-from-symbols", default="", help="Kaldi words.txt whose words (without <eps>, #*, "
                   "<s>, </s>) form the vocabulary")
    p.add_argument("--min-count", type=int, default=1, help="words seen fewer times become <unk>")
    p.add_argument("--emb-dim", type=int, default=256)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--tie", action="store_true", help="tie output and input embeddings")
    p.add_argument("--binary-scale", default="none", choices=["none", "const", "mean", "learned"],
                   help="none: float LM; const: hard binary +-1/sqrt(fan_in); mean/learned: scaled binary")
    p.add_argument("--scale-granularity", default="matrix", choices=["matrix", "row", "gate"])
    p.add_argument("--teacher", default="", help="float LM dir (final.pt) for knowledge distillation")
    p.add_argument("--kd-weight", type=float, default=0.0, help="lambda of (1-lambda) CE + lambda KL(teacher||student)")
    p.add_argument("--init-from-teacher", action="store_true", help="initialise latent weights from the teacher")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--bptt", type=int, default=35)
    p.add_argument("--max-halvings", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("train_text")
    p.add_argument("out_dir")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    import torch

    from bnn.lm.data import Vocab, build_vocab, read_sentences, split_heldout, tokens, vocab_from_symbols
    from bnn.lm.model import BinaryConfig, LMConfig
    from bnn.lm.train import load_model, train_lm
    from bnn.utils.errors import BnnError
    torch.set_num_threads(args.threads)
    if args.heldout_text:
        train = read_sentences(args.train_text, args.utt_ids)
        heldout = read_sentences(args.heldout_text, args.utt_ids)
    else:
        train, heldout = split_heldout(args.train_text, args.heldout_fraction, args.utt_ids)
    if args.vocab:
        vocab = Vocab.read(args.vocab)
    elif args.vocab_from_symbols:
        vocab = vocab_from_symbols(args.vocab_from_symbols)
    else:
        vocab = build_vocab(train, args.min_count)
    os.makedirs(args.out_dir, exist_ok=True)
    vocab.write(os.path.join(args.out_dir, "words.txt"))
    teacher = None
    if args.teacher:
        teacher = load_model(os.path.join(args.teacher, "final.pt"))
        if Vocab.read(os.path.join(args.teacher, "words.txt")).words != vocab.words:
            raise BnnError(f"{args.teacher}/words.txt: the teacher's vocabulary differs from the student's")
    binary = None if args.binary_scale == "none" else BinaryConfig(args.binary_scale, args.scale_granularity)
    cfg = LMConfig(len(vocab), args.emb_dim, args.hidden, args.layers, args.dropout, args.tie, binary)
    train_lm(cfg, tokens(train, vocab), tokens(heldout, vocab), args.out_dir, args.epochs, args.lr, args.batch,
             args.bptt, teacher=teacher, kd_weight=args.kd_weight, max_halvings=args.max_halvings,
             seed=args.seed, init_from=teacher if args.init_from_teacher else None)
    return 0


def main(argv=None):
    run_main(lm_train, argv)


if __name__ == "__main__":
    main()
