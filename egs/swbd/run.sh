#!/usr/bin/env bash
# Switchboard 300 h: Qian & Xiang 2019 Tables 5-9 (BDNN, BCNN, knowledge distillation), reported
# on eval2000's Switchboard and CallHome parts and RT03S's Switchboard and Fisher parts, each
# separately, as Qian's tables are.  Two ways in:
#
#  --kaldi-dir <kaldi egs/swbd/s5c after its tri4 stages> (the main path): Kaldi's train_nodup,
#     train_dev, eval2000 (and rt03 when present), exp/tri4_ali_nodup and exp/tri4/graph_sw1_tg
#     are used as they are (nothing written there); stages are those of steps/kaldi_dropin.sh:
#       0 checks + import (+ the test subsets by utterance-id prefix)   1 fbank features
#       2 nnet systems   3 RESULTS.md (Kaldi's tri4 WER beside ours, Qian Tables 5-9)
#  --swbd-dir <LDC97S62> --eval2000-dir <dir> --lexicon <cmudict>: the raw corpus through lhotse's
#     recipes: 0 data dirs (local/prepare_data.sh), 1-8 steps/hybrid_asr.sh (no RT03S: lhotse has
#     no recipe for it)
set -euo pipefail

stage=0
stop_stage=100
nj=4
kaldi_dir=                        # main path: Kaldi's egs/swbd/s5c after tri4
ali_dir=exp/tri4_ali_nodup        # in --kaldi-dir
graph_dir=exp/tri4/graph_sw1_tg   # in --kaldi-dir
lang_dir=data/lang                # in --kaldi-dir
train_set=train_nodup
dev_set=train_dev                 # picks the LM weight (s5c holds it out of train)
swbd_dir=                         # raw corpus path: LDC97S62
eval2000_dir=                     # raw corpus path: LDC2002S09 + LDC2002T43
lexicon=                          # raw corpus path: CMUdict-format lexicon
feats=fbank                       # fbank (from wav.scp) | kaldi (the Kaldi dir's feats)
fbank_config=                     # default: $BNN_ROOT/conf/fbank_36.conf (36 bins, 8 kHz)
systems=conf/nnet_systems.txt
only_systems=
cmvn_opts="--norm-means=true --norm-vars=false"   # "mean normalized per speaker" (Qian Sec. 6.1)
decode_opts=
nnet_threads=1

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh
fbank_config=${fbank_config:-$BNN_ROOT/conf/fbank_36.conf}

subsets= test_sets="eval2000_swbd eval2000_callhm"
if [ -n "$kaldi_dir" ]; then
  # Qian's columns: eval2000 SWB / CH, RT03S FSH / SWB (Kaldi's utterance-id prefixes).
  subsets="eval2000_swbd:eval2000:^sw_ eval2000_callhm:eval2000:^en_"
  if [ -d "$kaldi_dir/data/rt03" ]; then
    subsets+=" rt03_swbd:rt03:^sw_ rt03_fsh:rt03:^fsh_"
  else
    echo "$0: no $kaldi_dir/data/rt03: RT03S is not decoded" >&2
  fi
  test_sets=$(for s in $subsets; do echo -n "${s%%:*} "; done)
else                             # the raw corpus: data dirs at stage 0, then our own pipeline
  if [ -z "$swbd_dir" ] || [ -z "$eval2000_dir" ] || [ -z "$lexicon" ]; then
    echo "$0: no corpus given: pass --kaldi-dir <kaldi>/egs/swbd/s5c (a Kaldi Switchboard experiment" \
      "after its tri4 stages: the main path), or the raw corpus: --swbd-dir <LDC97S62 dir>" \
      "--eval2000-dir <LDC2002S09+LDC2002T43 dir> --lexicon <CMUdict-format lexicon>" >&2
    exit 1
  fi
  if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
    local/prepare_data.sh "$swbd_dir" "$eval2000_dir" "$lexicon" data
  fi
fi
steps/corpus_recipe.sh --stage $stage --stop-stage $stop_stage --nj $nj --cmd "$train_cmd" \
  --kaldi-dir "$kaldi_dir" --ali-dir $ali_dir --graph-dir $graph_dir --lang-dir $lang_dir \
  --train-set $train_set --dev-set "$dev_set" --test-sets "$test_sets" --subsets "$subsets" \
  --feats $feats --fbank-config $fbank_config --delta-order 2 --splice 5 --cmvn-opts "$cmvn_opts" \
  --systems $systems --only-systems "$only_systems" --decode-opts "$decode_opts" \
  --nnet-threads $nnet_threads --paper-tables conf/paper_tables.yaml \
  --kaldi-title "Switchboard: nets on Kaldi's tri4 alignments (Qian & Xiang 2019 Tables 5-9)" \
  --own-title "Switchboard: the toolkit's own GMM and nets (Qian & Xiang 2019 Tables 5-9)"
