# Sourced by steps/*.sh after setting bnn_root: defines $pyrun, the prefix of a command line that
# runs one of the toolkit's commands from this checkout, e.g. "$pyrun.compute_fbank_feats ...".
# It is a plain word list (no shell function) so that job runners (run.pl, slurm.pl) can run it.
# Interpreter: $BNN_PYTHON, else the repository's .venv/bin/python, else python3 from PATH.
bnn_python=${BNN_PYTHON:-}
if [ -z "$bnn_python" ]; then
  if [ -x "$bnn_root/.venv/bin/python" ]; then bnn_python="$bnn_root/.venv/bin/python"; else bnn_python=python3; fi
fi
pyrun="env PYTHONPATH=$bnn_root${PYTHONPATH:+:$PYTHONPATH} OMP_WAIT_POLICY=PASSIVE $bnn_python -m bnn.bin"
[ "${cmd:-}" = utils/run.pl ] && [ ! -x utils/run.pl ] && cmd="$bnn_root/utils/run.pl"
true
