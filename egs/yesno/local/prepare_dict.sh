#!/usr/bin/env bash
# Dictionary for yesno (Kaldi egs/yesno/s5/local/prepare_dict.sh), written as the template of
# docs/new_corpus.md ("2. Dict dir"): copy it for a new corpus and put its lexicon and phones in.
#   lexicon.txt             <word> <phone> <phone> ...  (every word of text; the OOV word too)
#   silence_phones.txt      one line per silence phone (SIL; noise/laughter phones go here too)
#   optional_silence.txt    the one phone inserted between words (SIL)
#   nonsilence_phones.txt   one line per speech phone (a line may hold variants of one phone)
# Phone names must not start with '#' (disambiguation symbols) nor end in _B/_E/_I/_S;
# utils/prepare_lang.sh checks all of this (Kaldi's validate_dict_dir.pl) before building data/lang.
set -euo pipefail
export LC_ALL=C

echo "$0 $@"  # Print the command line for logging

help_message="Usage: $0 [<dict-dir>]   (default: data/local/dict; no options)
e.g.: $0 data/local/dict"

. utils/parse_options.sh

if [ $# -gt 1 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi
dict=${1:-data/local/dict}
mkdir -p $dict

# Words of the corpus and their pronunciations (corpus-specific).  Phones are numbered in the
# order of silence_phones.txt then nonsilence_phones.txt (SIL=1 Y=2 N=3, as Kaldi's yesno).
printf '%s\n' "YES Y" "NO N" | sort > $dict/lexicon_words.txt
{ echo "<SIL> SIL"; cat $dict/lexicon_words.txt; } | sort > $dict/lexicon.txt
echo SIL > $dict/silence_phones.txt
echo SIL > $dict/optional_silence.txt
printf '%s\n' Y N > $dict/nonsilence_phones.txt
echo "$0: dictionary preparation succeeded ($dict)" >&2
