"""WER scoring as Kaldi's ``compute-wer`` (src/bin/compute-wer.cc) and ``steps/score_kaldi.sh``.

Edit distance and alignment come from kaldialign (a port of Kaldi's ``LevenshteinEditDistance``
/ ``LevenshteinAlignment``).  Output formats:

* compute-wer: ``%WER <100*errs/words, %.2f in float> [ <errs> / <words>, <ins> ins, <del> del,
  <sub> sub ]`` (+ `` [PARTIAL]`` when reference utterances had no hypothesis), ``%SER ...``,
  ``Scored <n> sentences, <m> not present in hyp.``; ``--mode=present`` skips utterances without
  a hypothesis, ``all`` scores them as empty, ``strict`` fails on them.
* wer_details (utils/scoring/wer_per_utt_details.pl, wer_per_spk_details.pl,
  wer_ops_details.pl): per-utterance ``ref``/``hyp``/``op`` rows with centred columns and
  ``#csid`` counts; per-speaker ``raw``/``sys`` rows.
"""
import math
import os
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Tuple, Dict, List, Optional

import numpy as np

from bnn.utils.errors import BnnError

EPS = "***"


def read_text_archive(spec: str) -> "OrderedDict[str, List[str]]":
    """A Kaldi text archive (``utt w1 w2 ...``), optionally written ``ark:path`` / ``ark,t:path``."""
    path = spec
    if re.match(r"^ark(,[a-z]+)*:", spec):
        path = spec.split(":", 1)[1]
    out = OrderedDict()
    try:
        from kaldiio.utils import open_like_kaldi
        with open_like_kaldi(path, "r") as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if parts[0] in out:
                    raise BnnError(f"{path}:{n}: duplicate utterance {parts[0]}")
                out[parts[0]] = parts[1:]
    except (OSError, UnicodeDecodeError) as err:
        raise BnnError(f"{path}: cannot read text ({err})") from None
    return out


@dataclass
class WerStats:
    words: int = 0
    ins: int = 0
    dels: int = 0
    subs: int = 0
    sents: int = 0
    sent_errs: int = 0
    absent: int = 0

    @property
    def errors(self) -> int:
        return self.ins + self.dels + self.subs

    @property
    def wer(self) -> float:
        """Percent WER computed in float32 as compute-wer does (BaseFloat)."""
        return float(np.float32(100.0) * np.float32(self.errors) / np.float32(self.words)) if self.words else math.nan

    def kaldi_lines(self) -> List[str]:
        ser = float(np.float32(100.0) * np.float32(self.sent_errs) / np.float32(self.sents)) if self.sents else math.nan
        return [f"%WER {self.wer:.2f} [ {self.errors} / {self.words}, {self.ins} ins, {self.dels} del, "
                f"{self.subs} sub ]" + (" [PARTIAL]" if self.absent else ""),
                f"%SER {ser:.2f} [ {self.sent_errs} / {self.sents} ]",
                f"Scored {self.sents} sentences, {self.absent} not present in hyp."]


def edit_counts(ref: List[str], hyp: List[str]) -> Dict[str, int]:
    import kaldialign
    return kaldialign.edit_distance(ref, hyp)


def compute_wer(ref: Dict[str, List[str]], hyp: Dict[str, List[str]], mode: str = "present",
                ref_name: str = "ref", hyp_name: str = "hyp") -> WerStats:
    """Kaldi compute-wer over reference keys (hypotheses for keys not in ``ref`` are ignored)."""
    if mode not in ("present", "all", "strict"):
        raise BnnError(f"--mode must be present, all or strict, got '{mode}'")
    st = WerStats()
    for key, ref_words in ref.items():
        if key not in hyp:
            if mode == "strict":
                raise BnnError(f"{hyp_name}: no hypothesis for utterance {key} (strict mode)")
            st.absent += 1
            if mode == "present":
                continue
        hyp_words = hyp.get(key, [])
        e = edit_counts(ref_words, hyp_words)
        st.words += len(ref_words)
        st.ins += e["ins"]
        st.dels += e["del"]
        st.subs += e["sub"]
        st.sents += 1
        st.sent_errs += int(e["total"] != 0)
    if st.words == 0:
        raise BnnError(f"{ref_name}: no reference words scored (empty reference or no hypotheses)")
    return st


def align(ref: List[str], hyp: List[str]):
    """Pairs (ref, hyp) with :data:`EPS` for insertions/deletions (Kaldi align-text)."""
    import kaldialign
    return kaldialign.align(ref, hyp, EPS)


