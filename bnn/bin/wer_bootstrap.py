"""bnn-wer-bootstrap: bootstrap 95% interval of a WER, and of the difference between two systems.

Usage: bnn-wer-bootstrap [options] <ref-text> <hyp-text> [<hyp2-text>]
   or: bnn-wer-bootstrap [options] <decode-dir> [<decode-dir2>]
e.g.: bnn-wer-bootstrap exp/dnn_float/decode_test exp/qian_bdnn/decode_test
e.g.: bnn-wer-bootstrap ark:data/test/text ark:hyp1.txt ark:hyp2.txt

The method of Kaldi's compute-wer-bootci (Bisani & Ney 2004; bnn.results.significance): utterances
are resampled with replacement; per system "%WER w 95% Conf Interval [ lo, hi ]"; for two systems
the probability that the second improves on the first, and the percentile 95% interval of
WER2 - WER1.  A decode dir is read at the LM weight/penalty its scoring chose
(scoring_kaldi/wer_details/per_utt).
"""
import os
import sys

from bnn.decode.scoring import read_text_archive
from bnn.results import significance as sig
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-wer-bootstrap")
    p.add_argument("--replications", type=int, default=10000, help="bootstrap replicates")
    p.add_argument("--seed", type=int, default=0, help="random seed of the resampling")
    p.add_argument("inputs", nargs="+", help="decode dir(s), or reference and hypothesis text(s)")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    if os.path.isdir(args.inputs[0]):
        if len(args.inputs) > 2 or not all(os.path.isdir(d) for d in args.inputs):
            p.error("give one or two decode directories")
        names = args.inputs
        systems = [sig.per_utt_from_decode_dir(d) for d in args.inputs]
    else:
        if len(args.inputs) not in (2, 3):
            p.error("give <ref-text> <hyp-text> [<hyp2-text>]")
        ref = read_text_archive(args.inputs[0])
        names = args.inputs[1:]
        systems = [sig.per_utt_from_texts(ref, read_text_archive(h), h) for h in names]
    for i, (name, per_utt) in enumerate(zip(names, systems), 1):
        iv = sig.wer_interval(per_utt, args.replications, args.seed)
        print(f"Set{i}: %WER {iv.wer:.2f} 95% Conf Interval [ {iv.low:.2f}, {iv.high:.2f} ] "
              f"(bootstrap mean {iv.mean:.2f}) {name}")
    if len(systems) == 2:
        c = sig.compare(systems[0], systems[1], args.replications, args.seed, names)
        print(f"Probability of Set2 improving Set1: {100.0 * c.p_improvement:.1f}")
        print(f"Set2 - Set1: {c.wer_b - c.wer_a:+.2f} %WER, 95% Conf Interval "
              f"[ {c.diff_low:+.2f}, {c.diff_high:+.2f} ] "
              f"({'significant' if c.significant else 'not significant'} at the 5% level)")
    sys.stdout.flush()
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
