"""`bnn-score-decode [--lmwt L --wip W | --best-from DEV_DECODE_DIR] <data-dir> <graph-dir> <decode-dir>`:
score a decode dir's LM-weight/penalty sweep (see :func:`bnn.decode.scoring.score_decode_dir`)."""
import logging
import os

from bnn.decode.scoring import score_decode_dir
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError


def score_decode(argv=None) -> int:
    p = make_parser("Score every (LM weight, penalty) of a decode dir, Kaldi score_kaldi.sh layout.",
                    prog="bnn-score-decode")
    p.add_argument("--best-from", default="", help="decode dir (dev) whose best LM weight/penalty to apply")
    p.add_argument("--lmwt", default="", help="apply this LM weight (with --wip)")
    p.add_argument("--wip", default="0.0", help="word insertion penalty for --lmwt")
    p.add_argument("--min-lmwt", type=int, default=1)
    p.add_argument("--max-lmwt", type=int, default=20)
    p.add_argument("--word-ins-penalty", default="0.0,0.5,1.0")
    p.add_argument("data_dir")
    p.add_argument("graph_dir")
    p.add_argument("decode_dir")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    fixed = None
    if args.best_from:
        det = os.path.join(args.best_from, "scoring_kaldi", "wer_details")
        try:
            fixed = (open(os.path.join(det, "lmwt")).read().split()[0], open(os.path.join(det, "wip")).read().split()[0])
        except (OSError, IndexError):
            raise BnnError(f"{det}: no lmwt/wip (score the dev decode first)") from None
    elif args.lmwt:
        fixed = (args.lmwt, args.wip)
    lmwt, wip, st = score_decode_dir(args.decode_dir, os.path.join(args.data_dir, "text"),
                                     os.path.join(args.graph_dir, "words.txt"),
                                     os.path.join(args.data_dir, "utt2spk"), fixed,
                                     (range(args.min_lmwt, args.max_lmwt + 1),
                                      [float(x) for x in args.word_ins_penalty.split(",")]))
    logging.getLogger("bnn.decode").info("%s %s/wer_%s_%s%s", st.kaldi_lines()[0], args.decode_dir, lmwt, wip,
                                         f" (LM weight/penalty from {args.best_from})" if args.best_from else "")
    return 0


def main(argv=None):
    run_main(score_decode, argv)


if __name__ == "__main__":
    main()
