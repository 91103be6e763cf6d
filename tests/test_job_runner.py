"""utils/run.pl, slurm.pl and queue.pl: Kaldi job-runner semantics, logs, failures, sbatch/qsub command lines."""
import os
import re
import subprocess
import textwrap

import pytest


def run(repo_root, cwd, *args, env=None):
    return subprocess.run([str(repo_root / "utils" / args[0]), *args[1:]], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60)


def test_acceptance_failed_job_is_named(tmp_path, repo_root):
    r = run(repo_root, tmp_path, "run.pl", "JOB=1:3", "log/t.JOB.log", "bash", "-c", "[ JOB -ne 2 ]")
    assert r.returncode != 0
    assert "run.pl: 1 / 3 failed, log is in log/t.2.log" in r.stderr
    for j, code in ((1, 0), (2, 1), (3, 0)):
        lines = (tmp_path / f"log/t.{j}.log").read_text().splitlines()
        assert lines[0] == f'# bash -c "[ {j} -ne 2 ]"'
        assert lines[1].startswith("# Started at ")
        assert re.fullmatch(r"# Accounting: time=\d+ threads=1", lines[-2])
        assert lines[-1].startswith(f"# Ended (code {code}) at ")


def test_success_output_in_logs_and_job_substitution(tmp_path, repo_root):
    r = run(repo_root, tmp_path, "run.pl", "--max-jobs-run", "2", "--mem", "2G", "JOB=2:4",
            "exp/log/echo.JOB.log", "echo", "job JOB", "|", "tr", "a-z", "A-Z")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "exp/log")) == ["echo.2.log", "echo.3.log", "echo.4.log"]
    lines = (tmp_path / "exp/log/echo.3.log").read_text().splitlines()
    assert lines[0] == '# echo "job 3" | tr a-z A-Z'
    assert lines[2] == "JOB 3"  # the pipe is a real pipe; stdout goes to the log


def test_non_array_form_and_stderr_in_log(tmp_path, repo_root):
    r = run(repo_root, tmp_path, "run.pl", "log/x.log", "echo", "oops", ">&2", ";", "exit", "3")
    assert r.returncode == 1
    assert "run.pl: job failed, log is in log/x.log" in r.stderr
    assert "oops" in r.stderr  # the failed log's tail is shown
    text = (tmp_path / "log/x.log").read_text()
    assert "oops\n" in text and "# Ended (code 3)" in text


def test_pipefail_and_parallel_limit(tmp_path, repo_root):
    r = run(repo_root, tmp_path, "run.pl", "log/p.log", "false", "|", "cat")
    assert r.returncode == 1
    # --max-jobs-run 1 runs the jobs one after the other: each sees the previous one's file
    r = run(repo_root, tmp_path, "run.pl", "--max-jobs-run", "1", "JOB=1:3", "log/s.JOB.log",
            "sleep", "0.2", ";", "ls", "done.*", "|", "wc", "-l", ">", "count.JOB", ";", "touch", "done.JOB")
    assert r.returncode == 0, r.stderr
    assert [(tmp_path / f"count.{j}").read_text().strip() for j in (1, 2, 3)] == ["0", "1", "2"]


def test_usage_errors(tmp_path, repo_root):
    r = run(repo_root, tmp_path, "run.pl", "JOB=1:3", "log/same.log", "true")
    assert r.returncode == 2 and "does not contain JOB" in r.stderr
    r = run(repo_root, tmp_path, "run.pl", "JOB=3:1", "log/x.JOB.log", "true")
    assert r.returncode == 2
    r = run(repo_root, tmp_path, "run.pl")
    assert r.returncode == 2 and "Usage:" in r.stderr


STUB_SBATCH = textwrap.dedent("""\
    #!/usr/bin/env bash
    # Test stand-in for sbatch: record the arguments, then run the job script locally.
    printf '%s\\n' "$*" >> "$SBATCH_RECORD"
    script="${@: -1}"
    array=
    for a in "$@"; do case "$a" in --array=*) array="${a#--array=}";; esac; done
    echo 4242
    rc=0
    if [ -n "$array" ]; then
      range="${array%%%*}"
      for ((t=${range%-*}; t<=${range#*-}; t++)); do
        SLURM_JOB_ID=4242 SLURM_ARRAY_TASK_ID=$t bash "$script" > /dev/null 2>&1 || rc=1
      done
    else
      SLURM_JOB_ID=4242 bash "$script" > /dev/null 2>&1 || rc=1
    fi
    exit $rc
    """)


