#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# Score a KWS model on a cut set (every thinning option it was trained with): accuracy,
# per-class errors, FA/FR rates; with --packed true also the packed XOR-popcount model.
set -euo pipefail
echo "$0 $*"

# Begin configuration section.
cmd=utils/run.pl
packed=false
num_threads=1
# End configuration section.

help_message="Usage: $0 [options] <model-dir> <cuts> <out-json>
e.g.: $0 --packed true exp/bifsmnv2 data/manifests/cuts_test.jsonl.gz exp/bifsmnv2/test.json
Options:
  --cmd <cmd>          job runner (default $cmd)
  --packed <bool>      also run the packed engine and compare with torch (default $packed)
  --num-threads <n>    torch threads (default $num_threads)"

. utils/parse_options.sh

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 2
fi
dir=$1; cuts=$2; out=$3
for f in $dir/final.pt $cuts; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
name=$(basename $out .json)
pdir=""
[ "$packed" = true ] && pdir="--packed-dir $dir/packed"
if ! $cmd $dir/log/eval_$name.log bnn-kws-eval --packed $packed $pdir \
    --num-threads $num_threads --out $out $dir $cuts; then
  echo "$0: evaluation failed; tail of $dir/log/eval_$name.log:" >&2
  tail -n 20 $dir/log/eval_$name.log >&2
  exit 1
fi
grep "^option" $dir/log/eval_$name.log
