"""Frequency-independent distillation (FID) of BiFSMNv2 (Qin et al., TNNLS 2023), as coded.

For thinning option ``o`` with loss weight ``w_o`` (1, 0.5, 0.25 for o = 0, 1, 2)::

    L = sum_o w_o [ CE(z_s, y) + alpha ( sum_{j kept by o} sum_{P in {H, L}} D(P(F_s,j), P(F_t,j))
                                         + MSE(z_s, z_t) ) ],      alpha = 0.01

``F_j`` is the output of D-FSMN layer ``j`` (B x C x T, seen as a C x T image) of the student
(option ``o``) and of the full-precision teacher (all layers); ``P`` is the low (LL) or high
(LH, HL, HH stacked) band of a one-level orthonormal 2-D Haar transform (:func:`haar_split`);
``D(A, B) = || A^2 / ||A^2|| - B^2 / ||B^2|| ||_2`` with squares elementwise and both norms over
the whole batch tensor (:func:`norm_sq_distance`).
"""
import torch
import torch.nn.functional as F


def haar_split(x: torch.Tensor):
    """One-level 2-D Haar transform of ``(B, C, T)`` over (C, T) (both even).

    For each 2 x 2 block ``[[a, b], [c, d]]`` (rows = channels, columns = time):
    ``LL = (a + b + c + d) / 2``, ``LH = (a - b + c - d) / 2``, ``HL = (a + b - c - d) / 2``,
    ``HH = (a - b - c + d) / 2``.  Returns ``(low, high)``: ``LL`` of shape (B, C/2, T/2) and
    ``(LH, HL, HH)`` stacked on a new dimension 1, shape (B, 3, C/2, T/2).
    """
    a, b = x[:, 0::2, 0::2], x[:, 0::2, 1::2]
    c, d = x[:, 1::2, 0::2], x[:, 1::2, 1::2]
    ll = (a + b + c + d) / 2
    lh = (a - b + c - d) / 2
    hl = (a + b - c - d) / 2
    hh = (a - b - c + d) / 2
    return ll, torch.stack([lh, hl, hh], dim=1)


def norm_sq_distance(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``|| a^2 / ||a^2|| - b^2 / ||b^2|| ||_2`` over the whole tensors."""
    a2, b2 = a * a, b * b
    return torch.linalg.vector_norm(a2 / (torch.linalg.vector_norm(a2) + eps)
                                    - b2 / (torch.linalg.vector_norm(b2) + eps))


def fid_loss(student_feats, teacher_feats, student_logits, teacher_logits) -> torch.Tensor:
    """``sum_j sum_P D(P(F_s,j), P(F_t,j)) + MSE(z_s, z_t)`` (``*_feats``: lists of (j, F_j);
    the teacher list holds every layer)."""
    t = dict(teacher_feats)
    loss = F.mse_loss(student_logits, teacher_logits)
    for j, fs in student_feats:
        ls, hs = haar_split(fs)
        lt, ht = haar_split(t[j])
        loss = loss + norm_sq_distance(ls, lt) + norm_sq_distance(hs, ht)
    return loss
