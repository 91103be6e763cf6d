"""Shared implementation of utils/run.pl, utils/slurm.pl and utils/queue.pl (standard library only).

Interface (Kaldi egs/wsj/s5/utils/parallel/run.pl, slurm.pl, queue.pl)::

    run.pl   [options] JOB=1:N <log-with-JOB> <command> [args...]
    run.pl   [options] <log> <command> [args...]
    options: --max-jobs-run N  --mem X  --gpu N  --num-threads N  --time T  --config FILE  ...

The command words are joined into one bash command line the way Kaldi's run.pl joins them:
a word without whitespace is taken as is (so ``|``, ``>`` keep their shell meaning), a word with
whitespace is wrapped in double quotes, or in single quotes if it contains a double quote.
The job variable (``JOB``) is replaced by the job index in the log name and the command.
Each log file reads::

    # <command line>
    # Started at <date>
    <stdout and stderr of the command>
    # Accounting: time=<seconds> threads=<n>
    # Ended (code <exit status>) at <date>

The command runs under ``bash -c 'set -o pipefail; ...'`` so a failure anywhere in a pipeline fails
the job.  The runner exits 1 if any job failed, naming the first failed log and printing its tail.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

JOB_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\d+)(?::(\d+))?$")
ENDED_RE = re.compile(r"^# Ended \(code (-?\d+)\)")


class UsageError(Exception):
    """Wrong command line: printed with the usage text, exit status 2."""


@dataclass
class JobSpec:
    prog: str
    options: Dict[str, str] = field(default_factory=dict)
    jobvar: Optional[str] = None
    first: int = 1
    last: int = 1
    log: str = ""
    command: str = ""

    @property
    def array(self) -> bool:
        return self.jobvar is not None

    def job_ids(self) -> List[int]:
        return list(range(self.first, self.last + 1))

    def log_for(self, job: Optional[int]) -> str:
        return self.log.replace(self.jobvar, str(job)) if self.array else self.log

    def command_for(self, job: Optional[int]) -> str:
        return self.command.replace(self.jobvar, str(job)) if self.array else self.command


def kaldi_join(words: List[str]) -> str:
    """Join command words into one shell command line as Kaldi's run.pl does."""
    out = []
    for w in words:
        if re.fullmatch(r"\S+", w):
            out.append(w)
        elif '"' in w:
            out.append("'" + w + "'")
        else:
            out.append('"' + w + '"')
    return " ".join(out)


