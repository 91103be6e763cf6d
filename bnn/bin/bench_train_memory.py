"""bnn-bench-train-memory: peak RSS of one bnn-train epoch on a data dir and on an N-fold copy
(new utterance ids, same feature archives); prints both and their ratio (target <= 1.2)."""
from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__)
    p.add_argument("--times", type=int, default=4, help="corpus scale factor")
    p.add_argument("--config", required=True, help="network config")
    p.add_argument("--num-pdfs", type=int, required=True)
    p.add_argument("--train-opt", action="append", default=[],
                   help="extra bnn-train option (repeatable), e.g. --train-opt=--splice=5")
    p.add_argument("data", help="training data dir (feats.scp, cmvn.scp, utt2spk)")
    p.add_argument("targets", help="pdf target scp (bnn-ali-to-pdf ... ark,scp:)")
    p.add_argument("work_dir", help="scratch dir for the scaled copy and the two runs")
    return p


def main(argv=None):
    def _run(argv):
        args = get_parser().parse_args(argv)
        setup_logging(args.verbose)
        from bnn.bench.train_memory import measure
        r = measure(args.data, args.targets, args.num_pdfs, args.config, args.work_dir,
                    args.times, args.train_opt)
        big = f"{args.times}x"
        print(f"| corpus | utterances | peak RSS (MiB) | wall (s) |\n| --- | ---: | ---: | ---: |")
        for name in ("1x", big):
            print(f"| {name} | {r[name]['utterances']} | {r[name]['max_rss_mib']:.1f} | "
                  f"{r[name]['seconds']:.1f} |")
        print(f"\npeak RSS ratio {big}/1x = {r['ratio']:.3f} (target <= 1.2)")
        return 0 if r["ratio"] <= 1.2 else 1
    run_main(_run, argv)


if __name__ == "__main__":
    main()
