"""The leaky recurrent loop with a hand-written backward pass through time.

The hot path of the library. For a leaky rate network (Yang & Wang 2020, Eq. 27)

    z_t = u_t + W r_{t-1},      r_t = (1 - alpha) r_{t-1} + alpha f(z_t),

autograd records about ten nodes per step and computes the recurrent weight gradient as T small
outer products. Here the forward pass runs three fused ops per step (``addmm``, ``f``, ``lerp``)
into preallocated buffers (two when ``alpha = 1``: ``addmm`` and ``f`` written in place), and
the backward pass runs three per step:

    g_t    = dL/dr_t + carry_t
    dz_t   = g_t * alpha f'(z_t)                          (alpha f'(z) precomputed at once)
    carry_{t-1} = (1 - alpha) g_t + dz_t W                (one addmm)

(two when ``alpha = 1``: ``g_{t-1} = dL/dr_{t-1} + dz_t W`` is one ``addmm``)

after which dL/dW = sum_t dz_t^T r_{t-1} is one large matrix product over the time-major buffers
(plus the first step's, against r_0) and dL/du = dz.

Noise added to the state after each step (``r_t += n_t``, the convention of Song et al. 2016)
is a constant offset: it changes the saved states but not a line of the backward pass.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._activations import Activation


class _LeakyLoop(torch.autograd.Function):
    # Every step reads and writes whole (B, N) matrices of time-major buffers, reached through
    # views made once (``unbind``) rather than indexed each step.
    @staticmethod
    def forward(  # type: ignore[override]
        u: Tensor, w_rec: Tensor, r0: Tensor, alpha: float, activation: Activation,
        noise: Tensor | None,
    ) -> Tensor:
        z = torch.empty_like(u)
        r = torch.empty_like(u)
        w_t = w_rec.t()
        prev = r0
        fn, fn_out = activation.fn, activation.fn_out
        # alpha = 1 (dt = tau): r_t = f(z_t), written straight into the buffer.
        direct = alpha == 1.0 and fn_out is not None
        for u_t, z_t, r_t, n_t in zip(u.unbind(0), z.unbind(0), r.unbind(0),
                                      noise.unbind(0) if noise is not None else [None] * len(u)):
            torch.addmm(u_t, prev, w_t, out=z_t)
            if direct:
                fn_out(z_t, r_t)
            else:
                torch.lerp(prev, fn(z_t), alpha, out=r_t)
            if n_t is not None:
                r_t.add_(n_t)
            prev = r_t
        return r, z

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        _, w_rec, r0, alpha, activation, _noise = inputs
        r, z = output
        ctx.save_for_backward(w_rec, r0, r, z)
        ctx.alpha = alpha
        ctx.activation = activation
        ctx.mark_non_differentiable(z)
        # No (T, B, N) zeros for the gradient of z, which nothing uses.
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(ctx: Any, grad_r: Tensor | None, _grad_z: Tensor | None) -> tuple:  # type: ignore[override]
        w_rec, r0, r, z = ctx.saved_tensors
        if grad_r is None:
            return None, None, None, None, None, None
        alpha = ctx.alpha
        # alpha * f'(z) for every step at once.
        gain = ctx.activation.gain(z)
        if alpha != 1.0:
            gain.mul_(alpha)
        dz = torch.empty_like(z)
        grads, gains, dzs = grad_r.unbind(0), gain.unbind(0), dz.unbind(0)
        if alpha == 1.0:
            # No leak: g_{t-1} = dL/dr_{t-1} + dz_t W is one addmm, two ops a step.
            g = grads[-1]
            for t in range(len(dzs) - 1, 0, -1):
                torch.mul(g, gains[t], out=dzs[t])
                g = torch.addmm(grads[t - 1], dzs[t], w_rec)
            torch.mul(g, gains[0], out=dzs[0])
            carry = torch.mm(dzs[0], w_rec) if ctx.needs_input_grad[2] else None
        else:
            g = torch.empty_like(r0)
            carry = torch.zeros_like(r0)
            for grad_t, gain_t, dz_t in zip(reversed(grads), reversed(gains), reversed(dzs)):
                torch.add(grad_t, carry, out=g)
                torch.mul(g, gain_t, out=dz_t)
                carry = torch.addmm(g, dz_t, w_rec, beta=1.0 - alpha)
        grad_w = grad_r0 = None
        if ctx.needs_input_grad[1]:
            # sum_t dz_t^T r_{t-1}: steps 2..T as one product over time-major views (no copy),
            # plus the first step's against r0.
            n = r.shape[-1]
            grad_w = torch.mm(dz[1:].reshape(-1, n).t(), r[:-1].reshape(-1, n))
            grad_w.addmm_(dz[0].t(), r0)
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
