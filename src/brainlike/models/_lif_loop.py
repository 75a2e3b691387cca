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
Zenke & Vogels 2021); ``H`` is differentiated through a surrogate ``psi``. Forward: the
recurrent product and about six elementwise operations per step, written into preallocated
``(T, B, N)`` buffers. The recurrent product sums the weight columns of the units that spiked
where fewer than ``SPARSE_BELOW`` of them did (and adds nothing after a step without spikes).
Backward, with ``psi_t = a r_t`` (:attr:`Surrogate.factored`) computed in cache-sized blocks of
steps and per-step buffers reused, from ``t = T`` down to 1::

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
import torch.nn.functional as F
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
#: silent units (sums the weight columns of the units that spiked, per trial, with
#: ``embedding_bag``) instead of a dense matrix product; a step in which no unit spiked adds
#: nothing. Measured in CPU time on one thread (B = 64), relative to the dense product: at 3 %
#: active units 0.89x (N = 256), 0.65x (384), 0.74x (512); at 5 % 1.02x, 0.87x, 0.88x; at 7 %
#: 1.07x, 1.02x, 0.98x. (The weight gradient stays one dense product over all steps: gathering
#: there was 4x slower.)
SPARSE_BELOW = 0.05

#: The backward pass evaluates the surrogate derivative in blocks of steps of about this many
#: elements (a block stays in the cache while the steps use it), not for all steps at once.
SURROGATE_BLOCK = 1 << 16


def _spike_product(s: Tensor, w_t: Tensor, out: Tensor, binary: bool) -> None:
    """``out += s @ w_t`` for spikes ``s (B, N)``, using their sparsity where it pays."""
    if not binary:
        out.addmm_(s, w_t)
        return
    n_active = int(s.sum())  # 0/1 spikes: the sum is exact (and faster than count_nonzero)
    if n_active == 0:
        return  # no spike: out + 0 W is out
    if n_active > SPARSE_BELOW * s.numel():
        out.addmm_(s, w_t)
        return
    rows, cols = torch.nonzero(s, as_tuple=True)  # row-major: sorted by trial
    starts = torch.searchsorted(rows, torch.arange(s.shape[0], device=s.device))
    out.add_(F.embedding_bag(cols, w_t, starts, mode="sum"))


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
        # the steps' views, made once (indexing in the loop would dispatch a select each time)
        u_, s_, v_, cur_, rho_, p_ = (x.unbind(0) for x in (u, s, v, cur, rho, p))
        noise_ = None if noise is None else noise.unbind(0)
        c_ = c.unbind(0) if k.n_ref else None
        s_prev, v_prev, i_prev, rho_prev, c_prev = s0, v0, i0, rho0, c0
        for t in range(n_steps):
            s_t, p_t, cur_t = s_[t], p_[t], cur_[t]
            # cur = alpha I_{t-1} (+ u_t) + W s_{t-1}; s_0 may be any state, later s are spikes
            if k.input_synapse:
                torch.add(u_[t], i_prev, alpha=k.alpha, out=cur_t)
            else:
                torch.mul(i_prev, k.alpha, out=cur_t)
            _spike_product(s_prev, w_t, cur_t, binary=t > 0)
            if k.input_synapse:
                torch.lerp(cur_t, v_prev, k.beta, out=p_t)
            else:
                torch.add(cur_t, u_[t], out=p_t)
                torch.lerp(p_t, v_prev, k.beta, out=p_t)
            if noise_ is not None:
                p_t.add_(noise_[t])
            if k.n_ref:
                held = c_prev >= 0.5
                torch.where(held, v_prev, p_t, out=p_t)
                fired = (p_t >= k.threshold) & ~held
                s_t.copy_(fired)
            else:
                torch.ge(p_t, k.threshold, out=s_t)
            if k.reset == "subtract":
                torch.add(p_t, s_t, alpha=-k.threshold, out=v_[t])
            else:  # P (1 - s) as P - P s: exactly P or +0
                torch.addcmul(p_t, p_t, s_t, value=-1.0, out=v_[t])
            torch.add(s_t, rho_prev, alpha=k.gamma, out=rho_[t])
            if c_ is not None:
                torch.sub(c_prev, 1.0, out=c_[t]).clamp_min_(0.0).masked_fill_(fired, float(k.n_ref))
                c_prev = c_[t]
            s_prev, v_prev, i_prev, rho_prev = s_t, v_[t], cur_t, rho_[t]
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
        free = lam = kappa = None
        if k.n_ref:
            held = torch.cat((c0.unsqueeze(0), c[:-1])) >= 0.5
            free = (~held).to(p.dtype)
            lam = (free * (1.0 - k.beta)).unbind(0)
            kappa = (held.to(p.dtype) * (1.0 - k.beta) + k.beta).unbind(0)
        d_i = torch.empty_like(p)
        d_e = d_i if k.input_synapse else torch.empty_like(p)
        d_i_, d_e_, s_ = d_i.unbind(0), d_e.unbind(0), s.unbind(0)
        g_rho_out_, g_s_out_, g_v_out_, g_i_out_ = (
            None if g is None else g.unbind(0) for g in (g_rho_out, g_s_out, g_v_out, g_i_out))
        g_i = torch.zeros_like(s0)    # g_I_{t+1}
        g_p = torch.zeros_like(s0)    # g_P_{t+1}
        g_rho = torch.zeros_like(s0)  # g_rho_{t+1}
        g_s, g_v = torch.empty_like(s0), torch.empty_like(s0)
        block = max(1, SURROGATE_BLOCK // max(1, s0.numel()))
        psi_ = ()
        for t in range(n_steps - 1, -1, -1):
            if t == n_steps - 1 or t % block == block - 1:  # psi_t of steps lo..t, in one block
                lo = t - t % block
                psi, psi_scale = k.surrogate.factored(p[lo:t + 1], k.threshold, k.scale)
                if free is not None:
                    psi.mul_(free[lo:t + 1])
                psi_ = psi.unbind(0)
            if g_rho_out_ is not None:
                torch.add(g_rho_out_[t], g_rho, alpha=k.gamma, out=g_rho)
            else:
                g_rho.mul_(k.gamma)
            base = g_rho if g_s_out_ is None else g_rho + g_s_out_[t]
            torch.addmm(base, g_i, w_rec, out=g_s)
            torch.mul(g_p, k.beta if kappa is None or t + 1 == n_steps else kappa[t + 1], out=g_v)
            if g_v_out_ is not None:
                g_v.add_(g_v_out_[t])
            if k.reset == "zero":  # g_V (1 - s) as g_V - g_V s: exactly g_V or 0
                g_v.addcmul_(g_v, s_[t], value=-1.0)
            torch.addcmul(g_v, g_s, psi_[t - lo], value=psi_scale, out=g_p)  # psi_t = a r_t
            torch.mul(g_p, 1.0 - k.beta if lam is None else lam[t], out=d_e_[t])
            if d_e is not d_i:
                d_i_[t].copy_(d_e_[t])
            d_i_[t].add_(g_i, alpha=k.alpha)
            if g_i_out_ is not None:
                d_i_[t].add_(g_i_out_[t])
            g_i = d_i_[t]
        grad_w = None
        if ctx.needs_input_grad[1]:
            # sum_t g_I_t^T s_{t-1}: steps 2..T in one product, the first with s_0
            n = p.shape[-1]
            grad_w = torch.addmm(d_i[0].t() @ s0, d_i[1:].reshape(-1, n).t(), s[:-1].reshape(-1, n))
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
