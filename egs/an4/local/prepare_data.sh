#!/usr/bin/env bash
# AN4 data preparation: lhotse manifests (data/manifests) exported to the Kaldi data dirs
# data/{train,dev,test} and the dict dir data/local/dict (bnn-prepare-an4, bnn/corpora/an4.py).
#   train  the corpus' 948 training utterances minus the dev speakers
#   dev    --num-dev-speakers training speakers (half female, half male), speaker-disjoint
#   test   the corpus' 130 test utterances (10 speakers of their own)
# Lexicon: etc/an4.dic, alternates WORD(2) merged under WORD; <UNK> SPN; silence SIL, SPN.
set -euo pipefail

# Begin configuration section.
corpus_dir=../../../shared/corpora/an4   # holds etc/ and wav/ (github.com/cmusphinx/an4)
download=true            # false: fail naming --corpus-dir instead of downloading
download_dir=downloads
num_dev_speakers=8
dict_dir=data/local/dict
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: $0 [options] <data-dir>
 writes <data-dir>/{train,dev,test}, <data-dir>/manifests and the dict dir (--dict-dir)
options: --corpus-dir <$corpus_dir> --download <true|false> --download-dir <downloads>
         --num-dev-speakers <8> --dict-dir <data/local/dict>
e.g.: $0 --corpus-dir ../../../shared/corpora/an4 data"

. utils/parse_options.sh

if [ $# -ne 1 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi
data=$1

bnn-prepare-an4 --corpus-dir "$corpus_dir" --download "$download" --download-dir "$download_dir" \
  --num-dev-speakers $num_dev_speakers --dict-dir "$dict_dir" "$data"
for x in train dev test; do utils/validate_data_dir.sh --no-feats $data/$x; done
echo "$0: succeeded writing $data/{train,dev,test} and $dict_dir"
