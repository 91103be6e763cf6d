"""Decoding graphs HCLG = H o C o L o G (Kaldi ``utils/mkgraph.sh``) with kaldifst + kaldi-hmm-gmm.

Steps, as in egs/wsj/s5/utils/mkgraph.sh (Kaldi commit f4007661):

1. ``LG = minimize_encoded(determinize_star_log(L_disambig o G))`` (``fsttablecompose``,
   ``fstdeterminizestar --use-log=true``, ``fstminimizeencoded``; Kaldi's final
   ``fstpushspecial`` is not available in kaldifst and is skipped: it only redistributes weights);
2. ``CLG, ilabels = compose_context(disambig phones, N, P, LG)`` (``fstcomposecontext``);
3. ``Ha, disambig_tid = get_h_transducer(ilabels, ctx_dep, trans_model, transition_scale)``
   (``make-h-transducer``), with the transition model's own topology as a monophone
   context-dependency (N=1, P=0: this module builds graphs for monophone models);
4. ``HCLGa = minimize_encoded(rm_disambig(determinize_star_log(Ha o CLG)))`` (``fstrmsymbols``
   replaces the disambiguation transition-ids by epsilon; Kaldi's ``fstrmepslocal`` is skipped);
5. ``HCLG = add_self_loops(HCLGa, self_loop_scale, reorder=true)`` (``add-self-loops``), written
   as an OpenFst const FST (``fstconvert --fst_type=const``) or vector FST.

The graph directory gets ``HCLG.fst``, ``words.txt``, ``phones.txt``, ``phones/`` (copied from the
lang dir), ``num_pdfs`` and ``disambig_tid.int``, as Kaldi's.
"""
import logging
import os
import shutil
from typing import List, Optional

import numpy as np

from bnn.decode.fstio import arrays_to_vector_fst, fst_to_arrays, read_fst, write_fst
from bnn.utils.errors import BnnError
from bnn.utils.fileio import atomic_write

log = logging.getLogger(__name__)


def read_int_list(path: str) -> List[int]:
    try:
        with open(path) as f:
            return [int(x) for x in f.read().split()]
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    except ValueError:
        raise BnnError(f"{path}: expected integers") from None


def monophone_ctx_dep(trans_model):
    """A monophone ContextDependency whose pdf numbering is the transition model's (checked)."""
    import kaldi_hmm_gmm as khg
    topo = trans_model.topo
    ctx = khg.monophone_context_dependency(list(topo.phones), topo.get_phone_to_num_pdf_classes())
    expected = sum(topo.num_pdf_classes(p) for p in topo.phones)
    if expected != trans_model.num_pdfs:
        raise BnnError(f"model has {trans_model.num_pdfs} pdfs but a monophone tree over its topology would "
                       f"have {expected}: only monophone models (one pdf per phone state) are supported")
    return ctx


def relabel_input(fst, labels, new_label: int = 0):
    """Replace the input labels in ``labels`` by ``new_label`` (OpenFst ``fstrmsymbols``)."""
    fa = fst_to_arrays(fst)
    if fa.num_arcs:
        mask = np.isin(fa.arcs["ilabel"], np.asarray(list(labels), dtype=np.int32))
        fa.arcs["ilabel"][mask] = new_label
    return arrays_to_vector_fst(fa)


def make_lg(l_disambig, g):
    import kaldifst
    kaldifst.arcsort(l_disambig, sort_type="olabel")
    kaldifst.arcsort(g, sort_type="ilabel")
    lg = kaldifst.compose(l_disambig, g)
    lg = kaldifst.StdVectorFst(lg) if not isinstance(lg, kaldifst.StdVectorFst) else lg
    if lg.num_states == 0:
        raise BnnError("L o G is empty: the lexicon and the grammar share no word sequence")
    if kaldifst.determinize_star(lg, use_log=True):
        raise BnnError("determinization of L o G stopped early (max states reached)")
    kaldifst.minimize_encoded(lg)
    return lg


