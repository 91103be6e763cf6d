"""Training throughput of the papers' nets and the epoch time it implies (issue 16).

Times full training steps of ``bnn.train.trainer`` -- forward, summed cross-entropy, backward, the
model's ``before_optimizer_step`` (Lu Eq. 7 gradient clipping), optimizer step and
``after_optimizer_step`` (weight clipping / stochastic binarisation) -- on random minibatches of
the nets' real shapes (1188 -> 6 x 2048 -> 8876: 11 x 108-dim inputs, Qian & Xiang / Lu et al.),
on the device given (CUDA when present), optionally under autocast.  Input is not included
(``bnn-bench-input`` measures it).  Projected epoch time = corpus frames / frames per second:
WSJ si284 ~30M frames (81 h at 100 frames/s), Switchboard 300 h ~108M frames.
"""
import os
import time
from typing import List, Optional

import torch

CORPORA = {"WSJ si284": 30e6, "Switchboard 300h": 108e6}
NETS = {   # label: config file under conf/nnet
    "float DNN 6x2048 sigmoid": "dnn_sigmoid_6x2048.yaml",
    "Lu binary-weight DNN": "lu_binary_weights_p0_2048.yaml",
    "Qian BDNN": "qian_bdnn.yaml",
}
INPUT_DIM, NUM_PDFS = 1188, 8876


def conf_dir() -> str:
    import bnn
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(bnn.__file__))),
                        "conf", "nnet")


def time_training(cfg: dict, device: torch.device, batch: int, steps: int, warmup: int = 1,
                  autocast: str = "none", compile_model: bool = False,
                  input_dim: int = INPUT_DIM, num_pdfs: int = NUM_PDFS) -> dict:
    """Seconds per training step (best of the timed steps) and frames/s for one config."""
    import torch.nn.functional as F

    from bnn.nn.models import build_model
    from bnn.train.trainer import make_optimizer, train_config
    tcfg = train_config(cfg)
    torch.manual_seed(0)
    model = build_model(cfg["model"], input_dim, num_pdfs).to(device)
    model.train()
    run = torch.compile(model) if compile_model else model
    opt = make_optimizer([p for p in model.parameters() if p.requires_grad], tcfg)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, input_dim, device=device)
    y = torch.randint(0, num_pdfs, (batch,), device=device)
    amp = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[autocast]
    amp = amp if device.type == "cuda" else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp is torch.float16)

    def step():
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = F.cross_entropy(run(x).float(), y, reduction="sum")
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        model.before_optimizer_step()
        scaler.step(opt)
        scaler.update()
        model.after_optimizer_step(gen)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    best = min(times)
    return {"seconds_per_step": best, "fps": batch / best,
            "params": sum(p.numel() for p in model.parameters()), "model": model}


def run(device: str, batch: int, steps: int, nets: Optional[List[str]] = None,
        autocast: str = "none", compile_model: bool = False, overrides: List[str] = (),
        input_dim: int = INPUT_DIM, num_pdfs: int = NUM_PDFS) -> List[dict]:
    """One row per net; ``overrides`` (``model.hidden_dim=64``) and the dims shrink it for tests."""
    from bnn.train.config import load_config
    dev = torch.device(device)
    rows = []
    for label in nets or list(NETS):
        cfg = load_config(os.path.join(conf_dir(), NETS[label]), list(overrides))
        r = time_training(cfg, dev, batch, steps, autocast=autocast, compile_model=compile_model,
                          input_dim=input_dim, num_pdfs=num_pdfs)
        del r["model"]
        r.update(net=label, config=NETS[label])
        r["epoch_hours"] = {name: frames / r["fps"] / 3600.0 for name, frames in CORPORA.items()}
        rows.append(r)
    return rows
