#!/usr/bin/env bash
# WSJ data dirs from the LDC discs (bnn-prepare-wsj: train_si284, test_dev93, test_eval92, as
# Kaldi's local/wsj_data_prep.sh) and data/local/dict from a CMUdict-format lexicon.
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "Usage: $0 <wsj0-dir> <wsj1-dir> <lexicon> <data-dir>" >&2
  echo "e.g.: $0 /corpora/LDC93S6B /corpora/LDC94S13B /corpora/cmudict-0.7b data" >&2
  exit 2
fi
wsj0=$1; wsj1=$2; lexicon=$3; data=$4
bnn-prepare-wsj "$wsj0" "$wsj1" $data
bnn-prepare-lhotse dict "$lexicon" $data/local/dict $data/train_si284/text
