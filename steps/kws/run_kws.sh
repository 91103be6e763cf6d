#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# The shared KWS pipeline of egs/*_kws recipes (stages 1-5; stage 0, the corpus manifests, is the
# recipe's own): float D-FSMN teacher, binary students (BNN, XNOR, BiFSMNv2 without and with
# frequency-independent distillation), evaluation (torch and packed engine), benchmark,
# RESULTS.md.  Every stage skips finished work.
set -euo pipefail
log() { local fname=${BASH_SOURCE[1]##*/}; echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2; }
echo "$0 $*"

# Begin configuration section.
stage=1
stop_stage=100
cmd=utils/run.pl
conf_dir=            # directory of the system configs (default: $BNN_ROOT/conf/kws)
students="bnn xnor bifsmnv2_nokd bifsmnv2"   # conf/kws/<name>.yaml, trained from exp/float
merge_configs=       # YAML merged into every config (the recipe's sizes), e.g. conf/size.yaml
overrides=           # key=value overrides for every system
teacher_overrides=   # extra overrides for the teacher (e.g. train.epochs=15)
student_overrides=   # per-student overrides, "name:k=v,k=v name2:k=v" (e.g. bifsmnv2_long:train.epochs=20)
parallel=2           # students trained at the same time
num_threads=1        # torch threads per job
bench_opts=""        # options of bnn-bench --kws (e.g. --quick)
title="KWS"
protocol=            # text file with the protocol section of RESULTS.md
notes=               # optional text file appended to RESULTS.md as its Notes section
exp=exp
# End configuration section.

help_message="Usage: $0 [options] <manifest-dir>
 <manifest-dir>: cuts_{train,dev,test}.jsonl.gz from bnn-kws-prepare
e.g.: $0 --merge-configs conf/size.yaml --protocol conf/protocol.md data/manifests
Options:
  --stage/--stop-stage <n>   stages 1 teacher, 2 students, 3 evaluation, 4 bench, 5 RESULTS.md
  --students \"a b\"          student configs (default: $students)
  --student-overrides \"s:k=v,k=v\"  extra overrides of one student
  --merge-configs <yaml>     merged into every config
  --parallel <n>             students trained at once (default $parallel)
  --protocol <file>          protocol text for RESULTS.md"

. utils/parse_options.sh

if [ $# -ne 1 ]; then
  echo "$help_message" >&2
  exit 2
fi
data=$1
conf_dir=${conf_dir:-$BNN_ROOT/conf/kws}
for f in $data/cuts_train.jsonl.gz $data/cuts_dev.jsonl.gz $data/cuts_test.jsonl.gz \
    $conf_dir/dfsmn_float.yaml; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
for s in $students; do
  [ -f $conf_dir/$s.yaml ] || { echo "$0: missing $conf_dir/$s.yaml" >&2; exit 1; }
done
train_opts="--cmd $cmd --num-threads $num_threads"
[ -n "$merge_configs" ] && train_opts="$train_opts --merge-configs $merge_configs"

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  log "Stage 1: float D-FSMN teacher"
  steps/kws/train.sh $train_opts --overrides "$overrides $teacher_overrides" \
    $conf_dir/dfsmn_float.yaml $data $exp/float
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  log "Stage 2: binary students ($students), $parallel at a time"
  pids=(); names=()
  for s in $students; do
    extra=""
    for so in $student_overrides; do
      [ "${so%%:*}" = "$s" ] && extra="$extra $(echo ${so#*:} | tr ',' ' ')"
    done
    steps/kws/train.sh $train_opts --overrides "$overrides$extra" --teacher $exp/float \
      $conf_dir/$s.yaml $data $exp/$s > $exp/train_$s.out 2>&1 &
    pids+=($!); names+=($s)
    if [ ${#pids[@]} -ge $parallel ]; then
      wait ${pids[0]} || { echo "$0: training ${names[0]} failed:" >&2; tail -n 20 $exp/train_${names[0]}.out >&2; exit 1; }
      pids=("${pids[@]:1}"); names=("${names[@]:1}")
    fi
  done
  for i in "${!pids[@]}"; do
    wait ${pids[$i]} || { echo "$0: training ${names[$i]} failed:" >&2; tail -n 20 $exp/train_${names[$i]}.out >&2; exit 1; }
  done
  for s in $students; do grep -h "best dev accuracy" $exp/$s/log/train.log | sed "s/^/$s: /"; done
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  log "Stage 3: test-set evaluation (torch eval(); BiFSMNv2 also packed)"
  for s in float $students; do
    [ -f $exp/$s/test.json ] && continue
    packed=false
    case $s in bifsmnv2*) packed=true ;; esac
    steps/kws/eval.sh --cmd $cmd --num-threads $num_threads --packed $packed \
      $exp/$s $data/cuts_test.jsonl.gz $exp/$s/test.json
  done
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  log "Stage 4: speed and storage (bnn-bench --kws, one process, 1 thread)"
  binary=$(for s in $students; do case $s in bifsmnv2|bifsmnv2_long) echo $s ;; esac; done | tail -n 1)
  binary=${binary:-$(echo $students | awk '{print $NF}')}
  if [ ! -s $exp/bench.txt ]; then
    mkdir -p $exp/log
    bnn-bench --kws --skip-gemm --skip-dnn --num-threads 1 --kws-teacher $exp/float \
      --kws-model $exp/$binary $bench_opts > $exp/bench.txt.tmp 2> $exp/log/bench.log \
      || { echo "$0: bnn-bench failed:" >&2; tail -n 20 $exp/log/bench.log >&2; exit 1; }
    mv $exp/bench.txt.tmp $exp/bench.txt
  fi
  cat $exp/bench.txt
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  log "Stage 5: RESULTS.md"
  [ -n "$protocol" ] && [ -f "$protocol" ] || { echo "$0: --protocol file missing" >&2; exit 1; }
  sys=""
  for s in float $students; do sys="$sys $s=$exp/$s/test.json:$exp/$s"; done
  bench=""
  [ -s $exp/bench.txt ] && bench="--bench $exp/bench.txt"
  [ -n "$notes" ] && [ -f "$notes" ] && bench="$bench --notes $notes"
  bnn-kws-results --title "$title" --protocol $protocol $bench \
    --command "$(basename $PWD)/run.sh" RESULTS.md $sys > /dev/null
  log "wrote $PWD/RESULTS.md"
  grep -A30 "^## Test accuracy" RESULTS.md | grep "^|" >&2
fi
