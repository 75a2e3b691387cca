"""Surrogate gradients of the spike nonlinearity (Neftci, Mostafa & Zenke 2019).

A spike is ``S = H(P - theta)`` (Heaviside step of the membrane potential ``P`` at the
threshold ``theta``); its derivative is zero almost everywhere, so training replaces it in the
backward pass by a smooth pseudo-derivative of the normalized distance to threshold
``x = (P - theta) / theta``::

    dS/dP := psi(x) / theta

Every surrogate here has one scale ``k`` (its sharpness) and peaks at ``psi(0) = 1`` at its
default scale; they differ in their tails:

============  ============================  =========  ============================================
name          psi(x)                        default k  source
============  ============================  =========  ============================================
fast_sigmoid  1 / (1 + k|x|)^2              10         SuperSpike (Zenke & Ganguli 2018): beta =
                                                       1/mV with 10 mV from reset to threshold
arctan        (k/2) / (1 + (pi k x / 2)^2)  2          Fang et al. 2021; snnTorch's ``atan``
triangle      max(0, 1 - k|x|)              1          Bellec et al. 2018 (without their
                                                       dampening factor 0.3)
============  ============================  =========  ============================================

The forward pass is the same exact step for all of them; only the backward pass differs (the
tests check that each name gives its own formula's gradient).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = ["SURROGATES", "Surrogate", "spike"]


def _fast_sigmoid(x: Tensor, k: float) -> Tensor:
    return (x.abs() * k + 1.0).square().reciprocal()


def _arctan(x: Tensor, k: float) -> Tensor:
    return (k / 2.0) / ((x * (math.pi * k / 2.0)).square() + 1.0)


def _triangle(x: Tensor, k: float) -> Tensor:
    return (1.0 - k * x.abs()).clamp_min(0.0)


# The same three as ``a * r(P)`` (constant ``a``, a fresh tensor ``r``) from ``P`` directly, with
# the scalings folded and the steps in place: fewer passes for the backward pass through time.

def _fast_sigmoid_factored(p: Tensor, theta: float, k: float) -> tuple[Tensor, float]:
    return torch.sub(p, theta).abs_().mul_(k / theta).add_(1.0).square_().reciprocal_(), 1.0 / theta


def _arctan_factored(p: Tensor, theta: float, k: float) -> tuple[Tensor, float]:
    d = torch.sub(p, theta)
    c = math.pi * k / (2.0 * theta)
    return torch.addcmul(p.new_ones(()), d, d, value=c * c).reciprocal_(), k / (2.0 * theta)


def _triangle_factored(p: Tensor, theta: float, k: float) -> tuple[Tensor, float]:
    return torch.sub(p, theta).abs_().mul_(-k / theta).add_(1.0).clamp_min_(0.0), 1.0 / theta


@dataclass(frozen=True)
class Surrogate:
    """A pseudo-derivative ``psi(x)`` of the Heaviside step at ``x = (P - theta) / theta``.

    Attributes
    ----------
    name : str
    fn : callable
        ``fn(x, k) -> psi(x)``, elementwise.
    default_scale : float
        ``k`` when none is given.
    formula : str
    factored : callable
        ``factored(p, theta, k) -> (r, a)`` with ``dS/dP = a r`` (the same derivative, with
        ``a`` a number, for loops that fold ``a`` into another operation).
    """

    name: str
    fn: Callable[[Tensor, float], Tensor]
    default_scale: float
    formula: str
    factored: Callable[[Tensor, float, float], tuple[Tensor, float]]

    def derivative(self, p: Tensor, threshold: float, scale: float) -> Tensor:
        """``dS/dP = psi((P - theta) / theta) / theta`` for membrane potentials ``p``."""
        r, a = self.factored(p, threshold, scale)
        return r.mul_(a)


#: The surrogate gradients by name.
SURROGATES: dict[str, Surrogate] = {
    "arctan": Surrogate("arctan", _arctan, 2.0, "(k/2) / (1 + (pi k x / 2)^2)", _arctan_factored),
    "fast_sigmoid": Surrogate("fast_sigmoid", _fast_sigmoid, 10.0, "1 / (1 + k|x|)^2",
                              _fast_sigmoid_factored),
    "triangle": Surrogate("triangle", _triangle, 1.0, "max(0, 1 - k|x|)", _triangle_factored),
}


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(p: Tensor, threshold: float, surrogate: Surrogate, scale: float) -> Tensor:  # type: ignore[override]
        return (p >= threshold).to(p.dtype)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
        p, threshold, surrogate, scale = inputs
        ctx.save_for_backward(p)
        ctx.args = (threshold, surrogate, scale)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:  # type: ignore[override]
        (p,) = ctx.saved_tensors
        threshold, surrogate, scale = ctx.args
        return grad * surrogate.derivative(p, threshold, scale), None, None, None


def spike(p: Tensor, threshold: float, surrogate: Surrogate, scale: float) -> Tensor:
    """``H(p - threshold)`` (1 where ``p >= threshold``) whose backward pass is the surrogate.

    Examples
    --------
    >>> import torch
    >>> p = torch.tensor([0.5, 1.0, 1.5], requires_grad=True)
    >>> s = spike(p, 1.0, SURROGATES["fast_sigmoid"], 10.0)
    >>> s.tolist()
    [0.0, 1.0, 1.0]
    >>> s.sum().backward()
    >>> [round(g, 4) for g in p.grad.tolist()]   # 1 / (1 + 10 |p - 1|)^2
    [0.0278, 1.0, 0.0278]
    """
    return _Spike.apply(p, threshold, surrogate, scale)
