"""Multilayer perceptron (Yang & Wang 2020, Eq. 1-3)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .. import _checks
from ._activations import ACTIVATIONS, get_activation


class MLPOutput(NamedTuple):
    """``outputs (B, n_out)`` and the rates of every hidden layer, each ``(B, n_layer)``."""

    outputs: Tensor
    hidden: tuple[Tensor, ...]


class MLP(nn.Module):
    """Feedforward network ``r^(l) = f(W^(l) r^(l-1) + b^(l))`` with a linear last layer.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes from input to output, at least two (input and output).
    activation : str
        Hidden-layer nonlinearity (see :class:`RateRNN`).
    seed : int, optional
        Seed of the initialization (PyTorch's default ``Linear`` initialization).

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import MLP
    >>> net = MLP([64, 32, 10], seed=0)
    >>> out, hidden = net(torch.zeros(5, 64))
    >>> tuple(out.shape), [tuple(h.shape) for h in hidden]
    ((5, 10), [(5, 32)])

    References
    ----------
    Yang, G. R. & Wang, X.-J. (2020). Neuron 107, 1048-1070, Eq. 1-3.
    """

    def __init__(self, sizes: Sequence[int], *, activation: str = "relu", seed: int | None = None):
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least input and output sizes; got {sizes!r}")
        for k, s in enumerate(sizes):
            _checks.positive_int(f"sizes[{k}]", s, "MLP")
        _checks.one_of("activation", activation, "MLP", sorted(ACTIVATIONS))
        self.sizes = sizes
        self.activation = activation
        self._act = get_activation(activation)
        if seed is None:
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.layers = nn.ModuleList(
                    nn.Linear(a, b) for a, b in itertools.pairwise(sizes)
                )

    def forward(self, x: Tensor) -> MLPOutput:
        """Map inputs ``(B, sizes[0])`` to outputs ``(B, sizes[-1])``; also return hidden rates."""
        if x.ndim != 2 or x.shape[-1] != self.sizes[0]:
            raise ValueError(
                f"x must have shape (batch, {self.sizes[0]}); got {tuple(x.shape)}"
            )
        hidden = []
        for layer in self.layers[:-1]:
            x = self._act.fn(layer(x))
            hidden.append(x)
        return MLPOutput(self.layers[-1](x), tuple(hidden))
