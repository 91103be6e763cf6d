"""Kaldi's lattice commands on CompactLattice archives (src/latbin/*.cc), with their names and options:

``bnn-lattice-scale``, ``bnn-lattice-add-penalty``, ``bnn-lattice-best-path``,
``bnn-lattice-to-nbest``, ``bnn-lattice-prune`` and ``bnn-lattice-oracle``.  The lattice
operations themselves live in :mod:`bnn.decode.lattice_io`; these are the command-line layers.

``lattice-oracle`` (src/latbin/lattice-oracle.cc) finds the path of the lattice with the fewest
word errors against the reference; here by dynamic programming over (lattice state, number of
reference words consumed), i.e. the Levenshtein distance generalised to a DAG of hypotheses, which
gives the same minimum as Kaldi's composition with an edit-distance transducer.
"""
import logging
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from bnn.decode.lattice_io import (INF, CompactLattice, add_word_insertion_penalty, best_path_arcs,
                                   nbest_arc_paths, path_lattice, prune_lattice,
                                   read_compact_lattices, scale_lattice, top_order,
                                   write_compact_lattices, _path_summary)
from bnn.utils.cli import make_parser, setup_logging
from bnn.utils.errors import BnnError

log = logging.getLogger("bnn.decode")


def _bool(v: str) -> bool:
    if v.lower() in ("true", "1", "yes"):
        return True
    if v.lower() in ("false", "0", "no"):
        return False
    raise BnnError(f"expected true or false, got '{v}'")


def _scales(p, acoustic_default=1.0):
    p.add_argument("--acoustic-scale", type=float, default=acoustic_default, help="scaling factor for acoustic likelihoods")
    p.add_argument("--lm-scale", type=float, default=1.0, help="scaling factor for graph/lm costs")


def _write_compact_flag(p):
    p.add_argument("--write-compact", type=_bool, default=True,
                   help="write CompactLattices (only true is supported)")


def _check_compact(args):
    if not args.write_compact:
        raise BnnError("--write-compact=false (state-level Lattice output) is not supported")


# ------------------------------------------------------------------------------ lattice-scale

def lattice_scale(argv=None) -> int:
    p = make_parser("Apply scaling to lattice weights (Kaldi lattice-scale).\n"
                    "e.g.: bnn-lattice-scale --lm-scale=0.0 ark:1.lats ark:scaled.lats",
                    prog="bnn-lattice-scale")
    p.add_argument("--acoustic-scale", type=float, default=1.0, help="scaling factor for acoustic likelihoods")
    p.add_argument("--inv-acoustic-scale", type=float, default=1.0, help="an alternative way of setting the "
                   "acoustic scale: you can set its inverse")
    p.add_argument("--lm-scale", type=float, default=1.0, help="scaling factor for graph/lm costs")
    p.add_argument("--acoustic2lm-scale", type=float, default=0.0, help="add this times original acoustic costs to LM costs")
    p.add_argument("--lm2acoustic-scale", type=float, default=0.0, help="add this times original LM costs to acoustic costs")
    _write_compact_flag(p)
    p.add_argument("lattice_rspecifier")
    p.add_argument("lattice_wspecifier")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    _check_compact(args)
    if args.acoustic_scale != 1.0 and args.inv_acoustic_scale != 1.0:
        raise BnnError("cannot set both --acoustic-scale and --inv-acoustic-scale")
    ac = args.acoustic_scale
    if args.inv_acoustic_scale != 1.0:
        import numpy as np
        ac = float(np.float32(1.0 / args.inv_acoustic_scale))  # a BaseFloat in Kaldi
    n = write_compact_lattices(args.lattice_wspecifier, (
        (k, scale_lattice(v, args.lm_scale, ac, args.acoustic2lm_scale, args.lm2acoustic_scale))
        for k, v in read_compact_lattices(args.lattice_rspecifier)))
    log.info("Done %d lattices.", n)
    return 0


# ------------------------------------------------------------------------------ lattice-add-penalty

def lattice_add_penalty(argv=None) -> int:
    p = make_parser("Add word insertion penalty to the lattice (Kaldi lattice-add-penalty).\n"
                    "e.g.: bnn-lattice-add-penalty --word-ins-penalty=1.0 ark:- ark:-",
                    prog="bnn-lattice-add-penalty")
    p.add_argument("--word-ins-penalty", type=float, default=0.0, help="word insertion penalty")
    p.add_argument("lattice_rspecifier")
    p.add_argument("lattice_wspecifier")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    n = write_compact_lattices(args.lattice_wspecifier, (
        (k, add_word_insertion_penalty(v, args.word_ins_penalty))
        for k, v in read_compact_lattices(args.lattice_rspecifier)))
    log.info("Done adding word insertion penalty to %d lattices.", n)
    return 0


