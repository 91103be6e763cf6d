#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# Frame-level training of a (binary) DNN/CNN on GMM alignments (Kaldi steps/nnet/train.sh style).
# The model dir describes itself: final.pt (config, weights, feature options, input
# normalisation), final.mdl + tree of the alignment model, ali_train_pdf.counts (priors),
# cmvn_opts/delta_opts/splice_opts, num_pdfs, history.json and log/train.log.
set -euo pipefail
echo "$0 $*"

# Begin configuration section.
cmd=utils/run.pl
cv_data=          # held-out data dir (default: 10% of training utterances)
cv_ali_dir=       # its alignments (default: --ali-dir, when it aligned the CV data too)
cv_percent=10
init_from=        # model dir or final.pt to initialise from (binary nets: the float baseline)
teacher=          # model dir or final.pt of a teacher for knowledge distillation
merge_configs=    # YAML files deep-merged into the config, e.g. a recipe's model sizes
overrides=        # space-separated config overrides, e.g. "model.hidden_dim=256 train.epochs=5"
cmvn_opts=        # default: the alignment dir's cmvn_opts, else mean normalisation
delta_order=0
splice=5
seed=777
num_threads=1
ngpu=0            # >1: torchrun with DistributedDataParallel
device=auto
resume=false
# End configuration section.

help_message="Usage: $0 [options] <nnet-config> <train-data> <ali-dir> <exp-dir>
 <nnet-config>: a YAML file or the name of one in \$BNN_ROOT/conf/nnet (e.g. qian_bdnn)
e.g.: $0 --cv-data data/dev --cv-ali-dir exp/mono_ali_dev conf/nnet/dnn.yaml data/train exp/mono_ali exp/dnn
Options:
  --cmd <cmd>             job runner (utils/run.pl, utils/slurm.pl ...)
  --cv-data <dir>         cross-validation data dir (default: hold out --cv-percent %)
  --cv-ali-dir <dir>      alignments of --cv-data
  --init-from <dir|pt>    initialise from a trained model (binary nets: the float baseline)
  --teacher <dir|pt>      teacher for knowledge distillation (config needs train.kd)
  --merge-configs \"f.yaml ...\"  YAML files merged into the config (recipe sizes)
  --overrides \"k=v ...\"   config overrides
  --delta-order <n>       add-deltas order (default $delta_order)
  --splice <n>            splice +-n frames (default $splice)
  --ngpu <n>              GPUs for torchrun/DDP (default $ngpu)
  --resume <true|false>   continue from the last epoch checkpoint"

. utils/parse_options.sh

if [ $# -ne 4 ]; then
  echo "$help_message" >&2
  exit 2
fi
config=$1; data=$2; alidir=$3; dir=$4
config=$(steps/lib/nnet_config.sh $config)

for f in $config $data/feats.scp $data/cmvn.scp $alidir/final.mdl $alidir/num_jobs; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
ls $alidir/ali.*.gz >/dev/null 2>&1 || { echo "$0: no ali.*.gz in $alidir" >&2; exit 1; }
if [ -n "$cv_data" ]; then
  [ -f $cv_data/feats.scp ] || { echo "$0: missing $cv_data/feats.scp" >&2; exit 1; }
  cv_ali_dir=${cv_ali_dir:-$alidir}
fi
[ -z "$cmvn_opts" ] && [ -f $alidir/cmvn_opts ] && cmvn_opts=$(cat $alidir/cmvn_opts)
[ -z "$cmvn_opts" ] && cmvn_opts="--norm-means=true --norm-vars=false"
[ -d "$init_from" ] && init_from=$init_from/final.pt
[ -d "$teacher" ] && teacher=$teacher/final.pt

mkdir -p $dir/log
cp $alidir/final.mdl $dir/final.mdl
[ -f $alidir/tree ] && cp $alidir/tree $dir/tree
cp $config $dir/nnet_config.yaml

num_pdfs=$(bnn-hmm-info $alidir/final.mdl | awk '/number of pdfs/{print $NF}')
echo $num_pdfs > $dir/num_pdfs

# Frame targets (pdf-ids) and their counts (the priors used at decoding time).
ali_to_pdf_scp() {  # <ali-dir> <name>
  bnn-ali-to-pdf $1/final.mdl "ark:gunzip -c $1/ali.*.gz |" \
    ark,scp:$dir/ali_$2_pdf.ark,$dir/ali_$2_pdf.scp 2>$dir/log/ali_to_pdf_$2.log || \
    { echo "$0: ali-to-pdf failed, see $dir/log/ali_to_pdf_$2.log" >&2; tail -n 3 $dir/log/ali_to_pdf_$2.log >&2; exit 1; }
}
ali_to_pdf_scp $alidir train
bnn-analyze-counts --binary=false --counts-dim=$num_pdfs ark:$dir/ali_train_pdf.ark \
  $dir/ali_train_pdf.counts 2>$dir/log/analyze_counts.log
cv_opts="--cv-percent $cv_percent"
if [ -n "$cv_data" ]; then
  if [ "$cv_ali_dir" != "$alidir" ]; then
    cmp -s $cv_ali_dir/final.mdl $alidir/final.mdl || \
      { echo "$0: $cv_ali_dir/final.mdl differs from $alidir/final.mdl" >&2; exit 1; }
    ali_to_pdf_scp $cv_ali_dir cv
    cv_opts="--cv-data $cv_data --cv-targets scp:$dir/ali_cv_pdf.scp"
  else
    cv_opts="--cv-data $cv_data --cv-targets scp:$dir/ali_train_pdf.scp"
  fi
fi

train_opts="--config $config --train-data $data --train-targets scp:$dir/ali_train_pdf.scp"
echo "$cmvn_opts" > $dir/cmvn_opts
train_opts+=" --num-pdfs $num_pdfs $cv_opts --cmvn-opts-file $dir/cmvn_opts --delta-order $delta_order"
train_opts+=" --splice $splice --seed $seed --num-threads $num_threads --device $device"
[ -n "$init_from" ] && train_opts+=" --init-from $init_from"
[ -n "$teacher" ] && train_opts+=" --teacher $teacher"
[ "$resume" = true ] && train_opts+=" --resume"
for o in $overrides; do train_opts+=" --set $o"; done
for m in $merge_configs; do train_opts+=" --merge $m"; done

launcher="bnn-train"
[ "$ngpu" -gt 1 ] && launcher="torchrun --standalone --nproc_per_node=$ngpu --no-python bnn-train"

$cmd $dir/log/train.log $launcher $train_opts $dir || exit 1
[ -f $dir/final.pt ] || { echo "$0: training ended without $dir/final.pt" >&2; exit 1; }
grep -h "epoch .*cv loss" $dir/log/train.log | tail -n 1 | sed "s|^|$0: |" >&2 || true
echo "$0: trained $dir/final.pt"
