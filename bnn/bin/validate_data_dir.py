"""``bnn-validate-data-dir [--no-feats] [--no-wav] [--no-text] <data-dir>``: check a Kaldi data
directory (bnn.kaldi.datadir.validate_data_dir; Kaldi utils/validate_data_dir.sh)."""
import sys

from bnn.kaldi.datadir import validate_data_dir
from bnn.utils.cli import make_parser
from bnn.utils.errors import BnnError


def _main(argv=None):
    p = make_parser(__doc__, prog="validate_data_dir.sh")
    p.add_argument("--no-feats", action="store_true", help="do not require feats.scp")
    p.add_argument("--no-wav", action="store_true", help="do not require or check wav.scp")
    p.add_argument("--no-text", action="store_true", help="do not require or check text")
    p.add_argument("data", help="data directory, e.g. data/train")
    a = p.parse_args(argv)
    counts = validate_data_dir(a.data, no_feats=a.no_feats, no_wav=a.no_wav, no_text=a.no_text)
    print(f"{counts['utts']} utterances, {counts['speakers']} speakers", file=sys.stderr)
    print(f"Successfully validated data-directory {a.data}")
    return 0


def main(argv=None):
    """Like bnn.utils.cli.run_main, but without echoing the command line: the whole output is one
    line, "Successfully validated ..." or "validate_data_dir.sh: ERROR: <file>: line <n>: ..."."""
    try:
        code = _main(argv)
    except BnnError as err:
        print(f"validate_data_dir.sh: ERROR: {err}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code)


if __name__ == "__main__":
    main()
