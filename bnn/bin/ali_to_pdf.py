"""bnn-ali-to-pdf: map transition-id alignments to pdf-ids (Kaldi ``ali-to-pdf``).

Usage: bnn-ali-to-pdf [options] <model> <alignments-rspecifier|ali-dir> <pdfs-wspecifier>
e.g.: bnn-ali-to-pdf exp/mono_ali/final.mdl "ark:gunzip -c exp/mono_ali/ali.*.gz|" ark,t:-

The pdf of a transition-id is the self-loop pdf for self-loop transitions and the forward pdf
otherwise (Kaldi ``TransitionModel::TransitionIdToPdf``); the model may be binary or text,
``<Triples>`` or ``<Tuples>``.
"""
import logging

from bnn.kaldi.alignments import IntVectorWriter, iter_alignments
from bnn.kaldi.model_io import read_transition_model
from bnn.utils.cli import make_parser, run_main, setup_logging

log = logging.getLogger("bnn-ali-to-pdf")


def get_parser():
    p = make_parser(__doc__.split("\n")[0], prog="bnn-ali-to-pdf")
    p.add_argument("model", help="Kaldi model (final.mdl), binary or text")
    p.add_argument("alignments", help="rspecifier of transition-id alignments, or an ali dir")
    p.add_argument("pdfs_wspecifier", help="output wspecifier, e.g. ark,t:-")
    return p


def _main(argv=None):
    args = get_parser().parse_args(argv)
    setup_logging(args.verbose)
    trans = read_transition_model(args.model)
    n = 0
    with IntVectorWriter(args.pdfs_wspecifier) as writer:
        for utt, ali in iter_alignments(args.alignments, trans):
            writer.write(utt, trans.map_pdfs(ali))
            n += 1
    log.info("Converted %d alignments to pdf sequences.", n)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
