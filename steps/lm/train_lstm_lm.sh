#!/usr/bin/env bash
# Train an LSTM LM (float, hard-binarized, scaled-binary or soft-binarized with knowledge
# distillation from a float teacher; see bnn/lm and docs/lm.md), then measure its perplexity on
# the held-out and test texts, export it with 1 bit per binary weight (<dir>/packed.npz) and check
# that the export loads back to the same perplexity.  Writes <dir>/{final.pt,words.txt,
# history.json,eval.json,packed.npz,log/}.  Skips the work when <dir>/.done exists.
set -euo pipefail
echo "$0 $*"

# Begin configuration section.
cmd=utils/run.pl
type=float          # float | hard (+-1/sqrt(fan_in), no KD) | scaled (learned scales) | soft (learned scales + KD)
teacher=            # float LM dir: needed by --type soft (KD and initialisation)
kd_weight=0.5       # lambda of (1 - lambda) CE + lambda KL(teacher || student) for --type soft
granularity=matrix  # scale per matrix | row | gate
heldout_text=       # held-out text for the lr schedule (default: last 10% of <train-text>)
test_texts=         # texts to report perplexity on (space-separated)
utt_ids=false       # texts are Kaldi text files (utterance id first)
vocab=              # words.txt to use (default: built from the training text)
vocab_from_symbols= # Kaldi words.txt whose words (minus <eps>, #*, <s>, </s>) form the vocabulary
min_count=1
lm_opts=            # further bnn-lm-train options, e.g. "--emb-dim 200 --hidden 200 --epochs 6"
threads=1
# End configuration section.

. utils/parse_options.sh

if [ $# -ne 2 ]; then
  echo "Usage: $0 [options] <train-text> <lm-dir>" >&2
  echo "e.g.: $0 --type soft --teacher exp/lm_float --test-texts wiki.test.tokens wiki.valid.tokens exp/lm_soft" >&2
  echo "options: --type float|hard|scaled|soft --teacher <dir> --kd-weight <0.5> --granularity matrix|row|gate" >&2
  echo "         --heldout-text <f> --test-texts '<f> ...' --utt-ids <false> --vocab <words.txt> --lm-opts '<opts>'" >&2
  exit 2
fi
text=$1
dir=$2

for f in $text $heldout_text $test_texts $vocab $vocab_from_symbols; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
if [ -f $dir/.done ]; then
  echo "$0: $dir is complete (.done), skipping"; exit 0
fi
mkdir -p $dir/log

opts=(--min-count $min_count --threads $threads)
[ -n "$heldout_text" ] && opts+=(--heldout-text $heldout_text)
[ "$utt_ids" = true ] && opts+=(--utt-ids)
[ -n "$vocab" ] && opts+=(--vocab $vocab)
[ -n "$vocab_from_symbols" ] && opts+=(--vocab-from-symbols $vocab_from_symbols)
case $type in
  float) opts+=(--binary-scale none) ;;
  hard) opts+=(--binary-scale const) ;;
  scaled) opts+=(--binary-scale learned --scale-granularity $granularity) ;;
  soft)
    [ -f "$teacher/final.pt" ] || { echo "$0: --type soft needs --teacher <float LM dir> (no $teacher/final.pt)" >&2; exit 1; }
    opts+=(--binary-scale learned --scale-granularity $granularity --teacher $teacher --kd-weight $kd_weight
           --init-from-teacher) ;;
  *) echo "$0: unknown --type $type" >&2; exit 2 ;;
esac

$cmd $dir/log/train.log bnn-lm-train "${opts[@]}" $lm_opts $text $dir

eval_texts="$test_texts"
[ -n "$heldout_text" ] && eval_texts="$heldout_text $eval_texts"
[ -n "$eval_texts" ] || eval_texts=$text
eval_opts=(--threads $threads)
[ "$utt_ids" = true ] && eval_opts+=(--utt-ids)
$cmd $dir/log/eval.log bnn-lm-eval "${eval_opts[@]}" --export $dir/packed.npz --check-export \
  --json $dir/eval.json $dir $eval_texts
grep -h "round trip\|compression" $dir/log/eval.log
touch $dir/.done
