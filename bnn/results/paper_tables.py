"""RESULTS tables in the papers' shape: for each paper table, its rows with our dev/test WER beside
the paper's numbers, relative changes, significance, and the paper's findings decided on both.

Rows and findings are the data of :mod:`bnn.results.paper_numbers`; our numbers come from the
experiment dir: ``exp/<system>/decode_<set>/wer_*`` as ``steps/score.sh`` writes them.

* Our WERs: the (LM weight, insertion penalty) pair with the lowest WER on the dev set is chosen
  and that pair's WER is read on the test set (Kaldi ``local/score.sh`` practice; never the best
  on test).  Without a dev decode the test set's own best is shown and marked ``*``.
* Relative change (percent) of a row's WER against the baseline row of the same paper table
  (``PaperRow.baseline``): ``100 * (wer - wer_base) / wer_base``, on each side separately: the
  paper's columns against the paper's baseline, our dev and test against our baseline system.
* Significance: paired utterance bootstrap of the row's test decode against its baseline's
  (:mod:`bnn.results.significance`, Bisani & Ney 2004); "n.s." marks a difference that is not
  significant at the 5 % level.
* Findings: each is decided by its rule (:data:`bnn.results.paper_numbers.Finding`) on the
  paper's own columns and on our (dev, test) columns; "—" when a row it needs is missing or did
  not converge.
Missing systems or decodes are rows of "—", not errors (a partial grid still gets its tables).

Config (YAML, optional keys; default: every row's ``system`` of paper_numbers)::

    dev_set: dev
    test_set: test
    reference_systems: [mono]          # listed above the tables (e.g. the GMM)
    replications: 2000                 # bootstrap replicates (0: no significance column)
    tables: [Table 1, Table 5]         # only these tables (default: all)
    papers:                            # per-row overrides of the system name
      lu2017: {t1_bw_p0: lu_bw_p0_other}
"""
import logging
import math
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from bnn.results.paper_numbers import (BDNN_ABLATIONS, PAPERS, QIAN_BDNN_PAPER_DEGRADATION,
                                       Finding, Paper, PaperRow, all_rows)
from bnn.results.significance import Comparison
from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

DASH = "—"
BEGIN_MARK = "<!-- bnn-paper-tables: begin -->"
END_MARK = "<!-- bnn-paper-tables: end -->"

# Kaldi compute-wer's first line (src/bin/compute-wer.cc), as written by steps/score.sh
# (bnn.decode.scoring.WerStats.kaldi_lines): %WER 4.80 [ 43 / 896, 5 ins, 12 del, 26 sub ]
_WER_LINE = re.compile(r"^%WER\s+(\S+)\s+\[\s*(\d+)\s*/\s*(\d+),\s*(\d+)\s+ins,\s*(\d+)\s+del,"
                       r"\s*(\d+)\s+sub\s*\]")
_WER_NAME = re.compile(r"^wer_(\d+)_(-?[0-9.]+)$")


@dataclass(frozen=True)
class Wer:
    """One scored (LM weight, penalty) point: ``errors`` = ins + del + sub over ``words``."""
    errors: int
    words: int
    lmwt: str = ""
    wip: str = ""

    @property
    def percent(self) -> float:
        return 100.0 * self.errors / self.words


@dataclass(frozen=True)
class SystemResult:
    """Our numbers for one system: dev WER (at its best pair), test WER at the dev-best pair."""
    system: str
    dev: Optional[Wer]
    test: Optional[Wer]
    test_is_own_best: bool = False   # no dev decode: test WER is the best on test itself


def read_wer_file(path: str) -> Wer:
    """Parse the ``%WER`` line of one Kaldi ``wer_<lmwt>_<wip>`` file."""
    m_name = _WER_NAME.match(os.path.basename(path))
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = _WER_LINE.match(line.strip())
                if m:
                    ins, dels, subs = int(m.group(4)), int(m.group(5)), int(m.group(6))
                    words = int(m.group(3))
                    if ins + dels + subs != int(m.group(2)):
                        raise BnnError(f"{path}: %WER errors {m.group(2)} != ins+del+sub "
                                       f"{ins + dels + subs}")
                    if words <= 0:
                        raise BnnError(f"{path}: %WER line scores 0 words")
                    return Wer(ins + dels + subs, words, m_name.group(1) if m_name else "",
                               m_name.group(2) if m_name else "")
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    raise BnnError(f"{path}: no '%WER x [ e / n, i ins, d del, s sub ]' line")


