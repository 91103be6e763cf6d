"""``bnn-feat-to-len <feats-rspecifier> [<len-wspecifier>]``: number of frames per utterance,
written as text ``utt frames`` lines (``ark,t:-`` or ``ark,t:file``; default stdout); with a
single matrix file (no ``:``), prints its frame count (Kaldi feat-to-len).

e.g.: bnn-feat-to-len scp:data/train/feats.scp ark,t:data/train/utt2num_frames
"""
import sys

import kaldiio

from bnn.feats.tables import parse_specifier, read_matrices
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write


def _main(argv=None):
    p = make_parser(__doc__, prog="feat-to-len")
    p.add_argument("feats")
    p.add_argument("output", nargs="?", default="ark,t:-")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    if ":" not in a.feats:
        try:
            print(kaldiio.load_mat(a.feats).shape[0])
        except FileNotFoundError:
            raise BnnError(f"{a.feats}: no such file") from None
        return 0
    flags, target = parse_specifier(a.output)
    if "t" not in flags or "scp" in flags:
        raise BnnError(f"'{a.output}': only text output (ark,t:<file> or ark,t:-) is supported")
    lines = (f"{utt} {feats.shape[0]}\n" for utt, feats in read_matrices(a.feats))
    if target == "-":
        for line in lines:
            sys.stdout.write(line)
    else:
        with atomic_write(target) as f:
            f.writelines(lines)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
