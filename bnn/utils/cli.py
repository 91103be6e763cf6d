"""Helpers shared by the command-line wrappers in ``bnn/bin``.

Conventions (Kaldi/ESPnet): logs go to stderr (stdout may be an ark pipe), every program logs its
command line first, user errors become one line ``<prog>: <message>`` and exit status 1.
"""
import argparse
import logging
import os
import sys

from bnn.utils.errors import BnnError

LOG_FORMAT = "%(asctime)s %(levelname)s (%(name)s:%(funcName)s():%(lineno)d) %(message)s"


def setup_logging(verbose: int = 0) -> None:
    """Kaldi-like log lines on stderr."""
    level = logging.DEBUG if verbose > 0 else logging.INFO
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr, force=True)


def make_parser(description: str, prog: str = None) -> argparse.ArgumentParser:
    """An argparse parser that shows defaults in ``--help``."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--verbose", "-v", type=int, default=0, help="verbosity level")
    return parser


def run_main(func, argv=None) -> None:
    """Run ``func(argv)``; turn :class:`BnnError` (and broken pipes) into a one-line error + exit 1."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "bnn"
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    print(" ".join([prog] + [_quote(a) for a in (sys.argv[1:] if argv is None else argv)]),
          file=sys.stderr)
    try:
        code = func(argv)
    except BnnError as err:
        print(f"{prog}: ERROR: {err}", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:
        print(f"{prog}: ERROR: broken pipe on output", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(int(code or 0))


def _quote(arg: str) -> str:
    if arg and all(c.isalnum() or c in "-_=./:,+@%" for c in arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"
