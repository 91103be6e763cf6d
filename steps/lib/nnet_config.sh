#!/usr/bin/env bash
# Prints the path of an nnet config given as a YAML path or as a name in $BNN_ROOT/conf/nnet
# (e.g. "qian_bdnn" -> $BNN_ROOT/conf/nnet/qian_bdnn.yaml).  Usage: steps/lib/nnet_config.sh <config>
set -euo pipefail
[ $# -eq 1 ] || { echo "Usage: $0 <config.yaml|name>" >&2; exit 2; }
if [ -f "$1" ]; then
  echo "$1"
elif [ -n "${BNN_ROOT:-}" ] && [ -f "$BNN_ROOT/conf/nnet/$1.yaml" ]; then
  echo "$BNN_ROOT/conf/nnet/$1.yaml"
else
  echo "$0: no nnet config '$1' (neither a file nor \$BNN_ROOT/conf/nnet/$1.yaml)" >&2
  exit 1
fi
