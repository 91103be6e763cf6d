#!/usr/bin/env bash
# Binarized and soft-binarized LSTM LMs (Liu, Cao & Yu, NAACL 2018; Ma, Liu & Yu, ASRU 2019) on
# WikiText-2, and n-best rescoring of the Kaldi AN4 fixture's lattices with in-domain LSTM LMs.
#   Stages 1-4: WikiText-2 float / hard-binarized / soft-binarized LMs, perplexity and size table.
#     Here only WikiText-2's validation and test files exist: train on validation (its last 10% of
#     lines held out for the learning-rate schedule), report test perplexity.  On a machine with
#     the full corpus: --train-text <corpus>/wiki.train.tokens (validation becomes the held-out set).
#   Stages 5-7: AN4: trigram and LSTM LMs on the AN4 training transcripts, rescoring of the
#     Kaldi lattices of exp/{tri2b,tri1,tri3b}/decode_test.  The fixture has no dev lattices: LSTM weight,
#     LM weight and penalty are chosen on half A of the test speakers and WER is reported on half B,
#     and crosswise (chosen on B, scored on A; both pooled: every word scored with settings tuned
#     on the other half), with paired bootstrap intervals of the float-vs-binary differences.
set -euo pipefail
log() { local fname=${BASH_SOURCE[1]##*/}; echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*" >&2; }

cmdline="$0 $*"
stage=1
stop_stage=100
corpus_dir=../../../shared/corpora/wikitext-2
train_text=          # default: $corpus_dir/wiki.valid.tokens (e.g. $corpus_dir/wiki.train.tokens)
an4_kaldi_dir=../../../shared/fixtures/kaldi_an4_s5
an4_systems="tri2b tri1 tri3b"
exp=exp
min_count=3          # WikiText words seen fewer times in the training text become <unk>
wiki_opts="--emb-dim 128 --hidden 128 --layers 1 --dropout 0.3 --epochs 6 --lr 3e-3"
an4_opts="--emb-dim 64 --hidden 64 --layers 1 --dropout 0.2 --epochs 60 --max-halvings 6 --lr 5e-3 --batch 8"
kd_weight=0.5        # lambda of the soft-binarized LM's KD loss
granularity=matrix   # float scales of the soft-binarized LM: matrix | row | gate
ablation=false       # also the scaled-binary LM without KD (learned scales, lambda 0)
nbest=100
lstm_weights="0.0 0.25 0.5 0.75 1.0"
select=expected      # what the tuning half minimises: expected (n-best expected word errors) | errors (1-best)
rescore_lms="float hard soft"   # AN4 LSTM LMs to rescore with
min_lmwt=7           # LM weights and penalties swept when scoring (as the fixture's Kaldi scoring)
max_lmwt=17
word_ins_penalty=0.0,0.5,1.0
threads=1

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

[ -n "$train_text" ] || train_text=$corpus_dir/wiki.valid.tokens
heldout_opt=()
[ "$train_text" != "$corpus_dir/wiki.valid.tokens" ] && heldout_opt=(--heldout-text $corpus_dir/wiki.valid.tokens)
w=$exp/wikitext2
a=$exp/an4
wiki_types="float hard soft"
[ "$ablation" = true ] && wiki_types="float hard scaled soft"

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  log "Stage 1: float LSTM LM on $train_text"
  for f in $train_text $corpus_dir/wiki.test.tokens; do [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }; done
  steps/lm/train_lstm_lm.sh --cmd "$train_cmd" --type float --min-count $min_count --threads $threads \
    ${heldout_opt[@]+"${heldout_opt[@]}"} --test-texts $corpus_dir/wiki.test.tokens --lm-opts "$wiki_opts" \
    $train_text $w/float
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  log "Stage 2: hard-binarized LSTM LM (+-1/sqrt(fan_in), no KD)"
  steps/lm/train_lstm_lm.sh --cmd "$train_cmd" --type hard --vocab $w/float/words.txt --threads $threads \
    ${heldout_opt[@]+"${heldout_opt[@]}"} --test-texts $corpus_dir/wiki.test.tokens --lm-opts "$wiki_opts" \
    $train_text $w/hard
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  log "Stage 3: soft-binarized LSTM LM (learned $granularity scales, KD lambda $kd_weight from the float LM)"
  steps/lm/train_lstm_lm.sh --cmd "$train_cmd" --type soft --teacher $w/float --kd-weight $kd_weight \
    --granularity $granularity --vocab $w/float/words.txt --threads $threads \
    ${heldout_opt[@]+"${heldout_opt[@]}"} --test-texts $corpus_dir/wiki.test.tokens --lm-opts "$wiki_opts" \
    $train_text $w/soft
  if [ "$ablation" = true ]; then
    steps/lm/train_lstm_lm.sh --cmd "$train_cmd" --type scaled --granularity $granularity \
      --vocab $w/float/words.txt --threads $threads ${heldout_opt[@]+"${heldout_opt[@]}"} \
      --test-texts $corpus_dir/wiki.test.tokens --lm-opts "$wiki_opts" $train_text $w/scaled
  fi
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  log "Stage 4: perplexity, stored size and compression"
  bnn-lm-report --title "WikiText-2 (train: $train_text)" --out $w/ppl_table.md \
    --ppl $(for t in $wiki_types; do echo $t=$w/$t; done)
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  log "Stage 5: AN4 trigram and LSTM LMs on the training transcripts of $an4_kaldi_dir"
  for f in $an4_kaldi_dir/data/train/text $an4_kaldi_dir/data/lang/words.txt $an4_kaldi_dir/data/lang_test/G.fst; do
    [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
  done
  mkdir -p $a
  if [ ! -f $a/lang_3g/G.fst ]; then
    bnn-train-ngram --order 3 --vocab $an4_kaldi_dir/data/lang/words.txt $an4_kaldi_dir/data/train/text $a/an4_3g.arpa
    bnn-format-lm $an4_kaldi_dir/data/lang $a/an4_3g.arpa $a/lang_3g
  fi
  an4_test="$an4_kaldi_dir/data/test/text"
  steps/lm/train_lstm_lm.sh --cmd "$train_cmd" --type float --utt-ids true --threads $threads \
    --vocab-from-symbols $an4_kaldi_dir/data/lang/words.txt --test-texts $an4_test --lm-opts "$an4_opts" \
    $an4_kaldi_dir/data/train/text $a/lm_float
  steps/lm/train_lstm_lm.sh --cmd "$train_cmd" --type hard --utt-ids true --threads $threads \
    --vocab $a/lm_float/words.txt --test-texts $an4_test --lm-opts "$an4_opts" \
    $an4_kaldi_dir/data/train/text $a/lm_hard
  steps/lm/train_lstm_lm.sh --cmd "$train_cmd" --type soft --teacher $a/lm_float --kd-weight $kd_weight \
    --granularity $granularity --utt-ids true --threads $threads --vocab $a/lm_float/words.txt \
    --test-texts $an4_test --lm-opts "$an4_opts" $an4_kaldi_dir/data/train/text $a/lm_soft
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  log "Stage 6: n-best rescoring of $an4_kaldi_dir lattices ($an4_systems), tuned on each half of the test speakers"
  # half A: the utterances of the first half of the test speakers (sorted), half B: the rest.
  # <name> dirs are tuned on A and scored on B, <name>_B dirs tuned on B and scored on A.
  spk=$an4_kaldi_dir/data/test/spk2utt
  nspk=$(wc -l < $spk)
  head -n $(( nspk / 2 )) $spk | awk '{for (i = 2; i <= NF; i++) print $i}' | sort > $a/dev.utts
  tail -n +$(( nspk / 2 + 1 )) $spk | awk '{for (i = 2; i <= NF; i++) print $i}' | sort > $a/devB.utts
  for sys in $an4_systems; do
    in=$an4_kaldi_dir/exp/$sys/decode_test
    out=$a/$sys
    opts=(--cmd "$train_cmd" --n $nbest --threads $threads --select $select --min-lmwt $min_lmwt
          --max-lmwt $max_lmwt --word-ins-penalty $word_ins_penalty)
    steps/lm/rescore_nbest.sh "${opts[@]}" --dev-utts $a/dev.utts --lstm-weights none \
      $an4_kaldi_dir/data/lang_test none $an4_kaldi_dir/data/test $in $out/baseline
    steps/lm/rescore_nbest.sh "${opts[@]}" --dev-utts $a/devB.utts --lstm-weights none \
      --nbest $out/baseline/nbest.txt $an4_kaldi_dir/data/lang_test none $an4_kaldi_dir/data/test $in $out/baseline_B
    nb=(--nbest $out/baseline/nbest.txt --ngram-lang $a/lang_3g)
    steps/lm/rescore_nbest.sh "${opts[@]}" "${nb[@]}" --dev-utts $a/dev.utts --lstm-weights 0.0 \
      $an4_kaldi_dir/data/lang_test $a/lm_float $an4_kaldi_dir/data/test $in $out/trigram
    steps/lm/rescore_nbest.sh "${opts[@]}" --scores $out/trigram/scores.txt --dev-utts $a/devB.utts \
      --lstm-weights 0.0 $an4_kaldi_dir/data/lang_test $a/lm_float $an4_kaldi_dir/data/test $in $out/trigram_B
    for t in $rescore_lms; do
      steps/lm/rescore_nbest.sh "${opts[@]}" "${nb[@]}" --dev-utts $a/dev.utts --lstm-weights "$lstm_weights" \
        $an4_kaldi_dir/data/lang_test $a/lm_$t/packed.npz $an4_kaldi_dir/data/test $in $out/lstm_$t
      steps/lm/rescore_nbest.sh "${opts[@]}" --scores $out/lstm_$t/scores.txt --dev-utts $a/devB.utts \
        --lstm-weights "$lstm_weights" $an4_kaldi_dir/data/lang_test $a/lm_$t/packed.npz \
        $an4_kaldi_dir/data/test $in $out/lstm_${t}_B
    done
  done
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  log "Stage 7: results"
  {
    cat $w/ppl_table.md
    echo
    bnn-lm-report --title "AN4 LMs (train: $an4_kaldi_dir/data/train/text)" \
      --ppl float=$a/lm_float hard=$a/lm_hard soft=$a/lm_soft 2>/dev/null
    for sys in $an4_systems; do
      bnn-lm-report --title "AN4 $sys lattices, $nbest-best rescoring: tuned on half A, scored on half B" \
        2>/dev/null --wer "Kaldi lattice (flat unigram G)=$a/$sys/baseline" "trigram (AN4 train)=$a/$sys/trigram" \
        $(for t in $rescore_lms; do echo "trigram+LSTM_$t=$a/$sys/lstm_$t"; done)
      bnn-lm-report --title "AN4 $sys lattices, $nbest-best rescoring: crosswise (tuned on one half, scored on the other)" \
        2>/dev/null --cross-hyps $a/$sys/cross --wer-cross "lattice=$a/$sys/baseline,$a/$sys/baseline_B" \
        "trigram=$a/$sys/trigram,$a/$sys/trigram_B" \
        $(for t in $rescore_lms; do echo "trigram+LSTM_$t=$a/$sys/lstm_$t,$a/$sys/lstm_${t}_B"; done)
      for t in $rescore_lms; do
        [ $t = float ] || [[ " $rescore_lms " != *" float "* ]] && continue
        echo "Paired bootstrap, $sys, LSTM_float (Set1) vs LSTM_$t (Set2): half B, then crosswise (A+B):"
        echo '```'
        bnn-wer-bootstrap $a/$sys/lstm_float/eval $a/$sys/lstm_$t/eval 2>/dev/null | tail -n 1
        bnn-wer-bootstrap $an4_kaldi_dir/data/test/text $a/$sys/cross/trigram+LSTM_float.txt \
          $a/$sys/cross/trigram+LSTM_$t.txt 2>/dev/null | tail -n 1
        echo '```'
      done
    done
    echo "Produced by: $cmdline (git $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d'))"
  } > $exp/RESULTS.md
  cat $exp/RESULTS.md
fi
