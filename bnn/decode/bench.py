"""``bnn-bench-decode``: decode + score one system's log-likelihoods two ways, side by side in one run.

* **sweep** (before issue 17): kaldi-hmm-gmm's best-path decoder, once at the decoding acoustic scale
  for the 1-best and once more per (LM weight, penalty) for scoring
  (:meth:`bnn.decode.decoder.GraphDecoder.sweep`); monophone models only.
* **lattice**: the toolkit's lattice decoder once per utterance, then every (LM weight, penalty)
  from the lattice's best path (Kaldi ``score_kaldi.sh``, :func:`bnn.decode.lattice_io.best_path`).
* ``--own-sweep``: the re-decoding sweep with the toolkit's own search (best path only; works for
  triphone models too), compared word for word with the lattice's best paths.

Both are scored with the same WER code and :func:`bnn.decode.scoring.pick_best`.  Also printed: the
search's frames/s with lattices (search + determinization) vs best path only (the same C++ search
without determinization, and kaldi-hmm-gmm's best-path decoder).  The network forward pass is
not timed (the log-likelihoods are read first): it is the same for both.  Times are CPU seconds of
this process (``time.process_time``) and wall seconds; on a shared machine wall time is noisy.
"""
import logging
import time
from collections import OrderedDict

import numpy as np

from bnn.decode.decoder import (DecodeOptions, GraphDecoder, LatticeDecoder, SweepGrid, check_scores,
                                load_tid2pdf, parse_floats, parse_range, read_symbol_table)
from bnn.decode.lattice_io import best_path, word_sequence_weight
from bnn.decode.scoring import compute_wer, pick_best, read_text_archive
from bnn.decode.tables import read_matrices
from bnn.utils.cli import make_parser, setup_logging
from bnn.utils.errors import BnnError

log = logging.getLogger("bnn.decode")


class _Timer:
    def __init__(self):
        self.cpu = self.wall = 0.0

    def __enter__(self):
        self._c, self._w = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu += time.process_time() - self._c
        self.wall += time.perf_counter() - self._w


def _score(hyps, ref, syms, ref_path):
    stats = {}
    for key, per_utt in hyps.items():
        hyp = OrderedDict((u, [syms[w] for w in ws]) for u, ws in per_utt.items())
        stats[key] = compute_wer(ref, hyp, "present", ref_path, "bench")
    order = sorted(stats, key=lambda k: (float(k[1]), int(k[0])))
    best = pick_best(order, stats)
    return best, stats


DIFF_CLASSES = ("tie", "search-error", "alignment", "outside-beam", "unexplained", "lattice-error")


def classify_difference(lat, re_words, re_g, re_a, lmwt, wip, acwt, lattice_beam, tol=1e-3):
    """Why the best path of a re-decoding at acoustic scale 1/``lmwt`` with penalty ``wip`` (word ids
    ``re_words``, unscaled graph cost without penalty ``re_g`` and acoustic cost ``re_a``) differs from
    the best path of the lattice ``lat`` decoded at ``acwt`` (Kaldi scoring: lattice-scale
    --inv-acoustic-scale=lmwt | lattice-add-penalty | lattice-best-path):

    * ``tie``: both paths cost the same (e.g. homophones with equal LM cost: O / OH on AN4);
    * ``search-error``: the re-decoded path costs more (the re-decoding's beam lost the better path);
    * ``alignment``: the re-decoded word sequence is in the lattice with an alignment at least as
      good at ``acwt``; the re-decoding found another alignment that is better only at 1/lmwt.  A
      determinized lattice keeps one alignment per word sequence (Povey et al. 2012, Sec. 2), so
      Kaldi's scoring cannot see it either;
    * ``outside-beam``: the word sequence is absent and its path is more than ``lattice_beam`` worse
      than the best path at ``acwt``;
    * ``unexplained``: absent although within the lattice beam (the decoding search at ``acwt``
      pruned it with its beam, or a lattice bug: check with a wider --beam);
    * ``lattice-error``: present, but with a worse alignment than the re-decoded one at ``acwt``.
    """
    lw, lg, la = best_path(lat, 1.0, 1.0 / lmwt, wip)
    c_re = re_g + wip * len(re_words) + re_a / lmwt
    c_lat = lg + wip * len(lw) + la / lmwt
    tol = tol + 1e-6 * max(abs(c_re), abs(c_lat))
    if abs(c_re - c_lat) <= tol:
        return "tie"
    if c_re > c_lat:
        return "search-error"
    re_dec = re_g + acwt * re_a
    have = word_sequence_weight(lat, re_words, acwt)
    if have is not None:
        return "alignment" if have[0] + acwt * have[1] <= re_dec + tol else "lattice-error"
    _, bg, ba = best_path(lat, 1.0, acwt, 0.0)
    return "outside-beam" if re_dec - (bg + acwt * ba) > lattice_beam + tol else "unexplained"


