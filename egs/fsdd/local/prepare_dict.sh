#!/usr/bin/env bash
# Dictionary for the FSDD digits: ZERO..NINE with CMUdict pronunciations (stress removed),
# <SIL> SIL and the OOV word <UNK> SPN; silence_phones.txt = SIL, SPN; optional_silence.txt = SIL.
# Use "<UNK>" as the OOV entry of utils/prepare_lang.sh. Implemented by bnn-prepare-dict.
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

bnn-prepare-dict fsdd "$dict"
echo "$0: dictionary preparation succeeded ($dict)"
