#!/usr/bin/env bash
# AMI individual headset microphones (IHM): Lu, Rao & Renals 2017 Table 4 (2048-unit binary
# weights / activations / BNN).  Two ways in:
#
#  --kaldi-dir <kaldi egs/ami/s5b after its tri3 stages> (the main path): Kaldi's data/ihm sets,
#     exp/ihm/tri3_ali and the tri3 graph are used as they are (nothing written there); stages
#     are those of steps/kaldi_dropin.sh:
#       0 checks + import   1 fbank features from wav.scp (+ segments)   2 nnet systems
#       3 RESULTS.md (Kaldi's tri3 WER beside ours, Lu Table 4)
#  --ami-dir <amicorpus> --lexicon <cmudict>: the raw corpus through lhotse's AMI recipe:
#       0 data dirs (local/prepare_data.sh), 1-8 the toolkit's own pipeline (steps/hybrid_asr.sh)
set -euo pipefail

stage=0
stop_stage=100
nj=4
mic=ihm
kaldi_dir=                                   # main path: Kaldi's egs/ami/s5b after tri3
lm=ami_fsh.o3g.kn.pr1-7                      # s5b's final LM: graph_$lm, decode_<set>_$lm
ali_dir=                                     # in --kaldi-dir (default exp/$mic/tri3_ali)
graph_dir=                                   # in --kaldi-dir (default exp/$mic/tri3/graph_$lm)
lang_dir=data/lang                           # in --kaldi-dir
ami_dir=                                     # raw corpus path: the AMI corpus (amicorpus/)
lexicon=                                     # raw corpus path: CMUdict-format lexicon
feats=fbank                                  # fbank (from wav.scp) | kaldi (the Kaldi dir's feats)
systems=conf/nnet_systems.txt
only_systems=
cmvn_opts="--norm-means=true --norm-vars=true"   # per speaker (Lu et al. do not say; Kaldi nnet1's fbank setting)
decode_opts=
nnet_threads=1

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh
fbank_config=$BNN_ROOT/conf/fbank_40.conf     # 40 log mel bins, 16 kHz (Lu et al.)
ali_dir=${ali_dir:-exp/$mic/tri3_ali}
graph_dir=${graph_dir:-exp/$mic/tri3/graph_$lm}

if [ -z "$kaldi_dir" ]; then     # the raw corpus: data dirs at stage 0, then our own pipeline
  if [ -z "$ami_dir" ] || [ -z "$lexicon" ]; then
    echo "$0: no corpus given: pass --kaldi-dir <kaldi>/egs/ami/s5b (a Kaldi AMI experiment after its" \
      "tri3 stages: the main path), or the raw corpus: --ami-dir <amicorpus dir> --lexicon <CMUdict-format lexicon>" >&2
    exit 1
  fi
  if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
    local/prepare_data.sh --mic $mic "$ami_dir" "$lexicon" data
  fi
fi
steps/corpus_recipe.sh --stage $stage --stop-stage $stop_stage --nj $nj --cmd "$train_cmd" \
  --kaldi-dir "$kaldi_dir" --ali-dir $ali_dir --graph-dir $graph_dir --lang-dir $lang_dir \
  --train-set $mic/train --dev-set $mic/dev --test-sets $mic/eval \
  --own-train-set ${mic}_train --own-dev-set ${mic}_dev --own-test-sets ${mic}_eval \
  --feats $feats --fbank-config $fbank_config --delta-order 1 --splice 5 --cmvn-opts "$cmvn_opts" \
  --systems $systems --only-systems "$only_systems" --decode-opts "$decode_opts" \
  --nnet-threads $nnet_threads --paper-tables conf/paper_tables.yaml \
  --kaldi-title "AMI $mic: nets on Kaldi's tri3 alignments (Lu et al. 2017 Table 4)" \
  --own-title "AMI $mic: the toolkit's own GMM and nets (Lu et al. 2017 Table 4)"
