#!/usr/bin/env bash
# Switchboard-1 (LDC97S62) and eval2000 (LDC2002S09 + LDC2002T43) data dirs through lhotse's
# recipes (bnn-prepare-lhotse swbd: train, train_dev = the first 4000 utterances, train_nodup =
# the rest, eval2000), then eval2000's Switchboard / CallHome parts by utterance-id prefix
# (sw_ / en_, as Kaldi's score_sclite.sh filters its stm), and data/local/dict from a
# CMUdict-format lexicon (Kaldi's swbd/s5c uses the MSU lexicon of the ms98 transcripts).
set -euo pipefail
transcripts=
. utils/parse_options.sh
if [ $# -ne 4 ]; then
  echo "Usage: $0 [--transcripts <swb_ms98_transcriptions>] <LDC97S62-dir> <eval2000-dir> <lexicon> <data-dir>" >&2
  echo "e.g.: $0 /corpora/LDC97S62 /corpora/eval2000 /corpora/cmudict-0.7b data" >&2
  exit 2
fi
swbd=$1; eval2000=$2; lexicon=$3; data=$4
bnn-prepare-lhotse swbd ${transcripts:+--transcripts $transcripts} --eval2000 "$eval2000" "$swbd" $data
for sub in swbd:sw_ callhm:en_; do  # lhotse ids may carry a speaker prefix: unanchored
  cut -d' ' -f1 $data/eval2000/utt2spk | grep -E "${sub#*:}" > $data/eval2000/.${sub%%:*}.list
  bnn-subset-data-dir --utt-list $data/eval2000/.${sub%%:*}.list $data/eval2000 $data/eval2000_${sub%%:*}
done
bnn-prepare-lhotse dict "$lexicon" $data/local/dict $data/train_nodup/text
