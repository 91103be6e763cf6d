"""bnn-analyze-counts: count labels (pdf-ids, phones) in int-vector archives (Kaldi ``analyze-counts``).

Usage: bnn-analyze-counts [options] <alignments-rspecifier> <counts-wxfilename>
e.g.: bnn-analyze-counts --binary=false "ark:bnn-ali-to-pdf exp/mono_ali/final.mdl 'ark:gunzip -c exp/mono_ali/ali.*.gz|' ark:- |" exp/mono_ali/pdf_counts

Writes a Kaldi double vector (``\\0BDV`` binary, `` [ ... ]`` text) of length max-label + 1 (or
``--counts-dim``) with ``count + add_to_count`` per label; Kaldi's default ``--add-to-count=0.5``
keeps labels that never occur away from zero (they would give -inf log-priors).  With
``--symbol-table`` the sorted count table is printed on stderr as Kaldi does.
"""
import logging
import sys

import numpy as np

from bnn.kaldi.alignments import expand_bool_flags, iter_alignments, kaldi_bool, read_symbol_table
from bnn.kaldi.kaldi_binary import KaldiWriter
from bnn.utils.cli import make_parser, run_main, setup_logging
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

log = logging.getLogger("bnn-analyze-counts")


def count_labels(source: str, counts_dim: int = 0):
    """``(counts float64 array, number of vectors)`` summed over all int vectors of a source."""
    counts = np.zeros(max(counts_dim, 0), dtype=np.float64)
    n = 0
    for utt, vals in iter_alignments(source):
        if vals.size:
            if vals.min() < 0:
                raise BnnError(f"{source}: utterance {utt}: negative label {int(vals.min())}")
            top = int(vals.max())
            if top >= counts.shape[0]:
                if counts_dim > 0:
                    raise BnnError(f"{source}: utterance {utt}: label {top} >= --counts-dim={counts_dim}")
                counts = np.concatenate([counts, np.zeros(top + 1 - counts.shape[0])])
            counts += np.bincount(vals, minlength=counts.shape[0])
        n += 1
    return counts, n


def sorted_count_table(counts: np.ndarray, symbols) -> str:
    """Kaldi's "sorted count table" text (counts ascending, ties by id)."""
    total = float(counts.sum())
    lines = ["### The sorted count table,", "count\t(norm),\tid\t(symbol):"]
    for i in sorted(range(len(counts)), key=lambda i: (counts[i], i)):
        sym = symbols[i] if i < len(symbols) and symbols[i] is not None else ""
        norm = float(np.float32(counts[i])) / total if total else float("nan")
        lines.append("%s\t(%s),\t%d\t(%s)" % ("%g" % counts[i], "%g" % norm, i, sym))
    hours = np.float32(total) / np.float32(100) / np.float32(3600)
    lines += ["", "#total %s (%sh)" % ("%g" % total, "%g" % float(hours))]
    return "\n".join(lines) + "\n"


def _main(argv=None):
    p = make_parser(__doc__.split("\n")[0], prog="bnn-analyze-counts")
    p.add_argument("--binary", type=kaldi_bool, default=True,
                   help="write the counts in binary mode")
    p.add_argument("--add-to-count", type=float, default=0.5, help="added to every count")
    p.add_argument("--counts-dim", type=int, default=0,
                   help="output dimension (0: max label + 1)")
    p.add_argument("--symbol-table", default="", help="print the sorted count table with symbols")
    p.add_argument("rspecifier", help="int-vector archive (pdf-ids, phones, ...)")
    p.add_argument("counts_wxfilename", help="output file ('-' for stdout)")
    args = p.parse_args(expand_bool_flags(argv, ("--binary",)))
    setup_logging(args.verbose)
    counts, n = count_labels(args.rspecifier, args.counts_dim)
    for i in np.flatnonzero(counts == 0):
        log.warning("Zero count for label %d, this is suspicious.", i)
    w = KaldiWriter(binary=args.binary)
    w.write_vector((counts + args.add_to_count).astype(np.float64))
    if args.counts_wxfilename == "-":
        sys.stdout.buffer.write(w.getvalue())
        sys.stdout.buffer.flush()
    else:
        with atomic_write(args.counts_wxfilename, "wb") as f:
            f.write(w.getvalue())
    if args.symbol_table:
        symbols = read_symbol_table(args.symbol_table)
        sys.stderr.write("Printing...\n" + sorted_count_table(counts, symbols))
    log.info("Summed %d int32 vectors to counts, skipped 0 vectors.", n)
    log.info("Counts written to %s", args.counts_wxfilename)
    return 0


def main(argv=None):
    run_main(_main, argv)


if __name__ == "__main__":
    main()
