#!/usr/bin/env bash
# Score a decode dir (Kaldi steps/score_kaldi.sh layout): WER for every LM weight in
# --min-lmwt..--max-lmwt and word insertion penalty in --word-ins-penalty, written as
# <decode-dir>/wer_<lmwt>_<wip> (Kaldi compute-wer format), scoring_kaldi/penalty_<wip>/<lmwt>.txt,
# scoring_kaldi/best_wer and scoring_kaldi/wer_details/{lmwt,wip,per_utt,per_spk,ops}.
# As Kaldi's score_kaldi.sh, the decode ran once and each (LM weight, penalty) takes the best path
# of the lattices lat.*.gz (ours or Kaldi's): lattice-scale --inv-acoustic-scale=LMWT |
# lattice-add-penalty | lattice-best-path, done in one pass by bnn-score-decode
# (bnn/decode/scoring.py).  Decode dirs with sweep.*.txt instead (hypotheses already chosen per
# LM weight, e.g. by n-best rescoring) are scored from those.
# --best-from <dev-decode-dir>: report the LM weight/penalty chosen on dev (apply dev's best to test).
set -euo pipefail

# Begin configuration section.
cmd=utils/run.pl
min_lmwt=1
max_lmwt=20
word_ins_penalty=0.0,0.5,1.0
best_from=
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: steps/score.sh [options] <data-dir> <graph-dir> <decode-dir>
e.g.: steps/score.sh --best-from exp/mono/decode_dev data/test exp/mono/graph exp/mono/decode_test
options: --cmd <utils/run.pl> --min-lmwt <1> --max-lmwt <20> --word-ins-penalty <0.0,0.5,1.0>
         --best-from <dev-decode-dir>"
. utils/parse_options.sh

if [ $# -ne 3 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi

data=$1
graph=$2
dir=$3

for f in $data/text $graph/words.txt; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done

if ! ls $dir/lat.*.gz >/dev/null 2>&1 && ! ls $dir/sweep.*.txt >/dev/null 2>&1; then
  echo "$0: no $dir/lat.*.gz (or sweep.*.txt): decoding failed or did not run?" >&2
  exit 1
fi

mkdir -p $dir/scoring_kaldi/log
opts=(--min-lmwt $min_lmwt --max-lmwt $max_lmwt --word-ins-penalty $word_ins_penalty)
[ -n "$best_from" ] && opts+=(--best-from $best_from)
rm -f $dir/wer_*  # stale results of an earlier run must not survive a failed scoring
$cmd $dir/scoring_kaldi/log/score.log bnn-score-decode ${opts[@]+"${opts[@]}"} $data $graph $dir
grep '%WER' $dir/scoring_kaldi/best_wer
