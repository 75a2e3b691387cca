"""Composable penalties added to the task loss (Yang & Wang 2020, Section 2.4).

A penalty is a small frozen object called as ``penalty(model, activity) -> scalar Tensor``.
Pass any number of them to :func:`brainlike.training.train`; they add up.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from .. import _checks


def _check_strengths(owner: str, l1: float, l2: float) -> None:
    _checks.in_range("l1", l1, owner, 0.0, float("inf"), low_open=False)
    _checks.in_range("l2", l2, owner, 0.0, float("inf"), low_open=False)


@dataclass(frozen=True)
class WeightPenalty:
    """``l1 * sum_w mean|w| + l2 * sum_w mean(w^2)`` over the named parameters.

    Parameters
    ----------
    l1, l2 : float
        Strengths (>= 0).
    params : sequence of str
        Weights to penalize: ``"w_in"``, ``"w_rec"``, ``"w_out"`` name the *effective* weights
        of a model with ``effective_weights()`` (what a Dale, masked or low-rank network
        uses), any other name a parameter of ``model.named_parameters()``. Default the
        recurrent weights. Means (rather than sums) keep the strength comparable across
        network sizes. Yang et al. (2019) use means for L1 but ``sum(w^2) / 2`` for L2: their
        ``l2_weight = lambda`` is ``l2 = lambda * w.numel() / 2`` here (see the module notes).

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import RateRNN
    >>> rnn = RateRNN(3, 4, 2, seed=0)
    >>> value = WeightPenalty(l2=1.0)(rnn, torch.zeros(1, 1, 4))
    >>> torch.allclose(value, rnn.w_rec.square().mean())
    True
    """

    l1: float = 0.0
    l2: float = 0.0
    params: Sequence[str] = ("w_rec",)

    def __post_init__(self) -> None:
        _check_strengths(type(self).__name__, self.l1, self.l2)
        object.__setattr__(self, "params", tuple(self.params))

    def __call__(self, model: nn.Module, activity: Tensor) -> Tensor:
        named = dict(model.named_parameters())
        if hasattr(model, "effective_weights"):
            eff = model.effective_weights()
            named.update(w_in=eff.w_in, w_rec=eff.w_rec, w_out=eff.w_out)
        missing = [p for p in self.params if p not in named]
        if missing:
            raise ValueError(
                f"WeightPenalty params {missing} are not parameters of {type(model).__name__}; "
                f"available: {sorted(named)}"
            )
        total = activity.new_zeros(())
        for name in self.params:
            w = named[name]
            if self.l1:
                total = total + self.l1 * w.abs().mean()
            if self.l2:
                total = total + self.l2 * w.square().mean()
        return total


@dataclass(frozen=True)
class RatePenalty:
    """``l1 * mean|r| + l2 * mean(r^2)`` over the activity ``(B, T, N)`` on valid steps.

    ``valid`` (``(B, T)`` bool, the steps before each trial ended) keeps the padding of
    trials shorter than the batch out of the mean; without it every step counts. (Yang et al.
    2019's L2 on the rates is ``sum(r^2) / 2``: see the module notes for the conversion.)

    Examples
    --------
    >>> import torch
    >>> r = torch.ones(2, 3, 4)
    >>> valid = torch.tensor([[True, True, True], [True, False, False]])
    >>> float(RatePenalty(l1=1.0)(None, r * valid[..., None], valid=valid))  # padding excluded
    1.0
    """

    l1: float = 0.0
    l2: float = 0.0

    def __post_init__(self) -> None:
        _check_strengths(type(self).__name__, self.l1, self.l2)

    def __call__(self, model: nn.Module, activity: Tensor, valid: Tensor | None = None) -> Tensor:
        total = activity.new_zeros(())
        if valid is None:
            if self.l1:
                total = total + self.l1 * activity.abs().mean()
            if self.l2:
                total = total + self.l2 * activity.square().mean()
            return total
        w = valid.to(activity.dtype).unsqueeze(-1)
        count = (w.sum() * activity.shape[-1]).clamp_min(1.0)
        if self.l1:
            total = total + self.l1 * (activity.abs() * w).sum() / count
        if self.l2:
            total = total + self.l2 * (activity.square() * w).sum() / count
        return total


def takes_valid(penalty: Callable) -> bool:
    """Whether ``penalty`` accepts the ``valid`` keyword (the mask of steps before trial ends)."""
    try:
        params = inspect.signature(penalty).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "valid" or p.kind is p.VAR_KEYWORD for p in params)


__all__ = ["RatePenalty", "WeightPenalty"]
