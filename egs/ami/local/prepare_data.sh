#!/usr/bin/env bash
# AMI data dirs through lhotse's recipe (bnn-prepare-lhotse ami: the full-corpus-asr partition,
# exported with lhotse's Kaldi export to data/<mic>_{train,dev,eval}) and data/local/dict from a
# CMUdict-format lexicon (Kaldi's ami/s5b also starts from CMUdict).
set -euo pipefail
mic=ihm
annotations=
. utils/parse_options.sh
if [ $# -ne 3 ]; then
  echo "Usage: $0 [--mic ihm] [--annotations <dir>] <ami-corpus-dir> <lexicon> <data-dir>" >&2
  echo "e.g.: $0 --mic ihm /corpora/amicorpus /corpora/cmudict-0.7b data" >&2
  exit 2
fi
corpus=$1; lexicon=$2; data=$3
bnn-prepare-lhotse ami --mic $mic ${annotations:+--annotations $annotations} "$corpus" $data
bnn-prepare-lhotse dict "$lexicon" $data/local/dict $data/${mic}_train/text
