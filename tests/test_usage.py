"""Every script in utils/ and steps/ shows its usage on --help (issue 12 item 10): the usage line
with its arguments (the same line it prints when run without them), its options, and an
``e.g.:`` line; exit status 0."""
import os
import re
import subprocess

import pytest

from conftest import REPO

SOURCED = {"utils/bnn_env.sh", "utils/parse_options.sh",   # sourced, not run
           "steps/lib/make_feats.sh", "steps/lib/pyrun.sh"}
# Without arguments these run (read stdin, or the whole pipeline): no usage-on-error to compare.
RUN_WITHOUT_ARGS = {"steps/hybrid_asr.sh", "steps/corpus_recipe.sh", "utils/best_wer.sh", "utils/spk2utt_to_utt2spk.pl",
                    "utils/utt2spk_to_spk2utt.pl"}




def scripts():
    out = []
    for sub in ("utils", "steps", "steps/lib"):
        for name in sorted(os.listdir(REPO / sub)):
            rel = f"{sub}/{name}"
            path = REPO / rel
            if path.is_file() and rel not in SOURCED:
                out.append(rel)
    return out


def run(rel, args, env):
    r = subprocess.run([str(REPO / rel), *args], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout + r.stderr


def usage_lines(text):
    return [ln.strip() for ln in text.splitlines() if re.match(r"\s*usage:", ln, re.I)]


def test_every_script_is_covered():
    found = {p if isinstance(p, str) else p.values[0] for p in scripts()}
    assert {"utils/prepare_lang.sh", "utils/format_lm.sh", "steps/hybrid_asr.sh",
            "utils/sym2int.pl", "utils/int2sym.pl", "steps/lib/dev_best.sh"} <= found
    for rel in found:
        assert os.access(REPO / rel, os.X_OK), f"{rel}: not executable (add it to SOURCED?)"


@pytest.mark.parametrize("rel", scripts())
def test_help_shows_usage_arguments_options_and_example(rel, bnn_env):
    code, out = run(rel, ["--help"], bnn_env)
    assert code == 0, out
    usage = usage_lines(out)
    assert usage, f"{rel} --help prints no 'Usage:' line:\n{out}"
    assert os.path.basename(rel) in usage[0], usage[0]
    assert "<" in usage[0] or "no positional arguments" in usage[0] or \
        "no arguments" in usage[0], f"usage line names no arguments: {usage[0]}"
    assert re.search(r"^\s*e\.g\.:", out, re.M), f"{rel} --help has no 'e.g.:' line:\n{out}"
    assert re.search(r"options|--[a-z]", out, re.I), f"{rel} --help lists no options:\n{out}"
    if rel not in RUN_WITHOUT_ARGS:
        code0, out0 = run(rel, [], bnn_env)
        assert code0 != 0, out0
        assert usage_lines(out0), f"{rel} without arguments prints no usage:\n{out0}"
        assert usage_lines(out0)[0] in usage, (usage_lines(out0)[0], usage)


def _help_options(script, env):
    """The options a script's --help lists."""
    r = subprocess.run([str(REPO / script), "--help"], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    return set(re.findall(r"(--[a-z][a-z-]*)", r.stdout + r.stderr))


@pytest.mark.parametrize("doc", ["conf/nnet/README.md", "docs/new_corpus.md"])
def test_documented_options_belong_to_the_command_shown(doc, bnn_env):
    """Issue 12 item 11: a doc showed `--set model.hidden_dim=256` for recipes, an option only
    bnn-train has.  Every option in a backticked command must be an option of that command, and
    an option alone in backticks must say which command takes it."""
    text = (REPO / doc).read_text()
    spans = [" ".join(m.split()) for m in re.findall(r"`([^`]+)`", text.replace("```", ""))]
    train_help = subprocess.run([str(REPO / ".venv/bin/python"), "-m", "bnn.bin.train", "--help"],
                                env=bnn_env, capture_output=True, text=True, cwd=REPO).stdout
    checked = 0
    for span in spans:
        opts = re.findall(r"(?:^|\s)(--[a-z][a-z-]*)", span)
        if not opts:
            continue
        cmd = span.split()[0]
        if re.fullmatch(r"(steps|utils)/\w+\.(sh|pl)", cmd) and (REPO / cmd).is_file():
            known = _help_options(cmd, bnn_env)
        elif cmd == "bnn-train":
            known = set(re.findall(r"(--[a-z][a-z-]*)", train_help))
        elif cmd.endswith("run.sh") or cmd.startswith("<"):
            continue  # a recipe's own options / a systems-file line: checked by the recipe test
        else:
            assert not cmd.startswith("--"), f"{doc}: `{span}`: which command takes {cmd}?"
            continue
        for o in opts:
            assert o in known, f"{doc}: `{span}`: {cmd} has no option {o}"
        checked += 1
    assert checked >= 2, f"{doc}: no command with options found"


def _shell_scripts():
    for pattern in ("steps/*.sh", "steps/lib/*.sh", "utils/*.sh", "utils/lib/*.sh",
                    "egs/*/run.sh", "egs/*/local/*.sh", "egs/*/path.sh", "egs/*/cmd.sh"):
        yield from sorted(REPO.glob(pattern))


def test_no_and_list_ends_a_loop_body_or_function():
    """Issue 12 items 1-2: `... | while read d; do [ -f $d/x ] && echo $d; done` under
    set -euo pipefail ends with status 1 when the last test fails, and the recipe dies.  No
    `a && b` may be the last command before `done` or `}` (use `if a; then b; fi`)."""
    bad = []
    for path in _shell_scripts():
        lines = path.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            code = line.split(" #", 1)[0].rstrip()
            if "&&" not in code or code.lstrip().startswith("#") or code.endswith("\\"):
                continue
            # inline: "... && cmd; done" (a one-line "{ a && b; }" group in a condition is fine)
            if re.search(r"&&[^;|&]*;\s*done\b", code):
                bad.append(f"{path.relative_to(REPO)}:{i + 1}: {line.strip()}")
                continue
            if re.search(r"(\bthen|\bdo|\|\||\{)\s*$", code):
                continue
            nxt = next((ln.strip() for ln in lines[i + 1:] if ln.strip() and
                        not ln.strip().startswith("#")), "")
            if re.match(r"(done|\})\b", nxt):
                bad.append(f"{path.relative_to(REPO)}:{i + 1}: {line.strip()}")
    assert not bad, "an && list ends a loop body or function:\n" + "\n".join(bad)
