"""Penalties on the *effective* recurrent weights (Yang & Wang 2020, Section 5.1 and Eq. 44).

Like the penalties of :mod:`brainlike.training._regularizers`, each is a small frozen object
called as ``penalty(model, activity) -> scalar Tensor``. They read the weights through
``model.effective_weights().w_rec`` (falling back to ``model.w_rec``), so they see the matrix the
network uses whatever its connectivity parameterization (Dale, masks, low rank...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .. import _checks


def _effective_recurrent(model: nn.Module) -> Tensor:
    if hasattr(model, "effective_weights"):
        return model.effective_weights().w_rec
    if hasattr(model, "w_rec"):
        return model.w_rec
    raise TypeError(
        f"{type(model).__name__} has neither effective_weights() nor a w_rec parameter; "
        "these penalties need a recurrent network such as RateRNN"
    )


@dataclass(frozen=True)
class SparsityPenalty:
    r"""L1 sparsity of the effective recurrent weights, ``beta * sum_ij |W_ij|`` (Section 5.1).

    Encourages sparse connectivity without imposing a mask. Note the *sum*, as in the primer
    (``WeightPenalty`` uses means).

    Parameters
    ----------
    beta : float
        Strength (>= 0).

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import RateRNN
    >>> from brainlike.training import SparsityPenalty
    >>> rnn = RateRNN(2, 5, 1, seed=0)
    >>> penalty = SparsityPenalty(beta=1e-3)
    >>> bool(torch.isclose(penalty(rnn, torch.zeros(1)), 1e-3 * rnn.w_rec.abs().sum()))
    True
    """

    beta: float

    def __post_init__(self) -> None:
        _checks.in_range("beta", self.beta, type(self).__name__, 0.0, float("inf"), low_open=False)

    def __call__(self, model: nn.Module, activity: Tensor) -> Tensor:
        return self.beta * _effective_recurrent(model).abs().sum()


@dataclass(frozen=True, eq=False)
class AnchorPenalty:
    r"""Soft selective training, ``beta * sum_ij M_ij (W_ij - W_fix,ij)^2`` (primer Eq. 44).

    Makes the connections with large ``M_ij`` hard to move away from ``W_fix``.

    Parameters
    ----------
    beta : float
        Strength (>= 0).
    reference : array-like, shape (N, N)
        ``W_fix``, the values to stay close to.
    importance : array-like, shape (N, N), optional
        ``M`` (>= 0); default all ones.

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import RateRNN
    >>> from brainlike.training import AnchorPenalty
    >>> rnn = RateRNN(2, 5, 1, seed=0)
    >>> penalty = AnchorPenalty(1.0, reference=rnn.w_rec.detach().clone())
    >>> penalty(rnn, torch.zeros(1)).item()
    0.0
    """

    beta: float
    reference: Any
    importance: Any = field(default=None)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _checks.in_range("beta", self.beta, owner, 0.0, float("inf"), low_open=False)
        ref = torch.as_tensor(self.reference, dtype=torch.float32).detach().clone()
        if ref.ndim != 2 or ref.shape[0] != ref.shape[1]:
            raise ValueError(
                f"The 'reference' parameter of {owner} must be a square (N, N) matrix. "
                f"Got shape {tuple(ref.shape)} instead."
            )
        if self.importance is None:
            imp = torch.ones_like(ref)
        else:
            imp = torch.as_tensor(self.importance, dtype=torch.float32).detach().clone()
            if imp.shape != ref.shape:
                raise ValueError(
                    f"The 'importance' parameter of {owner} must have the shape of 'reference'. "
                    f"Expected {tuple(ref.shape)}, got {tuple(imp.shape)}."
                )
            if bool((imp < 0).any()):
                raise ValueError(f"The 'importance' parameter of {owner} must be >= 0 everywhere.")
        object.__setattr__(self, "reference", ref)
        object.__setattr__(self, "importance", imp)

    def __call__(self, model: nn.Module, activity: Tensor) -> Tensor:
        w = _effective_recurrent(model)
        if w.shape != self.reference.shape:
            raise ValueError(
                f"AnchorPenalty reference has shape {tuple(self.reference.shape)} but the "
                f"model's recurrent weights have shape {tuple(w.shape)}."
            )
        ref = self.reference.to(w)
        imp = self.importance.to(w)
        return self.beta * (imp * (w - ref).square()).sum()
