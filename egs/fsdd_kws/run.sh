#!/usr/bin/env bash
# Binary keyword spotting on FSDD isolated digits (10 keywords, speaker-disjoint test set):
# the same pipeline as egs/speech_commands (steps/kws/run_kws.sh), small enough for CI.
set -euo pipefail
log() { local fname=${BASH_SOURCE[1]##*/}; echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2; }

stage=0
stop_stage=100
corpus_dir=../../../shared/corpora/fsdd   # holds recordings/{digit}_{speaker}_{take}.wav
size_conf=conf/size.yaml                  # conf/size_ci.yaml: the tiny CI settings
students="bnn xnor bifsmnv2_nokd bifsmnv2"
teacher_epochs=12
parallel=1
num_threads=1
bench_opts="--quick"
limit=0                                   # >0: at most this many clips per set (CI)

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: lhotse manifests"
  if [ ! -f data/manifests/.done ]; then
    if [ ! -d "$corpus_dir/recordings" ]; then
      echo "$0: FSDD not found at $corpus_dir (expected recordings/{digit}_{speaker}_{take}.wav); pass --corpus-dir" >&2
      exit 1
    fi
    bnn-kws-prepare --corpus fsdd --limit $limit "$corpus_dir" data/manifests
  fi
fi

steps/kws/run_kws.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage $stop_stage \
  --cmd "$train_cmd" --merge-configs "$size_conf" --overrides "task=fsdd10" \
  --teacher-overrides "train.epochs=$teacher_epochs" --students "$students" \
  --parallel $parallel --num-threads $num_threads --bench-opts "$bench_opts" \
  --title "FSDD digit keyword spotting (10 classes)" --protocol conf/protocol.md --notes conf/notes.md data/manifests
