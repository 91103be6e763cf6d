#!/usr/bin/env python3
"""Usage: utils/sym2int.pl | utils/int2sym.pl [options] <symbol-table> [<input> ...] > output

Kaldi's sym2int.pl and int2sym.pl without Perl (int2sym.pl is a symlink to this file; the
direction follows the name it is called by).  Maps whitespace-separated fields through <symbol-table>
("<symbol> <integer>" lines, e.g. words.txt); output fields are joined by single spaces.
Options:
  -f <range>          only map these 1-based fields: "2-" (2 to the end), "1-3", "3", "-2"
  --map-oov <sym>     (sym2int.pl only) map unknown symbols to <sym> (or to an integer), with a
                      warning for the first 20; without it an unknown symbol is an error
e.g.: utils/sym2int.pl -f 2- data/lang/words.txt data/train/text
"""
import sys

import os

PROG = "int2sym.pl" if os.path.basename(sys.argv[0]) == "int2sym.pl" else "sym2int.pl"


def parse_range(spec):
    try:
        if "-" not in spec:
            a = int(spec)
            return a, a
        a, b = spec.split("-", 1)
        return (int(a) if a else 1), (int(b) if b else 10 ** 9)
    except ValueError:
        sys.exit(f"{PROG}: bad field range '{spec}' (use e.g. 2- or 1-3)")


def main(argv):
    if argv[:1] in (["--help"], ["-h"]):
        print(__doc__.strip())
        return 0
    lo, hi, map_oov = 1, 10 ** 9, None
    while argv and argv[0].startswith("-") and len(argv[0]) > 1:
        if argv[0] == "-f" and len(argv) > 1:
            lo, hi = parse_range(argv[1])
            argv = argv[2:]
        elif argv[0] == "--map-oov" and len(argv) > 1 and PROG == "sym2int.pl":
            map_oov, argv = argv[1], argv[2:]
        elif argv[0] == "--ignore-first-field":  # old Kaldi spelling of -f 2-
            lo, hi, argv = 2, 10 ** 9, argv[1:]
        else:
            sys.exit(f"{PROG}: unknown option {argv[0]}")
    if not argv:
        sys.stderr.write(__doc__.split("\n", 1)[0].replace('"""', "") + "\n")
        return 2
    table = {}
    with open(argv[0], encoding="utf-8", errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                sys.exit(f"{PROG}: {argv[0]}: line {n}: expected '<symbol> <integer>', got '{line.strip()}'")
            sym, num = fields
            if PROG == "sym2int.pl":
                table[sym] = num
            else:
                table[num] = sym
    oov_value, num_oov = None, 0
    if map_oov is not None:
        if map_oov in table:
            oov_value = table[map_oov]
        elif map_oov.isdigit():
            oov_value = map_oov
        else:
            sys.exit(f"{PROG}: --map-oov symbol '{map_oov}' is not in {argv[0]}")
    inputs = argv[1:] or ["-"]
    for name in inputs:
        f = sys.stdin if name == "-" else open(name, encoding="utf-8", errors="surrogateescape")
        for n, line in enumerate(f, 1):
            fields = line.split()
            for i in range(max(lo, 1) - 1, min(hi, len(fields))):
                x = fields[i]
                y = table.get(x)
                if y is None:
                    if oov_value is None:
                        where = "stdin" if name == "-" else name
                        sys.exit(f"{PROG}: {where}: line {n}: undefined symbol '{x}' (field {i + 1})")
                    num_oov += 1
                    if num_oov <= 20:
                        print(f"{PROG}: replacing {x} with {map_oov}", file=sys.stderr)
                        if num_oov == 20:
                            print(f"{PROG}: not warning for OOVs any more times", file=sys.stderr)
                    y = oov_value
                fields[i] = y
            sys.stdout.write(" ".join(fields) + "\n")
    if num_oov:
        print(f"{PROG}: {num_oov} instances of OOVs replaced with {map_oov}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.stdin.reconfigure(errors="surrogateescape")
    sys.stdout.reconfigure(errors="surrogateescape")
    sys.exit(main(sys.argv[1:]))
