"""bnn-prepare-wsj: Kaldi data dirs of WSJ (train_si284, test_dev93, test_eval92) from the LDC discs.

Usage: bnn-prepare-wsj [--sets "train_si284 test_dev93 test_eval92"] [--sph2pipe PATH] <wsj-dir>... <out-dir>
e.g.: bnn-prepare-wsj /corpora/LDC93S6B /corpora/LDC94S13B data

<wsj-dir>: the WSJ0 and WSJ1 distribution dirs (holding the discs 11-1.1 ... 13-34.1).  The sets
are those of Kaldi's egs/wsj/s5 (see bnn.corpora.wsj).  wav.scp entries are Kaldi's
'sph2pipe -f wav -p -c 1 <file.wv1> |' when sph2pipe is given or found on PATH or in
$KALDI_ROOT/tools/sph2pipe_v2.5, else 'bnn-sph2wav <file.wv1> |' (uncompressed SPHERE only).
"""
import os
import shutil

from bnn.corpora.wsj import SETS, prepare_wsj
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-prepare-wsj")
    p.add_argument("--sets", default=" ".join(SETS), help="space-separated set names")
    p.add_argument("--sph2pipe", default="", help="sph2pipe binary (default: searched)")
    p.add_argument("dirs", nargs="+", metavar="<wsj-dir>... <out-dir>")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    if len(args.dirs) < 2:
        raise BnnError("give at least one WSJ corpus dir and the output dir")
    sph2pipe = args.sph2pipe
    if sph2pipe and not os.access(sph2pipe, os.X_OK):
        raise BnnError(f"{sph2pipe}: --sph2pipe is not an executable file")
    if not sph2pipe:
        extra = os.path.join(os.environ.get("KALDI_ROOT", ""), "tools/sph2pipe_v2.5")
        sph2pipe = shutil.which("sph2pipe") or shutil.which("sph2pipe", path=extra) or ""
    counts = prepare_wsj(args.dirs[:-1], args.dirs[-1], args.sets.split(), sph2pipe or None)
    for name, n in counts.items():
        print(f"{name} {n}")
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