def read_decode_dir(decode_dir: str) -> Dict[Tuple[str, str], Wer]:
    """Every ``wer_<lmwt>_<wip>`` of a scored decode dir as {(lmwt, wip): Wer}; {} if the
    directory does not exist or holds no wer files.

    Adapter over the files ``steps/score.sh`` writes (bnn.decode.scoring.score_decode_dir);
    to be replaced by the scoring module's own reader once ``bnn.decode.results`` exists."""
    out = {}
    if not os.path.isdir(decode_dir):
        return out
    for name in sorted(os.listdir(decode_dir)):
        m = _WER_NAME.match(name)
        if m and os.path.isfile(os.path.join(decode_dir, name)):
            out[(m.group(1), m.group(2))] = read_wer_file(os.path.join(decode_dir, name))
    return out


def _best_key(decode_dir: str, wers: Dict[Tuple[str, str], Wer]) -> Tuple[str, str]:
    """The (LM weight, penalty) steps/score.sh chose for ``decode_dir``
    (bnn.decode.scoring.pick_best: fewest errors, ties to the centre of the plateau)."""
    from bnn.decode.scoring import chosen_setting
    chosen = chosen_setting(decode_dir)
    if chosen is None:
        raise BnnError(f"{decode_dir}: not scored (no scoring_kaldi/wer_details; run steps/score.sh)")
    match = [k for k in wers if int(k[0]) == int(chosen[0]) and float(k[1]) == float(chosen[1])]
    if not match:
        raise BnnError(f"{decode_dir}: chosen wer_{chosen[0]}_{chosen[1]} is missing")
    return match[0]


def system_result(exp_dir: str, system: str, dev_set: str, test_set: str) -> SystemResult:
    """Our (dev WER, test WER, LM weight/penalty) for ``exp_dir/<system>``: the pair best on
    ``decode_<dev_set>`` applied to ``decode_<test_set>``.  Missing pieces are ``None``."""
    sysdir = os.path.join(exp_dir, system)
    dev_dir = os.path.join(sysdir, f"decode_{dev_set}")
    test_dir = os.path.join(sysdir, f"decode_{test_set}")
    dev = read_decode_dir(dev_dir) if dev_set else {}
    test = read_decode_dir(test_dir)
    dev_best = dev[_best_key(dev_dir, dev)] if dev else None
    if not test:
        return SystemResult(system, dev_best, None)
    if dev_best is None:
        return SystemResult(system, None, test[_best_key(test_dir, test)], test_is_own_best=True)
    key = (dev_best.lmwt, dev_best.wip)
    match = [k for k in test if int(k[0]) == int(key[0]) and float(k[1]) == float(key[1])]
    if not match:
        raise BnnError(f"{os.path.join(sysdir, f'decode_{test_set}')}: no wer_{key[0]}_{key[1]} "
                       f"(the LM weight/penalty best on {dev_set}); was it scored with the same sweep?")
    return SystemResult(system, dev_best, test[match[0]])


def relative_change(wer: Optional[float], base: Optional[float]) -> Optional[float]:
    """``100 * (wer - base) / base`` in percent; ``None`` if either is missing or base is 0."""
    if wer is None or base is None or base == 0 or math.isnan(wer) or math.isnan(base):
        return None
    return 100.0 * (wer - base) / base


# ----------------------------------------------------------------------------- findings
def _columns(values: Dict[str, Sequence[Optional[float]]], keys) -> Optional[List[List[float]]]:
    """Per-column WER lists ``[[row0, row1, ...] for each column]``; None if any is missing."""
    cols = None
    for key in keys:
        v = values.get(key)
        if v is None or len(v) == 0 or any(x is None for x in v):
            return None
        cols = [[] for _ in v] if cols is None else cols
        if len(v) != len(cols):
            return None
        for c, x in zip(cols, v):
            c.append(float(x))
    return cols


