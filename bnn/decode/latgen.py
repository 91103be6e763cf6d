"""The decoding commands ``bnn-latgen-faster-mapped`` and ``bnn-gmm-latgen-faster``.

Command lines follow Kaldi's src/bin/latgen-faster-mapped.cc and src/gmmbin/gmm-latgen-faster.cc:
``[options] <model> <HCLG> <loglikes-or-features-rspecifier> <lattice-wspecifier>
[<words-wspecifier> [<alignments-wspecifier>]]``.  Both run the toolkit's own lattice decoder
(:class:`bnn.decode.decoder.LatticeDecoder`) with any Kaldi model (monophone or triphone): it needs
only the transition-id -> pdf map.  The lattice wspecifier receives Kaldi CompactLattices
(``"ark:|gzip -c > lat.1.gz"``), acoustic costs unscaled as Kaldi writes them; words and alignments
are the best path.  GMM decoding computes the per-pdf GMM log-likelihoods with the toolkit's
AmDiagGmm and feeds them to the same search (Kaldi's ``DecodableAmDiagGmmScaled`` is
``acoustic_scale * log-likelihood(frame, pdf)``, exactly the mapped decodable).

``--sweep-hyps=<file>`` (optional) also writes the lattice's best word sequence for every
``--sweep-lm-weights`` x ``--sweep-penalties`` pair, one line ``<lmwt> <wip> <utt> <word-id>...``
each (the format of :func:`bnn.decode.scoring.read_sweep_hyps`); the file appears atomically
after the whole job succeeded.
"""
import logging

import numpy as np

from bnn.decode.decoder import (DecodeOptions, DecodeStats, LatticeDecoder, check_scores,
                                load_tid2pdf, parse_floats, parse_range, phone_start_array,
                                read_symbol_table)
from bnn.decode.lattice_io import best_path, write_compact_lattices
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
    p.add_argument("--phone-determinize", type=str2bool, default=False,
                   help="determinize on words + phones first, then on words (Kaldi's "
                        "DeterminizeLatticePhonePruned; same lattice, slower on flat binary-net scores, "
                        "see docs/decoding.md)")
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


def _options(args) -> DecodeOptions:
    if args.acoustic_scale <= 0:
        raise BnnError(f"--acoustic-scale must be positive, got {args.acoustic_scale}")
    return DecodeOptions(args.acoustic_scale, args.beam, args.lattice_beam, args.max_active,
                         args.min_active, args.allow_partial)


def _run(args, decoder: LatticeDecoder, items):
    """Shared loop: ``items`` yields (key, (frames x pdfs) log-likelihoods)."""
    words_table = read_symbol_table(args.word_symbol_table) if args.word_symbol_table else None
    grid = None
    if args.sweep_hyps:
        grid = (parse_range(args.sweep_lm_weights) or list(range(1, 21)),
                parse_floats(args.sweep_penalties) or [0.0])
    sweep_lines = []
    stats = DecodeStats()
    words_w = IntVectorWriter(args.words_wspecifier) if args.words_wspecifier else None
    ali_w = IntVectorWriter(args.alignments_wspecifier) if args.alignments_wspecifier else None

    def lattices():
        for key, mat in items:
            res = decoder.decode_loglikes(key, mat)
            if res.lattice is None or (not res.ok and not res.partial):
                stats.add(res)
                log.warning("Did not successfully decode utterance %s, len = %d", key, res.num_frames)
                continue
            if res.partial and not args.allow_partial:
                log.warning("Not producing output for utterance %s since no final-state reached and "
                            "--allow-partial=false.", key)
                stats.add(res)  # res.ok is False here
                continue
            stats.add(res)
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
                for wip in grid[1]:
                    for lmwt in grid[0]:
                        w = best_path(res.lattice, 1.0, 1.0 / float(lmwt), float(wip))[0]
                        sweep_lines.append(f"{lmwt} {wip} {key} " + " ".join(map(str, w)) + "\n")
            yield key, res.lattice
        if stats.done == 0:  # fail inside the writer, so no empty archive is left behind
            stats.log_summary(log)
            raise BnnError(f"{args.scores_rspecifier}: no utterance decoded "
                           f"({stats.failed} failed; empty input?)")

    ok = False
    try:
        write_compact_lattices(args.lattice_wspecifier, lattices())
        ok = True
    finally:  # a failed decode leaves no words/alignments archive that looks complete
        for w in (words_w, ali_w):
            if w:
                w.close(ok=ok)
    stats.log_summary(log)
    if grid is not None:
        with atomic_write(args.sweep_hyps) as f:
            f.writelines(sweep_lines)
    return 0


def _decoder(args):
    opts = _options(args)
    tid2pdf, num_pdfs, trans, am = load_tid2pdf(args.model)
    phones = phone_start_array(trans) if args.phone_determinize else None
    return LatticeDecoder(args.fst, tid2pdf, num_pdfs, opts, phone_start=phones), am


def latgen_faster_mapped(argv=None) -> int:
    args = make_decoder_parser(
        "bnn-latgen-faster-mapped",
        "Generate lattices from (frames x num-pdfs) log-likelihood matrices with an HCLG graph "
        "(Kaldi latgen-faster-mapped).",
        "loglikes_rspecifier").parse_args(argv)
    setup_logging(args.verbose)
    decoder, _ = _decoder(args)
    items = ((key, check_scores(key, mat, decoder.num_pdfs, args.scores_rspecifier))
             for key, mat in read_matrices(args.scores_rspecifier))
    return _run(args, decoder, items)


def gmm_pdf_loglikes(am, feats: np.ndarray) -> np.ndarray:
    """(frames x num-pdfs) GMM log-likelihoods of the toolkit's AmDiagGmm, as float32."""
    return np.asarray(am.log_likelihoods(np.asarray(feats, dtype=np.float32)), dtype=np.float32)


def gmm_latgen_faster(argv=None) -> int:
    args = make_decoder_parser(
        "bnn-gmm-latgen-faster",
        "Generate lattices from features with a GMM model and an HCLG graph (Kaldi gmm-latgen-faster).",
        "features_rspecifier").parse_args(argv)
    setup_logging(args.verbose)
    decoder, am = _decoder(args)
    if am is None:
        raise BnnError(f"{args.model}: model has no AmDiagGmm (a transition model only)")
    if am.num_pdfs != decoder.num_pdfs:
        raise BnnError(f"{args.model}: the GMM has {am.num_pdfs} pdfs but the transition model {decoder.num_pdfs}")

    def checked():
        for key, feats in read_matrices(args.scores_rspecifier):
            feats = check_scores(key, feats, None, args.scores_rspecifier)
            if feats.shape[1] != am.dim:
                raise BnnError(f"{args.scores_rspecifier}: utterance {key}: features have dimension "
                               f"{feats.shape[1]} but the model expects {am.dim}")
            yield key, gmm_pdf_loglikes(am, feats)

    return _run(args, decoder, checked())
