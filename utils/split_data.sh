#!/usr/bin/env bash
# Splits a data directory into <num-to-split> parts for parallel jobs (Kaldi semantics:
# egs/wsj/s5/utils/split_data.sh).  Default (or --per-spk): speakers are kept whole, parts in
# <data>/split<N>/<n>/ (at least N speakers needed).  --per-utt: contiguous blocks of
# utterances in <data>/split<N>utt/<n>/.  Every table is filtered consistently (lines copied
# unchanged), spk2utt regenerated.  Implementation: bnn/kaldi/datadir.py (split_data).
set -euo pipefail

usage() {  # usage [fd]: fd 1 (--help) exits 0, else the text goes to stderr and exits 2
  cat >&"${1:-2}" <<USAGE
Usage: $0 [--per-utt|--per-spk] <data-dir> <num-to-split>
  --per-spk   keep each speaker's utterances in one part: <data>/split<N>/<n> (default)
  --per-utt   split by utterance: <data>/split<N>utt/<n>
e.g.: $0 data/train 4
USAGE
  if [ "${1:-2}" = 1 ]; then exit 0; fi
  exit 2
}

mode=--per-spk
while [ $# -gt 0 ]; do
  case "$1" in
    --per-utt|--per-spk) mode=$1; shift;;
    --help|-h) usage 1;;
    --*) echo "$0: unknown option $1" >&2; usage;;
    *) break;;
  esac
done
[ $# -eq 2 ] || usage
data=$1
numsplit=$2
[[ "$numsplit" =~ ^[1-9][0-9]*$ ]] || { echo "$0: <num-to-split> must be a positive integer, got '$numsplit'" >&2; exit 2; }
[ -f "$data/utt2spk" ] || { echo "$0: missing $data/utt2spk" >&2; exit 1; }

. "$(dirname "$(readlink -f "$0")")/lib/bnn_python.sh"
bnn_py split_data $mode "$data" "$numsplit"