def evaluate_finding(fd: Finding, values: Dict[str, Sequence[Optional[float]]]
                     ) -> Tuple[Optional[bool], str]:
    """Decide ``fd`` on ``values`` (row key -> WER per column).  Returns ``(holds, detail)``;
    ``holds`` is None when a row is missing or has no number (e.g. "not converged")."""
    cols = _columns(values, fd.rows)
    if cols is None:
        missing = [k for k in fd.rows if values.get(k) is None or any(x is None for x in values[k])]
        return None, f"{DASH} (no WER for {', '.join(missing)})"
    fmt = lambda xs: "/".join(f"{x:.2f}".rstrip("0").rstrip(".") for x in xs)  # noqa: E731
    if fd.kind == "better":
        ok = [c[0] < c[1] for c in cols]
        need = math.ceil(fd.min_frac * len(cols) - 1e-9)
        holds = sum(ok) >= need
        return holds, f"{fmt([c[0] for c in cols])} vs {fmt([c[1] for c in cols])} " \
                      f"(better on {sum(ok)}/{len(cols)}, need {need})"
    if fd.kind == "not_all_better":
        holds = not all(c[0] < c[1] for c in cols)
        return holds, f"{fmt([c[0] for c in cols])} vs {fmt([c[1] for c in cols])}"
    if fd.kind in ("rel_within", "worse_by"):
        rcs = [relative_change(c[0], c[1]) for c in cols]
        if any(r is None for r in rcs):
            return None, f"{DASH} (baseline WER 0)"
        lo = fd.lo if fd.lo is not None else -math.inf
        hi = fd.hi if fd.hi is not None and fd.kind == "rel_within" else math.inf
        holds = all(lo <= r <= hi for r in rcs)
        return holds, "rel. " + "/".join(f"{r:+.1f}%" for r in rcs)
    if fd.kind == "abs_within":
        ds = [c[0] - c[1] for c in cols]
        holds = all(fd.lo <= d <= fd.hi for d in ds)
        return holds, "abs. " + "/".join(f"{d:+.2f}" for d in ds)
    if fd.kind == "ordered":
        holds = all(all(a < b for a, b in zip(c, c[1:])) for c in cols)
        return holds, "; ".join(" < ".join(f"{x:.2f}" for x in c) for c in cols)
    if fd.kind == "spread":
        sp = [100.0 * (max(c) - min(c)) / min(c) if min(c) > 0 else math.inf for c in cols]
        holds = all(x <= fd.hi for x in sp)
        return holds, "spread " + "/".join(f"{x:.1f}%" for x in sp)
    raise ValueError(f"unknown finding kind {fd.kind}")


def _verdict(holds: Optional[bool], detail: str) -> str:
    if holds is None:
        return detail
    return f"{'yes' if holds else 'no'}: {detail}"


# ----------------------------------------------------------------------------- our numbers
def _fmt(x: Optional[float], spec: str = ".2f") -> str:
    return DASH if x is None else format(x, spec)


def _wer_cell(w: Optional[Wer], mark: str = "") -> str:
    return DASH if w is None else f"{w.percent:.2f}{mark}"


def _ours(res: Optional[SystemResult]) -> Optional[Tuple[Optional[float], ...]]:
    """Our (dev, test) WER columns; None when the test WER is missing."""
    if res is None or res.test is None:
        return None
    if res.dev is None:
        return (res.test.percent,)
    return (res.dev.percent, res.test.percent)


@dataclass
class TableConfig:
    path: str
    dev_set: str
    test_set: str
    overrides: Dict[str, Dict[str, str]]   # paper key -> {row key: system}
    reference_systems: List[str]
    replications: int = 2000
    tables: Optional[List[str]] = None

    def system(self, paper: Paper, row: PaperRow) -> str:
        return self.overrides.get(paper.key, {}).get(row.key, row.system)


