# Environment for this recipe (Kaldi's path.sh): the toolkit's venv, utils/ and steps/.
export BNN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$BNN_ROOT/utils/bnn_env.sh"