def stub_env(tmp_path, name: str, script: str) -> dict:
    """Environment with a stand-in ``name`` (sbatch/qsub) first on PATH; it records its arguments
    in ``tmp_path/<name>.args`` (variable ``<NAME>_RECORD``)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    stub = bindir / name
    stub.write_text(script)
    stub.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    env[f"{name.upper()}_RECORD"] = str(tmp_path / f"{name}.args")
    return env


@pytest.fixture
def sbatch_env(tmp_path):
    return stub_env(tmp_path, "sbatch", STUB_SBATCH)


def test_slurm_command_line_and_logs(tmp_path, repo_root, sbatch_env):
    work = tmp_path / "work"
    work.mkdir()
    r = run(repo_root, work, "slurm.pl", "--mem", "4G", "--gpu", "1", "--num-threads", "2",
            "--max-jobs-run", "2", "JOB=1:3", "exp/log/t.JOB.log", "bash", "-c", "[ JOB -ne 2 ]",
            env=sbatch_env)
    assert r.returncode == 1
    assert "slurm.pl: 1 / 3 failed, log is in exp/log/t.2.log" in r.stderr
    args = (tmp_path / "sbatch.args").read_text().split()
    assert args[:4] == ["--export=PATH", "--ntasks-per-node=1", "--wait", "--parsable"]
    for a in ("--mem=4G", "--gres=gpu:1", "--cpus-per-task=2", "--array=1-3%2",
              "--job-name=t.log"):
        assert a in args, (a, args)
    assert args[-1].endswith("exp/log/q/t.log.sh")
    log = (work / "exp/log/t.3.log").read_text().splitlines()
    assert log[0] == '# bash -c "[ 3 -ne 2 ]"' and log[1].startswith("# Started at ")
    assert re.fullmatch(r"# Accounting: time=\d+ threads=2", log[-2])
    assert log[-1].startswith("# Ended (code 0) at ")
    assert (work / "exp/log/t.2.log").read_text().splitlines()[-1].startswith("# Ended (code 1)")


def test_slurm_config_partition_and_single_job(tmp_path, repo_root, sbatch_env):
    work = tmp_path / "work"
    (work / "conf").mkdir(parents=True)
    (work / "conf/slurm.conf").write_text(textwrap.dedent("""\
        command sbatch --export=PATH -p cpu
        option mem=* --mem=$0
        default gpu=0
        option gpu=0
        option gpu=* -p gpu --gres=gpu:$0 --time=4:0:0
        """))
    r = run(repo_root, work, "slurm.pl", "--gpu", "2", "--mem", "1G", "log/one.log", "echo", "hi",
            env=sbatch_env)
    assert r.returncode == 0, r.stderr
    args = (tmp_path / "sbatch.args").read_text().split()
    assert args[:5] == ["--export=PATH", "-p", "cpu", "--wait", "--parsable"]
    assert "-p gpu --gres=gpu:2 --time=4:0:0 --mem=1G" in " ".join(args)
    assert not any(a.startswith("--array") for a in args)
    assert "hi" in (work / "log/one.log").read_text().splitlines()
    r = run(repo_root, work, "slurm.pl", "--num-threads", "4", "log/one.log", "true", env=sbatch_env)
    assert r.returncode == 2 and "num-threads" in r.stderr  # not described in this slurm.conf


STUB_QSUB = textwrap.dedent("""\
    #!/usr/bin/env bash
    # Test stand-in for Grid Engine's qsub -sync y: record the arguments, run the script locally.
    printf '%s\\n' "$*" >> "$QSUB_RECORD"
    script="${@: -1}"
    tasks=
    prev=
    for a in "$@"; do [ "$prev" = -t ] && tasks="$a"; prev="$a"; done
    rc=0
    if [ -n "$tasks" ]; then
      echo "4343.${tasks}:1"
      for ((t=${tasks%-*}; t<=${tasks#*-}; t++)); do
        JOB_ID=4343 SGE_TASK_ID=$t bash "$script" > /dev/null 2>&1 || rc=1
      done
    else
      echo 4343
      JOB_ID=4343 SGE_TASK_ID=undefined bash "$script" > /dev/null 2>&1 || rc=1
    fi
    exit $rc
    """)


@pytest.fixture
def qsub_env(tmp_path):
    return stub_env(tmp_path, "qsub", STUB_QSUB)


def test_queue_pl_grid_engine_command_line_and_logs(tmp_path, repo_root, qsub_env):
    work = tmp_path / "work"
    work.mkdir()
    r = run(repo_root, work, "queue.pl", "--mem", "4G", "--num-threads", "2", "--max-jobs-run", "2",
            "JOB=1:3", "exp/log/t.JOB.log", "bash", "-c", "[ JOB -ne 2 ]", env=qsub_env)
    assert r.returncode == 1
    assert "queue.pl: 1 / 3 failed, log is in exp/log/t.2.log" in r.stderr
    args = (tmp_path / "qsub.args").read_text().split()
    assert args[:11] == ["-v", "PATH", "-cwd", "-S", "/bin/bash", "-j", "y", "-sync", "y", "-terse",
                         "-l"]
    line = " ".join(args)
    for a in ("-l mem_free=4G,ram_free=4G", "-pe smp 2", "-tc 2", "-N t.log", "-t 1-3",
              "-o exp/log/q/t.log.$TASK_ID.out"):
        assert a in line, (a, line)
    assert args[-1].endswith("exp/log/q/t.log.sh")
    log = (work / "exp/log/t.3.log").read_text().splitlines()
    assert log[0] == '# bash -c "[ 3 -ne 2 ]"' and "(sge job 4343 task 3)" in log[2]
    assert re.fullmatch(r"# Accounting: time=\d+ threads=2", log[-2])
    assert log[-1].startswith("# Ended (code 0) at ")


def test_queue_pl_config_gpu_and_single_job(tmp_path, repo_root, qsub_env):
    work = tmp_path / "work"
    (work / "conf").mkdir(parents=True)
    (work / "conf/queue.conf").write_text(textwrap.dedent("""\
        command qsub -v PATH -cwd -S /bin/bash -j y -q all.q
        option mem=* -l mem_free=$0
        default gpu=0
        option gpu=0
        option gpu=* -l gpu=$0 -q gpu.q
        """))
    r = run(repo_root, work, "queue.pl", "--gpu", "1", "--mem", "1G", "--max-jobs-run", "4",
            "log/one.log", "echo", "hi", env=qsub_env)
    assert r.returncode == 0, r.stderr
    line = (tmp_path / "qsub.args").read_text()
    assert "-l gpu=1 -q gpu.q -l mem_free=1G" in line and " -t " not in line  # no array, no -tc
    assert "hi" in (work / "log/one.log").read_text().splitlines()
    r = run(repo_root, work, "queue.pl", "--num-threads", "4", "log/one.log", "true", env=qsub_env)
    assert r.returncode == 2 and "conf/queue.conf" in r.stderr  # not described in this queue.conf
