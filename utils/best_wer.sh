#!/usr/bin/env bash
# Print the line with the lowest %WER (or %SER) of the compute-wer outputs on stdin, as Kaldi's
# utils/best_wer.sh: e.g.  grep WER exp/mono/decode_test/wer_* | utils/best_wer.sh
# A grep prefix "<file>:" is moved to the end: "%WER 1.25 [ 3 / 240, ... ] <file>".
# Ties keep the first line.  No line: prints nothing, exits 1.
set -euo pipefail
help_message="Usage: utils/best_wer.sh < <compute-wer-outputs>   (no arguments, no options)
e.g.: grep WER exp/mono/decode_test/wer_* | utils/best_wer.sh"
if [ $# -gt 0 ]; then
  case "$1" in
    --help|-h) printf '%s\n' "$help_message"; exit 0;;
    *) printf '%s\n' "$help_message" >&2; exit 2;;
  esac
fi
awk '
  match($0, /%[WS]ER [0-9.]+/) {
    v = substr($0, RSTART + 5, RLENGTH - 5) + 0
    if (!found || v < best) {
      best = v; found = 1; line = $0
      if (RSTART > 1 && substr($0, RSTART - 1, 1) == ":")
        line = substr($0, RSTART) " " substr($0, 1, RSTART - 2)
    }
  }
  END { if (found) print line; else exit 1 }'
