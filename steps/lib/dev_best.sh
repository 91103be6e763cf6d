#!/usr/bin/env bash
# Prints "<lm-weight> <word-insertion-penalty>" chosen on a scored dev decode dir
# (from its scoring_kaldi/best_wer, written by steps/score.sh), for decoding test sets with the
# dev-selected setting only.  Usage: steps/lib/dev_best.sh <dev-decode-dir>
set -euo pipefail
help_message="Usage: $0 <dev-decode-dir>   (no options)
e.g.: $0 exp/mono/decode_dev"
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then printf '%s\n' "$help_message"; exit 0; fi
[ $# -eq 1 ] || { printf '%s\n' "$help_message" >&2; exit 2; }
f=$1/scoring_kaldi/best_wer
[ -f $f ] || { echo "$0: missing $f (score the dev decode first)" >&2; exit 1; }
best=$(sed -n 's|.*/wer_\([0-9][0-9]*\)_\([0-9.][0-9.]*\)$|\1 \2|p' $f)
[ -n "$best" ] || { echo "$0: $f: cannot parse the best wer_<lmwt>_<wip> file name" >&2; exit 1; }
echo "$best"
