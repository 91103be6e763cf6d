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
