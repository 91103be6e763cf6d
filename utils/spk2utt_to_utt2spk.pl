#!/usr/bin/env python3
"""Usage: utils/spk2utt_to_utt2spk.pl [<spk2utt> ...] > <utt2spk>   (no options)

Kaldi's spk2utt_to_utt2spk.pl without Perl: "<spk> <utt1> <utt2> ..." -> "<utt> <spk>" lines.
e.g.: utils/spk2utt_to_utt2spk.pl data/train/spk2utt > data/train/utt2spk
"""
import sys


def main(argv):
    if argv[:1] in (["--help"], ["-h"]):
        print(__doc__.strip())
        return 0
    for name in argv or ["-"]:
        f = sys.stdin if name == "-" else open(name, encoding="utf-8", errors="surrogateescape")
        for n, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 2:
                sys.exit(f"spk2utt_to_utt2spk.pl: {name}: line {n}: speaker '{fields[0]}' has no utterances")
            for utt in fields[1:]:
                sys.stdout.write(f"{utt} {fields[0]}\n")
    return 0


if __name__ == "__main__":
    sys.stdin.reconfigure(errors="surrogateescape")
    sys.stdout.reconfigure(errors="surrogateescape")
    sys.exit(main(sys.argv[1:]))
