"""Masked losses over (batch, time) (Yang & Wang 2020, Eq. 4 with a cost mask).

Two conventions normalize the weighted sum of per-entry losses:

* ``"weights"`` (brainlike's default): divide by the sum of the weights, ``sum(w)``. The loss is
  then a weighted *mean* error whatever the weights' scale, but the normalizer varies from batch
  to batch with the trials' timing, and in a multi-task it gives each task's batch the same total
  weight whatever its mask.
* ``"entries"`` (Yang et al. 2019, ``gyyang/multitask`` ``network.py``:
  ``tf.reduce_mean(tf.square((y - y_hat) * c_mask))``): divide by the number of entries, the
  valid ``(step, output)`` pairs (``sum(lengths) * O``; ``sum(lengths)`` steps for class targets).
  A task whose mask weighs more (longer response periods, weight 5 after the grace period) then
  contributes more, as in the paper. The paper's batches have no padding, so its denominator,
  ``B * T * O``, is this one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor
from torch.nn import functional as F

NORMALIZATIONS = ("weights", "entries")


def _steps(lengths: Any, b: int, t: int) -> float:
    if lengths is None:
        return float(b * t)
    return float(np.asarray(lengths, dtype=np.int64).sum())


def _check(normalization: str) -> None:
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {list(NORMALIZATIONS)}; got {normalization!r}"
        )


def masked_cross_entropy(
    logits: Tensor, labels: Tensor, mask: Tensor, *, normalization: str = "weights",
    lengths: Any = None,
) -> Tensor:
    """Cross-entropy between ``logits (B, T, C)`` and class ``labels (B, T)``, weighted by
    ``mask (B, T)``, divided by ``mask.sum()`` (``normalization="weights"``) or by the number of
    valid steps ``sum(lengths)`` (``"entries"``; all ``B * T`` steps without ``lengths``).

    Batches without a time axis (an image task's logits ``(B, C)``, labels and mask ``(B,)``)
    are one step per item."""
    _check(normalization)
    if logits.ndim == 2:
        logits, labels, mask = logits[:, None], labels[:, None], mask[:, None]
    b, t, c = logits.shape
    per_step = F.cross_entropy(logits.reshape(b * t, c), labels.reshape(b * t), reduction="none")
    total = (per_step * mask.reshape(-1)).sum()
    if normalization == "entries":
        return total / max(_steps(lengths, b, t), 1.0)
    return total / mask.sum().clamp_min(1e-12)


def masked_mse(
    outputs: Tensor, targets: Tensor, mask: Tensor, *, normalization: str = "weights",
    lengths: Any = None,
) -> Tensor:
    """Weighted mean squared error between ``outputs`` and ``targets (B, T, O)``.

    ``mask`` is ``(B, T)`` (the same weight for every output of a step) or ``(B, T, O)``
    (per-output weights, e.g. ``TrialBatch.output_mask``). The loss is
    ``sum(w * (y - target)^2) / sum(w)`` (``normalization="weights"``) or
    ``sum(w * (y - target)^2) / (sum(lengths) * O)`` (``"entries"``, Yang et al. 2019; all
    ``B * T * O`` entries without ``lengths``).

    Examples
    --------
    >>> import torch
    >>> y, target = torch.ones(1, 2, 1), torch.zeros(1, 2, 1)
    >>> mask = torch.tensor([[1.0, 3.0]])
    >>> float(masked_mse(y, target, mask)), float(masked_mse(y, target, mask, normalization="entries"))
    (1.0, 2.0)
    """
    _check(normalization)
    weights = mask.unsqueeze(-1).expand_as(outputs) if mask.ndim == 2 else mask
    total = (weights * (outputs - targets).square()).sum()
    if normalization == "entries":
        b, t, o = outputs.shape
        return total / max(_steps(lengths, b, t) * o, 1.0)
    return total / weights.sum().clamp_min(1e-12)


def task_loss(
    outputs: Tensor, targets: Tensor, mask: Tensor, target_kind: str, *,
    normalization: str = "weights", lengths: Any = None,
) -> Tensor:
    """The loss a task asks for: cross-entropy for ``"class"`` targets, MSE for ``"value"``.

    ``normalization`` and ``lengths`` (each trial's valid steps, ``TrialBatch.lengths``): see
    :func:`masked_mse` and the module's notes.

    A batch without a time axis (images, samples: ``outputs (B, O)``, class ``targets (B,)`` or
    value ``targets (B, O)``, ``mask (B,)``) is one step per example.
    """
    if outputs.ndim == 2:
        outputs, targets, mask = outputs[:, None], targets[:, None], mask[:, None]
        lengths = None
    if target_kind == "class":
        return masked_cross_entropy(outputs, targets, mask, normalization=normalization,
                                    lengths=lengths)
    if target_kind == "value":
        return masked_mse(outputs, targets, mask, normalization=normalization, lengths=lengths)
    raise ValueError(f"target_kind must be 'class' or 'value'; got {target_kind!r}")


__all__ = ["NORMALIZATIONS", "masked_cross_entropy", "masked_mse", "task_loss"]
