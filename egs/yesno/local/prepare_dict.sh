#!/usr/bin/env bash
# Dictionary for yesno (Kaldi egs/yesno/s5/local/prepare_dict.sh): lexicon <SIL> SIL, YES Y, NO N;
# silence_phones.txt = optional_silence.txt = SIL; nonsilence_phones.txt = Y, N.
# Implemented by bnn-prepare-dict (bnn/corpora/yesno.py).
set -euo pipefail

echo "$0 $@"  # Print the command line for logging

help_message="Usage: $0 [<dict-dir>]   (default: data/local/dict)
e.g.: $0 data/local/dict"

. utils/parse_options.sh

if [ $# -gt 1 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi
dict=${1:-data/local/dict}

bnn-prepare-dict yesno "$dict"
echo "$0: dictionary preparation succeeded ($dict)"
