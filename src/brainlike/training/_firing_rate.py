"""A firing-rate regularizer for spiking networks: keep every unit's rate in a range (in Hz)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor, nn

from .. import _checks
from ..models import SpikingRNN

__all__ = ["FiringRatePenalty", "firing_rates_hz"]


def firing_rates_hz(activity: Tensor, dt: float, valid: Tensor | None = None) -> Tensor:
    """Each unit's mean firing rate in Hz: spikes per step over trials and valid steps / dt.

    Parameters
    ----------
    activity : Tensor, shape (B, T, N)
        Spikes (0/1) per step.
    dt : float
        Step in ms.
    valid : Tensor of bool, shape (B, T), optional
        Steps before each trial ended; default all.

    Returns
    -------
    Tensor, shape (N,)

    Examples
    --------
    >>> import torch
    >>> s = torch.zeros(2, 10, 3)
    >>> s[:, ::2, 0] = 1.0                       # every other 5-ms step: 100 Hz
    >>> firing_rates_hz(s, dt=5.0).tolist()
    [100.0, 0.0, 0.0]
    """
    if valid is None:
        per_step = activity.mean(dim=(0, 1))
    else:
        w = valid.to(activity.dtype).unsqueeze(-1)
        per_step = (activity * w).sum(dim=(0, 1)) / w.sum().clamp_min(1.0)
    return per_step * (1000.0 / dt)


@dataclass(frozen=True)
class FiringRatePenalty:
    """``strength * mean_k d_k^2``, ``d_k = (max(low - f_k, 0) + max(f_k - high, 0)) / high``.

    ``f_k`` is unit ``k``'s mean firing rate in Hz over the batch's trials and valid steps
    (:func:`firing_rates_hz`), so units below ``low_hz`` are pushed up and units above
    ``high_hz`` down, each on its own (a per-neuron version of the lower and upper bounds of
    Zenke & Vogels 2021); inside the range the penalty and its gradient are 0. The gradient
    reaches the weights through the spikes' surrogate derivative. For
    :class:`~brainlike.models.SpikingRNN` only (its activity is spikes): other models are
    refused by name.

    Parameters
    ----------
    low_hz, high_hz : float
        The target range, ``0 <= low_hz < high_hz``.
    strength : float
        ``>= 0``.

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import SpikingRNN
    >>> snn = SpikingRNN(2, 4, 1, dt=10.0, seed=0)
    >>> s = torch.zeros(1, 10, 4)
    >>> s[0, :, 0] = 1.0                         # 100 Hz; the others silent
    >>> p = FiringRatePenalty(low_hz=1.0, high_hz=50.0, strength=1.0)
    >>> round(float(p(snn, s)), 4)               # ((100-50)/50)^2 + 3 * (1/50)^2, over 4 units
    0.2503
    """

    low_hz: float = 1.0
    high_hz: float = 50.0
    strength: float = 1.0

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _checks.in_range("low_hz", self.low_hz, owner, 0.0, math.inf, low_open=False)
        _checks.in_range("high_hz", self.high_hz, owner, 0.0, math.inf)
        _checks.in_range("strength", self.strength, owner, 0.0, math.inf, low_open=False)
        if not self.low_hz < self.high_hz:
            raise ValueError(f"{owner} needs low_hz < high_hz; got low_hz={self.low_hz!r}, "
                             f"high_hz={self.high_hz!r}")

    def __call__(self, model: nn.Module, activity: Tensor, valid: Tensor | None = None) -> Tensor:
        if not isinstance(model, SpikingRNN):
            raise TypeError(f"FiringRatePenalty needs a spiking model (SpikingRNN, whose activity is "
                            f"spikes); got {type(model).__name__}")
        f = firing_rates_hz(activity, model.dt, valid)
        d = ((self.low_hz - f).clamp_min(0.0) + (f - self.high_hz).clamp_min(0.0)) / self.high_hz
        return self.strength * d.square().mean()
