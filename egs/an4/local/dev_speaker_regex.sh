#!/usr/bin/env bash
# Prints two utterance-id regexes for steps/kaldi_dropin.sh --subsets: the dev speakers that
# bnn-prepare-an4 holds out (bnn.corpora.an4.dev_speakers: 8 of the training speakers, half
# female, half male) and the remaining training speakers. Utterance ids are <spk>-<file id>.
set -euo pipefail
num_dev_speakers=8
. utils/parse_options.sh
if [ $# -ne 1 ]; then
  echo "Usage: $0 [--num-dev-speakers 8] <train spk2utt>" >&2
  echo "e.g.: $0 ../../../shared/fixtures/kaldi_an4_s5/data/train/spk2utt" >&2
  exit 2
fi
python3 - "$1" $num_dev_speakers <<'PY'
import sys
from bnn.corpora.an4 import dev_speakers
spk = [line.split()[0] for line in open(sys.argv[1]) if line.strip()]
dev = set(dev_speakers(spk, int(sys.argv[2])))
rest = [s for s in spk if s not in dev]
print("^(%s)-" % "|".join(sorted(dev)), "^(%s)-" % "|".join(rest))
PY
