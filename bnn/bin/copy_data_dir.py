"""``bnn-copy-data-dir [--utt-prefix p] [--utt-suffix s] [--spk-prefix p] [--spk-suffix s] <src>
<dest>``: copy a data directory, optionally renaming ids (bnn.kaldi.datadir.copy_data_dir; Kaldi
utils/copy_data_dir.sh)."""
from bnn.kaldi.datadir import copy_data_dir
from bnn.utils.cli import make_parser, run_main


def _main(argv=None):
    p = make_parser(__doc__, prog="copy_data_dir.sh")
    for opt in ("utt-prefix", "utt-suffix", "spk-prefix", "spk-suffix"):
        p.add_argument(f"--{opt}", default="")
    p.add_argument("src")
    p.add_argument("dest")
    a = p.parse_args(argv)
    copy_data_dir(a.src, a.dest, utt_prefix=a.utt_prefix, utt_suffix=a.utt_suffix,
                  spk_prefix=a.spk_prefix, spk_suffix=a.spk_suffix)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
