"""bnn-ali-to-phones: phone sequences from transition-id alignments (Kaldi ``ali-to-phones``).

Usage: bnn-ali-to-phones [options] <model> <alignments-rspecifier|ali-dir> <phones-wspecifier>
e.g.: bnn-ali-to-phones --per-frame=true exp/mono_ali/final.mdl "ark:gunzip -c exp/mono_ali/ali.*.gz|" ark,t:-

The alignment is split into phone instances as Kaldi's ``SplitToPhones`` does (a phone ends with
the transition into its final HMM state).  Output: one phone per instance, or per frame with
``--per-frame``, or ``phone length ; phone length ...`` with ``--write-lengths``.
"""
import logging

from bnn.kaldi.alignments import (IntVectorWriter, expand_bool_flags, iter_alignments_with_file,
                                  kaldi_bool)
from bnn.kaldi.model_io import read_transition_model
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError

log = logging.getLogger("bnn-ali-to-phones")


def get_parser():
    p = make_parser(__doc__.split("\n")[0], prog="bnn-ali-to-phones")
    p.add_argument("--per-frame", type=kaldi_bool, default=False,
                   help="write one phone per frame")
    p.add_argument("--write-lengths", type=kaldi_bool, default=False,
                   help="write (phone, length) pairs")
    p.add_argument("model", help="Kaldi model (final.mdl), binary or text")
    p.add_argument("alignments", help="rspecifier of transition-id alignments, or an ali dir")
    p.add_argument("phones_wspecifier", help="output wspecifier, e.g. ark,t:-")
    return p


def _main(argv=None):
    args = get_parser().parse_args(expand_bool_flags(argv, ("--per-frame", "--write-lengths")))
    setup_logging(args.verbose)
    if args.per_frame and args.write_lengths:
        raise BnnError("--per-frame and --write-lengths cannot both be true")
    trans = read_transition_model(args.model)
    n = 0
    with IntVectorWriter(args.phones_wspecifier) as writer:
        for utt, ali, name in iter_alignments_with_file(args.alignments, trans):
            segments, ok = trans.split_to_phones(ali)
            if not ok:
                log.warning("%s: utterance %s: alignment does not split cleanly into phones",
                            name, utt)
            phones = [trans.transition_id_to_phone(seg[0]) for seg in segments]
            if args.write_lengths:
                writer.write_pairs(utt, [(p, len(s)) for p, s in zip(phones, segments)])
            elif args.per_frame:
                writer.write(utt, [p for p, s in zip(phones, segments) for _ in s])
            else:
                writer.write(utt, phones)
            n += 1
    log.info("Done %d utterances.", n)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
