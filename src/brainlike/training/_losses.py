"""Masked losses over (batch, time) (Yang & Wang 2020, Eq. 4 with a cost mask)."""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F


def masked_cross_entropy(logits: Tensor, labels: Tensor, mask: Tensor) -> Tensor:
    """Cross-entropy between ``logits (B, T, C)`` and class ``labels (B, T)``, weighted by
    ``mask (B, T)`` and normalized by the mask's sum."""
    b, t, c = logits.shape
    per_step = F.cross_entropy(logits.reshape(b * t, c), labels.reshape(b * t), reduction="none")
    return (per_step * mask.reshape(-1)).sum() / mask.sum().clamp_min(1e-12)


def masked_mse(outputs: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Weighted mean squared error between ``outputs`` and ``targets (B, T, O)``.

    ``mask`` is ``(B, T)`` (the same weight for every output of a step) or ``(B, T, O)``
    (per-output weights, e.g. ``TrialBatch.output_mask``); the loss is
    ``sum(w * (y - target)^2) / sum(w)`` over all entries.
    """
    weights = mask.unsqueeze(-1).expand_as(outputs) if mask.ndim == 2 else mask
    return (weights * (outputs - targets).square()).sum() / weights.sum().clamp_min(1e-12)


def task_loss(outputs: Tensor, targets: Tensor, mask: Tensor, target_kind: str) -> Tensor:
    """The loss a task asks for: cross-entropy for ``"class"`` targets, MSE for ``"value"``."""
    if target_kind == "class":
        return masked_cross_entropy(outputs, targets, mask)
    if target_kind == "value":
        return masked_mse(outputs, targets, mask)
    raise ValueError(f"target_kind must be 'class' or 'value'; got {target_kind!r}")


__all__ = ["masked_cross_entropy", "masked_mse", "task_loss"]
