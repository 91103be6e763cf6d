"""utils/parse_options.sh: Kaldi's option semantics (set existing vars, --config, --help, errors)."""
import subprocess
import textwrap

SCRIPT = textwrap.dedent("""\
    #!/usr/bin/env bash
    set -euo pipefail
    # Begin configuration section.
    nj=4            # number of parallel jobs
    foo_bar=abc     # a dashed option
    use_gpu=false   # boolean option
    # End configuration section.
    help_message="Usage: $0 [options] <data> <dir>
    e.g.: $0 data/train exp/x"
    . {utils}/parse_options.sh
    echo "nj=$nj foo_bar=$foo_bar use_gpu=$use_gpu args=$# first=${{1:-}}"
    """)


def run(tmp_path, repo_root, *args):
    script = tmp_path / "script.sh"
    script.write_text(SCRIPT.format(utils=repo_root / "utils"))
    script.chmod(0o755)
    return subprocess.run([str(script), *args], capture_output=True, text=True, cwd=tmp_path)


def test_sets_existing_variables_and_stops_at_first_argument(tmp_path, repo_root):
    r = run(tmp_path, repo_root, "--nj", "3", "--foo-bar", "x y", "--use-gpu", "true", "data", "--nj", "9")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "nj=3 foo_bar=x y use_gpu=true args=3 first=data"


def test_unknown_option_is_an_error(tmp_path, repo_root):
    r = run(tmp_path, repo_root, "--no-such-thing", "1", "a")
    assert r.returncode == 1
    assert "invalid option --no-such-thing" in r.stderr


def test_boolean_option_rejects_other_values(tmp_path, repo_root):
    r = run(tmp_path, repo_root, "--use-gpu", "yes", "a")
    assert r.returncode == 1
    assert 'expected "true" or "false" for --use-gpu' in r.stderr


def test_missing_value_is_an_error(tmp_path, repo_root):
    r = run(tmp_path, repo_root, "--nj")
    assert r.returncode == 1
    assert "needs a value" in r.stderr


def test_config_file_is_read_and_command_line_wins(tmp_path, repo_root):
    conf = tmp_path / "x.conf"
    conf.write_text("nj=7\nfoo_bar=fromconf\n")
    r = run(tmp_path, repo_root, "--nj", "2", "--config", str(conf), "a")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "nj=2 foo_bar=fromconf use_gpu=false args=1 first=a"
    r = run(tmp_path, repo_root, "--config", str(tmp_path / "missing.conf"), "a")
    assert r.returncode == 1 and "missing.conf" in r.stderr


def test_help_prints_usage_and_options(tmp_path, repo_root):
    r = run(tmp_path, repo_root, "--help")
    assert r.returncode == 0
    assert "Usage:" in r.stdout and "e.g.:" in r.stdout
    lines = r.stdout.splitlines()
    assert any(line.strip().startswith("--nj <value>") and "default: 4" in line and "parallel jobs" in line
               for line in lines)
    assert any(line.strip().startswith("--foo-bar <value>") for line in lines)
    assert not any("help-message" in line for line in lines)
