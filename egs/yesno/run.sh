#!/usr/bin/env bash
# Kaldi's yesno corpus with a monophone GMM and a DNN (Kaldi egs/yesno/s5 plus a hybrid DNN).
# Stages 1-8 are the shared pipeline steps/hybrid_asr.sh; stage 0 is this corpus's data prep.
set -euo pipefail
log() { local fname=${BASH_SOURCE[1]##*/}; echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2; }

stage=0
stop_stage=100
nj=1   # one speaker ("global"): split_data.sh keeps speakers whole, as Kaldi
corpus_dir=../../../shared/corpora/yesno/waves_yesno  # downloaded from openslr when absent
systems=conf/nnet_systems.txt  # conf/nnet_systems_ci.txt: the binary grid CI runs
lm=""   # an ARPA LM (.arpa[.gz]) for stage 2 instead of training one on the transcripts

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: data and dictionary"
  local/prepare_data.sh --corpus-dir "$corpus_dir" data
  local/prepare_dict.sh data/local/dict
fi

steps/hybrid_asr.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage $stop_stage --nj $nj \
  --train-set train_yesno --dev-set "" --test-sets test_yesno --oov "<SIL>" --lm-order 1 \
  --lm "$lm" --mono-opts "--totgauss 400" --systems $systems --results-title "yesno"
