"""bnn-kaldi-results: RESULTS.md with Kaldi's own WERs beside ours (see bnn.kaldi.dropin).

Usage: bnn-kaldi-results [--title T] [--output RESULTS.md] <system>:<test-set>:<decode-dir> ...
e.g.: bnn-kaldi-results --output RESULTS.md "kaldi-gmm:test_yesno:../kaldi_s5/exp/mono0a/decode_test_yesno" \
        "dnn_float:test_yesno:exp/dnn_float/decode_test_yesno"

Each decode dir is read as Kaldi's utils/best_wer.sh reads it: the lowest %WER among wer_*.
"""
import sys

from bnn.kaldi.dropin import results_table
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-kaldi-results")
    p.add_argument("--title", default="Results")
    p.add_argument("--output", default="", help="markdown file (default: stdout only)")
    p.add_argument("--footer", default="", help="text appended (e.g. command, versions)")
    p.add_argument("rows", nargs="+", metavar="system:test-set:decode-dir")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    rows = []
    for r in args.rows:
        parts = r.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise BnnError(f"{r}: expected <system>:<test-set>:<decode-dir>")
        rows.append(tuple(parts))
    text = f"# {args.title}\n\n" + results_table(rows)
    if args.footer:
        text += "\n" + args.footer.rstrip("\n") + "\n"
    if args.output:
        with atomic_write(args.output) as f:
            f.write(text)
    sys.stdout.write(text)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
