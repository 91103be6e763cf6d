#!/usr/bin/env bash
# Checks a Kaldi data directory (Kaldi semantics: egs/wsj/s5/utils/validate_data_dir.sh):
# every table sorted (LC_ALL=C) without duplicate keys, utt2spk/spk2utt consistent, the same
# utterances in utt2spk, text, wav.scp (or segments), feats.scp, utt2dur; cmvn.scp/spk2gender
# cover the speakers; no empty transcript.  Stops at the first problem with a one-line message
# naming the file, line and utterance; exit 1.  Implementation: bnn/kaldi/datadir.py.
set -euo pipefail

usage() {  # usage [fd]: fd 1 (--help) exits 0, else the text goes to stderr and exits 2
  cat >&"${1:-2}" <<USAGE
Usage: $0 [--no-feats] [--no-text] [--no-wav] <data-dir>
  --no-feats   do not require feats.scp
  --no-text    do not require text (e.g. test data without transcripts)
  --no-wav     do not require wav.scp
e.g.: $0 data/train
USAGE
  if [ "${1:-2}" = 1 ]; then exit 0; fi
  exit 2
}

opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-feats|--no-text|--no-wav) opts+=("$1"); shift;;
    --non-print|--no-spk-sort) shift;;  # Kaldi options: UTF-8 is always checked here
    --help|-h) usage 1;;
    --*) echo "$0: unknown option $1" >&2; usage;;
    *) break;;
  esac
done
[ $# -eq 1 ] || usage
data=$1
[ -d "$data" ] || { echo "$0: no such directory $data" >&2; exit 1; }

. "$(dirname "$(readlink -f "$0")")/lib/bnn_python.sh"
bnn_py validate_data_dir ${opts[@]+"${opts[@]}"} "$data"
