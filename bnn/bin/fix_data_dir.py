"""``bnn-fix-data-dir <data-dir>``: keep only utterances present in every table, sort, regenerate
spk2utt, back originals up in <data>/.backup (bnn.kaldi.datadir.fix_data_dir; Kaldi
utils/fix_data_dir.sh)."""
import sys

from bnn.kaldi.datadir import fix_data_dir
from bnn.utils.cli import make_parser, run_main


def _main(argv=None):
    p = make_parser(__doc__, prog="fix_data_dir.sh")
    p.add_argument("data", help="data directory, e.g. data/train")
    a = p.parse_args(argv)
    c = fix_data_dir(a.data)
    print(f"fix_data_dir.sh: kept {c['kept']} utterances out of {c['total']} "
          f"({c['removed']} removed)", file=sys.stderr)
    print(f"fix_data_dir.sh: old files are kept in {a.data.rstrip('/')}/.backup", file=sys.stderr)
    if c["kept"] == 0:
        print(f"fix_data_dir.sh: ERROR: no utterances left in {a.data}", file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
