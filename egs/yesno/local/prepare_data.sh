#!/usr/bin/env bash
# Data preparation for Kaldi's yesno corpus (Kaldi egs/yesno/s5/local/prepare_data.sh):
# the first half of the sorted wav list is <data>/train_yesno, the second half <data>/test_yesno;
# utterance id = file name without .wav, text = YES/NO from the file name, one speaker "global".
# Implemented by bnn-prepare-yesno (bnn/corpora/yesno.py). When --corpus-dir does not hold the
# 60 wav files, waves_yesno.tar.gz is downloaded from openslr.org into --download-dir.
set -euo pipefail

# Begin configuration section.
corpus_dir=../../../shared/corpora/yesno/waves_yesno  # directory with the 60 yesno wav files
download_dir=downloads  # where the corpus archive is downloaded and extracted if corpus_dir lacks it
download=true           # false: fail (naming --corpus-dir) instead of downloading
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: $0 [options] <data-dir>
 writes <data-dir>/train_yesno and <data-dir>/test_yesno (wav.scp, text, utt2spk, spk2utt)
e.g.: $0 --corpus-dir ../../../shared/corpora/yesno/waves_yesno data"

. utils/parse_options.sh

if [ $# -ne 1 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi
data=$1

command -v bnn-prepare-yesno >/dev/null || { echo "$0: bnn-prepare-yesno not on PATH (source path.sh)" >&2; exit 1; }

bnn-prepare-yesno --corpus-dir "$corpus_dir" --download-dir "$download_dir" \
  --download "$download" "$data"
echo "$0: succeeded writing $data/train_yesno and $data/test_yesno"
