#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# Nnet systems on top of an existing Kaldi s5 experiment (issues 8, 13): the one shared step
# behind every recipe's --kaldi-dir path (egs/wsj, egs/ami, egs/swbd, egs/an4, egs/kaldi_yesno).
# Trains on the Kaldi alignment dir (senone targets), decodes with its graph, and puts Kaldi's own
# GMM WER beside ours.  Nothing is written into --kaldi-dir: its data dirs are imported to
# data/<set> (absolute scp paths; wav.scp pipes run from the Kaldi dir, as Kaldi runs them),
# features and models go to data/ and --exp-dir of the recipe.
#
#   stage 0  checks (alignments, graph words.txt vs lang, pdf counts, archives, wav.scp tools)
#            and import of the train/dev/test data dirs (+ --subsets by utterance-id pattern)
#   stage 1  features: --feats fbank: computed by the toolkit from each wav.scp with
#            --fbank-config (steps/make_fbank.sh), per-speaker CMVN stats -> data/<set>_<conf>;
#            --feats kaldi: the Kaldi dir's own feats.scp/cmvn.scp (already imported)
#   stage 2  nnet systems of --systems (steps/train_decode_nnet.sh per line): trained on the
#            alignments, the dev set decoded over the LM-weight/penalty sweep, every test set at
#            the dev set's best (or at its own best when there is no dev set)
#   stage 3  RESULTS.md: Kaldi's GMM %WER lines (reference rows) beside ours, and the papers'
#            tables (bnn-paper-tables) when --paper-tables is given
set -euo pipefail
echo "$0 $*"
cmdline="$0 $*"
log() { local fname=${BASH_SOURCE[1]##*/}; echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2; }

# Begin configuration section.
kaldi_dir=                        # the Kaldi s5 dir (required); the paths below are relative to it
train_set=train_si284
dev_set=test_dev93                # picks the LM weight/penalty for the test sets ('' = none)
dev_ali_dir=                      # alignments of --dev-set: cross-validate on it (default:
                                  # hold out 10% of the training set, as Kaldi's nnet recipes)
test_sets="test_eval92"           # decoded at the dev set's best LM weight/penalty
subsets=                          # "<new>:<set>:<utt-id regex> ..." data subsets made at stage 0
                                  # (e.g. eval2000's Switchboard part: eval2000_sw:eval2000:^sw_)
ali_dir=exp/tri4b_ali_si284
graph_dir=exp/tri4b/graph_tgpr
lang_dir=data/lang                # the graph's words.txt must equal this lang's
kaldi_decode_dirs=                # "<set>:<dir> ..." Kaldi's GMM decode dirs for the reference
                                  # rows (default: found next to the graph, see bnn-kaldi-results)
systems=                          # systems file: <name> <config> [train_decode_nnet.sh options]
nnet_configs=                     # or: YAML configs, each a system named after its file
only_systems=                     # restrict stage 2 to these system names
feats=fbank                       # fbank (computed from wav.scp) | kaldi (the Kaldi dir's feats)
fbank_config=                     # Kaldi option file (default: $BNN_ROOT/conf/fbank_40.conf)
cmvn_opts=                        # apply-cmvn options of the nnet input (default: fbank:
                                  # per-speaker means; kaldi: as the GMM used them)
delta_order=2
splice=5
exp_dir=exp                       # ours, outside --kaldi-dir
nj=2
cmd=utils/run.pl
stage=0
stop_stage=100
engine=torch                      # bnn-forward engine for decoding: torch | packed
decode_opts=                      # extra steps/decode.sh options, e.g. "--beam 13"
nnet_threads=1
paper_tables=                     # conf/paper_tables.yaml: the papers' tables (bnn-paper-tables)
results=RESULTS.md
results_title="Kaldi drop-in"
# End configuration section.

help_message="Usage: $0 --kaldi-dir <s5-dir> (--systems <file> | --nnet-configs \"<cfg.yaml> ...\") [options]
Trains each system on the Kaldi dir's alignments and decodes its dev/test sets with its graph.
e.g.: $0 --kaldi-dir /kaldi/egs/wsj/s5 --train-set train_si284 --dev-set test_dev93 \\
        --test-sets test_eval92 --ali-dir exp/tri4b_ali_si284 --graph-dir exp/tri4b/graph_tgpr \\
        --fbank-config conf/fbank_40.conf --delta-order 1 --systems conf/nnet_systems.txt"

. utils/parse_options.sh
if [ $# -ne 0 ] || [ -z "$kaldi_dir" ] || { [ -z "$systems" ] && [ -z "$nnet_configs" ]; }; then
  echo "$help_message" >&2; exit 2
fi
case $feats in fbank|kaldi) ;; *) echo "$0: --feats must be fbank or kaldi, got '$feats'" >&2; exit 2;; esac
[ -d "$kaldi_dir" ] || { echo "$0: --kaldi-dir $kaldi_dir: no such directory" >&2; exit 1; }
kdir=$(cd "$kaldi_dir" && pwd -P)
bnn_root=${BNN_ROOT:-$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)}
[ -n "$fbank_config" ] || fbank_config=$bnn_root/conf/fbank_40.conf
[ -z "$systems" ] || [ -f "$systems" ] || { echo "$0: missing $systems" >&2; exit 1; }
[ "$feats" = kaldi ] || [ -f "$fbank_config" ] || { echo "$0: missing $fbank_config" >&2; exit 1; }
for f in $nnet_configs; do [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }; done
# Never write into the Kaldi dir, even when run from inside it.
for d in $exp_dir data; do
  mkdir -p $d
  case "$(cd $d && pwd -P)/" in
    "$kdir"/*) echo "$0: $d is inside --kaldi-dir $kdir; run the recipe elsewhere (--exp-dir)" >&2; exit 1;;
  esac
done
abs() { case "$1" in /*) echo "$1";; *) echo "$kdir/$1";; esac; }
alidir=$(abs $ali_dir); graph=$(abs $graph_dir)
# Kaldi's set names (AMI: ihm/train) are data/<name> in the Kaldi dir; ours are flat (ihm_train).
flat() { for x in "$@"; do echo -n "${x//\//_} "; done; }
kaldi_sets="$train_set $dev_set $test_sets"
declare -A kaldi_name
for x in $kaldi_sets; do kaldi_name[${x//\//_}]=$x; done
train_set=$(flat $train_set); dev_set=$(flat $dev_set); test_sets=$(flat $test_sets)
train_set=${train_set% }; dev_set=${dev_set% }
eval_sets="$dev_set $(for x in $test_sets; do [ "$x" = "$dev_set" ] || echo $x; done | tr '\n' ' ')"
# Sets imported from the Kaldi dir: the subsets are made from their parents.
sub_names=""; sub_parents=""
for s in $subsets; do
  IFS=: read -r new parent _ <<< "$s"
  sub_names+=" $new"; sub_parents+=" $parent"
done
import_sets=$(for x in $kaldi_sets $sub_parents; do
  echo " $sub_names " | grep -q " $x " || echo $x; done | awk '!seen[$0]++' | tr '\n' ' ')
kaldi_train_set=${kaldi_sets%% *}
# a training set made by --subsets is checked through its parent (the Kaldi set its alignments cover)
for s in $subsets; do
  IFS=: read -r new parent _ <<< "$s"
  if [ "$new" = "$kaldi_train_set" ]; then kaldi_train_set=$parent; fi
done
if [ "$feats" = fbank ]; then
  fsuffix=_$(basename $fbank_config .conf)
else
  fsuffix=
fi
check() {  # <checks> [--data-out data]: bnn-check-kaldi-dir on this run's sets
  local what=$1; shift
  bnn-check-kaldi-dir --checks "$what" --train-set "$kaldi_train_set" --dev-set "" \
    --test-sets "$(for x in $import_sets; do [ "$x" = "$kaldi_train_set" ] || echo $x; done)" \
    --need-feats $([ $feats = kaldi ] && echo true || echo false) \
    --ali-dir "$ali_dir" --graph-dir "$graph_dir" --lang-dir "$lang_dir" "$@" "$kdir"
}
# The tools Kaldi's path.sh puts on PATH for wav.scp pipes (sph2pipe ...).
tool_dirs=$(bnn-check-kaldi-dir --print-tool-dirs "$kdir")
export PATH=$PATH:$tool_dirs

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  stamp="$kdir $train_set $import_sets $ali_dir $graph_dir $lang_dir $subsets $feats"
  if [ -f data/.kaldi_import.done ] && [ "$(cat data/.kaldi_import.done)" = "$stamp" ]; then
    log "Stage 0: data/ already imported from $kdir (data/.kaldi_import.done); skipping"
  else
    log "Stage 0: check $kdir and import $import_sets to data/"
    checks=ali,graph,data
    [ $feats = fbank ] && checks+=,wav
    check $checks --data-out data --write-cmvn-opts $exp_dir/kaldi_cmvn_opts > $exp_dir/kaldi_dir_info
    sed "s|^|$0: |" $exp_dir/kaldi_dir_info >&2
    for s in $subsets; do
      IFS=: read -r new parent pattern <<< "$s"
      cut -d' ' -f1 data/$parent/utt2spk | { grep -E "$pattern" || true; } > data/.subset_$new.list
      [ -s data/.subset_$new.list ] || { echo "$0: --subsets $s: no utterance of data/$parent/utt2spk matches '$pattern'" >&2; exit 1; }
      rm -rf data/$new
      bnn-subset-data-dir --utt-list data/.subset_$new.list data/$parent data/$new
      log "subset $new: $(wc -l < data/$new/utt2spk) utterances of $parent matching '$pattern'"
    done
    echo "$stamp" > data/.kaldi_import.done
  fi
fi
[ -f $exp_dir/kaldi_cmvn_opts ] || { echo "$0: missing $exp_dir/kaldi_cmvn_opts (run stage 0)" >&2; exit 1; }

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  if [ $feats = kaldi ]; then
    log "Stage 1: --feats kaldi: the Kaldi dir's own features (imported at stage 0)"
  else
    log "Stage 1: $(basename $fbank_config .conf) features of $train_set $eval_sets from their wav.scp"
    check wav
    for x in $train_set $eval_sets; do
      fd=data/$x$fsuffix
      if [ -f $fd/.feats.done ]; then log "$fd: features exist; skipping"; continue; fi
      [ -f data/$x/wav.scp ] || { echo "$0: missing data/$x/wav.scp (stage 0 imports it)" >&2; exit 1; }
      rm -rf $fd
      utils/copy_data_dir.sh data/$x $fd >&2
      rm -f $fd/feats.scp $fd/cmvn.scp $fd/utt2num_frames
      nspk=$(wc -l < $fd/spk2utt)
      steps/make_fbank.sh --nj $(( nj < nspk ? nj : nspk )) --cmd "$cmd" --fbank-config $fbank_config \
        $fd $exp_dir/make_fbank/$x$fsuffix $fd/data >&2
      steps/compute_cmvn_stats.sh $fd $exp_dir/make_fbank/$x$fsuffix $fd/data >&2
      touch $fd/.feats.done
    done
  fi
fi

if [ -n "$cmvn_opts" ]; then nnet_cmvn=$cmvn_opts
elif [ $feats = kaldi ]; then nnet_cmvn=$(cat $exp_dir/kaldi_cmvn_opts)
else nnet_cmvn="--norm-means=true --norm-vars=false"
fi

# The systems: lines "<name> <config> [options]" of --systems, then each --nnet-configs file
# (named after the file; its train.init_from names a system here to start from).
systems_list=$exp_dir/systems.txt
{
  [ -n "$systems" ] && grep -v '^[[:space:]]*\(#\|$\)' "$systems"
  for config in $nnet_configs; do
    init=$(python3 -c 'import sys
from bnn.train.config import load_config
from bnn.utils.errors import BnnError
try: print((load_config(sys.argv[1]).get("train") or {}).get("init_from") or "")
except BnnError as e: sys.exit(f"ERROR: {e}")' $config)
    echo "$(basename $config .yaml) $config${init:+ --init-from $exp_dir/$init}"
  done
} > $systems_list

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  log "Stage 2: nnet systems of ${systems:-$nnet_configs} on $alidir, decoded with $graph"
  check ali,graph > /dev/null
  # split_data.sh keeps speakers whole: no more decoding jobs than the smallest set's speakers.
  dec_nj=$nj
  for x in $eval_sets; do
    nspk=$(cut -d' ' -f2 data/$x/utt2spk | sort -u | wc -l)
    if [ $nspk -lt $dec_nj ]; then dec_nj=$nspk; fi
  done
  dev_opts=(--dev-set "$dev_set")
  [ -n "$dev_set" ] && [ -z "$dev_ali_dir" ] && dev_opts+=(--cv-on-dev false)
  [ -n "$dev_ali_dir" ] && dev_opts+=(--dev-ali-dir "$(abs $dev_ali_dir)")
  while read -r name config opts; do
    if [ -n "$only_systems" ] && ! echo " $only_systems " | grep -q " $name "; then continue; fi
    eval "extra=($opts)"
    log "system $name: $config ${extra[*]:-}"
    steps/train_decode_nnet.sh --nj $dec_nj --cmd "$cmd" --feat-suffix "$fsuffix" \
      --train-set $train_set "${dev_opts[@]}" --test-sets "$(echo $eval_sets | sed "s/^$dev_set //")" \
      --ali-dir $alidir --graph-dir $graph --engine $engine --decode-opts "$decode_opts" \
      --num-threads $nnet_threads --cmvn-opts "$nnet_cmvn" --delta-order $delta_order \
      --splice $splice ${extra[@]+"${extra[@]}"} $config $exp_dir/$name </dev/null
  done < $systems_list
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  log "Stage 3: $results"
  rows=()
  for x in $eval_sets; do
    kd=$(bnn-check-kaldi-dir --find-decode-dir "${kaldi_name[$x]:-$x}" --graph-dir "$graph_dir" \
      --kaldi-decode-dirs "$kaldi_decode_dirs" "$kdir")
    if [ -n "$kd" ]; then
      rows+=("kaldi $(basename $(dirname $graph)) GMM (Kaldi's own decode, best on the set):$x:$kd")
    else
      echo "$0: no Kaldi GMM WER for $x (no decode dir with wer_* found next to $graph; give --kaldi-decode-dirs \"$x:<dir>\")" >&2
    fi
    for name in $(cut -d' ' -f1 $systems_list | awk '!seen[$0]++'); do
      if [ -n "$only_systems" ] && ! echo " $only_systems " | grep -q " $name "; then continue; fi
      rows+=("$name:$x:$exp_dir/$name/decode_$x")
    done
  done
  footer="Produced by \`$cmdline\` (in $(basename "$(pwd)")/) at git $(git -C "$bnn_root" rev-parse --short HEAD 2>/dev/null || echo unknown),"
  footer+=" $(python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__)')."
  footer+=" Kaldi dir: $kaldi_dir; alignments $ali_dir ($(cat $exp_dir/num_pdfs 2>/dev/null || sed -n 's/^num_pdfs=//p' $exp_dir/kaldi_dir_info) pdfs), graph $graph_dir;"
  footer+=" nnet input: $([ $feats = fbank ] && echo "$(basename $fbank_config) computed from wav.scp" || echo "Kaldi's features"),"
  footer+=" delta order $delta_order, splice +-$splice, CMVN per speaker $nnet_cmvn."
  if [ -n "$dev_set" ]; then
    footer+=" Our test-set WERs are at the LM weight/penalty best on $dev_set; our $dev_set rows are its own best (the sweep)."
  else
    footer+=" No dev set: every WER is the best of the LM-weight/penalty sweep on that set itself (optimistic, as Kaldi's RESULTS files)."
  fi
  bnn-kaldi-results --title "$results_title" --footer "$footer" --output $results "${rows[@]}" >/dev/null
  if [ -n "$paper_tables" ]; then
    [ -f "$paper_tables" ] || { echo "$0: missing $paper_tables" >&2; exit 1; }
    for x in $(echo $eval_sets | sed "s/^$dev_set //"); do
      sed "s/^test_set:.*/test_set: $x/; s/^dev_set:.*/dev_set: $dev_set/" $paper_tables > $exp_dir/paper_tables_$x.yaml
      { echo; echo "## The papers' tables: our $x beside the published numbers"; echo
        bnn-paper-tables --config $exp_dir/paper_tables_$x.yaml --append-to "" $exp_dir; } >> $results
    done
  fi
  cat $results
fi
