"""Markdown tables of a LM recipe: perplexity / size / compression per LM (from the
``eval.json`` that ``bnn-lm-eval --json`` writes) and WER before/after rescoring per decode dir
(from ``scoring_kaldi/best_wer`` and ``lstm_weight`` of steps/lm/rescore_nbest.sh), including the
crosswise form: settings chosen on half A of the test speakers and scored on half B, and the
reverse, pooled so that every word is scored with settings chosen on the other half."""
import json
import os
import re
from typing import List, Sequence, Tuple

from bnn.utils.errors import BnnError


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        raise BnnError(f"{path}: missing (did the stage that writes it run?)") from None


def ppl_table(systems: Sequence[Tuple[str, str]]) -> List[str]:
    """Rows ``| LM | ppl per text | binary/scale/real params | stored bytes | file bytes | compression |``
    for (name, lm_dir) pairs."""
    evals = [(name, json.loads(_read(os.path.join(d, "eval.json")))) for name, d in systems]
    texts = list(evals[0][1]["ppl"])
    head = ["LM"] + [f"ppl {os.path.basename(t)}" for t in texts] + \
        ["binary params", "float scales", "real params", "stored bytes (formula)", "export file bytes", "compression"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, e in evals:
        rows.append("| " + " | ".join([name] + [f"{e['ppl'].get(t, float('nan')):.2f}" for t in texts] + [
            str(e["n_binary"]), str(e["n_scale"]), str(e["n_real"]), str(e["payload_bytes"]),
            str(e.get("export_file_bytes", "")), f"{e['compression']:.2f}x"]) + " |")
    return rows


WER_RE = re.compile(r"%WER\s+([\d.]+)\s+\[\s*(\d+)\s*/\s*(\d+)")


def wer_of(decode_dir: str) -> Tuple[float, int, int, str]:
    line = _read(os.path.join(decode_dir, "scoring_kaldi", "best_wer")).strip()
    m = WER_RE.search(line)
    if not m:
        raise BnnError(f"{decode_dir}/scoring_kaldi/best_wer: no %WER line")
    return float(m.group(1)), int(m.group(2)), int(m.group(3)), line


def wer_table(systems: Sequence[Tuple[str, str]]) -> List[str]:
    """Rows ``| system | LSTM weight | WER eval half | WER dev half | WER all test |`` for (name,
    rescore dir) pairs of steps/lm/rescore_nbest.sh with --dev-utts."""
    rows = ["| lattices + rescoring LM | LSTM weight (on dev half) | %WER eval half | %WER dev half (tuned) "
            "| %WER all test |", "|---|---|---|---|---|"]
    for name, d in systems:
        lw = _read(os.path.join(d, "lstm_weight")).strip()
        ev = wer_of(os.path.join(d, "eval"))
        dev = wer_of(os.path.join(d, "dev", f"lw_{lw}"))
        al = wer_of(d)
        rows.append(f"| {name} | {lw} | {ev[0]:.2f} [{ev[1]}/{ev[2]}] | {dev[0]:.2f} [{dev[1]}/{dev[2]}] | "
                    f"{al[0]:.2f} [{al[1]}/{al[2]}] |")
    return rows


def best_hyp_file(decode_dir: str) -> str:
    """The hypothesis text (``scoring_kaldi/penalty_<wip>/<lmwt>.txt``) of the LM weight and
    penalty that ``scoring_kaldi/best_wer`` names (``.../wer_<lmwt>_<wip>``)."""
    line = wer_of(decode_dir)[3]
    m = re.search(r"wer_(\d+)_([\d.]+)\s*$", line)
    if not m:
        raise BnnError(f"{decode_dir}/scoring_kaldi/best_wer: no wer_<lmwt>_<wip> at the end of {line!r}")
    path = os.path.join(decode_dir, "scoring_kaldi", f"penalty_{m.group(2)}", f"{m.group(1)}.txt")
    _read(path)
    return path


def cross_wer_table(systems: Sequence[Tuple[str, str, str]]) -> List[str]:
    """Rows ``| system | LSTM weight (on A / on B) | WER half B | WER half A | WER crosswise |`` for
    (name, dir tuned on A, dir tuned on B) triples of steps/lm/rescore_nbest.sh runs with
    --dev-utts A and --dev-utts B (the complement): each dir's ``eval`` is the other half."""
    rows = ["| lattices + rescoring LM | LSTM weight (chosen on A / on B) | %WER half B (tuned on A) "
            "| %WER half A (tuned on B) | %WER crosswise (A+B) |", "|---|---|---|---|---|"]
    for name, d_a, d_b in systems:
        lw = [_read(os.path.join(d, "lstm_weight")).strip() for d in (d_a, d_b)]
        on_b, on_a = wer_of(os.path.join(d_a, "eval")), wer_of(os.path.join(d_b, "eval"))
        err, words = on_b[1] + on_a[1], on_b[2] + on_a[2]
        rows.append(f"| {name} | {lw[0]} / {lw[1]} | {on_b[0]:.2f} [{on_b[1]}/{on_b[2]}] | "
                    f"{on_a[0]:.2f} [{on_a[1]}/{on_a[2]}] | {100.0 * err / words:.2f} [{err}/{words}] |")
    return rows
