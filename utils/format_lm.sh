#!/usr/bin/env bash
# ARPA LM -> G.fst in a copy of a lang dir (Kaldi utils/format_lm.sh): arpa2fst (kaldilm) with
# #0 on the back-off arcs, <s>/</s> as epsilons; OOV n-grams removed (listed in
# <out-lang>/oovs_<lm>.txt) unless --map-oov <word>.
set -euo pipefail

# Begin configuration section.
map_oov=
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: utils/format_lm.sh [--map-oov <word>] <lang-dir> <arpa-lm[.gz]> [<lexicon>] <out-lang-dir>
e.g.: utils/format_lm.sh data/lang data/local/lm/lm.arpa.gz data/local/dict/lexicon.txt data/lang_test
(the lexicon argument is accepted for Kaldi compatibility and not used)"

. utils/parse_options.sh

if [ $# -ne 3 ] && [ $# -ne 4 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi

lang=$1
lm=$2
out=${@: -1}

for f in $lang/words.txt $lm; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
opts=()
[ -n "$map_oov" ] && opts+=(--map-oov "$map_oov")
bnn-format-lm ${opts[@]+"${opts[@]}"} $lang $lm $out
echo "$0: wrote $out/G.fst"
