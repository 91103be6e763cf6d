# Sourced by utils/*.sh: defines bnn_py <module> [args...], which runs python -m bnn.bin.<module>
# from this checkout (PYTHONPATH set, so it works before `pip install -e .`).  The interpreter is
# $BNN_PYTHON if set, else the repository's .venv/bin/python if present, else python3 from PATH
# (the data-directory tools need only the standard library).
__bnn_root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
bnn_py() {
  local py="${BNN_PYTHON:-}"
  if [ -z "$py" ]; then
    if [ -x "$__bnn_root/.venv/bin/python" ]; then py="$__bnn_root/.venv/bin/python"; else py=python3; fi
  fi
  local mod="$1"; shift
  PYTHONPATH="$__bnn_root${PYTHONPATH:+:$PYTHONPATH}" "$py" -m "bnn.bin.$mod" "$@"
}
