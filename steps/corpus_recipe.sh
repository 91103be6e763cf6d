#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# The two ways into a corpus recipe (egs/wsj, egs/ami, egs/swbd), shared so that their run.sh
# files keep only what differs per corpus (set names, sizes, features, titles):
#
#   --kaldi-dir <s5 dir>   the user's Kaldi experiment: steps/kaldi_dropin.sh (its stages 0-3)
#   otherwise              the raw corpus, prepared by the recipe's local/ script at stage 0
#                          (run.sh does that), then the toolkit's own pipeline,
#                          steps/hybrid_asr.sh (stages 1-8), on the --own-* set names.
set -euo pipefail

# Begin configuration section.
stage=0
stop_stage=100
nj=4
cmd=utils/run.pl
kaldi_dir=            # the user's Kaldi s5 dir; empty: the raw-corpus path
ali_dir=              # in --kaldi-dir
graph_dir=            # in --kaldi-dir
lang_dir=data/lang    # in --kaldi-dir
train_set=            # Kaldi's set names (--kaldi-dir)
dev_set=
test_sets=
subsets=              # steps/kaldi_dropin.sh --subsets
own_train_set=        # set names of the raw-corpus path (default: the Kaldi names)
own_dev_set=
own_test_sets=
feats=fbank           # fbank (from wav.scp) | kaldi (the Kaldi dir's feats)
fbank_config=
delta_order=2
splice=5
cmvn_opts=
systems=conf/nnet_systems.txt
only_systems=
decode_opts=
nnet_threads=1
paper_tables=
kaldi_title="Kaldi drop-in"
own_title="Results"
# End configuration section.
help_message="Usage: $0 [options]   (no positional arguments; run in a corpus recipe dir)
Trains and decodes the recipe's nnet systems on the user's Kaldi experiment (--kaldi-dir) or,
without it, runs the toolkit's own pipeline on the data dirs that the recipe's stage 0 prepared.
e.g.: $0 --kaldi-dir ~/kaldi/egs/wsj/s5 --ali-dir exp/tri4b_ali_si284 --graph-dir exp/tri4b/graph_tgpr \\
        --train-set train_si284 --dev-set test_dev93 --test-sets test_eval92 --delta-order 1"
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 2; }

if [ -n "$kaldi_dir" ]; then
  exec steps/kaldi_dropin.sh --stage $stage --stop-stage $stop_stage --nj $nj --cmd "$cmd" \
    --kaldi-dir "$kaldi_dir" --train-set "$train_set" --dev-set "$dev_set" \
    --test-sets "$test_sets" --subsets "$subsets" --ali-dir "$ali_dir" --graph-dir "$graph_dir" \
    --lang-dir "$lang_dir" --feats $feats --fbank-config "$fbank_config" \
    --delta-order $delta_order --splice $splice --cmvn-opts "$cmvn_opts" \
    --systems $systems --only-systems "$only_systems" --decode-opts "$decode_opts" \
    --nnet-threads $nnet_threads --paper-tables "$paper_tables" --results-title "$kaldi_title"
fi

exec steps/hybrid_asr.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage $stop_stage --nj $nj \
  --train-set "${own_train_set:-$train_set}" --dev-set "${own_dev_set:-$dev_set}" \
  --test-sets "${own_test_sets:-$test_sets}" --oov "<UNK>" --lm-order 3 \
  --fbank-config "$fbank_config" --nnet-cmvn-opts "$cmvn_opts" --systems $systems \
  --only-systems "$only_systems" --nnet-threads $nnet_threads --decode-opts "$decode_opts" \
  --results-title "$own_title"
