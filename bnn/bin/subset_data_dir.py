"""``bnn-subset-data-dir [--first|--last|--per-spk|--shortest] <src> <num> <dest>`` or
``--utt-list f <src> <dest>`` or ``--spk-list f <src> <dest>`` (bnn.kaldi.datadir.subset_data_dir;
Kaldi utils/subset_data_dir.sh; without a mode, <num> utterances spread evenly)."""
import sys

from bnn.kaldi.datadir import subset_data_dir
from bnn.utils.cli import make_parser, run_main
from bnn.utils.errors import BnnError


def _main(argv=None):
    p = make_parser(__doc__, prog="subset_data_dir.sh")
    g = p.add_mutually_exclusive_group()
    for mode in ("first", "last", "per-spk", "shortest"):
        g.add_argument(f"--{mode}", dest="mode", action="store_const", const=mode.replace("-", "_"))
    g.add_argument("--utt-list", help="file of utterance ids to keep")
    g.add_argument("--spk-list", help="file of speaker ids to keep")
    p.add_argument("args", nargs="+", help="<src> <num> <dest>, or <src> <dest> with a list")
    a = p.parse_args(argv)
    if a.utt_list or a.spk_list:
        if len(a.args) != 2:
            raise BnnError("usage: subset_data_dir.sh --utt-list|--spk-list <file> <src> <dest>")
        src, dest = a.args
        mode, num = ("utt_list" if a.utt_list else "spk_list"), None
    else:
        if len(a.args) != 3:
            raise BnnError("usage: subset_data_dir.sh [--first|--last|--per-spk|--shortest] <src> <num> <dest>")
        src, num, dest = a.args
        try:
            num = int(num)
        except ValueError:
            raise BnnError(f"subset_data_dir.sh: <num> must be an integer, got '{num}'") from None
        mode = a.mode or "even"
    c = subset_data_dir(src, dest, num, mode=mode, utt_list=a.utt_list, spk_list=a.spk_list)
    print(f"subset_data_dir.sh: created {dest} with {c['utts']} utterances of {c['speakers']} speakers",
          file=sys.stderr)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
