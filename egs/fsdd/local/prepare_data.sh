#!/usr/bin/env bash
# Data preparation for the connected-digit corpus built from the Free Spoken Digit Dataset:
# writes <wav-dir>/{train,dev,test}/*.wav (1-7 level-normalised recordings of one speaker joined
# by 50-300 ms of low-level noise) and the Kaldi data dirs <data>/{train,dev,test}, then prints
# the corpus statistics. Deterministic given --seed; skips the audio when it is already complete.
# Sets: train = george, jackson, lucas, nicolas takes 0-44; dev = their takes 45-49;
# test = theo, yweweler (speaker-disjoint). Implemented by bnn-prepare-fsdd (bnn/corpora/fsdd.py).
# When --corpus-dir does not hold the 3000 recordings, the FSDD archive is downloaded.
set -euo pipefail

# Begin configuration section.
corpus_dir=../../../shared/corpora/fsdd/recordings  # FSDD recordings/ ({digit}_{speaker}_{take}.wav)
download_dir=downloads  # where the FSDD archive is downloaded and extracted if corpus_dir lacks it
download=true           # false: fail (naming --corpus-dir) instead of downloading
wav_dir=corpus          # where the utterance wavs are written (not committed)
seed=777                # seed of the utterance construction
num_utts_train=1000     # number of train utterances
num_utts_dev=150        # number of dev utterances
num_utts_test=400       # number of test utterances
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: $0 [options] <data-dir>
 writes <data-dir>/train, <data-dir>/dev, <data-dir>/test (wav.scp, text, utt2spk, spk2utt, utt2dur)
e.g.: $0 --corpus-dir ../../../shared/corpora/fsdd/recordings --wav-dir corpus data"

. utils/parse_options.sh

if [ $# -ne 1 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi
data=$1

command -v bnn-prepare-fsdd >/dev/null || { echo "$0: bnn-prepare-fsdd not on PATH (source path.sh)" >&2; exit 1; }

bnn-prepare-fsdd --corpus-dir "$corpus_dir" --download-dir "$download_dir" \
  --download "$download" --wav-dir "$wav_dir" --seed "$seed" \
  --num-utts-train "$num_utts_train" --num-utts-dev "$num_utts_dev" \
  --num-utts-test "$num_utts_test" "$data"
echo "$0: succeeded writing $data/train, $data/dev and $data/test"