def bench_decode(argv=None) -> int:
    p = make_parser("Time decode + scoring: the old per-LM-weight re-decoding sweep vs one lattice "
                    "decode scored on its lattices; decoder frames/s with and without lattices.\n"
                    "e.g.: bnn-bench-decode --min-lmwt 6 --max-lmwt 14 --word-ins-penalty 0.0,1.0 "
                    "exp/dnn_float/final.mdl exp/mono/graph 'ark:loglikes.ark' data/dev/text",
                    prog="bnn-bench-decode")
    p.add_argument("--acoustic-scale", type=float, default=0.1)
    p.add_argument("--beam", type=float, default=13.0)
    p.add_argument("--lattice-beam", type=float, default=8.0)
    p.add_argument("--max-active", type=int, default=7000)
    p.add_argument("--min-active", type=int, default=200)
    p.add_argument("--min-lmwt", type=int, default=1)
    p.add_argument("--max-lmwt", type=int, default=20)
    p.add_argument("--word-ins-penalty", default="0.0,0.5,1.0")
    p.add_argument("--skip-sweep", action="store_true", help="skip the old kaldi-hmm-gmm sweep (monophone models only)")
    p.add_argument("--own-sweep", action="store_true", help="also re-decode per (LM weight, penalty) with the own "
                   "search (best path only, any model) and compare with the lattice's best paths")
    p.add_argument("model")
    p.add_argument("graph_dir", help="dir with HCLG.fst and words.txt")
    p.add_argument("loglikes_rspecifier")
    p.add_argument("text", help="reference transcripts (data/<set>/text)")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    import os
    hclg, words_txt = os.path.join(args.graph_dir, "HCLG.fst"), os.path.join(args.graph_dir, "words.txt")
    opts = DecodeOptions(args.acoustic_scale, args.beam, args.lattice_beam, args.max_active, args.min_active, True)
    lmwts = parse_range(f"{args.min_lmwt}:{args.max_lmwt}")
    wips = parse_floats(args.word_ins_penalty)
    keys = [(str(l), str(w)) for w in wips for l in lmwts]
    ref = read_text_archive(args.text)
    syms = read_symbol_table(words_txt)
    tid2pdf, num_pdfs, _, _ = load_tid2pdf(args.model)
    mats = [(k, check_scores(k, m, num_pdfs, args.loglikes_rspecifier)) for k, m in read_matrices(args.loglikes_rspecifier)]
    if not mats:
        raise BnnError(f"{args.loglikes_rspecifier}: no utterances")
    frames = sum(m.shape[0] for _, m in mats)
    out = [f"bnn-bench-decode: {len(mats)} utterances, {frames} frames, {len(keys)} (LM weight, penalty) pairs "
           f"({args.min_lmwt}..{args.max_lmwt} x {args.word_ins_penalty}), beam {args.beam}, lattice-beam "
           f"{args.lattice_beam}, acwt {args.acoustic_scale}"]

    # --- lattice: one decode per utterance, all settings from the lattice
    lat_dec = LatticeDecoder(hclg, tid2pdf, num_pdfs, opts)
    t_search, t_best, t_score = _Timer(), _Timer(), _Timer()
    hyps_lat = OrderedDict((k, OrderedDict()) for k in keys)
    lattices = []
    for utt, m in mats:
        with t_search:
            res = lat_dec.decode_loglikes(utt, m)
        if res.lattice is None:
            continue
        lattices.append((utt, res.lattice))
        with t_best:
            for (l, w) in keys:
                hyps_lat[(l, w)][utt] = list(best_path(res.lattice, 1.0, 1.0 / float(l), float(w))[0])
    with t_score:
        best_lat, stats_lat = _score(hyps_lat, ref, syms, args.text)
    lat_cpu = t_search.cpu + t_best.cpu + t_score.cpu
    lat_wall = t_search.wall + t_best.wall + t_score.wall

    # --- best path only, same C++ search without determinization
    bp_dec = LatticeDecoder(hclg, tid2pdf, num_pdfs, opts, determinize=False)
    t_bp = _Timer()
    for utt, m in mats:
        with t_bp:
            bp_dec.search(m)

    out.append(f"lattice  decode+score: {lat_cpu:8.2f} s CPU ({lat_wall:.2f} s wall): search+determinize "
               f"{t_search.cpu:.2f} s, {len(keys)} best paths/utt {t_best.cpu:.2f} s, scoring {t_score.cpu:.2f} s; "
               f"best {stats_lat[best_lat].kaldi_lines()[0]} at LMWT {best_lat[0]} WIP {best_lat[1]}")
    fps_lat = frames / t_search.cpu if t_search.cpu > 0 else float("inf")
    fps_bp = frames / t_bp.cpu if t_bp.cpu > 0 else float("inf")
    out.append(f"frames/s (CPU): own decoder with lattices {fps_lat:10.0f}; own search best path only "
               f"{fps_bp:10.0f} (ratio {fps_lat / fps_bp:.2f})")

    # --- a re-decoding sweep with our own search (best path only, any model): a search at acwt
    # 1/LMWT on the graph with WIP added to the word arcs.  This is not what Kaldi scores (one decode
    # at --acoustic-scale, the lattice rescaled), so every difference is classified with the costs
    # of both paths under the same scaling (classify_difference).
    if args.own_sweep:
        t_own = _Timer()
        hyps_own = OrderedDict((k, OrderedDict()) for k in keys)
        lats = {utt: lat for utt, lat in lattices}
        classes = {c: 0 for c in DIFF_CLASSES}
        utt_ok = {u: True for u, _ in mats}
        hyps_tied = OrderedDict((k, OrderedDict()) for k in keys)
        for w in wips:
            dw = bp_dec.with_word_penalty(w)
            for l in lmwts:
                k = (str(l), str(w))
                for utt, m in mats:
                    with t_own:
                        r = dw.search(m, acoustic_scale=1.0 / l)
                    if not (r["ok"] and r["have_best"]):
                        continue
                    words = np.frombuffer(r["words"], dtype=np.int32).tolist()
                    hyps_own[k][utt] = hyps_tied[k][utt] = words
                    if utt not in lats or words == hyps_lat[k].get(utt):
                        continue
                    ali = np.frombuffer(r["alignment"], dtype=np.int32)
                    a_re = -float(m[np.arange(len(ali)), tid2pdf[ali]].astype(np.float64).sum())
                    g_re = float(r["graph_cost"]) - w * len(words)
                    c = classify_difference(lats[utt], words, g_re, a_re, l, w, args.acoustic_scale,
                                            args.lattice_beam)
                    classes[c] += 1
                    if c == "tie":
                        hyps_tied[k][utt] = hyps_lat[k][utt]
                    if c in ("lattice-error", "unexplained"):
                        utt_ok[utt] = False
        best_own, stats_own = _score(hyps_own, ref, syms, args.text)
        _, stats_tied = _score(hyps_tied, ref, syms, args.text)
        same_words = sum(hyps_own[k].get(u) == hyps_lat[k].get(u) for k in keys for u, _ in mats)
        utts_all = sum(all(hyps_own[k].get(u) == hyps_lat[k].get(u) for k in keys) for u, _ in mats)
        out.append(f"own re-decoding sweep: {t_own.cpu:8.2f} s CPU; best {stats_own[best_own].kaldi_lines()[0]} at "
                   f"LMWT {best_own[0]} WIP {best_own[1]}; same words as the lattice's best path for "
                   f"{same_words} of {len(keys) * len(mats)} (utterance, setting) pairs, at every setting for "
                   f"{utts_all} of {len(mats)} utterances; same WER at "
                   f"{sum(abs(stats_own[k].wer - stats_lat[k].wer) < 0.1 for k in keys)} of {len(keys)} settings (0.1 abs)")
        out.append("  differing pairs, by cause (costs of both paths under the same scaling): " +
                   ", ".join(f"{c} {classes[c]}" for c in DIFF_CLASSES))
        out.append(f"  every difference explained (tie, re-decode search error, alignment, outside lattice-beam) "
                   f"for {sum(utt_ok.values())} of {len(mats)} utterances; with tied paths taken as the "
                   f"lattice's: same WER at {sum(abs(stats_tied[k].wer - stats_lat[k].wer) < 0.1 for k in keys)} "
                   f"of {len(keys)} settings (0.1 abs)")
        dec_l = str(int(round(1.0 / args.acoustic_scale)))
        for w in wips:
            k = (dec_l, str(w))
            if k in stats_lat:
                out.append(f"  at the decoding scale LMWT {dec_l} WIP {w}: lattice %WER {stats_lat[k].wer:.2f}, "
                           f"re-decoding {stats_own[k].wer:.2f}, re-decoding with ties as the lattice "
                           f"{stats_tied[k].wer:.2f}")

    # --- the old sweep on kaldi-hmm-gmm
    if not args.skip_sweep:
        try:
            from bnn.decode.decoder import load_transition_model
            tm, _ = load_transition_model(args.model, [os.path.join(args.graph_dir, "phones", "sets.int")])
        except BnnError as err:
            out.append(f"sweep    skipped: {err}")
            tm = None
        if tm is not None:
            old = GraphDecoder(hclg, tm, opts)
            grid = SweepGrid(lmwts, wips)
            t_one, t_sweep, t_oscore = _Timer(), _Timer(), _Timer()
            hyps_old = OrderedDict((k, OrderedDict()) for k in keys)
            for utt, m in mats:
                with t_one:
                    old.decode_loglikes(utt, m)
                with t_sweep:
                    for (l, w), words in old.sweep(utt, m, grid).items():
                        if words is not None:
                            hyps_old[(str(l), str(w))][utt] = list(words)
            with t_oscore:
                best_old, stats_old = _score(hyps_old, ref, syms, args.text)
            old_cpu = t_one.cpu + t_sweep.cpu + t_oscore.cpu
            old_wall = t_one.wall + t_sweep.wall + t_oscore.wall
            out.append(f"sweep    decode+score: {old_cpu:8.2f} s CPU ({old_wall:.2f} s wall): 1-best decode "
                       f"{t_one.cpu:.2f} s, {len(keys)} re-decodes {t_sweep.cpu:.2f} s, scoring {t_oscore.cpu:.2f} s; "
                       f"best {stats_old[best_old].kaldi_lines()[0]} at LMWT {best_old[0]} WIP {best_old[1]}")
            same = sum(stats_old[k].errors == stats_lat[k].errors for k in keys)
            fps_khg = frames / t_one.cpu if t_one.cpu > 0 else float("inf")
            out.append(f"speed-up decode+score (sweep / lattice): {old_cpu / lat_cpu:.1f}x CPU, "
                       f"{old_wall / lat_wall:.1f}x wall; same error count at {same} of {len(keys)} settings")
            out.append(f"frames/s (CPU): kaldi-hmm-gmm best-path decoder {fps_khg:10.0f}; own decoder with "
                       f"lattices / kaldi-hmm-gmm best path = {fps_lat / fps_khg:.2f}")
    for line in out:
        print(line)
    return 0
