"""Argument helpers shared by the feature commands (Kaldi-style ``--name=value`` options)."""
import argparse

from bnn.feats.options import parse_bool


def kaldi_bool(text: str) -> bool:
    """argparse type for Kaldi booleans (``--norm-vars``, ``--norm-vars=false``)."""
    try:
        return parse_bool(text, "option")
    except Exception as err:  # BnnError -> argparse usage error
        raise argparse.ArgumentTypeError(str(err)) from None


def add_bool(parser: argparse.ArgumentParser, name: str, default: bool, help: str) -> None:
    parser.add_argument(name, type=kaldi_bool, nargs="?", const=True, default=default,
                        metavar="true|false", help=help)


def compute_feats_main(kind: str, doc: str, argv=None) -> int:
    """Body of ``bnn-compute-{fbank,mfcc}-feats`` (Kaldi compute-<kind>-feats)."""
    from bnn.feats.compute import compute_table
    from bnn.utils.cli import make_parser, setup_logging
    p = make_parser(doc, prog=f"compute-{kind}-feats")
    p.add_argument("--config", default=None, help=f"Kaldi option file, e.g. conf/{kind}.conf")
    p.add_argument("--segments", default=None,
                   help="segments file: compute features of these segments of the recordings")
    p.add_argument("--write-num-frames", default=None,
                   help="text table of frame counts, e.g. ark,t:utt2num_frames")
    p.add_argument("wav_rspecifier", help="e.g. scp:data/train/wav.scp")
    p.add_argument("feats_wspecifier", help=f"e.g. ark,scp:raw_{kind}.ark,raw_{kind}.scp")
    a, extra = p.parse_known_args(argv)
    bad = [x for x in extra if not x.startswith("--")]
    if bad:
        p.error(f"unexpected arguments {bad} (Kaldi options are given as --name=value)")
    setup_logging(a.verbose)
    compute_table(kind, a.wav_rspecifier, a.feats_wspecifier, config=a.config,
                  overrides=extra, segments=a.segments,
                  num_frames_wspecifier=a.write_num_frames)
    return 0