def load_config(path: Optional[str]) -> TableConfig:
    """Read and check the optional YAML config (schema in the module docstring); ``None`` or a
    missing default file gives the defaults."""
    import yaml
    if path is None:
        return TableConfig("", "dev", "test", {}, [])
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise BnnError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise BnnError(f"{path}: expected a mapping")
    unknown = set(data) - {"dev_set", "test_set", "papers", "reference_systems", "replications",
                           "tables"}
    if unknown:
        raise BnnError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    overrides = {}
    for pkey, rows in (data.get("papers") or {}).items():
        if pkey not in PAPERS:
            raise BnnError(f"{path}: unknown paper '{pkey}' (known: {', '.join(PAPERS)})")
        if not isinstance(rows, dict):
            raise BnnError(f"{path}: papers.{pkey} must map paper rows to system names")
        known = [r.key for r in PAPERS[pkey].rows]
        for rkey, sysname in rows.items():
            if rkey not in known:
                raise BnnError(f"{path}: papers.{pkey}: unknown row '{rkey}' (known: "
                               f"{', '.join(known)})")
            if not isinstance(sysname, str) or not sysname or "/" in sysname:
                raise BnnError(f"{path}: papers.{pkey}.{rkey}: system must be a name under exp/, "
                               f"got {sysname!r}")
        overrides[pkey] = {str(k): str(v) for k, v in rows.items()}
    refs = data.get("reference_systems") or []
    if not isinstance(refs, list) or not all(isinstance(s, str) for s in refs):
        raise BnnError(f"{path}: reference_systems must be a list of system names")
    dev_set = data.get("dev_set", "dev")
    test_set = data.get("test_set", "test")
    if not isinstance(test_set, str) or not test_set:
        raise BnnError(f"{path}: test_set must be a non-empty name")
    reps = data.get("replications", 2000)
    if not isinstance(reps, int) or isinstance(reps, bool) or reps < 0:
        raise BnnError(f"{path}: replications must be an integer >= 0, got {reps!r}")
    tables = data.get("tables")
    if tables is not None:
        known = {t for p in PAPERS.values() for t in p.tables()}
        if not isinstance(tables, list) or any(t not in known for t in tables):
            raise BnnError(f"{path}: tables must be a list of {sorted(known)}")
    return TableConfig(path, str(dev_set or ""), test_set, overrides, refs, reps, tables)


def _significance(exp_dir: str, test_set: str, base_sys: str, sys: str, reps: int,
                  cache: dict) -> Optional[Comparison]:
    """Bootstrap of ``sys`` against ``base_sys`` on ``decode_<test_set>``; None if either has
    no per-utterance details."""
    from bnn.results import significance as sig
    if reps <= 0 or base_sys == sys:
        return None
    key = (base_sys, sys)
    if key not in cache:
        try:
            a = sig.per_utt_from_decode_dir(os.path.join(exp_dir, base_sys, f"decode_{test_set}"))
            b = sig.per_utt_from_decode_dir(os.path.join(exp_dir, sys, f"decode_{test_set}"))
            cache[key] = sig.compare(a, b, reps, seed=0, names=(base_sys, sys))
        except BnnError as err:
            logger.warning("significance %s vs %s: %s", sys, base_sys, err)
            cache[key] = None
    return cache[key]


