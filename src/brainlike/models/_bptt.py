"""The leaky recurrent loop with a hand-written backward pass through time.

The hot path of the library. For a leaky rate network (Yang & Wang 2020, Eq. 27)

    z_t = u_t + W r_{t-1},      r_t = (1 - alpha) r_{t-1} + alpha f(z_t),

autograd records about ten nodes per step and computes the recurrent weight gradient as T small
outer products. Here the forward pass runs three fused ops per step (``addmm``, ``f``, ``lerp``)
into preallocated buffers, and the backward pass runs three per step:

    g_t    = dL/dr_t + carry_t
    dz_t   = g_t * alpha f'(z_t)                          (alpha f'(z) precomputed at once)
    carry_{t-1} = (1 - alpha) g_t + dz_t W                (one addmm)

after which dL/dW = sum_t dz_t^T r_{t-1} is a single large matrix product and dL/du = dz.

Noise added to the state after each step (``r_t += n_t``, the convention of Song et al. 2016)
is a constant offset: it changes the saved states but not a line of the backward pass.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._activations import Activation


class _LeakyLoop(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        u: Tensor, w_rec: Tensor, r0: Tensor, alpha: float, activation: Activation,
        noise: Tensor | None,
    ) -> Tensor:
        n_steps = u.shape[0]
        z = torch.empty_like(u)
        r = torch.empty_like(u)
        w_t = w_rec.t()
        prev = r0
        fn = activation.fn
        for t in range(n_steps):
            torch.addmm(u[t], prev, w_t, out=z[t])
            torch.lerp(prev, fn(z[t]), alpha, out=r[t])
            if noise is not None:
                r[t].add_(noise[t])
            prev = r[t]
        return r, z

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        _, w_rec, r0, alpha, activation, _noise = inputs
        r, z = output
        ctx.save_for_backward(w_rec, r0, r, z)
        ctx.alpha = alpha
        ctx.activation = activation
        ctx.mark_non_differentiable(z)

    @staticmethod
    def backward(ctx: Any, grad_r: Tensor, _grad_z: Tensor) -> tuple:  # type: ignore[override]
        w_rec, r0, r, z = ctx.saved_tensors
        alpha = ctx.alpha
        act = ctx.activation
        n_steps = r.shape[0]
        # alpha * f'(z) for every step at once.
        gain = act.derivative(z, act.fn(z)).mul_(alpha)
        dz = torch.empty_like(z)
        carry = torch.zeros_like(r0)
        g = torch.empty_like(r0)
        leak = 1.0 - alpha
        for t in range(n_steps - 1, -1, -1):
            torch.add(grad_r[t], carry, out=g)
            torch.mul(g, gain[t], out=dz[t])
            carry = torch.addmm(g, dz[t], w_rec, beta=leak)
        grad_w = grad_r0 = None
        if ctx.needs_input_grad[1]:
            r_prev = torch.cat((r0.unsqueeze(0), r[:-1]), dim=0)
            n = r.shape[-1]
            grad_w = dz.reshape(-1, n).t() @ r_prev.reshape(-1, n)
        if ctx.needs_input_grad[2]:
            grad_r0 = carry
        return dz, grad_w, grad_r0, None, None, None


def leaky_loop(
    u: Tensor, w_rec: Tensor, r0: Tensor, alpha: float, activation: Activation,
    noise: Tensor | None = None,
) -> Tensor:
    """Run the leaky recurrence over time, differentiable by the hand-written backward.

    Parameters
    ----------
    u : Tensor, shape (T, B, N)
        Time-major external drive ``W_x x_t + b`` (plus noise), already computed for all steps.
    w_rec : Tensor, shape (N, N)
        Effective recurrent weights; ``z_t = u_t + W r_{t-1}``.
    r0 : Tensor, shape (B, N)
        State before the first step.
    alpha : float
        ``dt / tau`` in (0, 1].
    activation : Activation
        The rate nonlinearity.
    noise : Tensor, shape (T, B, N), optional
        Added to the state after each step, ``r_t = lerp(r_{t-1}, f(z_t), alpha) + noise_t``
        (not differentiated).

    Returns
    -------
    Tensor, shape (T, B, N)
        States ``r_1 ... r_T``.
    """
    return leaky_loop_with_drive(u, w_rec, r0, alpha, activation, noise)[0]


def leaky_loop_with_drive(
    u: Tensor, w_rec: Tensor, r0: Tensor, alpha: float, activation: Activation,
    noise: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """:func:`leaky_loop`, also returning the pre-activations ``z_t = u_t + W r_{t-1}``
    (``(T, B, N)``, not differentiable: it is the forward pass's own buffer)."""
    if noise is not None:
        noise = noise.detach()
    return _LeakyLoop.apply(u, w_rec, r0, alpha, activation, noise)


def leaky_loop_reference(
    u: Tensor, w_rec: Tensor, r0: Tensor, alpha: float, activation: Activation,
    noise: Tensor | None = None,
) -> Tensor:
    """The same recurrence as :func:`leaky_loop`, written as a plain autograd loop (for tests)."""
    prev = r0
    states = []
    for t in range(u.shape[0]):
        prev = prev + alpha * (-prev + activation.fn(u[t] + prev @ w_rec.t()))
        if noise is not None:
            prev = prev + noise[t]
        states.append(prev)
    return torch.stack(states)
