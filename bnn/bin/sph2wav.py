"""bnn-sph2wav: write an uncompressed NIST SPHERE file (.wv1, .sph) as RIFF wav on stdout.

Usage: bnn-sph2wav <file.sph>
e.g.: wav.scp entry "01ia0101 bnn-sph2wav /corpora/wsj0/11-14.1/wsj0/si_tr_s/01i/01ia0101.wv1 |"

The stand-in for Kaldi's 'sph2pipe -f wav' where sph2pipe is not installed; shorten-compressed
SPHERE (the WSJ and Switchboard discs) needs sph2pipe and is refused with a one-line error.
"""
import sys

from bnn.corpora.wsj import sphere_to_wav_bytes
from bnn.utils.cli import make_parser, run_main, setup_logging


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-sph2wav")
    p.add_argument("sphere_file")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    data = sphere_to_wav_bytes(args.sphere_file)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
