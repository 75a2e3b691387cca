"""Autoencoders: networks that learn to reproduce their input through a bottleneck.

The primer's unsupervised learning (Yang & Wang 2020, Section 3.2): a network with fewer hidden
units than inputs, trained to reconstruct its input, learns a compressed code of the data. With
linear units, a single hidden layer and the squared error it learns the top principal subspace
(Baldi & Hornik 1989); with nonlinear hidden layers it can follow curved data that no linear
projection captures. The single-layer linear network with tied weights (``tied=True``,
``bias=False``), ``y = W x`` and ``x_hat = W^T y``, is the network of Oja's and Sanger's Hebbian
rules (:func:`brainlike.training.train_hebbian`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from .. import _checks
from ._activations import ACTIVATIONS, get_activation
from ._protocol import fresh_seed

__all__ = ["Autoencoder", "AutoencoderOutput"]


class AutoencoderOutput(NamedTuple):
    """``outputs``: the reconstruction ``(B, D)``; ``activity``: the code ``(B, n_latent)``."""

    outputs: Tensor
    activity: Tensor


def _linear(n_in: int, n_out: int, bias: bool, gen: torch.Generator) -> nn.Linear:
    """A ``Linear`` layer with PyTorch's default initialization drawn from ``gen``."""
    layer = nn.Linear(n_in, n_out, bias=bias)
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.copy_((torch.rand(n_out, n_in, generator=gen) * 2 - 1) * bound)
        if bias:
            layer.bias.copy_((torch.rand(n_out, generator=gen) * 2 - 1) * bound)
    return layer


class Autoencoder(nn.Module):
    r"""Encoder ``D -> hidden... -> n_latent`` and decoder ``n_latent -> ...hidden -> D``.

    .. math::

        h = f(W_L \cdots f(W_1 x + b_1) \cdots + b_L), \qquad
        \hat x = V_1 f(\cdots f(V_L h + c_L) \cdots) + c_1

    ``f`` follows every layer but the last (the reconstruction is linear), so the code ``h``
    passes through ``f`` too; with ``activation="linear"`` the whole network is linear.

    Parameters
    ----------
    n_input : int
        ``D``, the size of an example.
    n_latent : int
        Size of the code.
    hidden : sequence of int
        Sizes of the encoder's hidden layers between input and code (the decoder mirrors them).
    activation : str
        ``f`` (see :class:`RateRNN`).
    tied : bool
        Decoder weights are the encoder's transposed (``x_hat = W^T h``): one weight matrix,
        no hidden layers.
    bias : bool
        Biases in every layer.
    seed : int, optional
        Seed of the initialization (uniform in ``+-1/sqrt(fan_in)``, PyTorch's ``Linear``);
        ``None`` draws one from torch's global generator.

    Attributes
    ----------
    encoder_weights, decoder_weights : list of Tensor
        Each layer's weight, input to code and code to output. The span of the last decoder
        weight's columns is the subspace a linear autoencoder learns.

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import Autoencoder
    >>> net = Autoencoder(10, 3, hidden=[16], activation="tanh", seed=0)
    >>> x_hat, code = net(torch.zeros(5, 10))
    >>> tuple(x_hat.shape), tuple(code.shape)
    ((5, 10), (5, 3))

    References
    ----------
    Baldi, P. & Hornik, K. (1989). Neural networks and principal component analysis: learning
    from examples without local minima. Neural Networks 2, 53-58.
    Hinton, G. E. & Salakhutdinov, R. R. (2006). Reducing the dimensionality of data with neural
    networks. Science 313, 504-507.
    """

    def __init__(
        self, n_input: int, n_latent: int, *, hidden: Sequence[int] = (),
        activation: str = "linear", tied: bool = False, bias: bool = True, seed: int | None = None,
    ) -> None:
        super().__init__()
        owner = "Autoencoder"
        self.n_input = _checks.positive_int("n_input", n_input, owner)
        self.n_latent = _checks.positive_int("n_latent", n_latent, owner)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            raise ValueError(f"The 'hidden' parameter of {owner} must be a sequence of ints. "
                             f"Got {hidden!r} instead.")
        self.hidden = [_checks.positive_int(f"hidden[{k}]", h, owner) for k, h in enumerate(hidden)]
        self.activation = _checks.one_of("activation", activation, owner, sorted(ACTIVATIONS))
        for name, value in (("tied", tied), ("bias", bias)):
            if not isinstance(value, bool):
                raise TypeError(f"The '{name}' parameter of {owner} must be a bool. Got {value!r} "
                                "instead.")
        if tied and self.hidden:
            raise ValueError(f"A tied {owner} has one weight matrix: hidden must be empty. Got "
                             f"hidden={self.hidden} instead.")
        self.tied, self.bias = tied, bias
        self._act = get_activation(activation)
        seed = fresh_seed() if seed is None else _checks.seed("seed", seed, owner)
        gen = torch.Generator().manual_seed(seed)
        sizes = [self.n_input, *self.hidden, self.n_latent]
        self.encoder = nn.ModuleList(_linear(a, b, bias, gen) for a, b in itertools.pairwise(sizes))
        if tied:
            self.decoder = nn.ModuleList()
            self.decoder_bias = nn.Parameter(torch.zeros(self.n_input)) if bias else None
        else:
            back = sizes[::-1]
            self.decoder = nn.ModuleList(_linear(a, b, bias, gen) for a, b in itertools.pairwise(back))
            self.decoder_bias = None

    @property
    def n_output(self) -> int:
        return self.n_input

    @property
    def encoder_weights(self) -> list[Tensor]:
        return [layer.weight for layer in self.encoder]

    @property
    def decoder_weights(self) -> list[Tensor]:
        if self.tied:
            return [self.encoder[0].weight.t()]
        return [layer.weight for layer in self.decoder]

    def config(self) -> dict[str, Any]:
        """JSON-able constructor arguments except ``seed``."""
        return {"n_input": self.n_input, "n_latent": self.n_latent, "hidden": list(self.hidden),
                "activation": self.activation, "tied": self.tied, "bias": self.bias}

    def encode(self, x: Tensor) -> Tensor:
        """The code ``(B, n_latent)`` of examples ``(B, D)``."""
        for layer in self.encoder:
            x = self._act.fn(layer(x))
        return x

    def decode(self, h: Tensor) -> Tensor:
        """The reconstruction ``(B, D)`` of codes ``(B, n_latent)``."""
        if self.tied:
            out = h @ self.encoder[0].weight
            return out if self.decoder_bias is None else out + self.decoder_bias
        for layer in self.decoder[:-1]:
            h = self._act.fn(layer(h))
        return self.decoder[-1](h)

    def forward(self, x: Tensor, *, generator: torch.Generator | None = None) -> AutoencoderOutput:
        """Reconstruct examples ``(B, D)``; ``generator`` is accepted (and unused) so that the
        trainers call every model alike."""
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[-1] != self.n_input:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be a tensor of shape (batch, {self.n_input}); got {got}")
        code = self.encode(x)
        return AutoencoderOutput(self.decode(code), code)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())
