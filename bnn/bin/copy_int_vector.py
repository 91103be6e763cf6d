"""bnn-copy-int-vector: copy an archive of int32 vectors (Kaldi ``copy-int-vector``), e.g. to turn
binary alignments into text or to gather ``ali.N.gz`` of an alignment dir into one archive.

Usage: bnn-copy-int-vector <rspecifier|ali-dir> <wspecifier>
e.g.: bnn-copy-int-vector "ark:gunzip -c exp/mono_ali/ali.1.gz|" ark,t:-
"""
import logging

from bnn.kaldi.alignments import IntVectorWriter, iter_alignments
from bnn.utils.cli import make_parser, run_main, setup_logging

log = logging.getLogger("bnn-copy-int-vector")


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-copy-int-vector")
    p.add_argument("rspecifier", help="input int-vector archive, or an ali dir")
    p.add_argument("wspecifier", help="output archive, e.g. ark,t:- or ark:out.ark")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    n = 0
    with IntVectorWriter(args.wspecifier) as writer:
        for utt, vals in iter_alignments(args.rspecifier):
            writer.write(utt, vals)
            n += 1
    log.info("Copied %d vectors of int32.", n)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
