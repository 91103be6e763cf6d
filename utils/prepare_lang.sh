#!/usr/bin/env bash
# Kaldi-compatible utils/prepare_lang.sh: builds data/lang from a dictionary dir.
# Implemented by bnn-prepare-lang (bnn/lang/prepare_lang.py); outputs match Kaldi's
# prepare_lang.sh byte for byte (phones.txt, words.txt, L.fst, L_disambig.fst, topo, phones/).
set -euo pipefail

# Begin configuration section.
num_sil_states=5                 # number of states in silence models
num_nonsil_states=3              # number of states in non-silence models
position_dependent_phones=true   # _B/_E/_I/_S word-position phone markers
share_silence_phones=false       # share the pdfs of silence phones
sil_prob=0.5                     # optional silence probability [0 <= p < 1]
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: utils/prepare_lang.sh [options] <dict-src-dir> <oov-dict-entry> <tmp-dir> <lang-dir>
e.g.: utils/prepare_lang.sh --position-dependent-phones false data/local/dict \"<SIL>\" data/local/lang data/lang
<dict-src-dir> must contain lexicon.txt (or lexiconp.txt), silence_phones.txt,
 nonsilence_phones.txt, optional_silence.txt and optionally extra_questions.txt; they are
 checked first (Kaldi's validate_dict_dir.pl checks), every problem reported at once.
Options (with their defaults: --help): --num-sil-states, --num-nonsil-states,
 --position-dependent-phones, --share-silence-phones, --sil-prob"

. utils/parse_options.sh

if [ $# -ne 4 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi

srcdir=$1
oov_word=$2
tmpdir=$3
dir=$4

for f in $srcdir/silence_phones.txt $srcdir/nonsilence_phones.txt $srcdir/optional_silence.txt; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
if [ ! -f $srcdir/lexicon.txt ] && [ ! -f $srcdir/lexiconp.txt ]; then
  echo "$0: missing $srcdir/lexicon.txt (or lexiconp.txt)" >&2; exit 1
fi

bnn-prepare-lang --sil-prob $sil_prob \
  --position-dependent-phones $position_dependent_phones \
  --share-silence-phones $share_silence_phones \
  --num-sil-states $num_sil_states --num-nonsil-states $num_nonsil_states \
  "$srcdir" "$oov_word" "$tmpdir" "$dir"