# ------------------------------------------------------------------------------ lattice-best-path

def _symbols(path: str) -> Optional[Dict[int, str]]:
    if not path:
        return None
    from bnn.decode.decoder import read_symbol_table
    return read_symbol_table(path)


def lattice_best_path(argv=None) -> int:
    from bnn.kaldi.alignments import IntVectorWriter
    p = make_parser("Generate 1-best path through lattices; output as transcriptions and alignments "
                    "(Kaldi lattice-best-path).\n"
                    "e.g.: bnn-lattice-best-path --acoustic-scale=0.1 ark:1.lats ark,t:1.tra ark:1.ali",
                    prog="bnn-lattice-best-path")
    _scales(p)
    p.add_argument("--word-symbol-table", default="", help="symbol table for words (log the hypotheses as text)")
    p.add_argument("lattice_rspecifier")
    p.add_argument("transcriptions_wspecifier", nargs="?", default="")
    p.add_argument("alignments_wspecifier", nargs="?", default="")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    syms = _symbols(args.word_symbol_table)
    words_w = IntVectorWriter(args.transcriptions_wspecifier) if args.transcriptions_wspecifier else None
    ali_w = IntVectorWriter(args.alignments_wspecifier) if args.alignments_wspecifier else None
    done = failed = frames = 0
    tot_cost = 0.0
    try:
        for key, lat in read_compact_lattices(args.lattice_rspecifier):
            scaled = scale_lattice(lat, args.lm_scale, args.acoustic_scale)
            res = best_path_arcs(scaled)
            if res is None:
                log.warning("Best-path failed for key %s", key)
                failed += 1
                continue
            path, fin, cost = res
            words, g, a, tids = _path_summary(scaled, path, fin)
            if words_w:
                words_w.write(key, list(words))
            if ali_w:
                ali_w.write(key, list(tids))
            if syms is not None:
                log.info("%s %s", key, " ".join(syms.get(w, str(w)) for w in words))
            log.info("For utterance %s, best cost %.6g + %.6g = %.6g over %d frames.", key, g, a, g + a, len(tids))
            tot_cost += g + a
            frames += len(tids)
            done += 1
    finally:
        for w in (words_w, ali_w):
            if w:
                w.close()
    if frames:
        log.info("Overall cost per frame is %.6g = %.6g [graph+acoustic] over %d frames.",
                 tot_cost / frames, tot_cost / frames, frames)
    log.info("Done %d lattices, failed for %d", done, failed)
    if done == 0:
        raise BnnError(f"{args.lattice_rspecifier}: no lattice had a best path ({failed} failed; empty input?)")
    return 0


# ------------------------------------------------------------------------------ lattice-to-nbest

def lattice_to_nbest(argv=None) -> int:
    p = make_parser("Work out N-best paths in lattices and write out as linear CompactLattices with keys "
                    "<utt>-1, <utt>-2, ... (Kaldi lattice-to-nbest).\n"
                    "e.g.: bnn-lattice-to-nbest --acoustic-scale=0.1 --n=10 ark:1.lats ark:nbest.lats",
                    prog="bnn-lattice-to-nbest")
    _scales(p)
    p.add_argument("--n", type=int, default=1, help="number of distinct paths")
    p.add_argument("--word-ins-penalty", type=float, default=0.0, help="word insertion penalty when ranking")
    p.add_argument("lattice_rspecifier")
    p.add_argument("lattice_wspecifier")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    if args.n < 1:
        raise BnnError(f"--n must be at least 1, got {args.n}")
    stats = {"lats": 0, "paths": 0}

    def items():
        for key, lat in read_compact_lattices(args.lattice_rspecifier):
            ranked = add_word_insertion_penalty(scale_lattice(lat, args.lm_scale, args.acoustic_scale),
                                                args.word_ins_penalty)
            paths = nbest_arc_paths(ranked, args.n)
            if not paths:
                log.warning("Lattice for %s has no paths", key)
            stats["lats"] += 1
            for i, (_, path, fin) in enumerate(paths, 1):
                stats["paths"] += 1
                yield f"{key}-{i}", path_lattice(lat, path, fin)  # original (unscaled) weights
    write_compact_lattices(args.lattice_wspecifier, items())
    n = stats["lats"]
    log.info("Done applying N-best algorithm to %d lattices; wrote %d paths, average %.3g per lattice.",
             n, stats["paths"], stats["paths"] / n if n else 0.0)
    return 0


# ------------------------------------------------------------------------------ lattice-prune

