"""The decoding commands ``bnn-latgen-faster-mapped`` and ``bnn-gmm-latgen-faster``.

Command lines follow Kaldi's src/bin/latgen-faster-mapped.cc and src/gmmbin/gmm-latgen-faster.cc:
``[options] <model> <HCLG> <loglikes-or-features-rspecifier> <lattice-wspecifier>
[<words-wspecifier> [<alignments-wspecifier>]]``.

Lattices: kaldi-hmm-gmm 1.1.4 does not give the decoder's lattice to Python, so the
``<lattice-wspecifier>`` is accepted for compatibility but nothing is written to it (a warning says
so unless it is ``ark:/dev/null``).  For scoring, ``--sweep-hyps=<file>`` writes the best word
sequence for every ``--sweep-lm-weights`` x ``--sweep-penalties`` pair (see
:mod:`bnn.decode.decoder`), one line ``<lmwt> <wip> <utt> <word-id>...`` each; the file appears
(atomically) only after the whole job succeeded.
"""
import logging

import numpy as np

from bnn.decode.decoder import (DecodeOptions, DecodeStats, GraphDecoder, SweepGrid, check_scores,
                                load_am_gmm, load_transition_model, parse_floats, parse_range,
                                read_symbol_table)
from bnn.decode.tables import read_matrices
from bnn.kaldi.alignments import IntVectorWriter
from bnn.utils.cli import make_parser, setup_logging
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

log = logging.getLogger("bnn.decode")


def str2bool(v: str) -> bool:
    if v.lower() in ("true", "1", "yes"):
        return True
    if v.lower() in ("false", "0", "no"):
        return False
    raise BnnError(f"expected true or false, got '{v}'")


def make_decoder_parser(prog: str, description: str, third: str):
    p = make_parser(description, prog=prog)
    p.add_argument("--acoustic-scale", type=float, default=0.1, help="scaling factor for acoustic likelihoods")
    p.add_argument("--beam", type=float, default=16.0, help="decoding beam")
    p.add_argument("--lattice-beam", type=float, default=10.0, help="lattice generation beam")
    p.add_argument("--max-active", type=int, default=2147483647, help="max active states")
    p.add_argument("--min-active", type=int, default=200, help="min active states")
    p.add_argument("--allow-partial", type=str2bool, default=False,
                   help="output a partial result when no final state was reached")
    p.add_argument("--word-symbol-table", default="", help="words.txt: log hypotheses as text")
    p.add_argument("--sweep-lm-weights", default="", help="e.g. 1:20: LM weights for --sweep-hyps")
    p.add_argument("--sweep-penalties", default="0.0,0.5,1.0", help="word insertion penalties for --sweep-hyps")
    p.add_argument("--sweep-hyps", default="", help="file for '<lmwt> <wip> <utt> <words>' lines")
    p.add_argument("model", help="Kaldi model (final.mdl)")
    p.add_argument("fst", help="decoding graph HCLG.fst (vector or const)")
    p.add_argument("scores_rspecifier", metavar=third)
    p.add_argument("lattice_wspecifier")
    p.add_argument("words_wspecifier", nargs="?", default="")
    p.add_argument("alignments_wspecifier", nargs="?", default="")
    return p


def _sets_candidates(args):
    import os
    return [os.path.join(os.path.dirname(os.path.abspath(args.fst)), "phones", "sets.int")]


def _options(args) -> DecodeOptions:
    if args.acoustic_scale <= 0:
        raise BnnError(f"--acoustic-scale must be positive, got {args.acoustic_scale}")
    return DecodeOptions(args.acoustic_scale, args.beam, args.lattice_beam, args.max_active,
                         args.min_active, args.allow_partial)


