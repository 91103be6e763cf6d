# Sourced by every recipe's path.sh: puts the toolkit's venv, utils/ and steps/ on PATH and sets
# the environment Kaldi recipes expect.  BNN_ROOT must point at the repository root.
: "${BNN_ROOT:?BNN_ROOT must be set before sourcing utils/bnn_env.sh}"
if [ -x "$BNN_ROOT/.venv/bin/python" ]; then
  export PATH="$BNN_ROOT/.venv/bin:$PATH"
fi
export PATH="$BNN_ROOT/utils:$PATH"
export LC_ALL=C
export PYTHONUNBUFFERED=1
# torch's OpenMP threads spin-wait and stall 10-20x on small machines unless told to sleep.
export OMP_WAIT_POLICY=PASSIVE
