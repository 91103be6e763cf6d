#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# Train one KWS D-FSMN (float teacher, BNN/XNOR baseline or BiFSMNv2) with bnn-kws-train.
# Skips a finished model dir (<dir>/.done); resumes from <dir>/epoch.pt after a crash.
set -euo pipefail
echo "$0 $*"

# Begin configuration section.
cmd=utils/run.pl
teacher=          # float teacher model dir (students: initialisation and distillation)
merge_configs=    # YAML files merged into the config (e.g. the recipe's size.yaml)
overrides=        # space-separated key=value overrides, e.g. "train.epochs=2"
num_threads=1
# End configuration section.

help_message="Usage: $0 [options] <config> <manifest-dir> <exp-dir>
 <config>: conf/kws/<name>.yaml; <manifest-dir> holds cuts_train/cuts_dev.jsonl.gz
e.g.: $0 --teacher exp/float ../../conf/kws/bifsmnv2.yaml data/manifests exp/bifsmnv2
Options:
  --cmd <cmd>                  job runner (default $cmd)
  --teacher <dir>              teacher model dir
  --merge-configs \"a.yaml\"     YAML files merged into the config
  --overrides \"k=v ...\"        config overrides
  --num-threads <n>            torch threads (default $num_threads)"

. utils/parse_options.sh

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 2
fi
config=$1; data=$2; dir=$3

for f in $config $data/cuts_train.jsonl.gz $data/cuts_dev.jsonl.gz ${teacher:+$teacher/final.pt}; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
if [ -f $dir/.done ]; then
  echo "$0: $dir is complete, skipping"
  exit 0
fi
mkdir -p $dir/log
opts=""
for m in $merge_configs; do opts="$opts --merge $m"; done
for o in $overrides; do opts="$opts --set $o"; done
[ -n "$teacher" ] && opts="$opts --teacher $teacher"
if ! $cmd $dir/log/train.log bnn-kws-train --config $config $opts --num-threads $num_threads \
    $data/cuts_train.jsonl.gz $data/cuts_dev.jsonl.gz $dir; then
  echo "$0: training failed; tail of $dir/log/train.log:" >&2
  tail -n 20 $dir/log/train.log >&2
  exit 1
fi
grep "best dev accuracy" $dir/log/train.log || true
