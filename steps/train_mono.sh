#!/usr/bin/env bash
# Monophone GMM training in Kaldi's layout (Kaldi steps/train_mono.sh schedule), on kaldi-hmm-gmm.
# Writes <exp-dir>/{final.mdl,tree,ali.N.gz,num_jobs,cmvn_opts,delta_opts,phones.txt,log/}.
set -euo pipefail

# Begin configuration section.
nj=4
cmd=utils/run.pl
num_iters=40
totgauss=1000
boost_silence=1.0
cmvn_opts=
delta_opts=
binary=true
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: steps/train_mono.sh [options] <data-dir> <lang-dir> <exp-dir>
e.g.: steps/train_mono.sh --nj 1 --totgauss 400 data/train data/lang exp/mono
options: --nj <n> --cmd <run.pl> --num-iters <40> --totgauss <1000> --boost-silence <1.0>
         --cmvn-opts <opts> --delta-opts <opts> --binary <true|false>"

. utils/parse_options.sh

if [ $# -ne 3 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi

data=$1
lang=$2
dir=$3

for f in $data/feats.scp $data/cmvn.scp $data/text $lang/L.fst $lang/topo $lang/phones/sets.int; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
mkdir -p $dir/log
[ $nj -gt 1 ] && utils/split_data.sh $data $nj

$cmd $dir/log/train.log \
  bnn-gmm-train-mono --nj $nj --num-iters $num_iters --totgauss $totgauss \
    --boost-silence $boost_silence --cmvn-opts "$cmvn_opts" --delta-opts "$delta_opts" \
    --binary $binary $data $lang $dir

grep "average log-likelihood" $dir/log/train.log | sed -n '1p;$p' || true
echo "$0: done training monophone system in $dir"
