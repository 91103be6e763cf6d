"""RESULTS tables in the papers' shape: our dev/test WER per paper row beside the paper's numbers.

For each paper of :mod:`bnn.results.paper_numbers` a markdown table with one row per paper row
that the recipe's config (``conf/paper_tables.yaml``) maps to a system ``exp/<system>``:

  | paper row | system | dev WER | test WER | rel. change (%) | paper WER | paper rel. change (%) | finding reproduces? |

* Our WERs: the (LM weight, insertion penalty) pair with the lowest WER on the dev set is chosen
  and that pair's WER is read on the test set (Kaldi ``local/score.sh`` practice; never the best
  on test).  Without a dev decode the test set's own best is shown and marked ``*``.
* Relative change (percent) of a row's test WER against the float baseline row it belongs to
  (the DNN for DNN rows, the CNN for CNN rows): ``100 * (wer - wer_base) / wer_base``, computed
  from error counts (``errors / words``), not from the 2-decimal printed WERs.  Undefined
  (shown "—") when the baseline WER is 0 or either WER is missing.
* Paper columns: the same formula on the paper's own numbers.
* Findings: :class:`bnn.results.paper_numbers.Finding` decided from our numbers only, by
  :func:`evaluate_finding`; a missing system gives "— (missing ...)", never a guess.
Missing systems or decodes are rows of "—", not errors (a partial grid still gets a table).

Config (YAML)::

    dev_set: dev
    test_set: test
    reference_systems: [mono]          # optional: listed above the tables (e.g. the GMM)
    papers:
      lu2017:   {baseline: dnn_float, bw_p0: lu_bw_p0, ...}   # paper row key -> system name
      qian2019: {dnn: dnn_float, bdnn: qian_bdnn, ...}
"""
import logging
import math
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from bnn.results.paper_numbers import PAPERS, Finding, Paper
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


def _test_pct(res: Optional[SystemResult]) -> Optional[float]:
    return res.test.percent if res is not None and res.test is not None else None


def evaluate_finding(finding: Finding, ours: Dict[str, Optional[SystemResult]],
                     paper: Paper, mapping: Dict[str, str]) -> str:
    """Decide a paper claim from our test WERs; returns "yes: ...", "no: ..." or "— (...)".

    ``better_than``: yes iff WER(row) < WER(other) (a tie is "no").  ``close_to_baseline``:
    yes iff the relative change vs the row's float baseline is <= threshold; with a baseline
    WER of 0 only an equal 0 counts as close."""
    def missing(key):
        sysname = mapping.get(key)
        return f"{DASH} (no system mapped to {key})" if sysname is None else \
            f"{DASH} (missing: {sysname})"

    def wer(key):
        return _test_pct(ours.get(key)) if key in mapping else None

    mine = wer(finding.row)
    if mine is None:
        return missing(finding.row)
    if finding.kind == "better_than":
        other = wer(finding.other)
        if other is None:
            return missing(finding.other)
        verdict = "yes" if mine < other else "no"
        rel = "<" if mine < other else "=" if mine == other else ">"
        return f"{verdict}: {mine:.2f} {rel} {other:.2f} ({mapping[finding.other]})"
    if finding.kind == "close_to_baseline":
        base_key = paper.row(finding.row).baseline
        base = wer(base_key)
        if base is None:
            return missing(base_key)
        if base == 0:
            verdict = "yes" if mine == 0 else "no"
            return f"{verdict}: {mine:.2f} vs baseline 0.00 (relative change undefined)"
        rc = relative_change(mine, base)
        verdict = "yes" if rc <= finding.threshold else "no"
        return f"{verdict}: {rc:+.1f}% {'<=' if verdict == 'yes' else '>'} {finding.threshold:g}%"
    raise ValueError(f"unknown finding kind {finding.kind}")


def _fmt(x: Optional[float], spec: str = ".2f") -> str:
    return DASH if x is None else format(x, spec)


def _wer_cell(w: Optional[Wer], mark: str = "") -> str:
    return DASH if w is None else f"{w.percent:.2f}{mark}"


@dataclass
class TableConfig:
    path: str
    dev_set: str
    test_set: str
    papers: Dict[str, Dict[str, str]]     # paper key -> {row key: system}
    reference_systems: List[str]


def load_config(path: str) -> TableConfig:
    """Read and check ``conf/paper_tables.yaml`` (schema in the module docstring)."""
    import yaml
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise BnnError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("papers"), dict):
        raise BnnError(f"{path}: expected a mapping with a 'papers:' mapping")
    unknown = set(data) - {"dev_set", "test_set", "papers", "reference_systems"}
    if unknown:
        raise BnnError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    papers = {}
    for pkey, rows in data["papers"].items():
        if pkey not in PAPERS:
            raise BnnError(f"{path}: unknown paper '{pkey}' (known: {', '.join(PAPERS)})")
        if not isinstance(rows, dict):
            raise BnnError(f"{path}: papers.{pkey} must map paper rows to system names")
        known = [r.key for r in PAPERS[pkey].rows]
        for rkey, sysname in rows.items():
            if rkey not in known:
                raise BnnError(f"{path}: papers.{pkey}: unknown row '{rkey}' (known: {', '.join(known)})")
            if not isinstance(sysname, str) or not sysname or "/" in sysname:
                raise BnnError(f"{path}: papers.{pkey}.{rkey}: system must be a name under exp/, "
                               f"got {sysname!r}")
        papers[pkey] = {str(k): str(v) for k, v in rows.items()}
    refs = data.get("reference_systems") or []
    if not isinstance(refs, list) or not all(isinstance(s, str) for s in refs):
        raise BnnError(f"{path}: reference_systems must be a list of system names")
    dev_set = data.get("dev_set", "dev")
    test_set = data.get("test_set", "test")
    if not isinstance(test_set, str) or not test_set:
        raise BnnError(f"{path}: test_set must be a non-empty name")
    return TableConfig(path, str(dev_set or ""), test_set, papers, refs)


