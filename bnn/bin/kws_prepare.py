"""bnn-kws-prepare: lhotse cut manifests (train/dev/test) for a keyword-spotting corpus.

Corpora: ``sc-local`` (speaker-disjoint 70/10/20 split of speech_commands_test_v0.02),
``sc-full`` (full Speech Commands through lhotse's recipe, optional download), ``fsdd``.
Writes ``<out-dir>/cuts_{train,dev,test}.jsonl.gz`` and ``<out-dir>/.done``.
"""
import json
import os

from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__.split("\n")[0])
    p.add_argument("--corpus", choices=("sc-local", "sc-full", "fsdd"), required=True)
    p.add_argument("--version", default="2", help="Speech Commands version (sc-full)")
    p.add_argument("--download", default="false", choices=("true", "false"),
                   help="download the full corpus with lhotse (sc-full)")
    p.add_argument("--limit", type=int, default=0,
                   help="keep at most N cuts per set (every k-th, deterministic; for CI)")
    p.add_argument("corpus_dir")
    p.add_argument("out_dir")
    return p


def _run(argv=None):
    args = get_parser().parse_args(argv)
    setup_logging(args.verbose)
    from bnn.kws import manifests
    from bnn.utils.fileio import atomic_write
    if args.corpus == "sc-local":
        counts = manifests.prepare_sc_local(args.corpus_dir, args.out_dir)
    elif args.corpus == "fsdd":
        counts = manifests.prepare_fsdd(args.corpus_dir, args.out_dir, args.limit)
    else:
        counts = manifests.prepare_sc_full(args.corpus_dir, args.out_dir, args.version,
                                           args.download == "true")
    if args.limit > 0 and args.corpus != "fsdd":
        counts = {k: manifests.subsample(os.path.join(args.out_dir, f"cuts_{k}.jsonl.gz"),
                                         args.limit) for k in counts}
    with atomic_write(os.path.join(args.out_dir, ".done")) as f:
        json.dump({"corpus": args.corpus, "corpus_dir": os.path.abspath(args.corpus_dir),
                   "counts": counts}, f)
    print(json.dumps(counts))
    return 0


def main(argv=None):
    run_main(_run, argv)


if __name__ == "__main__":
    main()
