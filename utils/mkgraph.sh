#!/usr/bin/env bash
# Build the decoding graph HCLG.fst of a monophone model (Kaldi utils/mkgraph.sh) with
# bnn-mkgraph (kaldifst + kaldi-hmm-gmm): <graph-dir>/{HCLG.fst (const),words.txt,phones.txt,
# phones/,num_pdfs,disambig_tid.int}.  Skips the work when HCLG.fst is newer than its inputs.
set -euo pipefail

# Begin configuration section.
transition_scale=1.0
self_loop_scale=0.1
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: utils/mkgraph.sh [options] <lang-dir> <model-dir> <graph-dir>
e.g.: utils/mkgraph.sh data/lang_test exp/mono exp/mono/graph
options: --transition-scale <1.0> --self-loop-scale <0.1>"

. utils/parse_options.sh

if [ $# -ne 3 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi

lang=$1
model_dir=$2
dir=$3

for f in $lang/L_disambig.fst $lang/G.fst $lang/words.txt $lang/phones.txt $lang/phones/disambig.int \
         $model_dir/final.mdl; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done

if [ -f $dir/HCLG.fst ] && [ $dir/HCLG.fst -nt $lang/G.fst ] && [ $dir/HCLG.fst -nt $lang/L_disambig.fst ] \
   && [ $dir/HCLG.fst -nt $model_dir/final.mdl ]; then
  echo "$0: $dir/HCLG.fst is up to date"
  exit 0
fi
mkdir -p $dir/log
bnn-mkgraph --transition-scale $transition_scale --self-loop-scale $self_loop_scale \
  $lang $model_dir $dir 2> $dir/log/mkgraph.log || { tail -n 5 $dir/log/mkgraph.log >&2; exit 1; }
echo "$0: wrote $dir/HCLG.fst"
