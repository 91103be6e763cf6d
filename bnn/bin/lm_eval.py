"""`bnn-lm-eval [--export packed.npz] [--json out.json] <lm-dir|packed.npz> <text>...`: perplexity
of an LSTM LM on text files, its stored size (see :mod:`bnn.lm.export`) and optionally a
1-bit-per-binary-weight export."""
import json
import os
import sys

from bnn.utils.cli import make_parser, run_main, setup_logging


def lm_eval(argv=None) -> int:
    p = make_parser("Perplexity and stored size of an LSTM LM; optional bit-packed export.", prog="bnn-lm-eval")
    p.add_argument("--export", default="", help="write the bit-packed model here (words.txt is copied beside it)")
    p.add_argument("--check-export", action="store_true", help="reload the export and fail unless it gives "
                   "the same perplexity on every text")
    p.add_argument("--json", default="", help="write {text: ppl, storage...} here")
    p.add_argument("--utt-ids", action="store_true", help="text lines start with an utterance id")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("model", help="LM dir (final.pt, words.txt) or packed .npz")
    p.add_argument("texts", nargs="+")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    import shutil

    import torch

    from bnn.lm.data import read_sentences, tokens
    from bnn.lm.export import export_packed, file_bytes, storage
    from bnn.lm.train import evaluate, load_lm
    from bnn.utils.errors import BnnError
    from bnn.utils.fileio import atomic_write
    torch.set_num_threads(args.threads)
    model, vocab = load_lm(args.model)
    st = storage(model)
    out = {"model": args.model, "n_binary": st.n_binary, "n_scale": st.n_scale, "n_real": st.n_real,
           "stored_bits": st.stored_bits, "float_bits": st.float_bits, "compression": round(st.compression, 3),
           "payload_bytes": st.payload_bytes, "ppl": {}}
    for text in args.texts:
        ids = tokens(read_sentences(text, args.utt_ids), vocab)
        out["ppl"][text] = evaluate(model, ids)
        oov = float((ids == vocab.unk).float().mean())
        print(f"{args.model} {text}: ppl {out['ppl'][text]:.2f} ({ids.numel()} tokens, {100 * oov:.2f}% <unk>)")
    if args.export:
        export_packed(model, args.export)
        src = os.path.join(os.path.dirname(args.model) if args.model.endswith(".npz") else args.model, "words.txt")
        dst = os.path.join(os.path.dirname(args.export) or ".", "words.txt")
        if not (os.path.exists(dst) and os.path.samefile(src, dst)):
            shutil.copyfile(src, dst)
        out["export"] = args.export
        out["export_file_bytes"] = file_bytes(args.export)
        if args.check_export:
            packed, _ = load_lm(args.export)
            out["ppl_export"] = {}
            for text in args.texts:
                out["ppl_export"][text] = evaluate(packed, tokens(read_sentences(text, args.utt_ids), vocab))
                if out["ppl_export"][text] != out["ppl"][text]:
                    raise BnnError(f"{args.export}: the export gives perplexity {out['ppl_export'][text]} on {text}, "
                                   f"the model {out['ppl'][text]}")
            print(f"{args.export}: export round trip: same perplexity on {len(args.texts)} texts")
    print(f"{args.model}: {st.n_binary} binary + {st.n_scale} scale + {st.n_real} real parameters; "
          f"stored {st.stored_bits} bits ({st.payload_bytes} bytes payload), float {st.float_bits // 8} bytes, "
          f"compression {st.compression:.2f}x", file=sys.stdout)
    if args.json:
        with atomic_write(args.json) as f:
            json.dump(out, f, indent=1)
    return 0


def main(argv=None):
    run_main(lm_eval, argv)


if __name__ == "__main__":
    main()
