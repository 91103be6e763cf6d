#!/usr/bin/env bash
# Prints the path of an nnet config given as a YAML path or as a name in $BNN_ROOT/conf/nnet
# (e.g. "qian_bdnn" -> $BNN_ROOT/conf/nnet/qian_bdnn.yaml).  Usage: steps/lib/nnet_config.sh <config>
set -euo pipefail
help_message="Usage: $0 <config.yaml|name>   (no options)
e.g.: $0 qian_bdnn"
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then printf '%s\n' "$help_message"; exit 0; fi
[ $# -eq 1 ] || { printf '%s\n' "$help_message" >&2; exit 2; }
if [ -f "$1" ]; then
  echo "$1"
elif [ -n "${BNN_ROOT:-}" ] && [ -f "$BNN_ROOT/conf/nnet/$1.yaml" ]; then
  echo "$BNN_ROOT/conf/nnet/$1.yaml"
else
  echo "$0: no nnet config '$1' (neither a file nor \$BNN_ROOT/conf/nnet/$1.yaml)" >&2
  exit 1
fi