def _run(args, decoder: GraphDecoder, items, primary, sweep_scores):
    """Shared loop: ``items`` yields (key, payload); ``primary(key, payload)`` -> DecodeResult;
    ``sweep_scores(key, payload)`` -> (frames x pdfs) matrix for the sweep."""
    if args.lattice_wspecifier not in ("ark:/dev/null", ""):
        log.warning("lattices are not written (kaldi-hmm-gmm exposes only the best path): %s",
                    args.lattice_wspecifier)
    words_table = read_symbol_table(args.word_symbol_table) if args.word_symbol_table else None
    grid = None
    if args.sweep_hyps:
        grid = SweepGrid(parse_range(args.sweep_lm_weights) or list(range(1, 21)),
                         parse_floats(args.sweep_penalties) or [0.0])
    sweep_lines = []
    stats = DecodeStats()
    words_w = IntVectorWriter(args.words_wspecifier) if args.words_wspecifier else None
    ali_w = IntVectorWriter(args.alignments_wspecifier) if args.alignments_wspecifier else None
    try:
        for key, payload in items:
            res = primary(key, payload)
            stats.add(res)
            if not res.ok:
                log.warning("Did not successfully decode utterance %s, len = %d", key, res.num_frames)
                continue
            if res.partial:
                log.warning("Outputting partial output for utterance %s since no final-state reached", key)
            if words_table is not None:
                log.info("%s %s", key, " ".join(words_table.get(w, str(w)) for w in res.words))
            log.info("Log-like per frame for utterance %s is %.6g over %d frames.", key,
                     res.likelihood / max(res.num_frames, 1), res.num_frames)
            if words_w:
                words_w.write(key, res.words)
            if ali_w:
                ali_w.write(key, res.alignment)
            if grid is not None:
                mat = sweep_scores(key, payload)
                for (lmwt, wip), words in decoder.sweep(key, mat, grid).items():
                    if words is not None:
                        sweep_lines.append(f"{lmwt} {wip} {key} " + " ".join(map(str, words)) + "\n")
    finally:
        for w in (words_w, ali_w):
            if w:
                w.close()
    stats.log_summary(log)
    if stats.done == 0:
        raise BnnError(f"{args.scores_rspecifier}: no utterance decoded "
                       f"({stats.failed} failed; empty input?)")
    if grid is not None:
        with atomic_write(args.sweep_hyps) as f:
            f.writelines(sweep_lines)
    return 0


def latgen_faster_mapped(argv=None) -> int:
    args = make_decoder_parser(
        "bnn-latgen-faster-mapped",
        "Decode (frames x num-pdfs) log-likelihood matrices with an HCLG graph (Kaldi latgen-faster-mapped).",
        "loglikes_rspecifier").parse_args(argv)
    setup_logging(args.verbose)
    opts = _options(args)
    tm, _ = load_transition_model(args.model, _sets_candidates(args))
    decoder = GraphDecoder(args.fst, tm, opts)

    def primary(key, mat):
        return decoder.decode_loglikes(key, mat)

    items = ((key, check_scores(key, mat, decoder.num_pdfs, args.scores_rspecifier))
             for key, mat in read_matrices(args.scores_rspecifier))
    return _run(args, decoder, items, primary, lambda key, mat: mat)


def gmm_pdf_loglikes(khg, am, feats: np.ndarray) -> np.ndarray:
    """(frames x num-pdfs) GMM log-likelihoods (``DecodableAmDiagGmmUnmapped``, pdf index + 1)."""
    dec = khg.DecodableAmDiagGmmUnmapped(am, feats)
    n, p = feats.shape[0], am.num_pdfs
    out = np.empty((n, p), dtype=np.float32)
    for t in range(n):
        for j in range(p):
            out[t, j] = dec.log_likelihood(t, j + 1)
    return out


def gmm_latgen_faster(argv=None) -> int:
    import kaldi_hmm_gmm as khg
    args = make_decoder_parser(
        "bnn-gmm-latgen-faster",
        "Decode features with a GMM model and an HCLG graph (Kaldi gmm-latgen-faster).",
        "features_rspecifier").parse_args(argv)
    setup_logging(args.verbose)
    opts = _options(args)
    tm, am = load_am_gmm(args.model, _sets_candidates(args))
    decoder = GraphDecoder(args.fst, tm, opts)
    dim = am.dim

    def primary(key, feats):
        decodable = khg.DecodableAmDiagGmmScaled(am, tm, feats, opts.acoustic_scale)
        return decoder.decode_decodable(key, decodable, feats.shape[0])

    def checked():
        for key, feats in read_matrices(args.scores_rspecifier):
            feats = check_scores(key, feats, None, args.scores_rspecifier)
            if feats.shape[1] != dim:
                raise BnnError(f"{args.scores_rspecifier}: utterance {key}: features have dimension "
                               f"{feats.shape[1]} but the model expects {dim}")
            yield key, np.ascontiguousarray(feats)

    return _run(args, decoder, checked(), primary, lambda key, feats: gmm_pdf_loglikes(khg, am, feats))