def make_hclg(l_disambig_path: str, g_path: str, disambig_phones: List[int], trans_model,
              transition_scale: float = 1.0, self_loop_scale: float = 0.1, ctx_dep=None):
    """(HCLG as kaldifst.StdVectorFst, disambig transition-ids, ilabels) for a monophone model."""
    import kaldi_hmm_gmm as khg
    import kaldifst
    lg = make_lg(read_fst(l_disambig_path), read_fst(g_path))
    clg, ilabels = kaldifst.compose_context(disambig_phones, 1, 0, lg)
    ctx = ctx_dep if ctx_dep is not None else monophone_ctx_dep(trans_model)
    cfg = khg.HTransducerConfig()
    cfg.transition_scale = transition_scale
    ha, disambig_tid = khg.get_h_transducer(ilabels, ctx, trans_model, cfg)
    kaldifst.arcsort(clg, sort_type="ilabel")
    hclga = kaldifst.compose(ha, clg)
    hclga = kaldifst.StdVectorFst(hclga) if not isinstance(hclga, kaldifst.StdVectorFst) else hclga
    if hclga.num_states == 0:
        raise BnnError("H o CLG is empty (graph and model do not match?)")
    if kaldifst.determinize_star(hclga, use_log=True):
        raise BnnError("determinization of H o CLG stopped early (max states reached)")
    hclga = relabel_input(hclga, disambig_tid, 0)
    kaldifst.minimize_encoded(hclga)
    hclg = khg.add_self_loops(trans_model=trans_model, ifst=hclga, self_loop_scale=self_loop_scale,
                              disambig_syms=[], reorder=True)
    return hclg, list(disambig_tid), ilabels


def mkgraph(lang_dir: str, trans_model, graph_dir: str, transition_scale: float = 1.0,
            self_loop_scale: float = 0.1, const: bool = True, ctx_dep=None) -> str:
    """Build ``graph_dir`` (Kaldi mkgraph.sh layout) from ``lang_dir`` (with G.fst) and a model."""
    needed = ["L_disambig.fst", "G.fst", "words.txt", "phones.txt", "phones/disambig.int"]
    for name in needed:
        if not os.path.isfile(os.path.join(lang_dir, name)):
            raise BnnError(f"{os.path.join(lang_dir, name)}: missing (need a lang dir with G.fst)")
    disambig = read_int_list(os.path.join(lang_dir, "phones/disambig.int"))
    hclg, disambig_tid, _ = make_hclg(os.path.join(lang_dir, "L_disambig.fst"), os.path.join(lang_dir, "G.fst"),
                                      disambig, trans_model, transition_scale, self_loop_scale, ctx_dep)
    if hclg.num_states == 0:
        raise BnnError(f"{lang_dir}: the decoding graph is empty")
    os.makedirs(graph_dir, exist_ok=True)
    for name in ("words.txt", "phones.txt"):
        shutil.copy2(os.path.join(lang_dir, name), os.path.join(graph_dir, name))
    if os.path.isdir(os.path.join(graph_dir, "phones")):
        shutil.rmtree(os.path.join(graph_dir, "phones"))
    shutil.copytree(os.path.join(lang_dir, "phones"), os.path.join(graph_dir, "phones"))
    with atomic_write(os.path.join(graph_dir, "num_pdfs")) as f:
        f.write(f"{trans_model.num_pdfs}\n")
    with atomic_write(os.path.join(graph_dir, "disambig_tid.int")) as f:
        f.writelines(f"{t}\n" for t in disambig_tid)
    out = os.path.join(graph_dir, "HCLG.fst")
    write_fst(hclg, out, const=const)
    log.info("%s: %d states, %d arcs (%s)", out, hclg.num_states,
             sum(hclg.num_arcs(s) for s in range(hclg.num_states)), "const" if const else "vector")
    return out


def mkgraph_main(argv=None) -> int:
    from bnn.decode.decoder import load_model
    from bnn.utils.cli import make_parser, setup_logging
    p = make_parser("Build HCLG.fst for a monophone model (Kaldi utils/mkgraph.sh).", prog="bnn-mkgraph")
    p.add_argument("--transition-scale", type=float, default=1.0)
    p.add_argument("--self-loop-scale", type=float, default=0.1)
    p.add_argument("--const", type=lambda v: v.lower() in ("true", "1", "yes"), default=True,
                   help="write HCLG as an OpenFst const FST (as Kaldi's mkgraph.sh)")
    p.add_argument("--model", default="", help="model file (default <model-dir>/final.mdl)")
    p.add_argument("lang_dir")
    p.add_argument("model_dir")
    p.add_argument("graph_dir")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    model = args.model or os.path.join(args.model_dir, "final.mdl")
    if not os.path.isfile(model):
        raise BnnError(f"{model}: no such model file")
    tm, _, ctx = load_model(model, [os.path.join(args.lang_dir, "phones", "sets.int")])
    mkgraph(args.lang_dir, tm, args.graph_dir, args.transition_scale, args.self_loop_scale, args.const, ctx)
    return 0
