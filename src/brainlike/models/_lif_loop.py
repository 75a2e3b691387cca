"""The recurrent leaky integrate-and-fire loop with a hand-written backward pass through time.

One step of the network (:class:`~brainlike.models.SpikingRNN` states the equations), with
``u_t`` the external drive computed for all steps before the loop, entering the synaptic current
(``input_synapse``) or the membrane directly (``e_t = u_t``, else ``e_t = 0``)::

    I_t   = alpha I_{t-1} + W s_{t-1} (+ u_t)                 synaptic current
    P_t   = beta V_{t-1} + (1 - beta)(I_t + e_t) (+ noise_t)  membrane potential before the reset
    P_t   = V_{t-1}                   if refractory (c_{t-1} >= 1/2)
    s_t   = H(P_t - theta), 0         if refractory           spike
    V_t   = P_t - theta s_t           (reset "subtract")      or  P_t (1 - s_t)   (reset "zero")
    rho_t = gamma rho_{t-1} + s_t                             filtered spikes (readout)
    c_t   = n_ref if s_t else max(c_{t-1} - 1, 0)             refractory steps left

The reset and the refractory mask are not differentiated (``s_t`` enters them detached, as in
Zenke & Vogels 2021); ``H`` is differentiated through a surrogate ``psi``. Forward: one
``addmm`` and about six fused elementwise operations per step into preallocated ``(T, B, N)``
buffers. The forward recurrent product skips the silent units where fewer than ``SPARSE_BELOW`` of them
spiked. Backward, with ``psi_t``
computed for all steps at once, from ``t = T`` down to 1::

    g_rho_t = dL/drho_t + gamma g_rho_{t+1}
    g_s_t   = dL/ds_t + g_rho_t + g_I_{t+1} W                 (one addmm)
    g_V_t   = dL/dV_t + kappa_{t+1} g_P_{t+1}                 kappa = 1 if refractory else beta
    g_P_t   = g_V_t dV_t/dP_t + g_s_t psi_t                   dV/dP = 1 (subtract) or 1 - s_t (zero)
    g_e_t   = (1 - beta) g_P_t                                 (0 if refractory)
    g_I_t   = dL/dI_t + alpha g_I_{t+1} + g_e_t

and ``dL/dW = sum_t g_I_t^T s_{t-1}`` is one matrix product over all steps and trials,
``dL/du = g_I`` (input through the synapse) or ``g_e`` (into the membrane). The result
equals autograd through :func:`lif_loop_reference` (a plain loop of
:func:`lif_step`) to float precision; the tests check it in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ._surrogates import Surrogate, spike

__all__ = ["LIFConstants", "lif_loop", "lif_loop_reference", "lif_step"]


@dataclass(frozen=True)
class LIFConstants:
    """The per-step constants of the LIF loop.

    Attributes
    ----------
    alpha, beta, gamma : float
        ``exp(-dt / tau_syn)``, ``exp(-dt / tau_mem)``, ``exp(-dt / tau_out)``.
    threshold : float
    reset : {"subtract", "zero"}
    n_ref : int
        Refractory steps after a spike (0: none).
    surrogate : Surrogate
    scale : float
        The surrogate's ``k``.
    input_synapse : bool
        The external drive enters the synaptic current (True) or the membrane (False).
    """

    alpha: float
    beta: float
    gamma: float
    threshold: float
    reset: str
    n_ref: int
    surrogate: Surrogate
    scale: float
    input_synapse: bool = True


def lif_step(
    drive: Tensor, w_rec: Tensor, s: Tensor, v: Tensor, i: Tensor, rho: Tensor, c: Tensor,
    k: LIFConstants, noise: Tensor | None = None, *, surrogate: bool = True,
    synaptic: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """One step of the LIF network (module docstring), differentiable by autograd.

    Parameters
    ----------
    drive : Tensor, shape (B, N)
        External drive ``u_t`` of this step.
    w_rec : Tensor, shape (N, N)
        ``w_rec[i, j]``: weight from unit ``j`` to unit ``i``.
    s, v, i, rho, c : Tensor, shape (B, N)
        Spikes, membrane potential (after reset), synaptic current, filtered spikes and
        refractory steps left, after the previous step.
    k : LIFConstants
    noise : Tensor, shape (B, N), optional
        Added to the membrane potential before the threshold.
    surrogate : bool
        Differentiate the spike through ``k.surrogate`` (training; BPTT, eligibility traces),
        or not at all (the true derivative of the map, zero almost everywhere: what fixed
        points and Jacobians of the dynamics need).
    synaptic : Tensor, shape (B, N), optional
        A drive added to the synaptic current in either case (the synaptic part of an input
        split between synapse and membrane).

    Returns
    -------
    tuple of Tensor
        ``(s, v, i, rho, c, p)`` after this step; ``p`` is the membrane potential before reset.
    """
    if k.input_synapse:
        i = torch.addmm(drive, s, w_rec.t()) + k.alpha * i
    else:
        i = s @ w_rec.t() + k.alpha * i
    if synaptic is not None:
        i = i + synaptic
    p = torch.lerp(i, v, k.beta) if k.input_synapse else torch.lerp(i + drive, v, k.beta)
    if noise is not None:
        p = p + noise
    held = c >= 0.5 if k.n_ref else None
    if held is not None:
        p = torch.where(held, v, p)
    s = spike(p, k.threshold, k.surrogate, k.scale) if surrogate else (p >= k.threshold).to(p.dtype)
    if held is not None:
        s = s * (~held).to(s.dtype)
    fired = s.detach()
    v = p - k.threshold * fired if k.reset == "subtract" else p * (1.0 - fired)
    rho = k.gamma * rho + s
    if k.n_ref:
        c = torch.where(fired > 0, torch.full_like(c, float(k.n_ref)), (c - 1.0).clamp_min(0.0))
    else:
        c = torch.zeros_like(c)
    return s, v, i, rho, c, p


def lif_loop_reference(
    u: Tensor, w_rec: Tensor, s0: Tensor, v0: Tensor, i0: Tensor, rho0: Tensor, c0: Tensor,
    k: LIFConstants, noise: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """:func:`lif_loop` as a plain autograd loop of :func:`lif_step` (the reference for tests)."""
    state = (s0, v0, i0, rho0, c0)
    out: list[list[Tensor]] = [[] for _ in range(6)]
    for t in range(u.shape[0]):
        *state, p = lif_step(u[t], w_rec, *state, k, None if noise is None else noise[t])
        for buf, x in zip(out, (*state, p)):
            buf.append(x)
    return tuple(torch.stack(b) for b in out)  # type: ignore[return-value]


#: Below this fraction of active units, the recurrent product of the forward pass skips the
#: silent units (gathers and adds the weight columns of the units that spiked) instead of a dense
#: matrix product. Measured in CPU time on one thread (B = 64): at 2.5 % active units 0.89x the
#: dense time at N = 256 and 0.63x at N = 512; break-even near 3-4 %. (The weight gradient
#: stays one dense product: gathering there was 4x slower than the matrix product.)
SPARSE_BELOW = 0.03


def _spike_product(s: Tensor, w_t: Tensor, out: Tensor, binary: bool) -> None:
    """``out += s @ w_t`` for spikes ``s (B, N)``, using their sparsity where it pays."""
    rows, cols = torch.nonzero(s, as_tuple=True)
    if not binary or rows.numel() > SPARSE_BELOW * s.numel():
        out.addmm_(s, w_t)
    else:
        out.index_add_(0, rows, w_t.index_select(0, cols))


class _LIFLoop(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        u: Tensor, w_rec: Tensor, s0: Tensor, v0: Tensor, i0: Tensor, rho0: Tensor, c0: Tensor,
        k: LIFConstants, noise: Tensor | None,
    ) -> tuple[Tensor, ...]:
        n_steps = u.shape[0]
        s, v, cur, rho, p = (torch.empty_like(u) for _ in range(5))
        c = torch.empty_like(u) if k.n_ref else u.new_zeros(())
        w_t = w_rec.t().contiguous()  # rows = presynaptic units, gathered when spikes are sparse
        zero = u.new_zeros(())
        s_prev, v_prev, i_prev, rho_prev, c_prev = s0, v0, i0, rho0, c0
        for t in range(n_steps):
            # cur = alpha I_{t-1} (+ u_t) + W s_{t-1}; s_0 may be any state, later s are spikes
            if k.input_synapse:
                torch.add(u[t], i_prev, alpha=k.alpha, out=cur[t])
            else:
                torch.mul(i_prev, k.alpha, out=cur[t])
            _spike_product(s_prev, w_t, cur[t], binary=t > 0)
            if k.input_synapse:
                torch.lerp(cur[t], v_prev, k.beta, out=p[t])
            else:
                torch.add(cur[t], u[t], out=p[t])
                torch.lerp(p[t], v_prev, k.beta, out=p[t])
            if noise is not None:
                p[t].add_(noise[t])
            fired = p[t] >= k.threshold
            if k.n_ref:
                held = c_prev >= 0.5
                p[t] = torch.where(held, v_prev, p[t])
                fired &= ~held
            s[t].copy_(fired)
            if k.reset == "subtract":
                torch.add(p[t], s[t], alpha=-k.threshold, out=v[t])
            else:
                torch.where(fired, zero, p[t], out=v[t])
            torch.add(s[t], rho_prev, alpha=k.gamma, out=rho[t])
            if k.n_ref:
                torch.sub(c_prev, 1.0, out=c[t]).clamp_min_(0.0).masked_fill_(fired, float(k.n_ref))
                c_prev = c[t]
            s_prev, v_prev, i_prev, rho_prev = s[t], v[t], cur[t], rho[t]
        return s, v, cur, rho, c, p

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        _, w_rec, s0, _, _, _, c0, k, _ = inputs
        s, _, _, _, c, p = output
        ctx.save_for_backward(w_rec, s0, c0, s, c, p)
        ctx.k = k
        ctx.mark_non_differentiable(c, p)
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(ctx: Any, g_s_out, g_v_out, g_i_out, g_rho_out, _g_c, _g_p) -> tuple:  # type: ignore[override]
        w_rec, s0, c0, s, c, p = ctx.saved_tensors
        k: LIFConstants = ctx.k
        n_steps = p.shape[0]
        psi = k.surrogate.derivative(p, k.threshold, k.scale)
        kappa = lam = None
        if k.n_ref:
            held = torch.cat((c0.unsqueeze(0), c[:-1])) >= 0.5
            free = (~held).to(p.dtype)
            psi.mul_(free)
            lam = free * (1.0 - k.beta)
            kappa = held.to(p.dtype) * (1.0 - k.beta) + k.beta
        not_fired = (1.0 - s) if k.reset == "zero" else None
        d_i = torch.empty_like(p)
        d_e = d_i if k.input_synapse else torch.empty_like(p)
        g_i = torch.zeros_like(s0)    # g_I_{t+1}
        g_p = torch.zeros_like(s0)    # g_P_{t+1}
        g_rho = torch.zeros_like(s0)  # g_rho_{t+1}
        for t in range(n_steps - 1, -1, -1):
            if g_rho_out is not None:
                g_rho = torch.add(g_rho_out[t], g_rho, alpha=k.gamma)
            else:
                g_rho = g_rho * k.gamma
            base = g_rho if g_s_out is None else g_rho + g_s_out[t]
            g_s = torch.addmm(base, g_i, w_rec)
            g_v = g_p * (k.beta if kappa is None or t + 1 == n_steps else kappa[t + 1])
            if g_v_out is not None:
                g_v = g_v + g_v_out[t]
            if not_fired is not None:
                g_v = g_v * not_fired[t]
            g_p = torch.addcmul(g_v, g_s, psi[t])
            if lam is None:
                torch.mul(g_p, 1.0 - k.beta, out=d_e[t])
            else:
                torch.mul(g_p, lam[t], out=d_e[t])
            if d_e is not d_i:
                d_i[t].copy_(d_e[t])
            d_i[t].add_(g_i, alpha=k.alpha)
            if g_i_out is not None:
                d_i[t].add_(g_i_out[t])
            g_i = d_i[t]
        grad_w = None
        if ctx.needs_input_grad[1]:
            n = p.shape[-1]
            s_prev = torch.cat((s0.unsqueeze(0), s[:-1]))
            grad_w = d_i.reshape(-1, n).t() @ s_prev.reshape(-1, n)
        g_s0 = g_i @ w_rec if ctx.needs_input_grad[2] else None
        g_v0 = g_p * (k.beta if kappa is None else kappa[0]) if ctx.needs_input_grad[3] else None
        g_i0 = g_i * k.alpha if ctx.needs_input_grad[4] else None
        g_rho0 = g_rho * k.gamma if ctx.needs_input_grad[5] else None
        return d_e, grad_w, g_s0, g_v0, g_i0, g_rho0, None, None, None


def lif_loop(
    u: Tensor, w_rec: Tensor, s0: Tensor, v0: Tensor, i0: Tensor, rho0: Tensor, c0: Tensor,
    k: LIFConstants, noise: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Run the LIF recurrence over time, differentiable by the hand-written backward pass.

    Parameters
    ----------
    u : Tensor, shape (T, B, N)
        Time-major external drive, computed for all steps before the loop.
    w_rec : Tensor, shape (N, N)
    s0, v0, i0, rho0, c0 : Tensor, shape (B, N)
        The state before the first step (``rho0`` the filtered spikes including ``s0``).
    k : LIFConstants
    noise : Tensor, shape (T, B, N), optional
        Added to the membrane potential before the threshold (not differentiated).

    Returns
    -------
    tuple of Tensor, each (T, B, N)
        ``(s, v, i, rho, c, p)``: spikes, membrane potential after reset, synaptic current,
        filtered spikes, refractory steps left (a 0-d zero when ``k.n_ref == 0``) and the
        membrane potential before reset. ``c`` and ``p`` are not differentiable.
    """
    if noise is not None:
        noise = noise.detach()
    return _LIFLoop.apply(u, w_rec, s0, v0, i0, rho0, c0.detach(), k, noise)
