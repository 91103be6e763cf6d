#!/usr/bin/env bash
# Decode a data dir with an nnet acoustic model (Kaldi steps/nnet/decode.sh): per job
#   <forward command> | <decoder> ...
# where the forward command writes (frames x num-pdfs) log-likelihoods as a Kaldi archive on stdout
# (default: bnn-forward of <decode-dir>/.. with its pdf priors) and the decoder is Kaldi's
# latgen-faster-mapped when it is on PATH, else bnn-latgen-faster-mapped.  Jobs run through
# $cmd JOB=1:$nj; each log ends with the decoder's real-time factor and frames/s.  Each job writes lat.JOB.gz (Kaldi CompactLattices) and words.JOB.int (best path at --acwt);
# then steps/score.sh scores the LM-weight/penalty sweep on the lattices (unless --skip-scoring true).
set -euo pipefail

# Begin configuration section.
nj=4
cmd=utils/run.pl
acwt=0.1
beam=13.0
lattice_beam=8.0
max_active=7000
min_active=200
engine=torch          # bnn-forward --engine (torch|packed)
model_dir=            # default: the parent of <decode-dir>
forward_cmd=          # forward command template, JOB = job number, words without spaces;
                      # default "bnn-forward --model-dir <model-dir> --engine <engine> --apply-log=true
                      #   --class-frame-counts <model-dir>/ali_train_pdf.counts --data-dir <data>/split<nj>/JOB
                      #   scp:<data>/split<nj>/JOB/feats.scp ark:-"
min_lmwt=1
max_lmwt=20
word_ins_penalty=0.0,0.5,1.0
best_from=            # dev decode dir whose best LM weight/penalty is applied (steps/score.sh)
skip_scoring=false
# End configuration section.

echo "$0 $@"  # Print the command line for logging

help_message="Usage: steps/decode.sh [options] <graph-dir> <data-dir> <decode-dir>
e.g.: steps/decode.sh --nj 4 --engine packed exp/mono/graph data/test exp/bnn_mlp/decode_test
options: --nj <4> --cmd <utils/run.pl> --acwt <0.1> --beam <13.0> --lattice-beam <8.0>
         --engine <torch|packed> --model-dir <dir> --forward-cmd '<command writing ark:->'
         --min-lmwt <1> --max-lmwt <20> --word-ins-penalty <0.0,0.5,1.0> --best-from <dev-decode-dir>
         --skip-scoring <false>"
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

for f in $graphdir/HCLG.fst $graphdir/words.txt $data/feats.scp $srcdir/final.mdl; do
  [ -f $f ] || { echo "$0: missing $f" >&2; exit 1; }
done
# The network's output size, the model's pdfs and the graph's pdfs must agree (checked up front).
if [ -f $srcdir/num_pdfs ] && [ -f $graphdir/num_pdfs ] && \
   [ "$(cat $srcdir/num_pdfs)" != "$(cat $graphdir/num_pdfs)" ]; then
  echo "$0: $srcdir/num_pdfs ($(cat $srcdir/num_pdfs)) != $graphdir/num_pdfs ($(cat $graphdir/num_pdfs)):" \
       "the graph was built for another model" >&2
  exit 1
fi

mkdir -p $dir/log
echo $nj > $dir/num_jobs
utils/split_data.sh $data $nj >/dev/null
sdata=$data/split$nj

if [ -z "$forward_cmd" ]; then
  [ -f $srcdir/ali_train_pdf.counts ] || { echo "$0: missing $srcdir/ali_train_pdf.counts (pdf priors)" >&2; exit 1; }
  forward_cmd="bnn-forward --model-dir $srcdir --engine $engine --apply-log=true"
  forward_cmd+=" --class-frame-counts $srcdir/ali_train_pdf.counts --data-dir $sdata/JOB"
  forward_cmd+=" scp:$sdata/JOB/feats.scp ark:-"
fi

rm -f $dir/sweep.*.txt $dir/wer_* $dir/lat.*.gz $dir/words.*.int
dec_opts=(--acoustic-scale=$acwt --beam=$beam --lattice-beam=$lattice_beam --max-active=$max_active
          --min-active=$min_active --allow-partial=true --word-symbol-table=$graphdir/words.txt)
# Kaldi's decoder when it is on PATH, else the toolkit's own (same command line, same lattices).
decoder=bnn-latgen-faster-mapped
command -v latgen-faster-mapped >/dev/null 2>&1 && decoder=latgen-faster-mapped
outputs=("ark:|gzip -c > $dir/lat.JOB.gz" "ark,t:$dir/words.JOB.int")
echo "$0: decoder $(command -v $decoder)"

set -f  # the forward command template is split into words, never globbed
$cmd JOB=1:$nj $dir/log/decode.JOB.log \
  $forward_cmd \| $decoder "${dec_opts[@]}" $srcdir/final.mdl $graphdir/HCLG.fst ark:- "${outputs[@]}"
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
