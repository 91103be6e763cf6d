#!/usr/bin/env bash
# Binary keyword spotting on Google Speech Commands (BiFSMNv2, Qin et al. 2023, and baselines).
# Stage 0 prepares lhotse manifests; stages 1-5 are the shared pipeline steps/kws/run_kws.sh
# (teacher, students, evaluation with the packed engine, bnn-bench --kws, RESULTS.md).
#
# Default (this machine): the official v0.02 *test set* split by speaker 70/10/20 into
# train/dev/test (bnn.kws.manifests), 12 classes.  --full true: the full corpus through lhotse's
# speechcommands recipe (--version 1|2, --download true to fetch it), the official splits.
set -euo pipefail
log() { local fname=${BASH_SOURCE[1]##*/}; echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2; }

stage=0
stop_stage=100
corpus_dir=../../../shared/corpora/speech_commands_test_v0.02  # --full true: the full corpus dir
full=false             # true: full Speech Commands via lhotse (needs the corpus or --download)
version=2
download=false
task=sc12              # sc35: the 35 words of the full v2 (+ _silence_ when present)
size_conf=conf/size.yaml   # half-width model, 10 epochs (see the file); "" for the paper's size
teacher_epochs=15
students="bnn xnor bifsmnv2_nokd bifsmnv2 bifsmnv2_long"
long_epochs=30         # epochs of bifsmnv2_long (batch 32; the others: conf/size.yaml); chosen on dev
parallel=2
num_threads=1
bench_opts=""

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: lhotse manifests"
  if [ ! -f data/manifests/.done ]; then
    if [ "$full" = true ]; then
      if [ ! -d "$corpus_dir" ] && [ "$download" != true ]; then
        echo "$0: full Speech Commands not found at $corpus_dir; pass --corpus-dir or --download true" >&2
        exit 1
      fi
      bnn-kws-prepare --corpus sc-full --version $version --download $download "$corpus_dir" data/manifests
    else
      if [ ! -d "$corpus_dir" ]; then
        echo "$0: Speech Commands test set not found at $corpus_dir (expected speech_commands_test_v0.02 with one folder per word); pass --corpus-dir" >&2
        exit 1
      fi
      bnn-kws-prepare --corpus sc-local "$corpus_dir" data/manifests
    fi
  fi
fi

steps/kws/run_kws.sh --stage $(( stage > 1 ? stage : 1 )) --stop-stage $stop_stage \
  --cmd "$train_cmd" --merge-configs "$size_conf" --overrides "task=$task" --teacher-overrides "train.epochs=$teacher_epochs" \
  --students "$students" --student-overrides "bifsmnv2_long:train.epochs=$long_epochs" \
  --parallel $parallel --num-threads $num_threads --bench-opts "$bench_opts" \
  --title "Speech Commands keyword spotting ($task)" --protocol conf/protocol.md --notes conf/notes.md data/manifests
