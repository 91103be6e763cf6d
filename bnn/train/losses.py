"""Frame-level training criteria: cross-entropy and knowledge distillation (Qian & Xiang 2019).

All losses take pre-softmax ``logits[B, num_pdfs]`` and return the mean over the ``B`` frames.

* :func:`hard_loss`: ``J_hard = -1/B sum_t log y_t[s_t]`` with ``y = softmax(logits)`` and ``s_t``
  the aligned pdf (cross-entropy against one-hot targets).
* :func:`soft_loss`: Qian Eq. 15, ``J_soft = -1/B sum_t sum_i q_t[i] log y_t[i]`` where
  ``q = softmax(teacher_logits)`` are the teacher's posteriors, computed on the fly by the caller
  (no soft-target files) and treated as constants (no gradient reaches the teacher).
* :func:`kd_loss`: Qian Eq. 16, ``J = lambda * J_hard + (1 - lambda) * J_soft``; lambda = 1 is
  plain cross-entropy, lambda = 0 trains on the teacher's posteriors only.
"""
import torch
import torch.nn.functional as F

from bnn.utils.errors import BnnError


def hard_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against integer pdf targets ``targets[B]`` (mean over frames)."""
    return F.cross_entropy(logits, targets.long())


def soft_loss(logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Qian Eq. 15: cross-entropy against the teacher posteriors ``softmax(teacher_logits)``."""
    if teacher_logits.shape != logits.shape:
        raise BnnError(f"knowledge distillation: teacher output {tuple(teacher_logits.shape)} "
                       f"does not match student output {tuple(logits.shape)}")
    q = torch.softmax(teacher_logits.detach().to(logits.dtype), dim=-1)
    return -(q * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def kd_loss(logits: torch.Tensor, targets: torch.Tensor, teacher_logits: torch.Tensor,
            lam: float) -> torch.Tensor:
    """Qian Eq. 16: ``J = lam * J_hard + (1 - lam) * J_soft`` (``0 <= lam <= 1``)."""
    lam = float(lam)
    if not 0.0 <= lam <= 1.0:
        raise BnnError(f"knowledge distillation: lambda must be in [0, 1], got {lam}")
    if lam == 1.0:
        return hard_loss(logits, targets)
    if lam == 0.0:
        return soft_loss(logits, teacher_logits)
    return lam * hard_loss(logits, targets) + (1.0 - lam) * soft_loss(logits, teacher_logits)
