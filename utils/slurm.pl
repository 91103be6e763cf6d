#!/usr/bin/env python3
"""utils/slurm.pl: Kaldi's slurm.pl, reimplemented in Python: submits the jobs as one Slurm job array
with `sbatch --wait` (options mapped through conf/slurm.conf or the built-in table in
utils/lib/jobs.py: --mem 4G -> --mem=4G, --gpu 1 -> --gres=gpu:1, --num-threads 4 ->
--cpus-per-task=4, --max-jobs-run 2 -> --array=1-N%2, --partition P -> --partition=P).

Usage: slurm.pl [--max-jobs-run N] [--mem X] [--gpu N] [--num-threads N] [--config F] \\
           JOB=1:N <log-with-JOB> <command> [args...]
       slurm.pl [options] <log> <command> [args...]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))
from jobs import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("slurm.pl", sys.argv[1:], "slurm"))