def _cjust(s: str, width: int) -> str:
    right = (width - len(s)) // 2
    left = width - len(s) - right
    return " " * left + s + " " * right


def per_utt_details(ref: Dict[str, List[str]], hyp: Dict[str, List[str]]) -> List[str]:
    """Lines of wer_details/per_utt (utils/scoring/wer_per_utt_details.pl format)."""
    lines = []
    for key, ref_words in ref.items():
        if key not in hyp:
            continue
        pairs = align(ref_words, hyp[key])
        refs, hyps, ops = [], [], []
        counts = Counter()
        for r, h in pairs:
            op = "D" if h == EPS else "I" if r == EPS else "S" if r != h else "C"
            counts[op] += 1
            w = max(len(r), len(h), len(op))
            refs.append(_cjust(r, w))
            hyps.append(_cjust(h, w))
            ops.append(_cjust(op, w))
        lines.append(f"{key} ref  " + "  ".join(refs))
        lines.append(f"{key} hyp  " + "  ".join(hyps))
        lines.append(f"{key} op   " + "  ".join(ops))
        lines.append(f"{key} #csid {counts['C']} {counts['S']} {counts['I']} {counts['D']}")
    return lines


def per_spk_details(per_utt: List[str], utt2spk: Dict[str, str], spk_width: int = 15, width: int = 10) -> List[str]:
    """Lines of wer_details/per_spk (utils/scoring/wer_per_spk_details.pl format)."""
    spk_width = max([spk_width] + [len(s) for s in utt2spk.values()])
    stats: Dict[str, Counter] = {}
    for line in per_utt:
        parts = line.split()
        if len(parts) == 6 and parts[1] == "#csid":
            spk = utt2spk.get(parts[0])
            if spk is None:
                raise BnnError(f"utt2spk: no speaker for utterance {parts[0]}")
            c, s, i, d = map(int, parts[2:])
            st = stats.setdefault(spk, Counter())
            st.update(C=c, S=s, I=i, D=d, SENT=1, SERR=int(s + i + d != 0))
    fs = f"%{width}s"
    out = [(f"%-{spk_width}s id  " + " ".join([fs] * 8)) % ("SPEAKER", "#SENT", "#WORD", "Corr", "Sub",
                                                         "Ins", "Del", "Err", "S.Err")]

    def rows(name, st):
        word = st["C"] + st["S"] + st["D"]
        err = st["S"] + st["D"] + st["I"]
        fd, ff = f"%{width}d", f"%{width}.2f"
        r = [(f"%-{spk_width}s raw " + " ".join([fd] * 8)) % (name, st["SENT"], word, st["C"], st["S"], st["I"],
                                                              st["D"], err, st["SERR"])]
        if word:
            w = float(word)
            r.append((f"%-{spk_width}s sys " + " ".join([fd] * 2 + [ff] * 6)) % (
                name, st["SENT"], word, 100 * st["C"] / w, 100 * st["S"] / w, 100 * st["I"] / w,
                100 * st["D"] / w, 100 * err / w, 100.0 * st["SERR"] / st["SENT"]))
        return r

    total = Counter()
    for spk in sorted(stats):
        out += rows(spk, stats[spk])
        total.update(stats[spk])
    out += rows("SUM", total)
    return out


def ops_details(ref: Dict[str, List[str]], hyp: Dict[str, List[str]]) -> List[str]:
    """Counts of (operation, ref word, hyp word), most frequent first within each operation
    (the content of wer_details/ops; column layout approximates utils/scoring/wer_ops_details.pl)."""
    names = {"C": "correct", "S": "substitution", "I": "insertion", "D": "deletion"}
    counts = Counter()
    for key, ref_words in ref.items():
        if key in hyp:
            for r, h in align(ref_words, hyp[key]):
                op = "D" if h == EPS else "I" if r == EPS else "S" if r != h else "C"
                counts[(op, r, h)] += 1
    out = []
    wr = max([len(r) for (_, r, _) in counts] + [3])
    wh = max([len(h) for (_, _, h) in counts] + [3])
    for op in "CSID":
        items = sorted(((n, r, h) for (o, r, h), n in counts.items() if o == op), key=lambda x: (-x[0], x[1], x[2]))
        out += [f"{names[op]:<12}{r:>{wr + 2}}{h:>{wh + 4}}{n:>7}" for n, r, h in items]
    return out


