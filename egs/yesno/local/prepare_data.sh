#!/usr/bin/env bash
# Data preparation for Kaldi's yesno corpus (Kaldi egs/yesno/s5/local/prepare_data.sh), written
# as the template of docs/new_corpus.md: copy this file for a new corpus and change the marked
# corpus-specific lines (the file list, the split, the transcript and the speaker).
#
# Writes, for each set, a Kaldi data dir (docs/new_corpus.md, "1. Data dirs"):
#   wav.scp   <utt> <absolute wav path>   (or "<utt> <command> |" for other formats)
#   text      <utt> <WORD> <WORD> ...      (words as in the lexicon)
#   utt2spk   <utt> <speaker>
#   spk2utt   <speaker> <utt> <utt> ...    (from utt2spk)
# All files sorted with LC_ALL=C; utils/validate_data_dir.sh checks every set.
# yesno: 60 wav files named by their transcript (0_1_1_0_0_1_0_1.wav: 0 = NO, 1 = YES), one
# speaker; the first half of the sorted list is train_yesno, the second half test_yesno.
set -euo pipefail
export LC_ALL=C

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

# --- 0. The audio (corpus-specific): the corpus dir, or the openslr archive (Kaldi's s5 does
# the same with wget).  Offline, pass --corpus-dir pointing at an extracted copy.
list_waves() { ls -1 "$1" 2>/dev/null | grep -E '^[01](_[01])*\.wav$' | sort || true; }
if [ "$(list_waves "$corpus_dir" | wc -l)" -ne 60 ]; then
  if [ "$download" != true ]; then
    echo "$0: ERROR: --corpus-dir $corpus_dir does not hold the 60 yesno wav files (--download false)" >&2
    exit 1
  fi
  corpus_dir=$download_dir/waves_yesno
  if [ "$(list_waves "$corpus_dir" | wc -l)" -ne 60 ]; then
    mkdir -p "$download_dir"
    url=https://www.openslr.org/resources/1/waves_yesno.tar.gz
    echo "$0: downloading $url into $download_dir" >&2
    if command -v wget >/dev/null; then wget -q -O "$download_dir/waves_yesno.tar.gz" $url
    else curl -sSfL -o "$download_dir/waves_yesno.tar.gz" $url; fi
    tar -xzf "$download_dir/waves_yesno.tar.gz" -C "$download_dir"
  fi
fi
corpus_abs=$(cd "$corpus_dir" && pwd)   # absolute: wav.scp must work from any directory

# --- 1. The split (corpus-specific): one utterance list per set.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
list_waves "$corpus_abs" | sed 's/\.wav$//' > $tmp/all
half=$(( $(wc -l < $tmp/all) / 2 ))
head -n $half $tmp/all > $tmp/train_yesno
tail -n +$(( half + 1 )) $tmp/all > $tmp/test_yesno

for set in train_yesno test_yesno; do
  d=$data/$set
  mkdir -p $d
  # --- 2. wav.scp: <utt> <absolute wav path>
  awk -v dir="$corpus_abs" '{ print $1, dir "/" $1 ".wav" }' $tmp/$set | sort > $d/wav.scp
  # --- 3. text (corpus-specific): the transcript of each utterance, in lexicon words
  awk '{ t = $1; gsub("_", " ", t); gsub("0", "NO", t); gsub("1", "YES", t); print $1, t }' \
    $tmp/$set | sort > $d/text
  # --- 4. speakers (corpus-specific): one speaker here; per-speaker CMVN needs real ones
  awk '{ print $1, "global" }' $tmp/$set | sort > $d/utt2spk
  utils/utt2spk_to_spk2utt.pl $d/utt2spk > $d/spk2utt
  utils/validate_data_dir.sh --no-feats $d
done

# --- 5. Corpus statistics (utterances, speakers, words, hours per set)
bnn-data-stats $data/train_yesno $data/test_yesno
echo "$0: succeeded writing $data/train_yesno and $data/test_yesno" >&2
