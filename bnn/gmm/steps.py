"""Directory-level GMM steps writing Kaldi's experiment layout (steps/train_mono.sh, steps/align_si.sh).

An experiment dir holds: ``final.mdl`` (TransitionModel + AmDiagGmm, Kaldi binary or text),
``tree`` (ContextDependency), ``ali.N.gz`` (gzipped binary int32-vector archives of
transition-ids, one per job of ``<data>/split<nj>``), ``num_jobs``, ``cmvn_opts``, ``delta_opts``,
``phones.txt`` and ``log/``.
"""
import gzip
import logging
import os
import shutil
from typing import Dict, List

import numpy as np

from bnn.kaldi.datadir import read_table
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

logger = logging.getLogger(__name__)


def job_utterances(data_dir: str, nj: int) -> List[List[str]]:
    """Utterances of each job: ``<data>/split<nj>/<n>/feats.scp`` (made like split_data.sh)."""
    if nj == 1:
        return [sorted(read_table(os.path.join(data_dir, "feats.scp"), check_sorted=False))]
    sdir = os.path.join(data_dir, f"split{nj}")
    if not all(os.path.isfile(os.path.join(sdir, str(j), "feats.scp")) for j in range(1, nj + 1)):
        from bnn.kaldi.datadir import split_data
        sdir = split_data(data_dir, nj)
    return [sorted(read_table(os.path.join(sdir, str(j), "feats.scp"), check_sorted=False))
            for j in range(1, nj + 1)]


def write_alignments(path: str, alis: Dict[str, List[int]], utts: List[str]) -> None:
    """Gzipped Kaldi binary int32-vector archive (``copy-int-vector ... "ark:| gzip -c > path"``)."""
    import kaldiio
    tmp = path + ".tmp.ark"
    try:
        with kaldiio.WriteHelper(f"ark:{tmp}") as w:
            for u in utts:
                if u in alis:
                    w(u, np.asarray(alis[u], dtype=np.int32))
        with open(tmp, "rb") as f, atomic_write(path, "wb") as out:
            with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
                shutil.copyfileobj(f, gz)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_text(path: str, text: str) -> None:
    with atomic_write(path) as f:
        f.write(text)


def write_tree(ctx_dep, path: str, binary: bool = True) -> None:
    tmp = path + ".tmp"
    ctx_dep.write(binary, tmp)
    os.replace(tmp, path)


def train_mono_dir(data_dir: str, lang_dir: str, exp_dir: str, nj: int = 1,
                   num_iters: int = 40, totgauss: int = 1000, boost_silence: float = 1.0,
                   cmvn_opts: str = "", delta_opts: str = "", binary: bool = True,
                   realign_iters=None) -> "object":
    """steps/train_mono.sh: train on ``data_dir`` and write the Kaldi layout to ``exp_dir``."""
    from bnn.gmm.feats import GmmFeatures
    from bnn.kaldi.hmm_topology import HmmTopology
    from bnn.kaldi.khg_bridge import from_khg_am, from_khg_transition_model
    from bnn.gmm.mono import REALIGN_ITERS, Lang, MonoConfig, train_mono
    from bnn.kaldi.model_io import write_model

    lang = Lang.load(lang_dir)
    text_path = os.path.join(data_dir, "text")
    if not os.path.isfile(text_path):
        raise BnnError(f"{text_path}: missing (training needs transcripts)")
    text = read_table(text_path, check_sorted=False)
    jobs = job_utterances(data_dir, nj)
    feats = GmmFeatures(data_dir, cmvn_opts, delta_opts, utt_list=[u for j in jobs for u in j])
    transcripts = {u: lang.transcript_ids(t, u, text_path) for u, t in text.items()}
    missing = [u for u in feats.utts if u not in transcripts]
    if missing:
        logger.warning("%s: %d utterances have no transcript (e.g. %s); skipped",
                       text_path, len(missing), missing[0])
    os.makedirs(os.path.join(exp_dir, "log"), exist_ok=True)
    log_lines: List[str] = []

    def log(msg):
        logger.info(msg)
        log_lines.append(msg)

    cfg = MonoConfig(num_iters=num_iters, totgauss=totgauss, boost_silence=boost_silence,
                     realign_iters=tuple(realign_iters or REALIGN_ITERS))
    res = train_mono(feats.utts, feats, transcripts, lang, cfg, log=log)
    tm = from_khg_transition_model(res.tm, HmmTopology.read_file(os.path.join(lang_dir, "topo")))
    write_model(os.path.join(exp_dir, "final.mdl"), tm, from_khg_am(res.am), binary=binary)
    write_tree(res.ctx_dep, os.path.join(exp_dir, "tree"), binary=binary)
    for j, utts in enumerate(jobs, 1):
        write_alignments(os.path.join(exp_dir, f"ali.{j}.gz"), res.alignments, utts)
    _write_text(os.path.join(exp_dir, "num_jobs"), f"{nj}\n")
    _write_text(os.path.join(exp_dir, "cmvn_opts"), f"{cmvn_opts}\n" if cmvn_opts else "")
    _write_text(os.path.join(exp_dir, "delta_opts"), f"{delta_opts}\n" if delta_opts else "")
    shutil.copyfile(os.path.join(lang_dir, "phones.txt"), os.path.join(exp_dir, "phones.txt"))
    _write_text(os.path.join(exp_dir, "log", "train.log"), "".join(m + "\n" for m in log_lines))
    return res


