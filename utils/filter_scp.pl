#!/usr/bin/env python3
"""Usage: utils/filter_scp.pl [--exclude] [-f <field>] <id-list> [<in.scp>] > out.scp

Kaldi's filter_scp.pl without Perl: prints the lines of <in.scp> (or stdin) whose field <field>
(1-based, default 1) is (with --exclude: is not) the first field of some line of <id-list>.
Lines are copied unchanged, in input order.
e.g.: utils/filter_scp.pl data/train/utt2spk data/all/feats.scp > data/train/feats.scp
"""
import sys


def main(argv):
    if argv[:1] in (["--help"], ["-h"]):
        print(__doc__.strip())
        return 0
    exclude, field = False, 1
    while argv and argv[0].startswith("-") and len(argv[0]) > 1:
        if argv[0] == "--exclude":
            exclude, argv = True, argv[1:]
        elif argv[0] == "-f" and len(argv) > 1:
            try:
                field = int(argv[1])
            except ValueError:
                sys.exit(f"filter_scp.pl: bad field '{argv[1]}'")
            argv = argv[2:]
        else:
            sys.exit(f"filter_scp.pl: unknown option {argv[0]}")
    if len(argv) not in (1, 2) or field == 0:
        sys.stderr.write(__doc__.strip().splitlines()[0] + "\n" + [
            ln for ln in __doc__.splitlines() if ln.startswith("e.g.:")][0] + "\n")
        return 2
    ids = set()
    with open(argv[0], encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            fields = line.split()
            if fields:
                ids.add(fields[0])
    src = open(argv[1], encoding="utf-8", errors="surrogateescape") if len(argv) == 2 else sys.stdin
    for line in src:
        fields = line.split()
        if len(fields) < abs(field):
            if not line.strip():
                continue
            sys.exit(f"filter_scp.pl: line has no field {field}: {line.rstrip()}")
        key = fields[field - 1] if field > 0 else fields[field]
        if (key in ids) != exclude:
            sys.stdout.write(line if line.endswith("\n") else line + "\n")
    return 0


if __name__ == "__main__":
    sys.stdin.reconfigure(errors="surrogateescape")
    sys.stdout.reconfigure(errors="surrogateescape")
    sys.exit(main(sys.argv[1:]))