def read_utt2spk(path: Optional[str], keys) -> Dict[str, str]:
    if not path or not os.path.isfile(path):
        return {k: k.split("_")[0] if "_" in k else k for k in keys}
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) != 2:
                raise BnnError(f"{path}:{n}: expected '<utt> <spk>'")
            out[parts[0]] = parts[1]
    return out


def read_sweep_hyps(paths: List[str]):
    """Sweep files written by the decoders (``<lmwt> <wip> <utt> <word-id>...`` per line) as
    {(lmwt, wip): {utt: [word ids]}}."""
    out: Dict[tuple, Dict[str, List[str]]] = {}
    for path in paths:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if len(parts) < 3:
                    raise BnnError(f"{path}:{n}: expected '<lmwt> <wip> <utt> <words>...'")
                out.setdefault((parts[0], parts[1]), OrderedDict())[parts[2]] = parts[3:]
    return out


def lattice_sweep_hyps(decode_dir: str, lmwts, wips):
    """Kaldi ``score_kaldi.sh`` on ``decode_dir/lat.*.gz``: for every LM weight ``L`` and penalty
    ``P`` the best path of ``lattice-scale --inv-acoustic-scale=L | lattice-add-penalty
    --word-ins-penalty=P | lattice-best-path`` (:func:`bnn.decode.lattice_io.best_path`), as
    {(str(L), str(P)): {utt: [word ids]}} -- the same shape as :func:`read_sweep_hyps`.  One
    decode, every LM weight from its lattices."""
    import glob
    import re as _re

    from bnn.decode.lattice_io import best_path, read_compact_lattices
    paths = glob.glob(os.path.join(decode_dir, "lat.*.gz"))
    paths.sort(key=lambda p: int(_re.sub(r"\D", "", os.path.basename(p)) or 0))
    out: Dict[tuple, Dict[str, List[str]]] = OrderedDict()
    keys = [(str(int(lmwt)), str(float(wip))) for wip in wips for lmwt in lmwts]
    for k in keys:
        out[k] = OrderedDict()
    for path in paths:
        for utt, lat in read_compact_lattices(f"ark:gunzip -c {path}|"):
            for (lmwt, wip) in keys:
                words = best_path(lat, 1.0, 1.0 / float(lmwt), float(wip))[0]
                out[(lmwt, wip)][utt] = [str(w) for w in words]
    return out


