"""Model size report and latent-weight histograms.

Size per block (:func:`model_size_report`):

* **as trained**: every parameter and BN statistic as 32-bit float (binary layers keep float
  latent kernels during training): ``4 * (kernel + bias + BN gamma, beta, mean, var)`` bytes.
* **as deployed**: a binary kernel (update policy ``binary``, i.e. ``affine.kernel_quantizer``
  set) takes 1 bit per weight, ``ceil(n / 8)`` bytes; real and fixed kernels, all biases and BN
  parameters/statistics stay 32-bit floats (``4`` bytes each).  BN's ``num_batches_tracked`` is a
  training counter and is not counted.

:func:`plot_weight_histogram` draws the latent-weight distribution of every binary-weight block
(like Qian & Xiang 2019 Figs. 3-4), one panel per block, with matplotlib's Agg backend.
"""
import math

from bnn.utils.fileio import atomic_write

FLOAT_BYTES = 4


def _count(tensor) -> int:
    return int(tensor.numel()) if tensor is not None else 0


def model_size_report(model) -> list:
    """One dict per block: ``name, update, binary, kernel_params, other_params, trained_bytes,
    deployed_bytes``; a final row named ``total`` sums them."""
    rows = []
    for block in model.blocks:
        affine = block.affine
        kernel = _count(affine.weight)
        other = _count(affine.bias)
        bn = getattr(block.post, "bn", None)
        if bn is not None:
            other += _count(bn.weight) + _count(bn.bias)
            other += _count(bn.running_mean) + _count(bn.running_var)
        binary = affine.kernel_quantizer is not None
        trained = FLOAT_BYTES * (kernel + other)
        deployed = (math.ceil(kernel / 8) if binary else FLOAT_BYTES * kernel) + FLOAT_BYTES * other
        rows.append({"name": block.name, "update": block.update, "binary": binary,
                     "kernel_params": kernel, "other_params": other,
                     "trained_bytes": trained, "deployed_bytes": deployed})
    total = {"name": "total", "update": "", "binary": any(r["binary"] for r in rows)}
    for key in ("kernel_params", "other_params", "trained_bytes", "deployed_bytes"):
        total[key] = sum(r[key] for r in rows)
    rows.append(total)
    return rows


def format_size_report(rows) -> str:
    """A markdown table of :func:`model_size_report` rows with the compression ratio."""
    lines = ["| layer | update | kernel params | other params | bytes as trained "
             "| bytes as deployed | ratio |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        ratio = r["trained_bytes"] / r["deployed_bytes"] if r["deployed_bytes"] else float("nan")
        lines.append(f"| {r['name']} | {r['update']} | {r['kernel_params']} | "
                     f"{r['other_params']} | {r['trained_bytes']} | {r['deployed_bytes']} | "
                     f"{ratio:.1f}x |")
    return "\n".join(lines)


def plot_weight_histogram(model, path: str, bins: int = 100, title: str = "") -> None:
    """Write a PNG of latent-weight histograms of the binary-weight blocks (all blocks if none)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = [b for b in model.blocks if b.affine.kernel_quantizer is not None] or list(model.blocks)
    cols = min(3, len(blocks))
    nrows = math.ceil(len(blocks) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 3 * nrows), squeeze=False)
    for ax in axes.flat[len(blocks):]:
        ax.axis("off")
    for ax, block in zip(axes.flat, blocks):
        w = block.affine.weight.detach().float().cpu().numpy().ravel()
        ax.hist(w, bins=bins, color="tab:blue")
        ax.set_title(f"{block.name} ({block.update})", fontsize=9)
        ax.set_xlabel("latent weight")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=80)
    plt.close(fig)
