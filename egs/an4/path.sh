# Environment for this recipe (Kaldi's path.sh): the toolkit's venv, utils/ and steps/.
export BNN_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"  # also when linked from kaldi_dropin/
. "$BNN_ROOT/utils/bnn_env.sh"
