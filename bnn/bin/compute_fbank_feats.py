"""``bnn-compute-fbank-feats [--config=conf/fbank.conf] [--segments=segments] [--write-num-frames=ark,t:f]
[--<kaldi-option>=v ...]
<wav-rspecifier> <feats-wspecifier>``: fbank features per utterance (Kaldi compute-fbank-feats).

e.g.: bnn-compute-fbank-feats --config=conf/fbank.conf scp:data/train/wav.scp ark,scp:fbank.ark,fbank.scp

Options are Kaldi's (see bnn.feats.options): any option of the config file may also be given on
the command line as --name=value and wins over the file.  Exit status 1 if no utterance succeeded.
"""
from bnn.feats.compute import compute_table
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__, prog="compute-fbank-feats")
    p.add_argument("--config", default=None, help="Kaldi option file, e.g. conf/fbank.conf")
    p.add_argument("--segments", default=None,
                   help="segments file: compute features of these segments of the recordings")
    p.add_argument("--write-num-frames", default=None,
                   help="text table of frame counts, e.g. ark,t:utt2num_frames")
    p.add_argument("wav_rspecifier", help="e.g. scp:data/train/wav.scp")
    p.add_argument("feats_wspecifier", help="e.g. ark,scp:raw_fbank.ark,raw_fbank.scp")
    a, extra = p.parse_known_args(argv)
    bad = [x for x in extra if not x.startswith("--")]
    if bad:
        p.error(f"unexpected arguments {bad} (Kaldi options are given as --name=value)")
    setup_logging(a.verbose)
    compute_table("fbank", a.wav_rspecifier, a.feats_wspecifier, config=a.config,
                  overrides=extra, segments=a.segments,
                  num_frames_wspecifier=a.write_num_frames)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
