"""`bnn-compute-wer [--text] [--mode=present|all|strict] <ref-rspecifier> <hyp-rspecifier>`: Kaldi compute-wer."""
import sys

from bnn.decode.scoring import compute_wer, read_text_archive
from bnn.utils.cli import make_parser, run_main


def compute_wer_main(argv=None) -> int:
    p = make_parser("Compute WER between reference and hypothesis text archives (Kaldi compute-wer).",
                    prog="bnn-compute-wer")
    p.add_argument("--text", action="store_true", help="inputs are text archives (the only form supported)")
    p.add_argument("--mode", default="present", choices=["present", "all", "strict"],
                   help="present: skip utterances without hypothesis; all: score them as empty; strict: fail")
    p.add_argument("ref_rspecifier")
    p.add_argument("hyp_rspecifier")
    args = p.parse_args(argv)
    ref = read_text_archive(args.ref_rspecifier)
    hyp = read_text_archive(args.hyp_rspecifier)
    st = compute_wer(ref, hyp, args.mode, args.ref_rspecifier, args.hyp_rspecifier)
    sys.stdout.write("\n".join(st.kaldi_lines()) + "\n")
    return 0


def main(argv=None):
    run_main(compute_wer_main, argv)


if __name__ == "__main__":
    main()
