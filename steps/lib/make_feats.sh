# Body shared by steps/make_fbank.sh and steps/make_mfcc.sh (sourced after their option
# parsing; Kaldi steps/make_{fbank,mfcc}.sh semantics).  Expects: kind (fbank|mfcc), config,
# nj, cmd, write_utt2num_frames, bnn_root, and the positional arguments in "$@".
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi
data=$1
logdir=${2:-$data/log}
featdir=${3:-$data/data}
name=$(basename "$data")

for f in "$data/wav.scp" "$data/utt2spk" "$config"; do
  [ -f "$f" ] || { echo "$0: missing $f" >&2; exit 1; }
done
if ! [[ "$nj" =~ ^[1-9][0-9]*$ ]]; then
  echo "$0: --nj must be a positive integer, got '$nj'" >&2; exit 2
fi
. "$bnn_root/steps/lib/pyrun.sh"

nu=$(wc -l < "$data/utt2spk")
if [ "$nj" -gt "$nu" ]; then
  echo "$0: --nj $nj is more than the $nu utterances of $data; using $nu jobs" >&2
  nj=$nu
fi

mkdir -p "$featdir" "$logdir"
featdir=$(cd "$featdir" && pwd)   # absolute: feats.scp must work from any directory
[ -f "$data/feats.scp" ] && mv "$data/feats.scp" "$data/.backup_feats.scp"
mkdir -p "$data/conf"
if [ "$(readlink -f "$config")" != "$(readlink -f "$data/conf/$kind.conf")" ]; then
  cp "$config" "$data/conf/$kind.conf"
fi

split_data="$bnn_root/utils/split_data.sh"
[ -x utils/split_data.sh ] && split_data=utils/split_data.sh
"$split_data" --per-utt "$data" "$nj" >&2
sdata=$data/split${nj}utt
[ -f "$sdata/1/wav.scp" ] || { echo "$0: $split_data did not create $sdata/1/wav.scp" >&2; exit 1; }

seg_opt=
if [ -f "$data/segments" ]; then
  echo "$0 [info]: segments file exists: computing features of the segments"
  seg_opt="--segments=$sdata/JOB/segments"
fi

rm -f "$featdir"/raw_${kind}_$name.*.ark "$featdir"/raw_${kind}_$name.*.scp \
  "$logdir"/utt2num_frames_$name.*
if ! $cmd JOB=1:$nj "$logdir/make_${kind}_$name.JOB.log" \
    $pyrun.compute_${kind}_feats --config="$config" $seg_opt \
      --write-num-frames=ark,t:$logdir/utt2num_frames_$name.JOB \
      scp:$sdata/JOB/wav.scp \
      ark,scp:$featdir/raw_${kind}_$name.JOB.ark,$featdir/raw_${kind}_$name.JOB.scp; then
  # the job runner has already named the failed logs and printed their last lines
  echo "$0: computing $kind features for $data failed (logs: $logdir/make_${kind}_$name.*.log)" >&2
  exit 1
fi

# Concatenate the per-job scp files (each a sorted, contiguous part of the data) into feats.scp.
for n in $(seq "$nj"); do
  cat "$featdir/raw_${kind}_$name.$n.scp"
done > "$data/.feats.scp.tmp"
LC_ALL=C sort -k1,1 -c "$data/.feats.scp.tmp" 2>/dev/null \
  || LC_ALL=C sort -k1,1 -o "$data/.feats.scp.tmp" "$data/.feats.scp.tmp"
mv "$data/.feats.scp.tmp" "$data/feats.scp"
if $write_utt2num_frames; then
  for n in $(seq "$nj"); do cat "$logdir/utt2num_frames_$name.$n"; done \
    | LC_ALL=C sort -k1,1 > "$data/.utt2num_frames.tmp"
  mv "$data/.utt2num_frames.tmp" "$data/utt2num_frames"
fi
rm -f "$logdir"/utt2num_frames_$name.*

nf=$(wc -l < "$data/feats.scp")
if [ "$nf" -ne "$nu" ]; then
  missing=$(LC_ALL=C join -v1 <(cut -d' ' -f1 "$data/utt2spk" | LC_ALL=C sort) \
    <(cut -d' ' -f1 "$data/feats.scp" | LC_ALL=C sort) | head -n 5 | tr '\n' ' ')
  echo "$0: only $nf of $nu utterances of $data got features; missing e.g.: $missing(see $logdir/make_${kind}_$name.*.log)" >&2
  exit 1
fi
echo "$0: Succeeded creating $kind features for $name ($nf utterances, dim $($pyrun.feat_to_dim "scp:$data/feats.scp" - 2>/dev/null))"
