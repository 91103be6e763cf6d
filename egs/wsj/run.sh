#!/usr/bin/env bash
# WSJ (si284 / dev93 / eval92): Lu, Rao & Renals 2017 Tables 1-3 (binary weights, binary
# activations, binary neural networks).  Two ways in:
#
#  --kaldi-dir <kaldi egs/wsj/s5 after its tri4b stages> (the main path): Kaldi's data sets,
#     tri4b alignments and graph_tgpr are used as they are (nothing written there); stages are
#     those of steps/kaldi_dropin.sh:
#       0 checks + import   1 fbank features from wav.scp   2 nnet systems (train, decode)
#       3 RESULTS.md (Kaldi's tri4b WER beside ours, Lu Tables 1-3)
#  --wsj0 <LDC93S6B dir> --wsj1 <LDC94S13B dir> --lexicon <cmudict>: the raw corpus:
#       0 data dirs from the LDC discs (local/prepare_data.sh), dict dir from the lexicon;
#       1-8 the toolkit's own pipeline (steps/hybrid_asr.sh: lang, LM, features, monophone GMM,
#       alignments, graph, nnet systems, RESULTS.md)
set -euo pipefail

stage=0
stop_stage=100
nj=4
kaldi_dir=                              # main path: Kaldi's egs/wsj/s5 after run.sh's tri4b
ali_dir=exp/tri4b_ali_si284             # in --kaldi-dir
graph_dir=exp/tri4b/graph_tgpr          # in --kaldi-dir
lang_dir=data/lang                      # in --kaldi-dir: the graph's words.txt must equal its
train_set=train_si284
dev_set=test_dev93                      # picks the LM weight for eval92, as Lu et al.
test_sets=test_eval92
wsj0=                                   # raw corpus path: LDC93S6B
wsj1=                                   # raw corpus path: LDC94S13B
lexicon=                                # raw corpus path: CMUdict-format lexicon
feats=fbank                             # fbank (from wav.scp) | kaldi (the Kaldi dir's own feats)
systems=conf/nnet_systems.txt
only_systems=
cmvn_opts="--norm-means=true --norm-vars=true"   # per speaker (Lu et al. do not say; Kaldi nnet1's fbank setting)
decode_opts=
nnet_threads=1

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh
fbank_config=$BNN_ROOT/conf/fbank_40.conf     # 40 log mel bins, 16 kHz (Lu et al.)

if [ -z "$kaldi_dir" ]; then     # the raw corpus: data dirs at stage 0, then our own pipeline
  if [ -z "$wsj0" ] || [ -z "$wsj1" ] || [ -z "$lexicon" ]; then
    echo "$0: no corpus given: pass --kaldi-dir <kaldi>/egs/wsj/s5 (a Kaldi WSJ experiment after its" \
      "tri4b stages: the main path), or the raw LDC corpus: --wsj0 <LDC93S6B dir> --wsj1 <LDC94S13B dir>" \
      "--lexicon <CMUdict-format lexicon>" >&2
    exit 1
  fi
  if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
    local/prepare_data.sh "$wsj0" "$wsj1" "$lexicon" data
  fi
fi
steps/corpus_recipe.sh --stage $stage --stop-stage $stop_stage --nj $nj --cmd "$train_cmd" \
  --kaldi-dir "$kaldi_dir" --ali-dir $ali_dir --graph-dir $graph_dir --lang-dir $lang_dir \
  --train-set $train_set --dev-set "$dev_set" --test-sets "$test_sets" \
  --feats $feats --fbank-config $fbank_config --delta-order 1 --splice 5 --cmvn-opts "$cmvn_opts" \
  --systems $systems --only-systems "$only_systems" --decode-opts "$decode_opts" \
  --nnet-threads $nnet_threads --paper-tables conf/paper_tables.yaml \
  --kaldi-title "WSJ: nets on Kaldi's tri4b alignments (Lu et al. 2017 Tables 1-3)" \
  --own-title "WSJ: the toolkit's own GMM and nets (Lu et al. 2017 Tables 1-3)"
