#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# Computes MFCC features of a data directory (Kaldi steps/make_mfcc.sh interface): splits
# the data with utils/split_data.sh, runs bnn-compute-mfcc-feats in --nj jobs through $cmd,
# writes <feat-dir>/raw_mfcc_<name>.JOB.{ark,scp}, concatenates the scp files into
# <data>/feats.scp (and <data>/utt2num_frames), copies the config to <data>/conf/mfcc.conf and
# fails if any utterance got no features.  Uses <data>/segments when present.
set -euo pipefail
echo "$0 $*"

# Begin configuration section.
nj=4                         # number of parallel jobs
cmd=utils/run.pl             # job runner
mfcc_config=conf/mfcc.conf   # Kaldi option file
write_utt2num_frames=true    # write <data>/utt2num_frames
# End configuration section.

bnn_root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
help_message="Usage: $0 [options] <data-dir> [<log-dir> [<mfcc-dir>]]
e.g.: $0 --nj 8 --cmd utils/run.pl data/train exp/make_mfcc/train mfcc
Note: <log-dir> defaults to <data-dir>/log, and <mfcc-dir> defaults to <data-dir>/data.
Options:
  --mfcc-config <config-file>   config passed to compute-mfcc-feats (default: $mfcc_config)
  --nj <nj>                        number of parallel jobs (default: $nj)
  --cmd <run.pl|slurm.pl ...>      how to run jobs (default: $cmd)
  --write-utt2num-frames <true|false>  write <data-dir>/utt2num_frames (default: $write_utt2num_frames)"
. "$bnn_root/utils/parse_options.sh"

kind=mfcc
config=$mfcc_config
. "$bnn_root/steps/lib/make_feats.sh"
