#!/usr/bin/env python3
"""Usage: utils/utt2spk_to_spk2utt.pl [<utt2spk> ...] > <spk2utt>   (no options)

Kaldi's utt2spk_to_spk2utt.pl without Perl: reads "<utt> <spk>" lines (files or stdin) and writes
"<spk> <utt1> <utt2> ..." with speakers in order of first appearance, utterances in input order.
e.g.: utils/utt2spk_to_spk2utt.pl data/train/utt2spk > data/train/spk2utt
"""
import sys


def main(argv):
    if argv[:1] in (["--help"], ["-h"]):
        print(__doc__.strip())
        return 0
    spk2utt = {}
    files = argv or ["-"]
    for name in files:
        f = sys.stdin if name == "-" else open(name, encoding="utf-8", errors="surrogateescape")
        for n, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                sys.exit(f"utt2spk_to_spk2utt.pl: {name}: line {n}: expected '<utt> <spk>', got '{line.strip()}'")
            spk2utt.setdefault(fields[1], []).append(fields[0])
    out = sys.stdout
    for spk, utts in spk2utt.items():
        out.write(spk + " " + " ".join(utts) + "\n")
    return 0


if __name__ == "__main__":
    sys.stdin.reconfigure(errors="surrogateescape")
    sys.stdout.reconfigure(errors="surrogateescape")
    sys.exit(main(sys.argv[1:]))
