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
    """Squared error between ``outputs`` and ``targets (B, T, O)``, averaged over outputs,
    weighted by ``mask (B, T)`` and normalized by the mask's sum."""
    per_step = (outputs - targets).square().mean(dim=-1)
    return (per_step * mask).sum() / mask.sum().clamp_min(1e-12)


def task_loss(outputs: Tensor, targets: Tensor, mask: Tensor, target_kind: str) -> Tensor:
    """The loss a task asks for: cross-entropy for ``"class"`` targets, MSE for ``"value"``."""
    if target_kind == "class":
        return masked_cross_entropy(outputs, targets, mask)
    if target_kind == "value":
        return masked_mse(outputs, targets, mask)
    raise ValueError(f"target_kind must be 'class' or 'value'; got {target_kind!r}")


__all__ = ["masked_cross_entropy", "masked_mse", "task_loss"]