def paper_table(paper: Paper, mapping: Dict[str, str], results: Dict[str, SystemResult],
                dev_set: str, test_set: str) -> str:
    """Markdown for one paper: heading, table, and the notes on missing paper numbers."""
    ours = {rkey: results.get(sysname) for rkey, sysname in mapping.items()}
    findings: Dict[str, List[str]] = {}
    for fd in paper.findings:
        if fd.row in mapping:
            findings.setdefault(fd.row, []).append(
                f"{fd.text}: {evaluate_finding(fd, ours, paper, mapping)}")
    lines = [f"### {paper.title} ({paper.citation})", "",
             f"Our WERs: {test_set} at the LM weight/penalty best on {dev_set or '(no dev set)'}; "
             f"relative change (%) of test WER vs our float baseline of the same family. "
             f"Paper: {paper.test_set}, relative change vs the paper's own float baseline.", "",
             f"| paper row | system | {dev_set or 'dev'} WER | {test_set} WER | rel. change (%) | "
             f"paper WER | paper rel. change (%) | finding reproduces? |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    own_best = False
    for row in paper.rows:
        if row.key not in mapping:
            continue
        sysname = mapping[row.key]
        res = results.get(sysname)
        mark = "*" if res is not None and res.test_is_own_best else ""
        own_best = own_best or bool(mark)
        if row.baseline is None:
            ours_rc = "(baseline)"
            paper_rc = "(baseline)"
        else:
            base_res = ours.get(row.baseline)
            ours_rc = _fmt(relative_change(_test_pct(res), _test_pct(base_res)), "+.1f")
            base_row = paper.row(row.baseline)
            paper_rc = _fmt(relative_change(row.test_wer, base_row.test_wer), "+.1f")
        lines.append(f"| {row.label} | {sysname} | {_wer_cell(res.dev if res else None)} | "
                     f"{_wer_cell(res.test if res else None, mark)} | {ours_rc} | "
                     f"{_fmt(row.test_wer)} | {paper_rc} | "
                     f"{'; '.join(findings.get(row.key, [])) or ''} |")
    notes = sorted({r.note for r in paper.rows if r.key in mapping and r.test_wer is None and r.note})
    lines.append("")
    if own_best:
        lines.append(f"\\* no {dev_set or 'dev'} decode: best WER on {test_set} itself (optimistic).")
    for n in notes:
        lines.append(f"Paper WER {DASH}: {n} (see bnn/results/paper_numbers.py).")
    missing = [s for s in mapping.values() if results.get(s) is None or results[s].test is None]
    if missing:
        lines.append(f"Not (yet) decoded/scored: {', '.join(sorted(set(missing)))}.")
    return "\n".join(lines).rstrip("\n") + "\n"


def collect_results(exp_dir: str, systems, dev_set: str, test_set: str) -> Dict[str, SystemResult]:
    out = {}
    for s in sorted(set(systems)):
        res = system_result(exp_dir, s, dev_set, test_set)
        if res.test is None:
            logger.warning("%s/%s: no scored decode_%s (shown as %s)", exp_dir, s, test_set, DASH)
        out[s] = res
    return out


def render(cfg: TableConfig, exp_dir: str) -> str:
    """All paper tables for ``exp_dir`` as one markdown block (with begin/end markers)."""
    if not os.path.isdir(exp_dir):
        raise BnnError(f"{exp_dir}: no such experiment directory")
    systems = [s for m in cfg.papers.values() for s in m.values()] + cfg.reference_systems
    results = collect_results(exp_dir, systems, cfg.dev_set, cfg.test_set)
    parts = [BEGIN_MARK, "## Paper tables", "",
             f"Generated by `bnn-paper-tables --config {cfg.path} {exp_dir}`; findings are decided "
             f"from our numbers by fixed rules (bnn/results/paper_tables.py), not tuned.", ""]
    for s in cfg.reference_systems:
        r = results[s]
        parts.append(f"Reference {s}: {cfg.dev_set or 'dev'} {_wer_cell(r.dev)}, "
                     f"{cfg.test_set} {_wer_cell(r.test, '*' if r.test_is_own_best else '')}")
    if cfg.reference_systems:
        parts.append("")
    for pkey, mapping in cfg.papers.items():
        parts.append(paper_table(PAPERS[pkey], mapping, results, cfg.dev_set, cfg.test_set))
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
