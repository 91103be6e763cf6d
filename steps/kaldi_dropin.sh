#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# Drop (binary) nets into an existing Kaldi s5 experiment (issue 8): train on its features and
# alignments, decode with its graph, and put Kaldi's own WER beside ours.  Nothing is written
# into --kaldi-dir: its data dirs are copied to <data-dir>/<set> with absolute scp paths
# (bnn-check-kaldi-dir), models and decodes go to <exp-dir>/<config name>/.
#
#   stage 0  checks (ali dir, num_jobs, graph words.txt vs lang, pdf counts, feats archives),
#            data dirs imported, Kaldi's cmvn_opts read (apply-cmvn as the GMM applied it)
#   stage 1  train each --nnet-configs file (steps/train_nnet.sh on the Kaldi alignments);
#            a config whose train.init_from names another system here starts from its model
#   stage 2  decode each test set with the Kaldi graph (steps/decode.sh: bnn-forward | decoder)
#   stage 3  RESULTS.md: Kaldi's GMM WER (<graph-dir>/../decode_<set>/wer_*) beside ours
set -euo pipefail
echo "$0 $*"
cmdline="$0 $*"
log() { local fname=${BASH_SOURCE[1]##*/}; echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2; }

# Begin configuration section.
kaldi_dir=                        # the Kaldi s5 dir (required); the paths below are relative to it
train_set=train_si284
dev_set=test_dev93                # imported and checked; used for cross-validation with --dev-ali-dir
dev_ali_dir=                      # alignments of --dev-set (default: hold out 10% of train)
test_sets="test_dev93 test_eval92"
ali_dir=exp/tri4b_ali_si284
graph_dir=exp/tri4b/graph_tgpr
lang_dir=data/lang                # the graph's words.txt must equal this lang's
nnet_configs=                     # space-separated conf/*.yaml, trained in this order
exp_dir=exp                       # ours, outside --kaldi-dir
data_dir=data                     # imported data dirs, outside --kaldi-dir
nj=2
cmd=utils/run.pl
stage=0
stop_stage=100
delta_order=2
splice=5
engine=torch                      # bnn-forward engine for decoding: torch | packed
decode_opts=                      # extra steps/decode.sh options, e.g. "--beam 13"
results=RESULTS.md
results_title="Kaldi drop-in"
# End configuration section.

help_message="Usage: $0 --kaldi-dir <s5-dir> --nnet-configs \"<cfg.yaml> ...\" [options]
Trains each config on the Kaldi dir's alignments and decodes its test sets with its graph.
e.g.: $0 --kaldi-dir ../kaldi_yesno_s5 --train-set train_yesno --dev-set '' --test-sets test_yesno \\
        --ali-dir exp/mono0a_ali --graph-dir exp/mono0a/graph_tgpr --nnet-configs conf/dnn_float.yaml"

. utils/parse_options.sh
if [ $# -ne 0 ] || [ -z "$kaldi_dir" ] || [ -z "$nnet_configs" ]; then
  echo "$help_message" >&2; exit 2
fi
[ -d "$kaldi_dir" ] || { echo "$0: --kaldi-dir $kaldi_dir: no such directory" >&2; exit 1; }
kdir=$(cd "$kaldi_dir" && pwd -P)
for f in $nnet_configs; do [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }; done
# Never write into the Kaldi dir, even when run from inside it.
for d in $exp_dir $data_dir; do
  mkdir -p $d
  case "$(cd $d && pwd -P)/" in
    "$kdir"/*) echo "$0: $d is inside --kaldi-dir $kdir; choose --exp-dir/--data-dir elsewhere" >&2; exit 1;;
  esac
done
abs() { case "$1" in /*) echo "$1";; *) echo "$kdir/$1";; esac; }
alidir=$(abs $ali_dir); graph=$(abs $graph_dir)
sysname() { basename "$1" .yaml; }

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: check $kdir and import $train_set ${dev_set} $test_sets to $data_dir/"
  bnn-check-kaldi-dir --train-set "$train_set" --dev-set "$dev_set" --test-sets "$test_sets" \
    --ali-dir "$ali_dir" --graph-dir "$graph_dir" --lang-dir "$lang_dir" --data-out $data_dir \
    --write-cmvn-opts $exp_dir/kaldi_cmvn_opts "$kdir" > $exp_dir/kaldi_dir_info
  sed "s|^|$0: |" $exp_dir/kaldi_dir_info >&2
fi
[ -f $exp_dir/kaldi_cmvn_opts ] || { echo "$0: missing $exp_dir/kaldi_cmvn_opts (run stage 0)" >&2; exit 1; }
cmvn_opts=$(cat $exp_dir/kaldi_cmvn_opts)

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  for config in $nnet_configs; do
    name=$(sysname $config); dir=$exp_dir/$name
    [ -f $dir/final.pt ] && { log "system $name: $dir/final.pt exists, not retraining"; continue; }
    opts=(--cmd "$cmd" --cmvn-opts "$cmvn_opts" --delta-order $delta_order --splice $splice)
    [ -n "$dev_set" ] && [ -n "$dev_ali_dir" ] && \
      opts+=(--cv-data $data_dir/$dev_set --cv-ali-dir "$(abs $dev_ali_dir)")
    init=$(python3 -c 'import sys
from bnn.train.config import load_config
from bnn.utils.errors import BnnError
try: print((load_config(sys.argv[1]).get("train") or {}).get("init_from") or "")
except BnnError as e: sys.exit(f"ERROR: {e}")' $config)
    if [ -n "$init" ]; then
      [ -f $exp_dir/$init/final.pt ] || { echo "$0: $config: train.init_from is '$init' but" \
        "$exp_dir/$init/final.pt does not exist (list its config earlier in --nnet-configs)" >&2; exit 1; }
      opts+=(--init-from $exp_dir/$init)
    fi
    log "Stage 1: system $name: $config ${init:+(initialised from $exp_dir/$init)}"
    steps/train_nnet.sh "${opts[@]}" $config $data_dir/$train_set $alidir $dir
  done
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  for config in $nnet_configs; do
    name=$(sysname $config)
    for x in $test_sets; do
      ddir=$exp_dir/$name/decode_$x
      [ -f $ddir/.done ] && continue
      # split_data.sh keeps speakers whole: no more jobs than speakers.
      nspk=$(cut -d' ' -f2 $data_dir/$x/utt2spk | sort -u | wc -l)
      dec_nj=$(( nj < nspk ? nj : nspk ))
      log "Stage 2: decode $x with $name ($dec_nj jobs) on $graph"
      steps/decode.sh --nj $dec_nj --cmd "$cmd" --engine $engine $decode_opts \
        $graph $data_dir/$x $ddir
      touch $ddir/.done
    done
  done
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  log "Stage 3: $results"
  rows=()
  gmm_dir=$(dirname $graph)
  for x in $test_sets; do
    if ls $gmm_dir/decode_$x/wer_* >/dev/null 2>&1; then
      rows+=("kaldi $(basename $gmm_dir) (Kaldi's own decode):$x:$gmm_dir/decode_$x")
    else
      echo "$0: no Kaldi WER for $x ($gmm_dir/decode_$x/wer_* absent)" >&2
    fi
    for config in $nnet_configs; do
      rows+=("$(sysname $config):$x:$exp_dir/$(sysname $config)/decode_$x")
    done
  done
  footer="Produced by \`$cmdline\` (in $(basename "$(pwd)")/) at git $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown),"
  footer+=" $(python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__)')."
  footer+=" Kaldi dir: $kaldi_dir; alignments $ali_dir, graph $graph_dir, CMVN: $cmvn_opts."
  bnn-kaldi-results --title "$results_title" --footer "$footer" --output $results "${rows[@]}"
fi
