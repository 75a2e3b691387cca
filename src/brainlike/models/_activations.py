"""Elementwise rate nonlinearities f and their derivatives f', by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F


@dataclass(frozen=True)
class Activation:
    """A rate nonlinearity ``f`` with its derivative written from the pre-activation.

    ``derivative(z, fz)`` returns ``f'(z)`` given ``z`` and ``f(z)`` (whichever is cheaper).
    Two optional shortcuts serve the hot loop of :mod:`brainlike.models._bptt`:
    ``fn_out(z, out)`` writes ``f(z)`` into ``out`` (exactly ``fn``'s values, without a new
    tensor), and ``derivative_of_z(z)`` is ``f'(z)`` from ``z`` alone (no ``f(z)`` needed).
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    derivative: Callable[[Tensor, Tensor], Tensor]
    fn_out: Callable[[Tensor, Tensor], Tensor] | None = None
    derivative_of_z: Callable[[Tensor], Tensor] | None = None

    def gain(self, z: Tensor) -> Tensor:
        """``f'(z)``, from ``z`` alone where the derivative allows it."""
        if self.derivative_of_z is not None:
            return self.derivative_of_z(z)
        return self.derivative(z, self.fn(z))


def _relu_grad(z: Tensor, fz: Tensor) -> Tensor:
    return (z > 0).to(z.dtype)


def _relu_out(z: Tensor, out: Tensor) -> Tensor:
    return torch.clamp_min(z, 0.0, out=out)  # what torch.relu computes, bit for bit


def _relu_grad_of_z(z: Tensor) -> Tensor:
    return (z > 0).to(z.dtype)


def _tanh_out(z: Tensor, out: Tensor) -> Tensor:
    return torch.tanh(z, out=out)


def _sigmoid_out(z: Tensor, out: Tensor) -> Tensor:
    return torch.sigmoid(z, out=out)


def _tanh_grad(z: Tensor, fz: Tensor) -> Tensor:
    return 1.0 - fz * fz


def _softplus_grad(z: Tensor, fz: Tensor) -> Tensor:
    # F.softplus is exactly linear above its threshold (20); its derivative there is exactly 1.
    return torch.where(z > 20.0, 1.0, torch.sigmoid(z))


def _retanh(z: Tensor) -> Tensor:
    return torch.tanh(torch.clamp_min(z, 0.0))


def _retanh_grad(z: Tensor, fz: Tensor) -> Tensor:
    return (z > 0).to(z.dtype) * (1.0 - fz * fz)


def _sigmoid_grad(z: Tensor, fz: Tensor) -> Tensor:
    return fz * (1.0 - fz)


def _identity(z: Tensor) -> Tensor:
    return z


def _identity_grad(z: Tensor, fz: Tensor) -> Tensor:
    return torch.ones_like(z)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", torch.relu, _relu_grad, _relu_out, _relu_grad_of_z),
        Activation("tanh", torch.tanh, _tanh_grad, _tanh_out),
        Activation("softplus", F.softplus, _softplus_grad),
        Activation("retanh", _retanh, _retanh_grad),
        Activation("sigmoid", torch.sigmoid, _sigmoid_grad, _sigmoid_out),
        Activation("linear", _identity, _identity_grad),
    )
}


def get_activation(name: str) -> Activation:
    """Look up an activation by name; the error lists the valid names."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}; got {name!r}"
        ) from None
