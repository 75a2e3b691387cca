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
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._activations import Activation


class _LeakyLoop(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        u: Tensor, w_rec: Tensor, r0: Tensor, alpha: float, activation: Activation
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
            prev = r[t]
        return r, z

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        _, w_rec, r0, alpha, activation = inputs
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
        return dz, grad_w, grad_r0, None, None


def leaky_loop(u: Tensor, w_rec: Tensor, r0: Tensor, alpha: float, activation: Activation) -> Tensor:
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

    Returns
    -------
    Tensor, shape (T, B, N)
        States ``r_1 ... r_T``.
    """
    r, _ = _LeakyLoop.apply(u, w_rec, r0, alpha, activation)
    return r


def leaky_loop_reference(
    u: Tensor, w_rec: Tensor, r0: Tensor, alpha: float, activation: Activation
) -> Tensor:
    """The same recurrence as :func:`leaky_loop`, written as a plain autograd loop (for tests)."""
    prev = r0
    states = []
    for t in range(u.shape[0]):
        prev = prev + alpha * (-prev + activation.fn(u[t] + prev @ w_rec.t()))
        states.append(prev)
    return torch.stack(states)
