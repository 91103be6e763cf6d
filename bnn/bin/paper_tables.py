"""bnn-paper-tables: RESULTS tables in the shape of Lu et al. 2017 Tables 1-4 and Qian & Xiang 2019 Tables 5-9.

Usage: bnn-paper-tables [--config conf/paper_tables.yaml] [--append-to RESULTS.md | --output F] <exp-dir>
e.g.: bnn-paper-tables exp
e.g.: bnn-paper-tables --config conf/paper_tables.yaml --append-to RESULTS.md exp

One markdown table per paper table (rows and numbers: bnn/results/paper_numbers.py; systems
exp/<system> as named in conf/paper_grid.txt, or overridden by --config): paper row, our config,
our dev and test WER (test at the LM weight/penalty best on dev), the paper's WER, both relative
changes against each side's baseline row, bootstrap significance against our baseline, and for
every finding the paper states whether it holds on the paper's numbers and on ours
(bnn.results.paper_tables).  The block is printed, and replaces an earlier block in (or is
appended to) --append-to, or is written alone to --output (atomically).
"""
import os
import sys

from bnn.results.paper_tables import load_config, merge_into, render
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-paper-tables")
    p.add_argument("--config", default="",
                   help="optional YAML: dev/test set names, reference systems, tables to show, "
                        "per-row system overrides ('': the defaults)")
    p.add_argument("--append-to", default="RESULTS.md",
                   help="markdown file the tables are appended to (an earlier block is replaced); "
                        "'' to only print")
    p.add_argument("--output", default="", help="write only the tables to this file instead")
    p.add_argument("exp_dir", help="experiment dir holding <system>/decode_<set>/wer_*")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    cfg = load_config(args.config or None)
    block = render(cfg, args.exp_dir)
    if args.output:
        with atomic_write(args.output) as f:
            f.write(block)
    elif args.append_to:
        existing = ""
        if os.path.exists(args.append_to):
            try:
                with open(args.append_to, encoding="utf-8") as f:
                    existing = f.read()
            except OSError as err:
                raise BnnError(f"{args.append_to}: cannot read ({err.strerror})") from None
        with atomic_write(args.append_to) as f:
            f.write(merge_into(existing, block))
    sys.stdout.write(block)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
