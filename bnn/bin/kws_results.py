"""bnn-kws-results: write a KWS recipe's RESULTS.md from its evaluation JSONs and model dirs.

Each system is ``name=eval.json:model_dir``.  ``--protocol`` is a file with the text of the
protocol section (data split, features, augmentation); ``--bench`` the ``bnn-bench --kws`` output.
"""
import os

from bnn.utils.cli import make_parser, run_main, setup_logging


def get_parser():
    p = make_parser(__doc__.split("\n")[0])
    p.add_argument("--title", default="KWS results")
    p.add_argument("--protocol", required=True, help="file with the protocol text")
    p.add_argument("--bench", default="", help="bnn-bench --kws output")
    p.add_argument("--notes", default="", help="file appended as a Notes section")
    p.add_argument("--command", default="run.sh", help="command named in the header")
    p.add_argument("out", help="RESULTS.md")
    p.add_argument("systems", nargs="+", help="name=eval.json:model_dir")
    return p


def _run(argv=None):
    args = get_parser().parse_args(argv)
    setup_logging(args.verbose)
    from bnn.kws.results import make_results
    from bnn.utils.errors import BnnError
    from bnn.utils.fileio import atomic_write
    systems = []
    for s in args.systems:
        if "=" not in s or ":" not in s.split("=", 1)[1]:
            raise BnnError(f"system {s!r}: expected name=eval.json:model_dir")
        name, rest = s.split("=", 1)
        ev, mdir = rest.rsplit(":", 1)
        systems.append((name, ev, mdir))
    if not os.path.isfile(args.protocol):
        raise BnnError(f"{args.protocol}: protocol file not found")
    text = make_results(args.title, systems, open(args.protocol).read().strip(),
                        args.bench or None, args.command,
                        open(args.notes).read() if args.notes else None)
    with atomic_write(args.out) as f:
        f.write(text)
    print(text)
    return 0


def main(argv=None):
    run_main(_run, argv)


if __name__ == "__main__":
    main()
