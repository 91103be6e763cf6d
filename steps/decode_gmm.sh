#!/usr/bin/env bash
# Decode a data dir with a GMM model dir (Kaldi steps/decode.sh): per job
#   bnn-apply-cmvn <cmvn_opts> ... | bnn-add-deltas <delta_opts> ... | <decoder>
# with Kaldi's gmm-latgen-faster when it is on PATH, else bnn-gmm-latgen-faster; the model dir is
# the parent of <decode-dir> (or --model-dir) and holds final.mdl, cmvn_opts, delta_opts.
# Each job writes lat.JOB.gz (Kaldi CompactLattices) and words.JOB.int (best path at --acwt).
# Then steps/score.sh scores the LM-weight/penalty sweep on the lattices (unless --skip-scoring true).
set -euo pipefail

# Begin configuration section.
nj=4
cmd=utils/run.pl
acwt=0.083333
beam=13.0
lattice_beam=6.0
max_active=7000
min_active=200
model_dir=
min_lmwt=1
max_lmwt=20
word_ins_penalty=0.0,0.5,1.0
best_from=
skip_scoring=false
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: steps/decode_gmm.sh [options] <graph-dir> <data-dir> <decode-dir>
e.g.: steps/decode_gmm.sh --nj 1 exp/mono/graph data/test exp/mono/decode_test
options: --nj <4> --cmd <utils/run.pl> --acwt <0.083333> --beam <13.0> --lattice-beam <6.0>
         --min-lmwt <1> --max-lmwt <20> --word-ins-penalty <0.0,0.5,1.0> --skip-scoring <false>"

. utils/parse_options.sh

# With --best-from, decode only at the LM weight / penalty chosen on the dev set (apply dev's
# best to test, as Kaldi's local/score.sh users do); scoring still reports it as wer_<lmwt>_<wip>.
if [ -n "$best_from" ]; then
  read -r min_lmwt word_ins_penalty < <(steps/lib/dev_best.sh $best_from)
  max_lmwt=$min_lmwt
fi

if [ $# -ne 3 ]; then
  printf '%s\n' "$help_message" >&2
  exit 2
fi

graphdir=$1
data=$2
dir=$3
srcdir=${model_dir:-$(dirname $dir)}

for f in $graphdir/HCLG.fst $graphdir/words.txt $data/feats.scp $data/cmvn.scp $srcdir/final.mdl; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
if [ -f $graphdir/num_pdfs ]; then
  mdl_pdfs=$(bnn-hmm-info $srcdir/final.mdl 2>/dev/null | awk '/number of pdfs/{print $NF}')
  if [ -n "$mdl_pdfs" ] && [ "$mdl_pdfs" != "$(cat $graphdir/num_pdfs)" ]; then
    echo "$0: $srcdir/final.mdl has $mdl_pdfs pdfs but $graphdir/num_pdfs says $(cat $graphdir/num_pdfs)" >&2
    exit 1
  fi
fi
cmvn_opts=$(cat $srcdir/cmvn_opts 2>/dev/null || true)
delta_opts=$(cat $srcdir/delta_opts 2>/dev/null || true)

mkdir -p $dir/log
echo $nj > $dir/num_jobs
utils/split_data.sh $data $nj >/dev/null
sdata=$data/split$nj

rm -f $dir/sweep.*.txt $dir/wer_* $dir/lat.*.gz $dir/words.*.int
dec_opts=(--acoustic-scale=$acwt --beam=$beam --lattice-beam=$lattice_beam --max-active=$max_active
          --min-active=$min_active --allow-partial=true --word-symbol-table=$graphdir/words.txt)
# Kaldi's decoder when it is on PATH, else the toolkit's own (same command line, same lattices).
decoder=bnn-gmm-latgen-faster
command -v gmm-latgen-faster >/dev/null 2>&1 && decoder=gmm-latgen-faster
outputs=("ark:|gzip -c > $dir/lat.JOB.gz" "ark,t:$dir/words.JOB.int")
echo "$0: decoder $(command -v $decoder)"

set -f
$cmd JOB=1:$nj $dir/log/decode.JOB.log \
  bnn-apply-cmvn $cmvn_opts --utt2spk=ark:$sdata/JOB/utt2spk scp:$sdata/JOB/cmvn.scp \
    scp:$sdata/JOB/feats.scp ark:- \| bnn-add-deltas $delta_opts ark:- ark:- \| \
  $decoder "${dec_opts[@]}" $srcdir/final.mdl $graphdir/HCLG.fst ark:- "${outputs[@]}"
set +f

for n in $(seq $nj); do
  grep -h "real-time factor" $dir/log/decode.$n.log || true
done

if ! $skip_scoring; then
  opts=()
  [ -n "$best_from" ] && opts+=(--best-from $best_from)
  steps/score.sh --cmd "$cmd" --min-lmwt $min_lmwt --max-lmwt $max_lmwt \
    --word-ins-penalty $word_ins_penalty ${opts[@]+"${opts[@]}"} $data $graphdir $dir
fi
echo "$0: done decoding $data into $dir"