def align_dir(data_dir: str, lang_dir: str, model: str, ali_wspecifier_path: str,
              cmvn_opts: str = "", delta_opts: str = "", beam: float = 10.0,
              retry_beam: float = 40.0, boost_silence: float = 1.0,
              careful: bool = False) -> Dict[str, float]:
    """gmm-align-compiled over ``data_dir`` with ``model`` (a final.mdl); writes ``ali.N.gz``."""
    from bnn.gmm.feats import GmmFeatures
    from bnn.kaldi.khg_bridge import to_khg_am, to_khg_monophone_tree, to_khg_transition_model
    from bnn.gmm.mono import AlignOptions, GraphCompiler, Lang, align, boost_silence as boost
    from bnn.kaldi.model_io import read_model

    lang = Lang.load(lang_dir)
    tm, am = read_model(model)
    if am is None:
        raise BnnError(f"{model}: has no AmDiagGmm (not a GMM model)")
    tm_k = to_khg_transition_model(tm, model, sets=lang.sets)
    ctx = to_khg_monophone_tree(tm, sets=lang.sets)
    am_k = boost(to_khg_am(am), tm_k, lang.optional_silence, boost_silence)
    feats = GmmFeatures(data_dir, cmvn_opts, delta_opts)
    if feats.dim != am.dim:
        raise BnnError(f"{data_dir}: features have dimension {feats.dim}, model {model} "
                       f"expects {am.dim} (check cmvn_opts/delta_opts)")
    text_path = os.path.join(data_dir, "text")
    text = read_table(text_path, check_sorted=False)
    comp = GraphCompiler(tm_k, ctx, lang)
    opts = AlignOptions(beam=beam, retry_beam=retry_beam, careful=careful)
    alis, tot, frames, failed = {}, 0.0, 0, 0
    for u in feats.utts:
        if u not in text:
            logger.warning("%s: no transcript for utterance %s; not aligned", text_path, u)
            failed += 1
            continue
        x = feats(u)
        a, like, _ = align(am_k, tm_k, comp.compile(lang.transcript_ids(text[u], u, text_path)),
                           x, opts, u)
        if a is None:
            logger.warning("utterance %s: alignment failed even with retry beam %g", u, retry_beam)
            failed += 1
            continue
        alis[u] = a
        tot += like
        frames += len(a)
    if not alis:
        raise BnnError(f"{data_dir}: no utterance could be aligned")
    write_alignments(ali_wspecifier_path, alis, feats.utts)
    logger.info("aligned %d utterances, %d failed; average log-like per frame %.6f over %d frames",
                len(alis), failed, tot / max(frames, 1), frames)
    return {"done": len(alis), "failed": failed, "loglike_per_frame": tot / max(frames, 1)}
