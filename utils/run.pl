#!/usr/bin/env python3
"""utils/run.pl: Kaldi's run.pl job runner, reimplemented in Python (see utils/lib/jobs.py).

Usage: run.pl [--max-jobs-run N] [--mem X] [--gpu N] [--num-threads N] [--config F] \\
           JOB=1:N <log-with-JOB> <command> [args...]
       run.pl [options] <log> <command> [args...]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))
from jobs import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("run.pl", sys.argv[1:], "local"))