def paper_table(paper: Paper, table: str, cfg: TableConfig, results: Dict[str, SystemResult],
                exp_dir: str, sig_cache: dict) -> str:
    """Markdown for one paper table: rows, then the table's findings."""
    rows = [r for r in paper.rows if r.table == table]
    cols = paper.columns[table]
    dev, test = cfg.dev_set or "dev", cfg.test_set
    lines = [f"### {paper.key} {table} ({paper.corpus}; paper columns {' / '.join(cols)})", "",
             f"| paper row | config | our system | our {dev} | our {test} | paper WER | "
             f"paper rel. (%) | our rel. {dev} / {test} (%) | significance ({test}, vs baseline) |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    own_best = False
    for row in rows:
        sysname = cfg.system(paper, row)
        res = results.get(sysname)
        mark = "*" if res is not None and res.test_is_own_best else ""
        own_best = own_best or bool(mark)
        paper_wer = row.status if row.status else " / ".join(_fmt(x, ".1f") for x in row.wers)
        if row.baseline is None:
            paper_rc = ours_rc = "(baseline)"
            signif = ""
        else:
            base = paper.row(row.baseline)
            paper_rc = DASH if row.status else " / ".join(
                _fmt(relative_change(x, b), "+.1f") for x, b in zip(row.wers, base.wers))
            base_sys = cfg.system(paper, base)
            bres = results.get(base_sys)
            rc_dev = relative_change(res.dev.percent if res and res.dev else None,
                                     bres.dev.percent if bres and bres.dev else None)
            rc_test = relative_change(res.test.percent if res and res.test else None,
                                      bres.test.percent if bres and bres.test else None)
            comp = _significance(exp_dir, cfg.test_set, base_sys, sysname, cfg.replications,
                                 sig_cache) if res and res.test and bres and bres.test else None
            ours_rc = f"{_fmt(rc_dev, '+.1f')} / {_fmt(rc_test, '+.1f')}"
            if comp is not None and not comp.significant:
                ours_rc += " (n.s.)"
            signif = comp.cell() if comp is not None else DASH
        lines.append(f"| {row.label} | {row.config} | {sysname} | "
                     f"{_wer_cell(res.dev if res else None)} | "
                     f"{_wer_cell(res.test if res else None, mark)} | {paper_wer} | {paper_rc} | "
                     f"{ours_rc} | {signif} |")
    lines.append("")
    if own_best:
        lines.append(f"\\* no {dev} decode: best WER on {test} itself (optimistic).")
        lines.append("")
    findings = [f for f in paper.findings if f.table == table]
    if findings:
        paper_vals = {r.key: (None if r.status else r.wers) for r in paper.rows}
        our_vals = {r.key: _ours(results.get(cfg.system(paper, r))) for r in paper.rows}
        lines += [f"Findings of {table} (paper: on {' / '.join(cols)}; ours: on {dev} / {test}):", "",
                  "| finding (as the paper states it) | where | rule | holds: paper | holds: ours |",
                  "| --- | --- | --- | --- | --- |"]
        for fd in findings:
            rule = _rule_text(fd)
            lines.append(f"| \"{fd.quote}\" | {fd.where} | {rule} | "
                         f"{_verdict(*evaluate_finding(fd, paper_vals))} | "
                         f"{_verdict(*evaluate_finding(fd, our_vals))} |")
        notes = [f"{fd.key}: {fd.note}" for fd in findings if fd.note]
        if notes:
            lines.append("")
            lines += [f"- {n}" for n in notes]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _rule_text(fd: Finding) -> str:
    r = fd.rows
    if fd.kind == "better":
        return f"{r[0]} < {r[1]}" + (f" on >= {fd.min_frac:.0%} of columns" if fd.min_frac < 1 else "")
    if fd.kind == "not_all_better":
        return f"not ({r[0]} < {r[1]} on every column)"
    if fd.kind == "worse_by":
        return f"{r[0]} >= {r[1]} + {fd.lo:g}% rel."
    if fd.kind == "rel_within":
        lo = "" if fd.lo is None else f"{fd.lo:+g}% <= "
        hi = "" if fd.hi is None else f" <= {fd.hi:+g}%"
        return f"{lo}rel({r[0]} vs {r[1]}){hi}"
    if fd.kind == "abs_within":
        return f"{fd.lo:g} <= {r[0]} - {r[1]} <= {fd.hi:g} points"
    if fd.kind == "ordered":
        return " < ".join(r)
    if fd.kind == "spread":
        return f"spread of {', '.join(r)} <= {fd.hi:g}%"
    return fd.kind


def ablation_table(cfg: TableConfig, exp_dir: str, sig_cache: dict) -> str:
    """The Qian BDNN-gap ablation (issue 14 item 5) as one table: each run's dev/test WER, its
    relative change vs the float DNN (the paper: +21 to +33 %) and vs the reference BDNN, with
    bootstrap significance against the reference BDNN."""
    qian = PAPERS["qian2019"]
    float_sys = cfg.system(qian, qian.row("t5_fpdnn"))
    ref_sys = cfg.system(qian, qian.row("t5_bdnn"))
    names = [a.system for a in BDNN_ABLATIONS] + [float_sys]
    results = collect_results(exp_dir, names, cfg.dev_set, cfg.test_set)
    bound = 1.5 * QIAN_BDNN_PAPER_DEGRADATION[1]
    fres = results.get(float_sys)
    dev, test = cfg.dev_set or "dev", cfg.test_set
    lines = ["### Qian BDNN gap: ablations", "",
             f"Float DNN {float_sys}: {dev} {_wer_cell(fres.dev if fres else None)}, {test} "
             f"{_wer_cell(fres.test if fres else None)}.  Paper: BDNN +"
             f"{QIAN_BDNN_PAPER_DEGRADATION[0]:.1f} to +{QIAN_BDNN_PAPER_DEGRADATION[1]:.1f}% "
             f"relative to its FPDNN; issue 14 bound 1.5x = +{bound:.1f}%.", "",
             f"| system | cause tested | config | our {dev} | our {test} | rel. vs float "
             f"{dev} / {test} (%) | within 1.5x paper ({test}) | vs {ref_sys} ({test}) |",
             "| --- | --- | --- | ---: | ---: | ---: | --- | --- |"]
    for a in BDNN_ABLATIONS:
        res = results.get(a.system)
        rc_dev = relative_change(res.dev.percent if res and res.dev else None,
                                 fres.dev.percent if fres and fres.dev else None)
        rc_test = relative_change(res.test.percent if res and res.test else None,
                                  fres.test.percent if fres and fres.test else None)
        within = DASH if rc_test is None else ("yes" if rc_test <= bound else "no")
        comp = _significance(exp_dir, cfg.test_set, ref_sys, a.system, cfg.replications,
                             sig_cache) if a.system != ref_sys and res and res.test else None
        lines.append(f"| {a.system} | {a.cause} | {a.config} | "
                     f"{_wer_cell(res.dev if res else None)} | "
                     f"{_wer_cell(res.test if res else None)} | {_fmt(rc_dev, '+.1f')} / "
                     f"{_fmt(rc_test, '+.1f')} | {within} | "
                     f"{comp.cell() if comp else ('(reference)' if a.system == ref_sys else DASH)} |")
    return "\n".join(lines) + "\n"


def collect_results(exp_dir: str, systems, dev_set: str, test_set: str) -> Dict[str, SystemResult]:
    out = {}
    for s in sorted(set(systems)):
        res = system_result(exp_dir, s, dev_set, test_set)
        if res.test is None:
            logger.debug("%s/%s: no scored decode_%s (shown as %s)", exp_dir, s, test_set, DASH)
        out[s] = res
    return out


def render(cfg: TableConfig, exp_dir: str) -> str:
    """All paper tables for ``exp_dir`` as one markdown block (with begin/end markers)."""
    if not os.path.isdir(exp_dir):
        raise BnnError(f"{exp_dir}: no such experiment directory")
    systems = [cfg.system(p, r) for p, r in all_rows()] + cfg.reference_systems + \
        [a.system for a in BDNN_ABLATIONS]
    results = collect_results(exp_dir, systems, cfg.dev_set, cfg.test_set)
    parts = [BEGIN_MARK, "## Paper tables", "",
             f"Generated by `bnn-paper-tables{' --config ' + cfg.path if cfg.path else ''} "
             f"{exp_dir}`: the papers' numbers (bnn/results/paper_numbers.py, from "
             f"../shared/papers/tables.md) beside ours; relative changes against each side's own "
             f"baseline row; findings decided by fixed rules (bnn/results/paper_tables.py), first "
             f"on the paper's numbers, then on ours.", ""]
    for s in cfg.reference_systems:
        r = results[s]
        parts.append(f"Reference {s}: {cfg.dev_set or 'dev'} {_wer_cell(r.dev)}, "
                     f"{cfg.test_set} {_wer_cell(r.test, '*' if r.test_is_own_best else '')}")
    if cfg.reference_systems:
        parts.append("")
    sig_cache: dict = {}
    for paper in PAPERS.values():
        tables = [t for t in paper.tables() if cfg.tables is None or t in cfg.tables]
        if not tables:
            continue
        parts += [f"## {paper.title} ({paper.citation})", ""]
        for table in tables:
            parts.append(paper_table(paper, table, cfg, results, exp_dir, sig_cache))
    parts.append(ablation_table(cfg, exp_dir, sig_cache))
    missing = sorted({s for s in systems if results[s].test is None})
    if missing:
        parts.append(f"Not (yet) decoded/scored: {', '.join(missing)}.")
        parts.append("")
    parts.append(END_MARK)
    return "\n".join(parts) + "\n"


def merge_into(existing: str, block: str) -> str:
    """``existing`` with its previous paper-tables block (between the markers) replaced by
    ``block``, or ``block`` appended after a blank line when there is none."""
    b, e = existing.find(BEGIN_MARK), existing.find(END_MARK)
    if b != -1 and e > b:
        tail = existing[e + len(END_MARK):]
        return existing[:b] + block.rstrip("\n") + ("\n" + tail.lstrip("\n") if tail.strip() else "\n")
    if not existing:
        return block
    return existing.rstrip("\n") + "\n\n" + block