def pick_best(keys, stats) -> Tuple[str, str]:
    """The (LM weight, penalty) with the fewest errors.  A tie (a flat optimum, common on an easy
    dev set) goes to the centre of the plateau: the median tied LM weight, then the median tied
    penalty at that weight (lower median) -- not one of its edges.  One rule for every system
    (GMM and nnets) and recipe, fixed before looking at any test set."""
    errors = {k: stats[k].errors for k in keys}
    low = min(errors.values())
    tied = [k for k in keys if errors[k] == low]
    lmwts = sorted({int(float(k[0])) for k in tied})
    lmwt = lmwts[(len(lmwts) - 1) // 2]
    at_lmwt = sorted((k for k in tied if int(float(k[0])) == lmwt), key=lambda k: float(k[1]))
    return at_lmwt[(len(at_lmwt) - 1) // 2]


def chosen_setting(decode_dir: str) -> Optional[Tuple[str, str]]:
    """The (LM weight, penalty) that :func:`score_decode_dir` chose for a decode dir (its
    ``scoring_kaldi/wer_details/{lmwt,wip}``), or None when it has not been scored."""
    det = os.path.join(decode_dir, "scoring_kaldi", "wer_details")
    try:
        with open(os.path.join(det, "lmwt")) as f:
            lmwt = f.read().split()[0]
        with open(os.path.join(det, "wip")) as f:
            wip = f.read().split()[0]
    except (OSError, IndexError):
        return None
    return lmwt, wip


def score_decode_dir(decode_dir: str, ref_path: str, words_txt: str, utt2spk_path: Optional[str] = None,
                     fixed: Optional[tuple] = None, grid: Optional[tuple] = None) -> tuple:
    """Score every (LM weight, penalty) of ``decode_dir`` against ``ref_path`` (Kaldi
    steps/score_kaldi.sh layout): hypotheses from ``sweep.*.txt`` when present, else the best paths
    of the lattices ``lat.*.gz`` (:func:`lattice_sweep_hyps`): ``wer_<lmwt>_<wip>``, ``scoring_kaldi/penalty_<wip>/<lmwt>.txt``,
    ``scoring_kaldi/best_wer`` and ``scoring_kaldi/wer_details/`` for the best pair on this set, or
    for ``fixed=(lmwt, wip)`` (e.g. the best on dev, applied to test).  Everything is checked
    before anything is written; every file is written atomically.  Returns (lmwt, wip, WerStats)."""
    import glob

    from bnn.decode.decoder import read_symbol_table
    from bnn.utils.fileio import atomic_write
    paths = sorted(glob.glob(os.path.join(decode_dir, "sweep.*.txt")))
    lats = glob.glob(os.path.join(decode_dir, "lat.*.gz"))
    if not paths and not lats:
        raise BnnError(f"{decode_dir}: no lat.*.gz lattices or sweep.*.txt hypotheses (did the decode finish?)")
    ref = read_text_archive(ref_path)
    syms = read_symbol_table(words_txt)
    if paths:  # hypotheses already chosen per (LM weight, penalty), e.g. by n-best rescoring
        sweep = read_sweep_hyps(paths)
    else:
        g = grid if grid is not None else (range(1, 21), [0.0, 0.5, 1.0])
        if fixed is not None:
            g = ([int(float(fixed[0]))], [float(fixed[1])])
        sweep = lattice_sweep_hyps(decode_dir, g[0], g[1])
    if grid is not None:
        lmwts, wips = {int(x) for x in grid[0]}, {float(x) for x in grid[1]}
        sweep = {k: v for k, v in sweep.items() if int(float(k[0])) in lmwts and float(k[1]) in wips}
        if not sweep:
            raise BnnError(f"{decode_dir}: no hypotheses for LM weights {sorted(lmwts)} / penalties "
                           f"{sorted(wips)} in sweep.*.txt")
    results = {}
    for (lmwt, wip), hyp_ids in sweep.items():
        hyp = OrderedDict()
        for utt, ids in hyp_ids.items():
            if utt not in ref:
                raise BnnError(f"{ref_path}: utterance {utt} (decoded in {decode_dir}) is missing from the reference")
            try:
                hyp[utt] = [syms[int(i)] for i in ids]
            except (KeyError, ValueError) as err:
                raise BnnError(f"{words_txt}: word id {err} of utterance {utt} is not in the symbol table") from None
        results[(lmwt, wip)] = (hyp, compute_wer(ref, hyp, "present", ref_path, decode_dir))
    order = sorted(results, key=lambda k: (float(k[1]), int(float(k[0]))))
    if fixed is not None:
        key = (str(fixed[0]), str(fixed[1]))
        match = [k for k in order if int(float(k[0])) == int(float(key[0])) and float(k[1]) == float(key[1])]
        if not match:
            raise BnnError(f"{decode_dir}: LM weight {key[0]} / penalty {key[1]} not in the sweep")
        best = match[0]
    else:
        best = pick_best(order, {k: results[k][1] for k in order})
    cmd = f"bnn-compute-wer --text --mode=present ark:{ref_path}"
    sk = os.path.join(decode_dir, "scoring_kaldi")
    for (lmwt, wip) in order:
        hyp, st = results[(lmwt, wip)]
        with atomic_write(os.path.join(sk, f"penalty_{wip}", f"{lmwt}.txt")) as f:
            f.writelines(f"{u} {' '.join(w)}\n" for u, w in hyp.items())
        with atomic_write(os.path.join(decode_dir, f"wer_{lmwt}_{wip}")) as f:
            f.write(f"{cmd} ark:{sk}/penalty_{wip}/{lmwt}.txt\n" + "\n".join(st.kaldi_lines()) + "\n")
    hyp, st = results[best]
    det = os.path.join(sk, "wer_details")
    per_utt = per_utt_details(ref, hyp)
    for name, text in (("lmwt", best[0]), ("wip", best[1]), ("per_utt", "\n".join(per_utt)),
                       ("per_spk", "\n".join(per_spk_details(per_utt, read_utt2spk(utt2spk_path, ref)))),
                       ("ops", "\n".join(ops_details(ref, hyp)))):
        with atomic_write(os.path.join(det, name)) as f:
            f.write(text + "\n")
    with atomic_write(os.path.join(sk, "best_wer")) as f:
        f.write(f"{st.kaldi_lines()[0]} {decode_dir}/wer_{best[0]}_{best[1]}\n")
    return best[0], best[1], st