def lattice_prune(argv=None) -> int:
    p = make_parser("Apply beam pruning to lattices (Kaldi lattice-prune).\n"
                    "e.g.: bnn-lattice-prune --acoustic-scale=0.1 --beam=4.0 ark:1.lats ark:pruned.lats",
                    prog="bnn-lattice-prune")
    p.add_argument("--acoustic-scale", type=float, default=1.0, help="scaling factor for acoustic likelihoods")
    p.add_argument("--inv-acoustic-scale", type=float, default=1.0, help="inverse of the acoustic scale")
    p.add_argument("--lm-scale", type=float, default=1.0, help="scaling factor for graph/lm costs")
    p.add_argument("--beam", type=float, default=10.0, help="pruning beam [applied after acoustic scaling]")
    _write_compact_flag(p)
    p.add_argument("lattice_rspecifier")
    p.add_argument("lattice_wspecifier")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    _check_compact(args)
    if args.beam <= 0:
        raise BnnError(f"--beam must be positive, got {args.beam}")
    ac = args.acoustic_scale if args.inv_acoustic_scale == 1.0 else 1.0 / args.inv_acoustic_scale
    counts = {"n": 0, "before": 0, "after": 0}

    def items():
        for key, lat in read_compact_lattices(args.lattice_rspecifier):
            pruned = prune_scaled(lat, args.beam, args.lm_scale, ac)
            counts["n"] += 1
            counts["before"] += lat.num_arcs()
            counts["after"] += pruned.num_arcs()
            yield key, pruned
    write_compact_lattices(args.lattice_wspecifier, items())
    n = counts["n"]
    log.info("Overall, pruned %d lattices; average #arcs %.4g -> %.4g", n,
             counts["before"] / n if n else 0, counts["after"] / n if n else 0)
    return 0


def prune_scaled(lat: CompactLattice, beam: float, lm_scale: float = 1.0, acoustic_scale: float = 1.0) -> CompactLattice:
    """Prune ``lat`` with ``beam`` measured on the scaled costs; the kept arcs keep their original
    weights (Kaldi scales, prunes and scales back)."""
    scaled = scale_lattice(lat, lm_scale, acoustic_scale)
    if scaled is lat:
        return prune_lattice(lat, beam)
    # tag each arc with its index so the pruned scaled lattice can be mapped back
    tagged = CompactLattice(scaled.start, [[(w, g, a, (s, i), n) for i, (w, g, a, t, n) in enumerate(arcs)]
                                           for s, arcs in enumerate(scaled.arcs)],
                            {s: (g, a, (s, -1)) for s, (g, a, t) in scaled.finals.items()})
    kept = prune_lattice(tagged, beam)
    arcs = [[(w, lat.arcs[tag[0]][tag[1]][1], lat.arcs[tag[0]][tag[1]][2], lat.arcs[tag[0]][tag[1]][3], n)
             for (w, g, a, tag, n) in st] for st in kept.arcs]
    finals = {s: lat.finals[tag[0]] for s, (g, a, tag) in kept.finals.items()}
    return CompactLattice(kept.start, arcs, finals)


# ------------------------------------------------------------------------------ lattice-oracle

def oracle_path(lat: CompactLattice, ref: Sequence[int]) -> Tuple[List[int], int]:
    """(word sequence, edit distance) of the lattice path closest to ``ref`` in Levenshtein
    distance (ties: the first found in topological order).  Epsilon arcs (word 0) are free."""
    n, m = lat.num_states, len(ref)
    if n == 0 or lat.start < 0:
        return [], m
    order = top_order(lat)
    big = 1 << 60
    cost = [[big] * (m + 1) for _ in range(n)]
    back: List[List[Optional[tuple]]] = [[None] * (m + 1) for _ in range(n)]
    cost[lat.start][0] = 0
    best, best_at = big, None
    for s in order:
        row = cost[s]
        for j in range(m):  # deletions of reference words at this state
            if row[j] + 1 < row[j + 1]:
                row[j + 1] = row[j] + 1
                back[s][j + 1] = ("del", s, j)
        for i, (w, g, a, t, ns) in enumerate(lat.arcs[s]):
            nrow = cost[ns]
            for j in range(m + 1):
                c = row[j]
                if c >= big:
                    continue
                if w == 0:
                    if c < nrow[j]:
                        nrow[j], back[ns][j] = c, ("arc", s, j, i)
                    continue
                if c + 1 < nrow[j]:  # insertion
                    nrow[j], back[ns][j] = c + 1, ("arc", s, j, i)
                if j < m:
                    d = c + (0 if ref[j] == w else 1)
                    if d < nrow[j + 1]:
                        nrow[j + 1], back[ns][j + 1] = d, ("arc", s, j, i)
        if s in lat.finals and row[m] < best:
            best, best_at = row[m], s
    if best_at is None:
        return [], m
    words, s, j = [], best_at, m
    while back[s][j] is not None:
        b = back[s][j]
        if b[0] == "del":
            s, j = b[1], b[2]
            continue
        _, ps, pj, i = b
        w = lat.arcs[ps][i][0]
        if w != 0:
            words.append(w)
        s, j = ps, pj
    words.reverse()
    return words, best