def parse_args(prog: str, argv: List[str]) -> JobSpec:
    """Parse ``[--opt value]... [JOB=a:b] log command...`` (option names with ``-`` become ``_``)."""
    spec = JobSpec(prog=prog)
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        if "=" in argv[i]:
            name, value = argv[i][2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(argv):
                raise UsageError(f"option {argv[i]} needs a value")
            name, value = argv[i][2:], argv[i + 1]
            i += 2
        spec.options[name.replace("-", "_")] = value
    if i < len(argv):
        m = JOB_RE.match(argv[i])
        if m:
            spec.jobvar = m.group(1)
            spec.first = int(m.group(2))
            spec.last = int(m.group(3)) if m.group(3) is not None else spec.first
            if spec.last < spec.first:
                raise UsageError(f"invalid job range {argv[i]}")
            i += 1
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*=\S*:", argv[i]):
            raise UsageError(f"invalid job range '{argv[i]}' (expected e.g. JOB=1:4)")
    if len(argv) - i < 2:
        raise UsageError("expected a log file and a command")
    spec.log = argv[i]
    spec.command = kaldi_join(argv[i + 1:])
    if spec.array and spec.last > spec.first and spec.jobvar not in spec.log:
        raise UsageError(f"running {spec.last - spec.first + 1} jobs but the log file {spec.log} "
                         f"does not contain {spec.jobvar}: all jobs would write to one log")
    if "max_jobs_run" in spec.options:
        try:
            if int(spec.options["max_jobs_run"]) < 1:
                raise ValueError
        except ValueError:
            raise UsageError(f"--max-jobs-run must be a positive integer, got "
                             f"'{spec.options['max_jobs_run']}'") from None
    return spec


def usage(prog: str, extra: str = "") -> str:
    return (f"Usage: {prog} [options] [JOB=1:N] <log-file> <command> [args...]\n"
            f"e.g.: {prog} --max-jobs-run 4 JOB=1:8 exp/mono/log/acc.JOB.log bnn-acc-stats ... JOB ...\n"
            "Options: --max-jobs-run N (parallel jobs), --mem X, --gpu N, --num-threads N, --time T,\n"
            f"         --config FILE{extra}\n")


def now() -> str:
    return time.strftime("%a %b %d %H:%M:%S %Z %Y")


def header(command: str) -> str:
    return f"# {command}\n# Started at {now()}\n"


def footer(seconds: int, threads: int, code: int) -> str:
    return f"# Accounting: time={seconds} threads={threads}\n# Ended (code {code}) at {now()}\n"


def log_exit_code(path: str) -> Optional[int]:
    """The ``# Ended (code N)`` status of a finished log, or None when the log is missing/unfinished."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            tail = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(tail):
        m = ENDED_RE.match(line)
        if m:
            return int(m.group(1))
    return None


def log_tail(path: str, n: int = 10) -> str:
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def report(spec: JobSpec, failed: List[Tuple[Optional[int], str]]) -> int:
    """Print Kaldi's failure summary (first failed log and its tail) and return the exit status."""
    if not failed:
        return 0
    first_log = failed[0][1]
    if spec.array:
        n = len(spec.job_ids())
        print(f"{spec.prog}: {len(failed)} / {n} failed, log is in {first_log}", file=sys.stderr)
        if len(failed) > 1:
            print(f"{spec.prog}: failed logs: " + " ".join(l for _, l in failed), file=sys.stderr)
    else:
        print(f"{spec.prog}: job failed, log is in {first_log}", file=sys.stderr)
    tail = log_tail(first_log)
    if tail:
        print(f"{spec.prog}: last lines of {first_log}:", file=sys.stderr)
        print("\n".join("  " + line for line in tail.splitlines()), file=sys.stderr)
    return 1


# --------------------------------------------------------------------------------------------
# local execution (run.pl)


class LocalRunner:
    def __init__(self, spec: JobSpec):
        self.spec = spec
        self.procs: Dict[int, subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.stopping = False
        self.threads = int(spec.options.get("num_threads", "1") or 1)

    def run_one(self, job: Optional[int]) -> Tuple[Optional[int], str, int]:
        spec = self.spec
        log = spec.log_for(job)
        cmd = spec.command_for(job)
        os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
        with open(log, "w") as f:
            f.write(header(cmd))
        t0 = time.time()
        code = 1
        with open(log, "a") as f:
            with self.lock:
                if self.stopping:
                    f.write("# not started: run.pl was interrupted\n")
                    f.write(footer(0, self.threads, 130))
                    return job, log, 130
                proc = subprocess.Popen(
                    ["bash", "-c", "set -o pipefail; " + cmd], stdout=f, stderr=subprocess.STDOUT,
                    stdin=None if not spec.array else subprocess.DEVNULL, start_new_session=True)
                self.procs[id(proc)] = proc
            try:
                rc = proc.wait()
            finally:
                with self.lock:
                    self.procs.pop(id(proc), None)
            code = rc if rc >= 0 else 128 - rc
            f.flush()
            f.write(footer(int(round(time.time() - t0)), self.threads, code))
        return job, log, code

    def kill_all(self, *_):
        with self.lock:
            self.stopping = True
            for proc in list(self.procs.values()):
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except OSError:
                    pass

    def run(self) -> int:
        spec = self.spec
        jobs: List[Optional[int]] = spec.job_ids() if spec.array else [None]
        max_jobs = int(spec.options.get("max_jobs_run", 0) or 0) or (os.cpu_count() or 1)

        def on_term(signum, frame):
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGTERM, on_term)
        pool = ThreadPoolExecutor(max_workers=max(1, min(max_jobs, len(jobs))))
        futures = [pool.submit(self.run_one, j) for j in jobs]
        try:
            pending = set(futures)
            while pending:  # wake up regularly so that signals reach the main thread
                _, pending = wait(pending, timeout=0.5)
        except KeyboardInterrupt:
            self.kill_all()
            pool.shutdown(wait=True)
            print(f"{spec.prog}: interrupted; killed running jobs", file=sys.stderr)
            return 130
        finally:
            signal.signal(signal.SIGTERM, old)
        pool.shutdown(wait=True)
        failed = []
        for j, fut in zip(jobs, futures):
            try:
                job, log, code = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. the log file cannot be written
                print(f"{spec.prog}: job {j if j is not None else ''}: {exc}", file=sys.stderr)
                failed.append((j, spec.log_for(j)))
                continue
            if code != 0:
                failed.append((job, log))
        return report(spec, failed)


# --------------------------------------------------------------------------------------------
# Cluster submission (slurm.pl, queue.pl)

DEFAULT_SLURM_CONF = """\
command sbatch --export=PATH --ntasks-per-node=1
option time=* --time=$0
option mem=* --mem=$0
option mem=0
option num_threads=* --cpus-per-task=$0
option num_threads=1 --cpus-per-task=1
option partition=* --partition=$0
default gpu=0
option gpu=0
option gpu=* --gres=gpu:$0
"""

# Kaldi's default conf/queue.conf for Grid Engine (qsub), in the same format.
DEFAULT_QUEUE_CONF = """\
command qsub -v PATH -cwd -S /bin/bash -j y
option time=* -l h_rt=$0
option mem=* -l mem_free=$0,ram_free=$0
option mem=0
option num_threads=* -pe smp $0
option num_threads=1
option max_jobs_run=* -tc $0
default gpu=0
option gpu=0
option gpu=* -l gpu=$0 -q g.q
"""


@dataclass(frozen=True)
class Cluster:
    """What differs between the batch systems: submit command flags, task variables, cancel."""
    name: str                 # "slurm" | "sge"
    conf_file: str            # conf/slurm.conf | conf/queue.conf (Kaldi's names)
    default_conf: str
    task_var: str             # environment variable holding the array task index
    job_id_var: str
    cancel: str               # scancel | qdel
    wait_flags: Tuple[str, ...]
    own_max_jobs: bool        # True: --max-jobs-run is an array suffix (slurm %N), not a conf option

    def name_flags(self, name: str) -> List[str]:
        return [f"--job-name={name}"] if self.name == "slurm" else ["-N", name]

    def output_flags(self, qdir: str, base: str, array: bool) -> Tuple[List[str], str]:
        """(flags, printf-style pattern with %a for the task) of the batch system's own output."""
        if self.name == "slurm":
            pattern = os.path.join(qdir, base + (".%a.out" if array else ".out"))
            return [f"--output={pattern}"], pattern
        pattern = os.path.join(qdir, base + (".$TASK_ID.out" if array else ".out"))
        return ["-o", pattern], pattern.replace("$TASK_ID", "%a")

    def array_flags(self, spec: "JobSpec") -> List[str]:
        if self.name == "slurm":
            arr = f"--array={spec.first}-{spec.last}"
            if "max_jobs_run" in spec.options:
                arr += f"%{int(spec.options['max_jobs_run'])}"
            return [arr]
        return ["-t", f"{spec.first}-{spec.last}"]

    def job_id(self, line: str) -> str:
        """The job id from the submit command's first output line (sbatch --parsable: ``id[;cluster]``,
        qsub -terse: ``id`` or ``id.first-last:step`` for arrays)."""
        word = line.strip().split(";")[0]
        return word.split(".")[0] if self.name == "sge" else word


SLURM = Cluster("slurm", "conf/slurm.conf", DEFAULT_SLURM_CONF, "SLURM_ARRAY_TASK_ID",
                "SLURM_JOB_ID", "scancel", ("--wait", "--parsable"), True)
SGE = Cluster("sge", "conf/queue.conf", DEFAULT_QUEUE_CONF, "SGE_TASK_ID", "JOB_ID", "qdel",
              ("-sync", "y", "-terse"), False)
CLUSTERS = {"slurm": SLURM, "sge": SGE}


@dataclass
class ClusterConfig:
    """Kaldi's conf/slurm.conf / conf/queue.conf format: ``command <argv...>``;
    ``option <name>=<value> <args...>`` (exact value); ``option <name>=* <args with $0>`` (any
    value); ``default <name>=<value>``."""
    command: List[str]
    exact: Dict[Tuple[str, str], List[str]]
    wildcard: Dict[str, List[str]]
    defaults: Dict[str, str]

    @classmethod
    def parse(cls, text: str, path: str = "<default>") -> "ClusterConfig":
        conf = cls([], {}, {}, {})
        for n, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            words = shlex.split(line)
            kind = words[0]
            if kind == "command":
                conf.command = words[1:]
            elif kind in ("option", "default") and len(words) >= 2 and "=" in words[1]:
                name, value = words[1].split("=", 1)
                if kind == "default":
                    conf.defaults[name] = value
                elif value == "*":
                    conf.wildcard[name] = words[2:]
                else:
                    conf.exact[(name, value)] = words[2:]
            else:
                raise UsageError(f"{path}: line {n}: cannot parse '{line}'")
        if not conf.command:
            raise UsageError(f"{path}: no 'command' line")
        return conf

    def args_for(self, options: Dict[str, str], conf_file: str = "conf/slurm.conf") -> List[str]:
        merged = dict(self.defaults)
        merged.update(options)
        out: List[str] = []
        for name, value in merged.items():
            if (name, value) in self.exact:
                out += self.exact[(name, value)]
            elif name in self.wildcard:
                out += [w.replace("$0", value) for w in self.wildcard[name]]
            else:
                raise UsageError(f"option --{name.replace('_', '-')} {value} is not described in the "
                                 f"cluster config (add 'option {name}=* ...' to {conf_file})")
        return out


def bash_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def batch_script(spec: JobSpec, threads: int, cluster: Cluster = SLURM) -> str:
    """The batch script: substitutes the job index, writes the log header/footer, runs the command."""
    lines = [
        "#!/usr/bin/env bash",
        f"cd {bash_quote(os.getcwd())}",
        "[ -f ./path.sh ] && . ./path.sh",
        f"cmd={bash_quote(spec.command)}",
        f"log={bash_quote(spec.log)}",
    ]
    if spec.array:
        lines += [
            f"task=${{{cluster.task_var}:?{spec.prog}: {cluster.task_var} is not set}}",
            f"cmd=${{cmd//{spec.jobvar}/$task}}",
            f"log=${{log//{spec.jobvar}/$task}}",
        ]
    task_note = f"${{task:+ task $task}}" if spec.array else ""
    lines += [
        'mkdir -p "$(dirname "$log")"',
        "{ printf '# %s\\n' \"$cmd\"; echo \"# Started at $(date)\"; "
        f"echo \"# Running on $(hostname) ({cluster.name} job ${{{cluster.job_id_var}:-?}}"
        f"{task_note})\"; }} > \"$log\"",
        't1=$(date +%s)',
        'bash -c "set -o pipefail; $cmd" >> "$log" 2>&1',
        "ret=$?",
        't2=$(date +%s)',
        f'echo "# Accounting: time=$((t2 - t1)) threads={threads}" >> "$log"',
        'echo "# Ended (code $ret) at $(date)" >> "$log"',
        "exit $ret",
    ]
    return "\n".join(lines) + "\n"


def job_name(spec: JobSpec) -> str:
    """Log basename without the job variable: ``exp/log/acc.JOB.log`` -> ``acc.log``."""
    base = os.path.basename(spec.log)
    if spec.array:
        base = re.sub(r"[._-]?" + re.escape(spec.jobvar), "", base)
    return base.strip(".") or "job"


def submit_command(spec: JobSpec, conf: ClusterConfig, script: str, qdir: str,
                   cluster: Cluster = SLURM) -> Tuple[List[str], str]:
    """(submit command line, output pattern with %a): config command, wait flags, mapped
    options, name, output, array."""
    skip = ("config",) + (("max_jobs_run",) if cluster.own_max_jobs or not spec.array else ())
    opts = {k: v for k, v in spec.options.items() if k not in skip}
    cmd = list(conf.command) + list(cluster.wait_flags) + conf.args_for(opts, cluster.conf_file)
    out_flags, out_pattern = cluster.output_flags(qdir, job_name(spec), spec.array)
    cmd += cluster.name_flags(job_name(spec)) + out_flags
    if spec.array:
        cmd += cluster.array_flags(spec)
    cmd.append(script)
    return cmd, out_pattern


def run_cluster(spec: JobSpec, cluster: Cluster) -> int:
    conf_path = spec.options.get("config") or (cluster.conf_file if os.path.isfile(cluster.conf_file)
                                               else None)
    if conf_path:
        try:
            with open(conf_path) as f:
                conf = ClusterConfig.parse(f.read(), conf_path)
        except OSError as err:
            raise UsageError(f"{conf_path}: cannot read {cluster.name} config: {err.strerror}") from None
    else:
        conf = ClusterConfig.parse(cluster.default_conf)
    threads = int(spec.options.get("num_threads", "1") or 1)
    logs = {j: spec.log_for(j) for j in (spec.job_ids() if spec.array else [None])}
    qdir = os.path.join(os.path.dirname(spec.log) or ".", "q")
    os.makedirs(qdir, exist_ok=True)
    base = job_name(spec)
    script = os.path.join(qdir, base + ".sh")
    with open(script, "w") as f:
        f.write(batch_script(spec, threads, cluster))
    os.chmod(script, 0o755)
    for log in logs.values():  # a stale log must not be mistaken for this run's result
        os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
        if os.path.exists(log):
            os.unlink(log)
    cmd, out_pattern = submit_command(spec, conf, script, qdir, cluster)
    submitted = os.path.join(qdir, base + ".submit")
    with open(submitted, "w") as f:
        f.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    except OSError as err:
        print(f"{spec.prog}: cannot run {cmd[0]}: {err.strerror}", file=sys.stderr)
        return 1
    jobid = None
    try:
        for line in proc.stdout:
            if jobid is None and line.strip():
                jobid = cluster.job_id(line)
        rc = proc.wait()
    except KeyboardInterrupt:
        if jobid:
            subprocess.call([cluster.cancel, jobid])
        print(f"{spec.prog}: interrupted; cancelled {cluster.name} job {jobid}", file=sys.stderr)
        return 130
    failed = [(j, log) for j, log in logs.items() if log_exit_code(log) != 0]
    if rc != 0 and not failed:
        print(f"{spec.prog}: {cmd[0]} exited with status {rc} (command in {submitted})",
              file=sys.stderr)
        return 1
    for j, log in failed:
        if log_exit_code(log) is None:
            out = out_pattern.replace("%a", str(j))
            print(f"{spec.prog}: job {j if j is not None else ''} did not finish (no '# Ended' line in {log}); "
                  f"see {out}", file=sys.stderr)
    return report(spec, failed)


def run_slurm(spec: JobSpec) -> int:
    return run_cluster(spec, SLURM)


def main(prog: str, argv: List[str], backend: str) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stderr.write(usage(prog))
        return 2 if not argv else 0
    try:
        spec = parse_args(prog, argv)
        if backend in CLUSTERS:
            return run_cluster(spec, CLUSTERS[backend])
        return LocalRunner(spec).run()
    except UsageError as err:
        print(f"{prog}: {err}", file=sys.stderr)
        sys.stderr.write(usage(prog))
        return 2
