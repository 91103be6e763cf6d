#!/usr/bin/env bash
# Creates a subset of a data directory (Kaldi semantics: egs/wsj/s5/utils/subset_data_dir.sh),
# every table filtered consistently, spk2utt regenerated.  Without a mode, <num> utterances
# spread evenly through the directory (Kaldi's subset_scp.pl).
# Implementation: bnn/kaldi/datadir.py (subset_data_dir).
set -euo pipefail

usage() {  # usage [fd]: fd 1 (--help) exits 0, else the text goes to stderr and exits 2
  cat >&"${1:-2}" <<USAGE
Usage: $0 [--first|--last|--per-spk|--shortest] <src-data-dir> <num> <dest-data-dir>
   or: $0 --utt-list <utterance-list-file> <src-data-dir> <dest-data-dir>
   or: $0 --spk-list <speaker-list-file> <src-data-dir> <dest-data-dir>
  --first / --last   the first / last <num> utterances
  --per-spk          <num> utterances per speaker (evenly spaced)
  --shortest         the <num> shortest utterances (utt2num_frames or utt2dur)
e.g.: $0 --first data/train 100 data/train_100
USAGE
  if [ "${1:-2}" = 1 ]; then exit 0; fi
  exit 2
}

opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --first|--last|--per-spk|--shortest) opts+=("$1"); shift;;
    --utt-list|--spk-list)
      [ $# -ge 2 ] || usage
      [ -f "$2" ] || { echo "$0: no such file $2" >&2; exit 1; }
      opts+=("$1" "$2"); shift 2;;
    --help|-h) usage 1;;
    --*) echo "$0: unknown option $1" >&2; usage;;
    *) break;;
  esac
done
case " ${opts[*]-} " in
  *" --utt-list "*|*" --spk-list "*) [ $# -eq 2 ] || usage; src=$1;;
  *) [ $# -eq 3 ] || usage; src=$1;;
esac
[ -f "$src/utt2spk" ] || { echo "$0: no such file $src/utt2spk" >&2; exit 1; }

. "$(dirname "$(readlink -f "$0")")/lib/bnn_python.sh"
bnn_py subset_data_dir ${opts[@]+"${opts[@]}"} "$@"
