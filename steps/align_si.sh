#!/usr/bin/env bash
# Align a data dir with a trained GMM model dir (Kaldi steps/align_si.sh), on kaldi-hmm-gmm.
# Writes <ali-dir>/{final.mdl,tree,ali.N.gz,num_jobs,cmvn_opts,delta_opts,phones.txt,log/}.
set -euo pipefail

# Begin configuration section.
nj=4
cmd=utils/run.pl
beam=10
retry_beam=40
careful=false
boost_silence=1.0
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: steps/align_si.sh [options] <data-dir> <lang-dir> <src-exp-dir> <ali-dir>
e.g.: steps/align_si.sh --nj 1 data/train data/lang exp/mono exp/mono_ali
options: --nj <n> --cmd <run.pl> --beam <10> --retry-beam <40> --boost-silence <1.0>"

. utils/parse_options.sh

if [ $# -ne 4 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi

data=$1
lang=$2
srcdir=$3
dir=$4

for f in $data/feats.scp $data/cmvn.scp $data/text $lang/L.fst $srcdir/final.mdl $srcdir/tree; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
mkdir -p $dir/log
cmvn_opts=$(cat $srcdir/cmvn_opts 2>/dev/null || true)
delta_opts=$(cat $srcdir/delta_opts 2>/dev/null || true)
cp $srcdir/final.mdl $srcdir/tree $dir/
[ -f $srcdir/phones.txt ] && cp $srcdir/phones.txt $dir/
echo "$cmvn_opts" > $dir/cmvn_opts
echo "$delta_opts" > $dir/delta_opts
echo $nj > $dir/num_jobs

if [ $nj -gt 1 ]; then
  utils/split_data.sh $data $nj
  sdata=$data/split$nj
  $cmd JOB=1:$nj $dir/log/align.JOB.log \
    bnn-gmm-align --beam $beam --retry-beam $retry_beam --careful $careful \
      --boost-silence $boost_silence --cmvn-opts "$cmvn_opts" --delta-opts "$delta_opts" \
      $lang $dir/final.mdl $sdata/JOB $dir/ali.JOB.gz
else
  $cmd $dir/log/align.1.log \
    bnn-gmm-align --beam $beam --retry-beam $retry_beam --careful $careful \
      --boost-silence $boost_silence --cmvn-opts "$cmvn_opts" --delta-opts "$delta_opts" \
      $lang $dir/final.mdl $data $dir/ali.1.gz
fi
echo "$0: done aligning data in $dir"
