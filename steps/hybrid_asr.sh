#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# The shared hybrid HMM/(binary) DNN pipeline that every corpus recipe calls after its own data
# preparation (ESPnet's asr.sh design: corpus run.sh files stay thin).
#
#   stage 1  lang dir (utils/prepare_lang.sh) from data/local/dict
#   stage 2  G.fst (data/lang_test) from --lm <arpa>, or from an n-gram LM trained on the
#            training transcripts (the default)
#   stage 3  MFCC (GMM) and fbank (nnet) features + per-speaker CMVN for every set
#   stage 4  monophone GMM (steps/train_mono.sh)
#   stage 5  alignments of train (and dev) sets (steps/align_si.sh)
#   stage 6  HCLG graph, GMM decoding and scoring of dev/test
#   stage 7  nnet systems listed in --systems: train, decode, score (steps/train_decode_nnet.sh)
#   stage 8  RESULTS.md
set -euo pipefail
log() { local fname=${BASH_SOURCE[1]##*/}; echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2; }

# Begin configuration section.
stage=1
stop_stage=100
nj=2
train_set=train
dev_set=dev            # empty: none
test_sets="test"
oov="<UNK>"
lm_order=2
lm=""                 # an ARPA LM (.arpa or .arpa.gz) to use instead of training one in stage 2
sil_prob=0.5
mfcc_config=conf/mfcc.conf
fbank_config=conf/fbank.conf
mono_opts=""          # extra options of steps/train_mono.sh, e.g. "--totgauss 400"
decode_opts=""        # extra options of steps/decode*.sh, e.g. "--beam 13"
systems=conf/nnet_systems.txt   # one nnet system per line: <name> <config> [options]
only_systems=""       # restrict stage 7 to these system names
nnet_threads=1        # torch threads per nnet training job
nnet_cmvn_opts=""     # apply-cmvn options of the nnet fbank input (default: the GMM's)
results_title="Results"
# End configuration section.

help_message="Usage: $0 [options]   (no positional arguments; run in a recipe dir)
Runs the shared hybrid pipeline in a recipe dir (data/local/dict and data/<sets> prepared).
e.g.: $0 --stage 4 --stop-stage 6 --train-set train --dev-set dev --test-sets test
e.g.: $0 --lm data/local/lm/my_3gram.arpa.gz   (your own LM instead of training one)"

. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 2; }
. ./cmd.sh

eval_sets="$dev_set $test_sets"
all_sets="$train_set $eval_sets"

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  log "Stage 1: lang dir"
  utils/prepare_lang.sh --sil-prob $sil_prob --position-dependent-phones false \
    data/local/dict "$oov" data/local/lang_tmp data/lang
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  if [ -n "$lm" ]; then
    log "Stage 2: ARPA LM $lm -> data/lang_test/G.fst"
    [ -f "$lm" ] || { echo "$0: --lm $lm: no such file" >&2; exit 1; }
    utils/format_lm.sh data/lang "$lm" data/lang_test
  else
    log "Stage 2: ${lm_order}-gram LM on data/$train_set/text -> data/lang_test/G.fst"
    mkdir -p data/local/lm
    cut -d' ' -f2- data/$train_set/text > data/local/lm/train_text
    bnn-train-ngram --order $lm_order data/local/lm/train_text data/local/lm/lm.arpa
    utils/format_lm.sh data/lang data/local/lm/lm.arpa data/lang_test
  fi
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  log "Stage 3: features for $all_sets"
  for x in $all_sets; do
    if [ ! -f data/$x/feats.scp ] || [ ! -f data/$x/.feats.done ]; then
      steps/make_mfcc.sh --nj $nj --cmd "$train_cmd" --mfcc-config $mfcc_config \
        data/$x exp/make_mfcc/$x mfcc
      steps/compute_cmvn_stats.sh data/$x exp/make_mfcc/$x mfcc
      utils/validate_data_dir.sh data/$x
      touch data/$x/.feats.done
    fi
    if [ ! -f data/${x}_fbank/.feats.done ]; then
      utils/copy_data_dir.sh data/$x data/${x}_fbank
      rm -f data/${x}_fbank/{feats,cmvn}.scp
      steps/make_fbank.sh --nj $nj --cmd "$train_cmd" --fbank-config $fbank_config \
        data/${x}_fbank exp/make_fbank/$x fbank
      steps/compute_cmvn_stats.sh data/${x}_fbank exp/make_fbank/$x fbank
      utils/validate_data_dir.sh data/${x}_fbank
      touch data/${x}_fbank/.feats.done
    fi
    echo "$x: $(bnn-feat-to-dim scp:data/$x/feats.scp -)-dim MFCC, $(bnn-feat-to-dim scp:data/${x}_fbank/feats.scp -)-dim fbank" >&2
  done
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  log "Stage 4: monophone GMM"
  steps/train_mono.sh --nj $nj --cmd "$train_cmd" $mono_opts data/$train_set data/lang exp/mono
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  log "Stage 5: alignments"
  steps/align_si.sh --nj $nj --cmd "$train_cmd" data/$train_set data/lang exp/mono exp/mono_ali
  if [ -n "$dev_set" ]; then
    steps/align_si.sh --nj $nj --cmd "$train_cmd" data/$dev_set data/lang exp/mono exp/mono_ali_$dev_set
  fi
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  log "Stage 6: graph and GMM decoding"
  utils/mkgraph.sh data/lang_test exp/mono exp/mono/graph
  for x in $eval_sets; do  # dev: the LM-weight/penalty sweep; test sets: dev's best only
    best_opts=""
    if [ -n "$dev_set" ] && [ "$x" != "$dev_set" ]; then best_opts="--best-from exp/mono/decode_$dev_set"; fi
    steps/decode_gmm.sh --nj $nj --cmd "$decode_cmd" $decode_opts $best_opts exp/mono/graph \
      data/$x exp/mono/decode_$x
  done
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  log "Stage 7: nnet systems of $systems"
  [ -f "$systems" ] || { echo "$0: missing $systems" >&2; exit 1; }
  while read -r name config opts; do
    if [ -n "$only_systems" ] && ! echo " $only_systems " | grep -q " $name "; then continue; fi
    eval "extra=($opts)"
    log "system $name: $config ${extra[*]:-}"
    steps/train_decode_nnet.sh --nj $nj --cmd "$train_cmd" --feat-suffix _fbank \
      --train-set $train_set --dev-set "$dev_set" --test-sets "$test_sets" \
      --ali-dir exp/mono_ali --dev-ali-dir "${dev_set:+exp/mono_ali_$dev_set}" \
      --graph-dir exp/mono/graph --decode-opts "$decode_opts" --num-threads $nnet_threads --cmvn-opts "$nnet_cmvn_opts" ${extra[@]+"${extra[@]}"} \
      $config exp/$name </dev/null
  done < <(grep -v '^[[:space:]]*\(#\|$\)' "$systems")
fi

if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  log "Stage 8: RESULTS.md"
  cmdline="egs/$(basename $PWD)/run.sh (steps/hybrid_asr.sh --train-set $train_set --dev-set '$dev_set' --test-sets '$test_sets')"
  bnn-make-results-table --exp-dir exp --dev "$dev_set" --test "${test_sets%% *}" \
    --title "$results_title" --command "$cmdline" --output RESULTS.md
  # Model dirs with a training history.  No '[ test ] && cmd' as the last command of a loop
  # body: under set -e its status 1 on the last dir ended the recipe (issue 12).
  models=()
  for d in exp/*/; do
    if [ -f "$d/history.json" ]; then models+=("${d%/}"); fi
  done
  if [ ${#models[@]} -gt 0 ]; then
    bnn-plot-curves --output exp/curves_acc.png --title "$results_title: frame accuracy" "${models[@]}" \
      2>exp/curves.log || echo "$0: warning: bnn-plot-curves failed (exp/curves.log)" >&2
  fi
  if [ -f conf/paper_tables.yaml ]; then
    bnn-paper-tables --config conf/paper_tables.yaml --append-to RESULTS.md exp >/dev/null
  fi
fi
