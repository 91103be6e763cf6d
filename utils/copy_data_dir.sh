#!/usr/bin/env bash
# Copies a data directory, optionally adding prefixes/suffixes to utterance and speaker ids
# (Kaldi semantics: egs/wsj/s5/utils/copy_data_dir.sh); recording ids in wav.scp are kept when
# segments exist.  The copy is validated with utils/validate_data_dir.sh (--no-feats/--no-text/
# --no-wav added for files the source lacks).  Implementation: bnn/kaldi/datadir.py.
set -euo pipefail

# Begin configuration section.
utt_prefix=    # prefix added to utterance ids
utt_suffix=    # suffix added to utterance ids
spk_prefix=    # prefix added to speaker ids
spk_suffix=    # suffix added to speaker ids
validate_opts= # extra options for validate_data_dir.sh
# End configuration section.

help_message="Usage: $0 [options] <src-data-dir> <dest-data-dir>
e.g.: $0 --spk-prefix=1- --utt-prefix=1- data/train data/train_1"

here=$(dirname "$(readlink -f "$0")")
. "$here/parse_options.sh"

if [ $# -ne 2 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi
src=$1
dest=$2
[ -f "$src/utt2spk" ] || { echo "$0: no such file $src/utt2spk" >&2; exit 1; }

. "$here/lib/bnn_python.sh"
bnn_py copy_data_dir --utt-prefix "$utt_prefix" --utt-suffix "$utt_suffix" \
  --spk-prefix "$spk_prefix" --spk-suffix "$spk_suffix" "$src" "$dest"

[ -f "$src/feats.scp" ] || validate_opts="$validate_opts --no-feats"
[ -f "$src/text" ] || validate_opts="$validate_opts --no-text"
[ -f "$src/wav.scp" ] || validate_opts="$validate_opts --no-wav"
"$here/validate_data_dir.sh" $validate_opts "$dest"
echo "$0: copied data from $src to $dest" >&2
