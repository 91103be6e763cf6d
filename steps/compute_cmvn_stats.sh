#!/usr/bin/env bash
# Copyright 2026 bnn authors.  Apache 2.0.
# Per-speaker CMVN statistics of a data directory (Kaldi steps/compute_cmvn_stats.sh): runs
# bnn-compute-cmvn-stats --spk2utt on <data>/feats.scp, writes <cmvn-dir>/cmvn_<name>.{ark,scp}
# (2 x (dim+1) double matrices: sums and count / sums of squares) and copies the scp to
# <data>/cmvn.scp.  Fails if a speaker got no statistics.
set -euo pipefail
echo "$0 $*"

# Begin configuration section.
cmd=utils/run.pl   # job runner (one job)
# End configuration section.

bnn_root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
help_message="Usage: $0 [options] <data-dir> [<log-dir> [<cmvn-dir>]]
e.g.: $0 data/train exp/make_fbank/train fbank
Note: <log-dir> defaults to <data-dir>/log, and <cmvn-dir> defaults to <data-dir>/data.
Options:
  --cmd <run.pl|slurm.pl ...>   how to run the job (default: $cmd)"
. "$bnn_root/utils/parse_options.sh"

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi
data=$1
logdir=${2:-$data/log}
cmvndir=${3:-$data/data}
name=$(basename "$data")

for f in "$data/feats.scp" "$data/spk2utt"; do
  [ -f "$f" ] || { echo "$0: missing $f" >&2; exit 1; }
done
. "$bnn_root/steps/lib/pyrun.sh"

mkdir -p "$cmvndir" "$logdir"
cmvndir=$(cd "$cmvndir" && pwd)

if ! $cmd "$logdir/cmvn_$name.log" \
    $pyrun.compute_cmvn_stats --spk2utt=ark:$data/spk2utt scp:$data/feats.scp \
      ark,scp:$cmvndir/cmvn_$name.ark,$cmvndir/cmvn_$name.scp; then
  echo "$0: computing CMVN stats for $data failed; end of $logdir/cmvn_$name.log:" >&2
  tail -n 5 "$logdir/cmvn_$name.log" >&2
  exit 1
fi
cp "$cmvndir/cmvn_$name.scp" "$data/.cmvn.scp.tmp"
mv "$data/.cmvn.scp.tmp" "$data/cmvn.scp"

nc=$(wc -l < "$data/cmvn.scp")
ns=$(wc -l < "$data/spk2utt")
if [ "$nc" -ne "$ns" ]; then
  echo "$0: only $nc of $ns speakers of $data got CMVN stats (see $logdir/cmvn_$name.log)" >&2
  exit 1
fi
echo "$0: Succeeded creating CMVN stats for $name ($nc speakers)"
