"""model.dropout: dropout of the float hidden activations while training only (issue 14 item 0)."""
import pytest
import torch

from bnn.nn.models import build_model
from bnn.utils.errors import BnnError

CFG = {"type": "dnn", "hidden_dim": 400, "num_hidden": 2, "activation": "relu"}


def test_dropout_is_identity_in_eval_mode_and_adds_no_parameters():
    torch.manual_seed(0)
    plain = build_model(CFG, 20, 7)
    dropped = build_model(dict(CFG, dropout=0.3), 20, 7)
    assert sorted(plain.state_dict()) == sorted(dropped.state_dict())
    dropped.load_state_dict(plain.state_dict())
    x = torch.randn(8, 20)
    plain.eval()
    dropped.eval()
    assert torch.equal(plain(x), dropped(x))


def test_dropout_zeroes_about_p_of_the_hidden_units_and_rescales_the_rest():
    torch.manual_seed(1)
    model = build_model(dict(CFG, dropout=0.3), 20, 7)
    model.train()
    post = model.blocks[0].post
    h = torch.full((64, 400), 2.0)
    out = post(h)                            # ReLU(2) = 2, then dropout
    zero = (out == 0).float().mean().item()
    assert abs(zero - 0.3) < 0.02
    kept = out[out != 0]
    assert torch.allclose(kept, torch.full_like(kept, 2.0 / 0.7))


def test_output_layer_and_binary_activations_get_no_dropout():
    model = build_model({"type": "dnn", "hidden_dim": 8, "num_hidden": 2,
                         "pattern": "(relu, b)", "dropout": 0.5}, 6, 3)
    assert model.blocks[0].post.drop is not None
    assert model.blocks[1].post.drop is None          # binary (Lu Alg. 2) activation
    assert model.blocks[-1].post.drop is None         # softmax layer


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.2", True])
def test_bad_dropout_is_a_one_line_error(bad):
    with pytest.raises(BnnError, match="dropout must be a number in"):
        build_model(dict(CFG, dropout=bad), 20, 7)
