"""Training hooks of Lu, Rao & Renals 2017 that act around the optimizer step.

They work on any module whose ``blocks`` are :class:`bnn.nn.models.Block` s (each block carries
``update`` in {"real", "binary", "fixed"}, ``grad_clip`` and ``semi_stochastic_p``); the model
calls them from :meth:`~bnn.nn.models.AcousticModel.before_optimizer_step` and
:meth:`~bnn.nn.models.AcousticModel.after_optimizer_step`.
"""
import torch

from bnn.nn.quantizers import sign


def clip_grad_norms_(blocks) -> None:
    """Per-layer gradient-norm clipping, Lu Eq. 7: ``if ||g||_2 > alpha: g <- alpha/||g||_2 * g``.

    Applied separately to every parameter tensor (kernel ``W``, bias ``b``, BN ``gamma``/``beta``)
    of each block whose ``grad_clip`` (alpha) is set, before the optimizer step.
    """
    for block in blocks:
        alpha = block.grad_clip
        if alpha is None:
            continue
        for param in block.parameters():
            if param.grad is None:
                continue
            norm = torch.linalg.vector_norm(param.grad)
            if norm > alpha:
                param.grad.mul_(alpha / norm)


def clip_weights_(blocks) -> None:
    """Lu Eq. 4: ``w <- Clip(w, -1, 1)`` for the latent kernels of binary-weight blocks."""
    for block in blocks:
        if block.update == "binary":
            block.affine.clip_weights_()


@torch.no_grad()
def semi_stochastic_binarize_(blocks, generator: torch.Generator) -> None:
    """Lu Alg. 1, lines 19-21, after the SGD update and the clip.

    For each binary-weight block with ``p = semi_stochastic_p > 0``: draw ``u ~ U(0,1)``; if
    ``u < p``, set every latent weight ``w_ij`` to ``Sign(w_ij)`` with probability ``|w_ij|``
    (independent draws ``v_ij ~ U(0,1)``, binarize where ``v_ij < |w_ij|``).  One ``u`` is drawn
    per block per step, from ``generator`` only, so runs are reproducible; biases stay real.
    """
    for block in blocks:
        p = block.semi_stochastic_p
        if block.update != "binary" or not p:
            continue
        w = block.affine.weight
        u = torch.rand((), generator=generator, device=generator.device)
        if u.item() >= p:
            continue
        v = torch.rand(w.shape, generator=generator, device=generator.device).to(w.device)
        hit = v < w.abs()
        w.copy_(torch.where(hit, sign(w), w))


def freeze_fixed_(blocks) -> None:
    """Update policy ``fixed`` (Lu Sec. 4): the block keeps its initial values (requires_grad=False)."""
    for block in blocks:
        if block.update == "fixed":
            for param in block.parameters():
                param.requires_grad_(False)
