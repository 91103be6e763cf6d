#!/usr/bin/env bash
# Binary nets dropped into a real Kaldi yesno s5 experiment (issue 8): Kaldi's features,
# alignments (exp/mono0a_ali) and const-FST graph (exp/mono0a/graph_tgpr) are used as they are;
# a float DNN and a binary-weights DNN are trained into ./exp and decoded; RESULTS.md puts
# Kaldi's own GMM WER beside theirs.  The Kaldi dir is only read.
set -euo pipefail

stage=0
stop_stage=100
nj=2
kaldi_dir=../../../shared/fixtures/kaldi_yesno_s5   # any Kaldi egs/yesno/s5 dir after its run.sh
nnet_configs="conf/dnn_float.yaml conf/dnn_binary_weights.yaml"
decode_opts="--min-lmwt 7 --max-lmwt 17"   # the LM-weight grid of Kaldi's score_kaldi.sh (its wer_7..17)

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

[ -d "$kaldi_dir" ] || { echo "$0: Kaldi yesno s5 dir '$kaldi_dir' not found: give --kaldi-dir <dir>" \
  "(the fixture lives in ../shared/fixtures/kaldi_yesno_s5 beside the repository)" >&2; exit 1; }

steps/kaldi_dropin.sh --stage $stage --stop-stage $stop_stage --nj $nj --cmd "$train_cmd" \
  --kaldi-dir "$kaldi_dir" --train-set train_yesno --dev-set "" --test-sets test_yesno \
  --ali-dir exp/mono0a_ali --graph-dir exp/mono0a/graph_tgpr --lang-dir data/lang_test_tg \
  --feats kaldi --nnet-configs "$nnet_configs" --decode-opts "$decode_opts" --results-title "yesno: nets in Kaldi's yesno s5 experiment"
