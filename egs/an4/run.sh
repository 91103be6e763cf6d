#!/usr/bin/env bash
# CMU AN4 (census / alphanumeric read speech, 16 kHz): hybrid HMM with float and binary DNNs on
# real continuous speech. Two ways in:
#   ./run.sh                          without Kaldi: stage 0 prepares data (lhotse manifests ->
#                                     Kaldi data dirs, speaker-disjoint dev) and dict; stages 1-8
#                                     are the shared steps/hybrid_asr.sh (lang, bigram LM,
#                                     features, the toolkit's monophone GMM, alignments, graph,
#                                     the nnet systems of conf/nnet_systems.txt, RESULTS.md).
#   ./run.sh --kaldi-dir <an4 s5 dir> on top of a Kaldi AN4 triphone experiment (default
#                                     ../shared/fixtures/kaldi_an4_s5): nets trained on its tri2b
#                                     alignments (senone targets), decoded with its tri2b graph,
#                                     its own GMM %WER lines as reference rows (steps/kaldi_dropin.sh).
set -euo pipefail
log() { local fname=${BASH_SOURCE[1]##*/}; echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2; }

stage=0
stop_stage=100
nj=2
corpus_dir=../../../shared/corpora/an4   # downloaded when absent
lm=                             # an ARPA LM to use instead of training the bigram (stage 2)
systems=conf/nnet_systems.txt   # nnet systems of the no-Kaldi path
only_systems=""                 # restrict the nnet stage to these system names
nnet_threads=2                  # torch threads per training job (2 cores)
# nnets on fbank: per-speaker mean and variance normalisation (Kaldi nnet1 fbank recipes)
nnet_cmvn_opts="--norm-means=true --norm-vars=true"
kaldi_dir=                      # a Kaldi AN4 s5 dir: run the drop-in path instead
kaldi_systems=conf/nnet_systems_kaldi.txt
kaldi_ali_dir=exp/tri2b_ali     # in --kaldi-dir
kaldi_graph_dir=exp/tri2b/graph # in --kaldi-dir
kaldi_cv_on_dev=true            # cross-validate the nets on the dev speakers (Kaldi's train
                                # alignments cover them); false: 10% of the training utterances
kaldi_work=kaldi_dropin         # data/, exp/, RESULTS.md of the drop-in path

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

if [ -n "$kaldi_dir" ]; then
  # The drop-in path keeps its own data/, exp/ and RESULTS.md in $kaldi_work (steps/kaldi_dropin.sh
  # imports the Kaldi sets under their Kaldi names, which are this recipe's names too).
  [ -d "$kaldi_dir" ] || { echo "$0: --kaldi-dir $kaldi_dir: no such directory (a Kaldi AN4 s5 dir" \
    "after its GMM stages, e.g. ../../../shared/fixtures/kaldi_an4_s5)" >&2; exit 1; }
  [ -f "$kaldi_dir/data/train/spk2utt" ] || { echo "$0: missing $kaldi_dir/data/train/spk2utt" >&2; exit 1; }
  kdir=$(cd "$kaldi_dir" && pwd)
  # dev = the same 8 training speakers as stage 0 holds out (alignments of train cover them)
  read -r dev_re train_re < <(local/dev_speaker_regex.sh "$kdir/data/train/spk2utt")
  dev_ali=
  if [ "$kaldi_cv_on_dev" = true ]; then dev_ali=$kaldi_ali_dir; fi
  mkdir -p $kaldi_work
  for f in steps utils conf local path.sh cmd.sh; do ln -sfn ../$f $kaldi_work/$f; done
  cd $kaldi_work
  steps/kaldi_dropin.sh --stage $stage --stop-stage $stop_stage --nj $nj --cmd "$train_cmd" \
    --kaldi-dir "$kdir" --train-set train_nodev --dev-set dev --test-sets test \
    --subsets "dev:train:$dev_re train_nodev:train:$train_re" \
    --ali-dir $kaldi_ali_dir --graph-dir $kaldi_graph_dir --lang-dir data/lang_test \
    --dev-ali-dir "$dev_ali" \
    --fbank-config conf/fbank.conf --cmvn-opts "$nnet_cmvn_opts" \
    --systems $kaldi_systems --only-systems "$only_systems" --nnet-threads $nnet_threads \
    --decode-opts "--min-lmwt 7 --max-lmwt 17 --word-ins-penalty 0.0,0.5,1.0" \
    --results-title "AN4: nets on the Kaldi triphone system's tri2b alignments and graph"
  exit 0
fi

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: AN4 data dirs (train / speaker-disjoint dev / test) and dictionary"
  local/prepare_data.sh --corpus-dir "$corpus_dir" --dict-dir data/local/dict data
fi

steps/hybrid_asr.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage $stop_stage --nj $nj \
  --train-set train --dev-set dev --test-sets test --oov "<UNK>" --lm-order 2 ${lm:+--lm "$lm"} \
  --mono-opts "--totgauss 1000" --systems $systems --only-systems "$only_systems" \
  --nnet-threads $nnet_threads --nnet-cmvn-opts "$nnet_cmvn_opts" \
  --decode-opts "--min-lmwt 7 --max-lmwt 17 --word-ins-penalty 0.0,0.5,1.0" \
  --results-title "AN4 (CMU census / alphanumeric read speech)"
