"""``bnn-compute-fbank-feats [--config=conf/fbank.conf] [--segments=segments] [--write-num-frames=ark,t:f]
[--<kaldi-option>=v ...]
<wav-rspecifier> <feats-wspecifier>``: fbank features per utterance (Kaldi compute-fbank-feats).

e.g.: bnn-compute-fbank-feats --config=conf/fbank.conf scp:data/train/wav.scp ark,scp:fbank.ark,fbank.scp

Options are Kaldi's (see bnn.feats.options): any option of the config file may also be given on
the command line as --name=value and wins over the file.  Exit status 1 if no utterance succeeded.
"""
from bnn.bin._feats_common import compute_feats_main
from bnn.utils.cli import run_main


def main(argv=None):
    run_main(lambda a: compute_feats_main("fbank", __doc__, a), argv)


if __name__ == "__main__":
    main()
