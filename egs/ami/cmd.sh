# Job backend (Kaldi's cmd.sh). Local machine: utils/run.pl. On a Slurm cluster use e.g.
#   export train_cmd="utils/slurm.pl --mem 4G"; export cuda_cmd="utils/slurm.pl --gpu 1"
# or on Grid Engine (conf/queue.conf): export train_cmd="utils/queue.pl --mem 4G"
export train_cmd="utils/run.pl"
export decode_cmd="utils/run.pl"
export cuda_cmd="utils/run.pl"
