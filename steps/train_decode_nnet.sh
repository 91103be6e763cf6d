#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# One nnet system of a recipe: train it on the alignments (steps/train_nnet.sh), decode the dev
# and test sets through `bnn-forward ... ark:- | <decoder>` (steps/decode.sh) and score them.
# Skips what is already complete (final.pt, decode_<set>/.done), so a rerun resumes.
set -euo pipefail
echo "$0 $*"

# Begin configuration section.
nj=2
cmd=utils/run.pl
feat_suffix=        # nnet features live in data/<set><suffix> (e.g. _fbank)
train_set=train
dev_set=            # used for cross-validation when given, and decoded
dev_ali_dir=
cv_on_dev=true      # false: cross-validate on 10% of the training set; the dev set only picks the
                    # LM weight (Kaldi-dir recipes: no alignments of the dev set)
test_sets=test
ali_dir=exp/mono_ali
graph_dir=exp/mono/graph
init_from=          # model dir to initialise from (binary nets: the float baseline)
teacher=            # teacher model dir for knowledge distillation
merge_configs=      # YAML files deep-merged into the config (recipe model sizes)
overrides=          # config overrides "k=v k=v"
cmvn_opts=          # apply-cmvn options of the nnet input (default: the alignment dir's)
delta_order=2
splice=5
engine=torch        # bnn-forward engine for decoding: torch | packed
decode_suffix=      # decode into <exp-dir>/decode_<set><suffix> (e.g. _packed beside the torch one)
decode_opts=
num_threads=1
# End configuration section.

help_message="Usage: $0 [options] <nnet-config> <exp-dir>
 <nnet-config> is a YAML file, or the name of one in \$BNN_ROOT/conf/nnet (e.g. qian_bdnn).
e.g.: $0 --feat-suffix _fbank --dev-set dev --dev-ali-dir exp/mono_ali_dev dnn_sigmoid_6x1024 exp/dnn"

. utils/parse_options.sh
if [ $# -ne 2 ]; then echo "$help_message" >&2; exit 2; fi
config=$1; dir=$2
config=$(steps/lib/nnet_config.sh $config)

for f in $config $graph_dir/HCLG.fst data/$train_set$feat_suffix/feats.scp; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
for m in $init_from $teacher; do
  [ -f $m/final.pt ] || { echo "$0: missing $m/final.pt (train that system first)" >&2; exit 1; }
done

if [ ! -f $dir/final.pt ]; then
  train_opts=(--cmd "$cmd" --delta-order $delta_order --splice $splice --num-threads $num_threads)
  [ -n "$cmvn_opts" ] && train_opts+=(--cmvn-opts "$cmvn_opts")
  [ -n "$dev_set" ] && [ "$cv_on_dev" = true ] && train_opts+=(--cv-data data/$dev_set$feat_suffix --cv-ali-dir "${dev_ali_dir:-$ali_dir}")
  [ -n "$init_from" ] && train_opts+=(--init-from $init_from)
  [ -n "$teacher" ] && train_opts+=(--teacher $teacher)
  [ -n "$overrides" ] && train_opts+=(--overrides "$overrides")
  [ -n "$merge_configs" ] && train_opts+=(--merge-configs "$merge_configs")
  [ -f $dir/checkpoints/epoch_0.pt ] && train_opts+=(--resume true)
  steps/train_nnet.sh "${train_opts[@]}" $config data/$train_set$feat_suffix $ali_dir $dir
  bnn-model-report --output $dir/model_size.txt $dir/final.pt >/dev/null 2>$dir/log/model_report.log \
    || echo "$0: warning: model size report failed (see $dir/log/model_report.log)" >&2
fi

# The dev set is decoded over the LM-weight/penalty sweep; test sets only at dev's best.
for x in $dev_set $test_sets; do
  ddir=$dir/decode_$x$decode_suffix
  [ -f $ddir/.done ] && continue
  best_opts=()
  [ -n "$dev_set" ] && [ "$x" != "$dev_set" ] && best_opts=(--best-from $dir/decode_$dev_set$decode_suffix)
  steps/decode.sh --nj $nj --cmd "$cmd" --engine $engine $decode_opts ${best_opts[@]+"${best_opts[@]}"} \
    $graph_dir data/$x$feat_suffix $ddir
  touch $ddir/.done
done
echo "$0: done $dir"