def lattice_oracle(argv=None) -> int:
    from bnn.decode.scoring import WerStats, edit_counts, read_text_archive
    from bnn.kaldi.alignments import IntVectorWriter
    p = make_parser("Find the path of minimum word error against the reference in each lattice, and "
                    "print the oracle %%WER (Kaldi lattice-oracle).\n"
                    "e.g.: bnn-lattice-oracle --word-symbol-table=words.txt 'ark:gunzip -c lat.1.gz|' "
                    "'ark:utils/sym2int.pl -f 2- words.txt data/test/text|' ark,t:oracle.tra",
                    prog="bnn-lattice-oracle")
    p.add_argument("--word-symbol-table", default="", help="words.txt: lets the reference be text, logs hypotheses")
    p.add_argument("--wildcard-symbols", default="", help="colon-separated word ids that match anything "
                   "(removed from hypotheses and references before scoring)")
    p.add_argument("lattice_rspecifier")
    p.add_argument("reference_rspecifier")
    p.add_argument("transcriptions_wspecifier", nargs="?", default="")
    p.add_argument("edit_distance_wspecifier", nargs="?", default="")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    syms = _symbols(args.word_symbol_table)
    inv = {v: k for k, v in syms.items()} if syms else {}
    wild = {int(x) for x in args.wildcard_symbols.split(":") if x.strip()}
    refs_raw = read_text_archive(args.reference_rspecifier)
    refs: "OrderedDict[str, List[int]]" = OrderedDict()
    for utt, toks in refs_raw.items():
        ids = []
        for t in toks:
            if t.lstrip("-").isdigit():
                ids.append(int(t))
            elif t in inv:
                ids.append(inv[t])
            else:
                raise BnnError(f"{args.reference_rspecifier}: utterance {utt}: word '{t}' is not an integer"
                               + (" nor in the symbol table" if syms else " (give --word-symbol-table)"))
        refs[utt] = [w for w in ids if w not in wild]
    words_w = IntVectorWriter(args.transcriptions_wspecifier) if args.transcriptions_wspecifier else None
    dist_f = None
    if args.edit_distance_wspecifier:  # Kaldi Int32 archive, written as text (ark,t)
        from kaldiio.utils import open_like_kaldi
        dist_f = open_like_kaldi(args.edit_distance_wspecifier.split(":", 1)[-1], "w")
    st = WerStats()
    missing = 0
    try:
        for key, lat in read_compact_lattices(args.lattice_rspecifier):
            if key not in refs:
                log.warning("No reference for utterance %s", key)
                missing += 1
                continue
            if wild:
                lat = CompactLattice(lat.start, [[(0 if w in wild else w, g, a, t, n) for (w, g, a, t, n) in st_]
                                                 for st_ in lat.arcs], lat.finals)
            ref = refs[key]
            words, dist = oracle_path(lat, ref)
            c = edit_counts([str(x) for x in ref], [str(x) for x in words])
            st.words += len(ref)
            st.ins += c["ins"]
            st.dels += c["del"]
            st.subs += c["sub"]
            st.sents += 1
            st.sent_errs += int(dist > 0)
            if syms is not None:
                log.info("%s %s", key, " ".join(syms.get(w, str(w)) for w in words))
            log.info("%s: oracle edit distance %d over %d reference words", key, dist, len(ref))
            if words_w:
                words_w.write(key, words)
            if dist_f:
                dist_f.write(f"{key} {dist}\n")
    finally:
        if words_w:
            words_w.close()
        if dist_f:
            dist_f.close()
    if st.sents == 0:
        raise BnnError(f"{args.lattice_rspecifier}: no lattice with a reference in {args.reference_rspecifier}")
    line = st.kaldi_lines()[0].replace("%WER", "Overall %WER", 1)
    log.info("%s", line)
    if not any(w.split(":", 1)[-1].strip() == "-" for w in (args.transcriptions_wspecifier,
                                                          args.edit_distance_wspecifier) if w):
        print(st.kaldi_lines()[0] + " (oracle)")
    return 0
