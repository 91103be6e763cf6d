#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# Computes log mel filterbank features of a data directory (Kaldi steps/make_fbank.sh interface): splits
# the data with utils/split_data.sh, runs bnn-compute-fbank-feats in --nj jobs through $cmd,
# writes <feat-dir>/raw_fbank_<name>.JOB.{ark,scp}, concatenates the scp files into
# <data>/feats.scp (and <data>/utt2num_frames), copies the config to <data>/conf/fbank.conf and
# fails if any utterance got no features.  Uses <data>/segments when present.
set -euo pipefail
echo "$0 $*"

# Begin configuration section.
nj=4                         # number of parallel jobs
cmd=utils/run.pl             # job runner
fbank_config=conf/fbank.conf   # Kaldi option file
write_utt2num_frames=true    # write <data>/utt2num_frames
# End configuration section.

bnn_root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
help_message="Usage: $0 [options] <data-dir> [<log-dir> [<fbank-dir>]]
e.g.: $0 --nj 8 --cmd utils/run.pl data/train exp/make_fbank/train fbank
Note: <log-dir> defaults to <data-dir>/log, and <fbank-dir> defaults to <data-dir>/data.
Options:
  --fbank-config <config-file>   config passed to compute-fbank-feats (default: $fbank_config)
  --nj <nj>                        number of parallel jobs (default: $nj)
  --cmd <run.pl|slurm.pl ...>      how to run jobs (default: $cmd)
  --write-utt2num-frames <true|false>  write <data-dir>/utt2num_frames (default: $write_utt2num_frames)"
. "$bnn_root/utils/parse_options.sh"

kind=fbank
config=$fbank_config
. "$bnn_root/steps/lib/make_feats.sh"
