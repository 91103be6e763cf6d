"""``bnn-prepare-lang``: Kaldi's utils/prepare_lang.sh (see :mod:`bnn.lang.prepare_lang`).

Usage: ``bnn-prepare-lang [options] <dict-dir> <oov-word> <tmp-dir> <lang-dir>``
"""
from bnn.utils.cli import make_parser, run_main, setup_logging


def _bool(s: str) -> bool:
    if s.lower() in ("true", "1", "yes"):
        return True
    if s.lower() in ("false", "0", "no"):
        return False
    raise ValueError(s)


def _main(argv):
    from bnn.lang.prepare_lang import prepare_lang
    p = make_parser("Prepare a Kaldi lang dir (phones.txt, words.txt, L.fst, L_disambig.fst, "
                    "topo, phones/) from a dict dir.", prog="bnn-prepare-lang")
    p.add_argument("--sil-prob", type=float, default=0.5, help="optional-silence probability")
    p.add_argument("--position-dependent-phones", type=_bool, default=True,
                   help="add _B/_E/_I/_S word-position markers to phones")
    p.add_argument("--num-sil-states", type=int, default=5)
    p.add_argument("--num-nonsil-states", type=int, default=3)
    p.add_argument("--share-silence-phones", type=_bool, default=False)
    p.add_argument("dict_dir")
    p.add_argument("oov_word")
    p.add_argument("tmp_dir")
    p.add_argument("lang_dir")
    a = p.parse_args(argv)
    setup_logging(a.verbose)
    prepare_lang(a.dict_dir, a.oov_word, a.tmp_dir, a.lang_dir, sil_prob=a.sil_prob,
                 position_dependent_phones=a.position_dependent_phones,
                 num_sil_states=a.num_sil_states, num_nonsil_states=a.num_nonsil_states,
                 share_silence_phones=a.share_silence_phones)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
