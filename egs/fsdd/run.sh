#!/usr/bin/env bash
# Connected digits built from the Free Spoken Digit Dataset: monophone GMM, float DNN baseline and
# the binary networks of Lu et al. 2017 and Qian & Xiang 2019 (conf/nnet_systems.txt), decoded
# through `bnn-forward ... ark:- | decoder` and scored into RESULTS.md.
# Stage 0 is this corpus's data prep; stages 1-8 are the shared steps/hybrid_asr.sh.
set -euo pipefail
log() { local fname=${BASH_SOURCE[1]##*/}; echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2; }

stage=0
stop_stage=100
nj=2
seed=777
corpus_dir=../../../shared/corpora/fsdd/recordings   # downloaded when absent
systems=conf/nnet_systems.txt   # the nnet grid (issue: binary acoustic models)
nnet_threads=2                  # torch threads per training job (2 cores)
# nnets on fbank: per-speaker mean and variance normalisation, as Kaldi's nnet1 fbank recipes
nnet_cmvn_opts="--norm-means=true --norm-vars=true"
only_systems=""                 # e.g. "dnn_float lu_bw_p0" (make demo)
lm=""   # an ARPA LM (.arpa[.gz]) for stage 2 instead of training one on the transcripts

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: connected-digit corpus, data dirs and dictionary"
  local/prepare_data.sh --corpus-dir "$corpus_dir" --seed $seed data
  local/prepare_dict.sh data/local/dict
fi

steps/hybrid_asr.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage $stop_stage --nj $nj \
  --train-set train --dev-set dev --test-sets test --oov "<UNK>" --lm-order 2 \
  --lm "$lm" --mono-opts "--totgauss 1000" --systems $systems --only-systems "$only_systems" --nnet-threads $nnet_threads \
  --nnet-cmvn-opts "$nnet_cmvn_opts" \
  --decode-opts "--min-lmwt 6 --max-lmwt 14 --word-ins-penalty 0.0,1.0" \
  --results-title "FSDD connected digits"
