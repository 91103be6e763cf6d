#!/usr/bin/env bash
# Makes a data directory consistent (Kaldi semantics: egs/wsj/s5/utils/fix_data_dir.sh): keeps
# only utterances present in every table (utt2spk, text, feats.scp, wav.scp/segments, utt2dur,
# ...) with a non-empty transcript, drops speakers/recordings left without utterances, sorts
# every table (LC_ALL=C), drops duplicate keys (first kept), regenerates spk2utt, and reports how
# many utterances were removed.  The original files are kept in <data>/.backup/.
# Implementation: bnn/kaldi/datadir.py (fix_data_dir).
set -euo pipefail

# Begin configuration section.
# (no options)
# End configuration section.

help_message="Usage: $0 <data-dir>
e.g.: $0 data/train"

. "$(dirname "$(readlink -f "$0")")/parse_options.sh"

if [ $# -ne 1 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi
data=$1
[ -f "$data/utt2spk" ] || { echo "$0: missing $data/utt2spk" >&2; exit 1; }

. "$(dirname "$(readlink -f "$0")")/lib/bnn_python.sh"
bnn_py fix_data_dir "$data"
