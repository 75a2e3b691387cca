"""Rate networks with short-term synaptic plasticity (primer Eq. 48-49; Mongillo et al. 2008,
Masse et al. 2019).

Every presynaptic unit ``j`` has synaptic resources ``x_j`` (depression: the fraction of
neurotransmitter available) and a utilization ``u_j`` (facilitation: the release probability),
which change with its rate within a trial. What a synapse transmits is ``u_j x_j r_j``, so the
recent activity of a unit is kept in its synapses: a memory that need not be held in the rates
("activity-silent" working memory; Mongillo et al. 2008, Masse et al. 2019).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any

import numpy as np
import torch
from torch import Tensor

from ._activations import ACTIVATIONS
from ._connectivity import Connectivity, build_connectivity
from ._init import W_REC_INITS
from ._leaky import NOISE_CONVENTIONS, LeakyRateModel
from ._params import Milliseconds, OneOf, Range, Seed, Size, checked
from ._protocol import RNNOutput

__all__ = ["STSPRNN", "SYNAPSE_CONFIGS", "SYNAPSE_TYPES", "synapse_types"]

#: Published constants of the two synapse types (Masse et al. 2019, ``parameters.py``; the
#: facilitating type is Mongillo et al. 2008's): time constants in ms, ``U`` the baseline
#: utilization.
SYNAPSE_TYPES: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "facilitating": MappingProxyType({"tau_u": 1500.0, "tau_x": 200.0, "U": 0.15}),
    "depressing": MappingProxyType({"tau_u": 200.0, "tau_x": 1500.0, "U": 0.45}),
})
#: Assignments of synapse types to presynaptic units, named as Masse et al. 2019's
#: ``synapse_config`` (see :func:`synapse_types`).
SYNAPSE_CONFIGS = ("full", "fac", "dep", "exc_fac", "exc_dep", "inh_fac", "inh_dep",
                   "exc_dep_inh_fac", "none")
_BY_POPULATION = {  # config -> (type of E units, type of I units)
    "exc_fac": ("facilitating", "static"),
    "exc_dep": ("depressing", "static"),
    "inh_fac": ("static", "facilitating"),
    "inh_dep": ("static", "depressing"),
    "exc_dep_inh_fac": ("depressing", "facilitating"),
}


def _unclipped(r: Tensor, x: Tensor, u: Tensor, syn: tuple) -> tuple[Tensor, Tensor]:
    """``x_t``, ``u_t`` before the clip to [0, 1], from ``r, x, u`` at ``t - 1`` (Masse et al.:
    both from the old values). Written in increments, so that rest (``x = 1``, ``u = U``,
    ``r = 0``) maps exactly onto itself, and used by every path (step, forward, backward) so
    that they agree to the bit."""
    a_x, a_u, big_u, k = syn
    pre_x = x + a_x * (1 - x) - k * u * x * r
    pre_u = u + a_u * (big_u - u) + k * big_u * (1 - u) * r
    return pre_x, pre_u


class _STSPLoop(torch.autograd.Function):
    """The STSP recurrence over time with a hand-written backward pass (autograd's gradient up to
    float rounding; tested against autograd through ``step`` to 1e-10 in float64).

    Forward: the step of :class:`STSPRNN` into preallocated buffers, no autograd graph.
    Backward: one pass back over time carrying ``dL/dr``, ``dL/dx``, ``dL/du``; the clip
    masks come from the same pre-clip values as the forward pass (:func:`_unclipped`), so the
    gradient is autograd's (``torch.clamp`` passes it where ``0 <= value <= 1``); ``alpha
    f'(z)`` for all steps at once, and ``dL/dW`` is one matrix product.
    """

    @staticmethod
    def forward(drive, w_rec, r0, x0, u0, syn, alpha, activation, noise):  # type: ignore[override]
        steps = drive.shape[0]
        r, x, u, z = (torch.empty_like(drive) for _ in range(4))
        w_t = w_rec.t()
        r_prev, x_prev, u_prev = r0, x0, u0
        for t in range(steps):
            pre_x, pre_u = _unclipped(r_prev, x_prev, u_prev, syn)
            torch.clamp(pre_x, 0.0, 1.0, out=x[t])
            torch.clamp(pre_u, 0.0, 1.0, out=u[t])
            torch.addmm(drive[t], u[t] * x[t] * r_prev, w_t, out=z[t])
            torch.lerp(r_prev, activation.fn(z[t]), alpha, out=r[t])
            if noise is not None:
                r[t].add_(noise[t])
            r_prev, x_prev, u_prev = r[t], x[t], u[t]
        return r, x, u, z

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, w_rec, r0, x0, u0, syn, alpha, activation, _ = inputs
        r, x, u, z = output
        ctx.save_for_backward(w_rec, r0, x0, u0, *syn, r, x, u, z)
        ctx.alpha, ctx.activation = alpha, activation
        ctx.mark_non_differentiable(z)

    @staticmethod
    def backward(ctx, grad_r, grad_x, grad_u, _grad_z):  # type: ignore[override]
        w_rec, r0, x0, u0, a_x, a_u, big_u, k, r, x, u, z = ctx.saved_tensors
        alpha, act = ctx.alpha, ctx.activation
        syn = (a_x, a_u, big_u, k)
        gain = act.derivative(z, act.fn(z)).mul_(alpha)
        leak = 1.0 - alpha
        dz = torch.empty_like(z)
        carry_r = carry_x = carry_u = torch.zeros_like(r0)
        # Per step, on (B, N) slices that stay in cache (the same coefficients computed for all
        # steps at once would stream a dozen (T, B, N) temporaries through memory).
        for t in range(r.shape[0] - 1, -1, -1):
            rp, xp, up = (r[t - 1], x[t - 1], u[t - 1]) if t > 0 else (r0, x0, u0)
            g_r = grad_r[t] + carry_r
            g_x = grad_x[t] + carry_x
            g_u = grad_u[t] + carry_u
            torch.mul(g_r, gain[t], out=dz[t])
            g_e = dz[t] @ w_rec                                # dL/d(u_t x_t r_{t-1})
            g_x = g_x.addcmul_(g_e, u[t] * rp)
            g_u = g_u.addcmul_(g_e, x[t] * rp)
            pre_x, pre_u = _unclipped(rp, xp, up, syn)
            g_x = g_x.mul_((pre_x >= 0) & (pre_x <= 1))          # torch.clamp's gradient mask
            g_u = g_u.mul_((pre_u >= 0) & (pre_u <= 1))
            kr = k * rp
            carry_r = torch.addcmul(leak * g_r, g_e, u[t] * x[t])
            carry_r = carry_r.addcmul_(g_x, -k * up * xp).addcmul_(g_u, k * big_u * (1 - up))
            carry_x = g_x * (1 - a_x - kr * up)
            carry_u = torch.addcmul(g_u * (1 - a_u - big_u * kr), g_x, -k * xp * rp)
        grad_w = None
        if ctx.needs_input_grad[1]:
            n = r.shape[-1]
            e = u * x * torch.cat((r0.unsqueeze(0), r[:-1]))   # transmitted u_t x_t r_{t-1}
            grad_w = dz.reshape(-1, n).t() @ e.reshape(-1, n)
        return dz, grad_w, carry_r, carry_x, carry_u, None, None, None, None


def synapse_types(config: str, n_units: int, excitatory: Any = None) -> list[str]:
    """The synapse type of each presynaptic unit: ``"facilitating"``, ``"depressing"`` or
    ``"static"``.

    ``"full"`` alternates the two types (even units facilitating, Masse et al. 2019); ``"fac"``,
    ``"dep"``: every unit; ``"exc_fac"``, ``"exc_dep"``, ``"inh_fac"``, ``"inh_dep"``: one
    population plastic, the other static; ``"exc_dep_inh_fac"``: depressing excitatory and
    facilitating inhibitory synapses; ``"none"``: all static. The population configs need
    ``excitatory``, a boolean ``(n_units,)`` (Dale's law).

    Examples
    --------
    >>> synapse_types("full", 4)
    ['facilitating', 'depressing', 'facilitating', 'depressing']
    >>> synapse_types("exc_dep_inh_fac", 3, excitatory=[True, True, False])
    ['depressing', 'depressing', 'facilitating']
    """
    if config not in SYNAPSE_CONFIGS:
        raise ValueError(f"synapse_config must be one of {list(SYNAPSE_CONFIGS)}; got {config!r}")
    if config == "full":
        return ["facilitating" if j % 2 == 0 else "depressing" for j in range(n_units)]
    if config in ("fac", "dep", "none"):
        kind = {"fac": "facilitating", "dep": "depressing", "none": "static"}[config]
        return [kind] * n_units
    if excitatory is None:
        raise ValueError(
            f"synapse_config={config!r} gives excitatory and inhibitory units their own synapse "
            "types, so it needs Dale's law: pass a connectivity with cell signs (e.g. "
            "connectivity={'type': 'dale'})"
        )
    exc, inh = _BY_POPULATION[config]
    return [exc if bool(e) else inh for e in np.asarray(excitatory, dtype=bool)]


class STSPRNN(LeakyRateModel):
    r"""Rate network whose synapses facilitate and depress (Mongillo et al. 2008; Masse et al. 2019).

    Each presynaptic unit ``j`` has resources ``x_j`` and utilization ``u_j`` (primer Eq.
    48-49), with the rate ``r_j`` read as a firing rate in spikes/s:

    .. math::

        \frac{dx_j}{dt} = \frac{1 - x_j}{\tau_{x,j}} - u_j x_j r_j, \qquad
        \frac{du_j}{dt} = \frac{U_j - u_j}{\tau_{u,j}} + U_j (1 - u_j) r_j

    and its synapses transmit ``u_j x_j r_j``. One step (Euler, ``dt`` in ms, ``dt_s = dt /
    1000`` s), in the order of Masse et al. (2019)'s code::

        x_t = clip(x_{t-1} + (dt / tau_x) (1 - x_{t-1}) - dt_s u_{t-1} x_{t-1} r_{t-1}, 0, 1)
        u_t = clip(u_{t-1} + (dt / tau_u) (U - u_{t-1}) + dt_s U (1 - u_{t-1}) r_{t-1}, 0, 1)
        r_t = (1 - alpha) r_{t-1} + alpha f(W (u_t x_t r_{t-1}) + W_x x_t + b_r)
        y_t = W_y r_t + b_y

    with ``alpha = dt / tau`` and the rate network's recurrent noise (``noise_convention`` as
    :class:`RateRNN`). Facilitating synapses (``tau_u`` 1500 ms, ``tau_x`` 200 ms, ``U`` 0.15)
    keep a trace of recent activity for seconds in ``u``; depressing ones (``tau_u`` 200 ms,
    ``tau_x`` 1500 ms, ``U`` 0.45) in ``x`` (:data:`SYNAPSE_TYPES`). A static synapse has
    ``x = u = 1`` and transmits ``r_j``. ``synapse_config`` assigns the types to the units
    (:func:`synapse_types`; the names of Masse et al.'s code); with a Dale connectivity
    (``connectivity={"type": "dale", ...}``) excitatory and inhibitory units can have their own
    types (``"exc_dep_inh_fac"``, ...), as in Masse et al. (2019).

    State: ``{"r": N, "x": N, "u": N}`` (activity ``r``), starting from ``r_0`` (0, or learned),
    ``x = 1`` and ``u = U`` (static: ``u = 1``). Traces: ``efficacy`` ``(B, T, N)``, the
    synaptic efficacy ``u_t x_t`` of every presynaptic unit after each step (what Masse et al.
    decode as the synaptic memory), and ``state``.

    Parameters
    ----------
    n_input, n_hidden, n_output : int
    tau : float
        Time constant of the rates in ms (Masse et al.: 100).
    dt : float
        Time step in ms, ``0 < dt <= tau`` (Masse et al.: 10).
    activation : str
        ``f`` (default ``"relu"``).
    sigma_rec : float
        Recurrent noise strength (0 turns it off); ``noise_convention`` as :class:`RateRNN`.
    noise_convention : {"inside_f", "on_state"}
    synapse_config : str
        One of :data:`SYNAPSE_CONFIGS` (default ``"full"``).
    w_rec_init : {"orthogonal", "identity", "gaussian"}
    w_rec_gain : float, optional
        As :class:`RateRNN` (used without a connectivity).
    train_initial_state : bool
        Learn ``r_0`` (``x`` and ``u`` always start at rest).
    seed : int, optional
    connectivity : Connectivity or mapping, optional
        As :class:`RateRNN` (``Dale``, ``SparseMask``, ...); ``n_units == n_hidden``.

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import make
    >>> net = make("stsp", n_input=3, n_hidden=10, n_output=2, dt=10.0, seed=0,
    ...            connectivity={"type": "dale", "e_fraction": 0.8},
    ...            synapse_config="exc_dep_inh_fac")
    >>> net.state_parts
    {'r': 10, 'x': 10, 'u': 10}
    >>> net.synapse_types[7:]
    ('depressing', 'facilitating', 'facilitating')
    >>> run = net.traced(torch.rand(4, 20, 3))
    >>> tuple(run.traces["efficacy"].shape)
    (4, 20, 10)

    References
    ----------
    Mongillo, G., Barak, O. & Tsodyks, M. (2008). Synaptic theory of working memory. Science
    319, 1543-1546.
    Masse, N. Y., Yang, G. R., Song, H. F., Wang, X.-J. & Freedman, D. J. (2019). Circuit
    mechanisms for the maintenance and manipulation of information in working memory. Nat.
    Neurosci. 22, 1159-1167.
    Yang, G. R. & Wang, X.-J. (2020). Neuron 107, 1048-1070, Section 5.3 (Eq. 48-49).
    """

    activity_part = "r"

    @checked
    def __init__(
        self,
        n_input: Size,
        n_hidden: Size,
        n_output: Size,
        *,
        tau: Milliseconds = 100.0,
        dt: Milliseconds = 10.0,
        activation: Annotated[str, OneOf(tuple(sorted(ACTIVATIONS)))] = "relu",
        sigma_rec: Annotated[float, Range(0.0, math.inf)] = 0.0,
        noise_convention: Annotated[str, OneOf(NOISE_CONVENTIONS)] = "inside_f",
        synapse_config: Annotated[str, OneOf(SYNAPSE_CONFIGS)] = "full",
        w_rec_init: Annotated[str, OneOf(W_REC_INITS)] = "orthogonal",
        w_rec_gain: Annotated[float | None, Range(0.0, math.inf)] = None,
        train_initial_state: bool = False,
        seed: Seed = None,
        connectivity: Connectivity | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self._setup(n_input, n_hidden, n_output, tau=tau, dt=dt, activation=activation,
                    sigma_rec=sigma_rec, noise_convention=noise_convention, w_rec_init=w_rec_init,
                    w_rec_gain=w_rec_gain, train_initial_state=train_initial_state, seed=seed,
                    connectivity=connectivity)
        self.synapse_config = synapse_config
        sign = None if self.connectivity is None else self.connectivity.cell_sign
        self.synapse_types = tuple(synapse_types(
            synapse_config, self.n_hidden, None if sign is None else (sign > 0).cpu().numpy()))
        # Per presynaptic unit: dt / tau_x, dt / tau_u, U and dt_s where the synapse is dynamic
        # (a static synapse has all four at 0 except U = 1, so x = u = 1 stay put).
        consts = {"alpha_x": [], "alpha_u": [], "U": [], "rate_dt": []}
        for kind in self.synapse_types:
            c = SYNAPSE_TYPES.get(kind)
            consts["alpha_x"].append(0.0 if c is None else self.dt / c["tau_x"])
            consts["alpha_u"].append(0.0 if c is None else self.dt / c["tau_u"])
            consts["U"].append(1.0 if c is None else c["U"])
            consts["rate_dt"].append(0.0 if c is None else self.dt / 1000.0)
        for name, values in consts.items():
            self.register_buffer(name, torch.tensor(values))

    @classmethod
    def _check_together(cls, args: dict) -> None:
        super()._check_together(args)
        config, conn, n = args.get("synapse_config"), args.get("connectivity"), args.get("n_hidden")
        if config not in _BY_POPULATION:
            return
        if isinstance(conn, Mapping) and n is not None:
            conn = build_connectivity(conn, n, seed=0)
        if conn is None or isinstance(conn, Mapping) or conn.cell_sign is None:
            synapse_types(config, 1, None)  # raises the error that names Dale's law

    # -- protocol -------------------------------------------------------------------------------

    @property
    def state_parts(self) -> dict[str, int]:
        """The rates ``r``, the resources ``x`` and the utilizations ``u``."""
        n = self.n_hidden
        return {"r": n, "x": n, "u": n}

    def _trace_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"efficacy": (self.n_hidden,)}

    def config(self) -> dict:
        """Constructor arguments (JSON-serializable) that rebuild this architecture."""
        return self._rate_config(synapse_config=self.synapse_config)

    def synaptic_weights(self, state: Tensor) -> Tensor:
        """``W diag(u x)``, ``(..., N, N)``: what each connection transmits per unit of
        presynaptic rate in a flat state ``(..., S)``."""
        parts = self.split_state(state)
        eff = (parts["u"] * parts["x"]).unsqueeze(-2)
        return self.effective_weights().w_rec * eff

    def _initial_state(self) -> Tensor:
        return torch.cat((self.r0, torch.ones_like(self.U), self.U))

    # -- dynamics -------------------------------------------------------------------------------

    def _synapses(self, r: Tensor, x: Tensor, u: Tensor) -> tuple[Tensor, Tensor]:
        """``(x_t, u_t)`` from the state before the step (Masse et al.: x first, from old u)."""
        pre_x, pre_u = _unclipped(r, x, u, self._syn)
        return pre_x.clamp(0.0, 1.0), pre_u.clamp(0.0, 1.0)

    @property
    def _syn(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return self.alpha_x, self.alpha_u, self.U, self.rate_dt

    def _split(self, state: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        n = self.n_hidden
        return state[:, :n], state[:, n:2 * n], state[:, 2 * n:]

    def _run(self, inputs, state, noise, generator, traced):
        w = self.effective_weights()
        drive, on_state = self._drive_and_noise(inputs, w, noise, generator)
        r0, x0, u0 = self._split(state)
        syn = self._syn
        if on_state is not None:
            on_state = on_state.detach()
        rs, xs, us, _ = _STSPLoop.apply(drive, w.w_rec, r0, x0, u0, syn, self.alpha, self._act,
                                        on_state)
        activity = rs.transpose(0, 1)
        outputs = activity @ w.w_out.t() + self.b_out
        out = RNNOutput(outputs, activity, torch.cat((rs[-1], xs[-1], us[-1]), dim=-1))
        if not traced:
            return out, None
        xs, us = xs.transpose(0, 1), us.transpose(0, 1)
        return out, {"efficacy": xs * us, "state": torch.cat((activity, xs, us), dim=-1)}

    def _step(self, state: Tensor, inputs: Tensor) -> Tensor:
        w = self.effective_weights()
        r, x, u = self._split(state)
        x, u = self._synapses(r, x, u)
        z = (u * x * r) @ w.w_rec.t() + inputs @ w.w_in.t() + self.b_rec
        r = torch.lerp(r, self._act.fn(z), self.alpha)
        return torch.cat((r, x, u), dim=-1)
