#!/usr/bin/env bash
# N-best rescoring of Kaldi lattices with an LSTM LM interpolated (log-linearly, weight lambda)
# with an n-gram, replacing the decoding graph's LM cost (bnn/lm/rescore.py, docs/lm.md).
# Writes a decode dir scored like any other (sweep.1.txt, wer_<lmwt>_<wip>, scoring_kaldi/).
#
# Choosing lambda: with --dev-utts, lambda, LM weight and penalty are chosen on those utterances
# and applied to the other utterances (<out>/eval) and to all of them (<out> itself).
#   --select expected: the triple with the fewest expected word errors over the dev n-best lists
#     (bnn-lm-nbest-select; a smooth objective, less prone to ties on a small dev set);
#   --select errors: each lambda is scored on dev (<out>/dev/lw_<lambda>, best LM weight/penalty
#     there) and the lambda with the fewest 1-best dev errors wins.
# Without --dev-utts, --lstm-weights must hold one value.
# --lstm-weights none keeps the lattice's own graph costs (the baseline, through the same n-best).
set -euo pipefail
echo "$0 $*"

# Begin configuration section.
cmd=utils/run.pl
ngram_lang=         # lang dir whose G.fst is the n-gram to interpolate with (default: <old-lang>)
n=100               # hypotheses per lattice
acwt=0.0833         # acoustic scale for ranking the n-best paths (Kaldi's decoding default 1/12)
lstm_weights="0.0 0.25 0.5 0.75 1.0"
dev_utts=           # utterances to choose lambda (and LM weight/penalty) on
select=expected     # expected | errors: what is minimised on the dev utterances
nbest=              # reuse this n-best list (from an earlier run on the same lattices)
scores=             # reuse this scores file (an earlier run's <out>/scores.txt, same n-best and LMs)
lowercase=false     # lower-case words for the LSTM LM (e.g. a WikiText model on upper-case ASR words)
min_lmwt=7
max_lmwt=17
word_ins_penalty=0.0,0.5,1.0
threads=1
# End configuration section.

. utils/parse_options.sh

