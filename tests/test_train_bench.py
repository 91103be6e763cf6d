"""bnn-bench-train and bnn-bench-input on small shapes: real training steps, consistent rows."""
import numpy as np
import pytest
import torch

from bnn.bench import input as bench_input
from bnn.bench import train_speed


def test_training_steps_are_real_and_projection_consistent():
    rows = train_speed.run("cpu", batch=32, steps=2, overrides=["model.hidden_dim=32"],
                           input_dim=40, num_pdfs=20)
    assert [r["net"] for r in rows] == list(train_speed.NETS)
    for r in rows:
        assert r["fps"] == pytest.approx(32 / r["seconds_per_step"])
        for name, frames in train_speed.CORPORA.items():
            assert r["epoch_hours"][name] == pytest.approx(frames / r["fps"] / 3600)
    # the timed step trains: weights move and the binary net's clipping hook ran (|w| <= 1)
    from bnn.train.config import load_config
    import os
    cfg = load_config(os.path.join(train_speed.conf_dir(), "qian_bdnn.yaml"),
                      ["model.hidden_dim=32"])
    torch.manual_seed(0)
    from bnn.nn.models import build_model
    before = build_model(cfg["model"], 40, 20).state_dict()
    r = train_speed.time_training(cfg, torch.device("cpu"), 32, 1, input_dim=40, num_pdfs=20)
    after = r["model"].state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    hidden = r["model"].blocks[1].affine.weight
    assert hidden.abs().max() <= 1.0 + 1e-6


def test_bench_input_rows_and_identity_check():
    rows = bench_input.run(None, None, [64], 2000, n_utts=12,
                           configs=["fbank40+cmvn+deltas2+splice5"])
    assert [r["pipeline"] for r in rows] == ["numpy (bnn.data.frames)",
                                             "batched tensor, 0 workers"]
    assert rows[0]["frames"] == rows[1]["frames"] > 2000 and rows[1]["dim"] == 1320
    assert rows[0]["x_old"] == 1.0 and rows[1]["x_old"] == pytest.approx(
        rows[1]["fps"] / rows[0]["fps"])
