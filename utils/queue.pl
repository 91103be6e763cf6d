#!/usr/bin/env python3
"""utils/queue.pl: Kaldi's queue.pl for Grid Engine, reimplemented in Python: submits the jobs as
one array job with `qsub -sync y` (options mapped through conf/queue.conf, Kaldi's format, or the
built-in table in utils/lib/jobs.py: --mem 4G -> -l mem_free=4G,ram_free=4G, --num-threads 4 ->
-pe smp 4, --gpu 1 -> -l gpu=1 -q g.q, --max-jobs-run 2 -> -tc 2, --time T -> -l h_rt=T).

Usage: queue.pl [--max-jobs-run N] [--mem X] [--gpu N] [--num-threads N] [--config F] \\
           JOB=1:N <log-with-JOB> <command> [args...]
       queue.pl [options] <log> <command> [args...]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))
from jobs import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("queue.pl", sys.argv[1:], "sge"))