if [ $# -ne 5 ]; then
  echo "Usage: $0 [options] <old-lang-dir> <lstm-lm> <data-dir> <in-decode-dir> <out-decode-dir>" >&2
  echo "e.g.: $0 --ngram-lang data/lang_3g --dev-utts exp/dev.utts data/lang_test exp/lm_soft data/test exp/tri2b/decode_test exp/tri2b/decode_test_rnnlm_soft" >&2
  echo "  <lstm-lm>: LM dir (final.pt, words.txt) or packed .npz; 'none' with --lstm-weights none" >&2
  echo "options: --ngram-lang <dir> --n <100> --acwt <0.0833> --lstm-weights '<0.0 0.25 ...|none>' --dev-utts <file>" >&2
  echo "         --nbest <n-best file to reuse> --scores <scores file to reuse> --select expected|errors" >&2
  exit 2
fi
old_lang=$1
lm=$2
data=$3
indir=$4
dir=$5
[ -n "$ngram_lang" ] || ngram_lang=$old_lang

for f in $old_lang/G.fst $old_lang/words.txt $ngram_lang/G.fst $data/text $dev_utts $nbest $scores; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
if [ -z "$nbest" ] && [ -z "$scores" ]; then
  ls $indir/lat.*.gz >/dev/null 2>&1 || { echo "$0: no $indir/lat.*.gz" >&2; exit 1; }
fi
nw=$(echo $lstm_weights | wc -w)
if [ -z "$dev_utts" ] && [ $nw -ne 1 ]; then
  echo "$0: several --lstm-weights ($lstm_weights) need --dev-utts to choose one" >&2; exit 1
fi
if [ -f $dir/.done ]; then
  echo "$0: $dir is complete (.done), skipping"; exit 0
fi
mkdir -p $dir/log
score_opts=(--min-lmwt $min_lmwt --max-lmwt $max_lmwt --word-ins-penalty $word_ins_penalty)

if [ -n "$scores" ]; then
  cp $scores $dir/scores.txt
else
  if [ -z "$nbest" ]; then
    nbest=$dir/nbest.txt
    [ -f $nbest ] || $cmd $dir/log/nbest.log bnn-lm-nbest --n $n --acoustic-scale $acwt \
      "ark:gunzip -c $indir/lat.*.gz|" $nbest
  fi
  if [ "$lstm_weights" = none ]; then
    cp $nbest $dir/scores.txt
  else
    lc=(); [ "$lowercase" = true ] && lc=(--lowercase)
    $cmd $dir/log/score_nbest.log bnn-lm-score-nbest ${lc[@]+"${lc[@]}"} --threads $threads \
      --old-lm $old_lang/G.fst --ngram-lm $ngram_lang/G.fst --lstm-lm $lm \
      $old_lang/words.txt $nbest $dir/scores.txt
  fi
fi

subset() {  # subset <utt-list> <exclude:true|false> <out-data-dir>
  local ex=(); [ "$2" = true ] && ex=(--exclude)
  mkdir -p $3
  for f in text utt2spk; do
    [ -f $data/$f ] && utils/filter_scp.pl ${ex[@]+"${ex[@]}"} $1 $data/$f > $3/$f
  done
  [ -s $3/text ] || { echo "$0: no utterances of $1 in $data/text" >&2; exit 1; }
}

sweep() {  # sweep <lambda> <out-decode-dir> [utt-list]
  mkdir -p $2/log
  local u=(); [ -n "${3:-}" ] && u=(--utts $3)
  rm -f $2/sweep.*.txt
  bnn-lm-nbest-sweep --lstm-weight $1 ${u[@]+"${u[@]}"} --min-lmwt $min_lmwt --max-lmwt $max_lmwt \
    --word-ins-penalty $word_ins_penalty $dir/scores.txt $2/sweep.1.txt 2>> $2/log/sweep.log
}

if [ -n "$dev_utts" ]; then
  subset $dev_utts false $dir/data_dev
  subset $dev_utts true $dir/data_eval
  case $select in
    expected)
      bnn-lm-nbest-select --lstm-weights "$lstm_weights" --min-lmwt $min_lmwt --max-lmwt $max_lmwt \
        --word-ins-penalty $word_ins_penalty $old_lang/words.txt $dir/data_dev/text $dir/scores.txt \
        > $dir/selected 2>> $dir/log/select.log
      read -r best lmwt wip _ < $dir/selected
      # dev scored at the chosen LM weight/penalty only, so that --best-from applies them
      sweep $best $dir/dev/lw_$best $dir/data_dev/text
      steps/score.sh --cmd "$cmd" --min-lmwt $lmwt --max-lmwt $lmwt --word-ins-penalty $wip \
        $dir/data_dev $old_lang $dir/dev/lw_$best > /dev/null
      echo "$0: lambda $best, LM weight $lmwt, penalty $wip: fewest expected errors on dev, $(cat $dir/dev/lw_$best/scoring_kaldi/best_wer)"
      ;;
    errors)
      best=; best_err=
      for lw in $lstm_weights; do
        sweep $lw $dir/dev/lw_$lw $dir/data_dev/text
        steps/score.sh --cmd "$cmd" "${score_opts[@]}" $dir/data_dev $old_lang $dir/dev/lw_$lw > /dev/null
        err=$(awk '{print $4}' $dir/dev/lw_$lw/scoring_kaldi/best_wer)
        echo "$0: lambda $lw: dev $(cat $dir/dev/lw_$lw/scoring_kaldi/best_wer)"
        if [ -z "$best" ] || [ $err -lt $best_err ]; then best=$lw; best_err=$err; fi
      done
      ;;
    *) echo "$0: --select must be expected or errors, got $select" >&2; exit 2 ;;
  esac
  echo $best > $dir/lstm_weight
  echo "$0: lambda $best chosen on $dev_utts"
  sweep $best $dir/eval $dir/data_eval/text
  steps/score.sh --cmd "$cmd" "${score_opts[@]}" --best-from $dir/dev/lw_$best $dir/data_eval $old_lang $dir/eval
  sweep $best $dir
  steps/score.sh --cmd "$cmd" "${score_opts[@]}" --best-from $dir/dev/lw_$best $data $old_lang $dir
else
  echo $lstm_weights > $dir/lstm_weight
  sweep $lstm_weights $dir
  steps/score.sh --cmd "$cmd" "${score_opts[@]}" $data $old_lang $dir
fi
touch $dir/.done
