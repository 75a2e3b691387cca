"""Recurrent network of leaky integrate-and-fire neurons trained with surrogate gradients."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import torch
from torch import Tensor, nn

from ._connectivity import Connectivity, build_connectivity
from ._init import W_REC_INITS, init_recurrent
from ._leaky import LeakyRateModel
from ._lif_loop import LIFConstants, lif_loop, lif_step
from ._params import Milliseconds, OneOf, Range, Seed, Size, checked
from ._protocol import RecurrentModel, RNNOutput, derive_seed, fresh_seed, generator
from ._surrogates import SURROGATES

__all__ = ["INPUT_ENCODINGS", "RESETS", "SpikingRNN"]

#: Reset rules after a spike (see :class:`SpikingRNN`).
RESETS = ("zero", "subtract")
#: How the inputs reach the network (see :class:`SpikingRNN`).
INPUT_ENCODINGS = ("current", "poisson")
_CONNECTIVITY_STREAM = 1  # as RateRNN: a connectivity from a spec seeds from stream 1 of the seed
_PARTS = ("s", "v", "i", "ref", "r")
_FILTER_BLOCK = 64  # steps per block of the synaptic filter of split inputs


def _input_synapse(value: bool | Sequence[int], n_input: int) -> tuple[bool | tuple[int, ...],
                                                                          tuple[list, list] | None]:
    """``input_synapse`` checked: ``(value, (synaptic channels, membrane channels) or None)``."""
    if isinstance(value, bool):
        return value, None
    where = "The 'input_synapse' parameter of SpikingRNN"
    channels = tuple(value)
    if not all(isinstance(c, numbers.Integral) and not isinstance(c, bool) for c in channels):
        raise TypeError(f"{where} must be a bool or a list of input channels (ints). "
                        f"Got {value!r} instead.")
    bad = [c for c in channels if not 0 <= c < n_input]
    if bad or len(set(channels)) != len(channels) or not channels:
        raise ValueError(f"{where} must list distinct input channels in [0, n_input) = "
                         f"[0, {n_input}), at least one. Got {value!r} instead.")
    channels = tuple(sorted(int(c) for c in channels))
    return channels, ([*channels], [c for c in range(n_input) if c not in channels])


class SpikingRNN(RecurrentModel):
    r"""Recurrent network of leaky integrate-and-fire (LIF) neurons with current-based synapses.

    Continuous time, for unit ``k`` with spike train ``S_k(t) = sum_f delta(t - t_k^f)``::

        tau_syn dI/dt = -I + tau_syn W S(t)                      recurrent synaptic current
        tau_mem dV/dt = -V + I + W_x x(t) + b                    membrane potential (rest 0)
        V >= theta  ->  spike, reset; no spike for ``refractory`` ms
        tau_out dr/dt = -r + tau_out S(t),   y = W_y r + b_y     readout from filtered spikes

    A spike of unit ``j`` makes the current of unit ``i`` jump by ``W[i, j]`` and decay with
    ``tau_syn``; a spike train of rate ``f`` gives on average ``W f tau_syn``, so with the rate
    ``f tau_syn`` (spikes per synaptic time constant) as activity the total input
    ``I + W_x x + b`` is the rate network's pre-activation ``W r + W_x x + b`` (the structure
    Kim, Li & Sejnowski 2019 map rate networks onto). The input current reaches the membrane
    directly; with ``input_synapse=True`` it passes through the synapse too,
    ``tau_syn dI/dt = -I + W_x x + b + tau_syn W S`` and ``tau_mem dV/dt = -V + I`` (snnTorch's
    ``RSynaptic``, NIR's ``CubaLIF``). Simulated exactly for inputs held constant within a step
    (``alpha = exp(-dt/tau_syn)``, ``beta = exp(-dt/tau_mem)``, ``gamma = exp(-dt/tau_out)``),
    spikes at the step boundaries::

        I_t = alpha I_{t-1} + W s_{t-1}                      [+ (1 - alpha)(W_x x_t + b)]
        P_t = beta V_{t-1} + (1 - beta)(I_t + W_x x_t + b)   [(1 - beta) I_t]
                                                             (+ sqrt(1 - beta^2) sigma_rec xi_t)
        s_t = H(P_t - theta)                                 the spike, 0 or 1
        V_t = 0 if s_t else P_t                              reset="zero"
        V_t = P_t - theta s_t                                reset="subtract"
        r_t = gamma r_{t-1} + s_t,   y_t = W_y r_t + b_y

    (in brackets: ``input_synapse=True``). ``input_synapse`` may also name the input channels
    that pass through the synapse (a list of indices; the others and ``b`` enter the membrane),
    e.g. slow (NMDA-like) sensory inputs with a fast (AMPA-like) go cue::

        I_t = alpha I_{t-1} + W s_{t-1} + (1 - alpha) W_x[:, syn] x_t[syn]
        P_t = beta V_{t-1} + (1 - beta)(I_t + W_x[:, fast] x_t[fast] + b)

    Both resets act **in the step of the spike**:
    ``V_t`` (the membrane potential in the state) is already reset, and ``P_t`` is the potential
    before the reset (trace ``"voltage_pre"``). With ``reset="zero"`` a unit with ``P_t = 1.3``
    (``theta = 1``) has ``V_t = 0``; with ``"subtract"`` it has ``V_t = 0.3``, so the overshoot
    is kept (no charge is lost). During the ``n_ref = round(refractory / dt)`` steps after a
    spike the unit cannot spike and its potential is held at its value after the reset
    (``P_t = V_{t-1}``); the current keeps integrating.

    Training uses surrogate gradients (Neftci, Mostafa & Zenke 2019): the backward pass replaces
    ``dH/dP`` by ``psi((P - theta) / theta) / theta`` of the surrogate named by ``surrogate``
    (``brainlike.models.SURROGATES``: ``fast_sigmoid`` (SuperSpike), ``arctan``, ``triangle``).
    The reset and the refractory mask are not differentiated (Zenke & Vogels 2021). The forward
    and backward passes through time are hand-written (``brainlike.models._lif_loop``), equal
    to autograd of the step-by-step equations. :meth:`step`, the map that fixed points and
    Jacobians analyse, is differentiated exactly instead: a spike's true derivative is zero
    almost everywhere, so its Jacobian is that of the subthreshold dynamics (learning rules that
    need the pseudo-derivative step by step use ``_lif_loop.lif_step`` with ``surrogate=True``).

    ``activity`` is the spikes, ``(B, T, N)`` of 0 and 1. The flat state (``state_parts``) holds
    ``s`` (the last spikes: the activity), ``v`` (``V``), ``i`` (``I``), ``ref`` (refractory
    steps left) and ``r`` (the readout filter *without* the last spikes, ``gamma r_{t-1}``: the
    filtered spikes are ``r + s``, so that clamping ``s`` silences a unit for the readout too).
    ``traced`` adds ``"rate"`` (the filtered spikes in Hz, ``(1 - gamma) r_t / dt``: for a
    steady spike train of rate ``f`` its mean is ``f``), ``"voltage"`` (``V_t``),
    ``"voltage_pre"`` (``P_t``) and ``"current"`` (``I_t``).

    Parameters
    ----------
    n_input, n_hidden, n_output : int
    tau_mem, tau_syn, tau_out : float
        Membrane, synaptic and readout-filter time constants in ms. The defaults (20, 100,
        100) are a cortical membrane and slow (NMDA-like) synapses, as in Wang (2002) and the
        synaptic decays of Kim et al. (2019): they give the network the memory that cognitive
        tasks need at ``dt`` up to 20 ms (with ``tau_syn = 10``, ``tau_out = 20`` and the
        fast sigmoid at ``k = 10`` a 64-unit network stayed at chance on Go/No-Go for 400
        steps; with the defaults it learned it in 50: ``docs/spiking.md``).
    dt : float
        Time step in ms.
    threshold : float
        ``theta``, in the units of ``V`` (rest 0).
    reset : {"zero", "subtract"}
        What a spike does to ``V`` (above).
    refractory : float
        Absolute refractory period in ms, rounded to whole steps (``refractory_steps``).
    input_synapse : bool or sequence of int
        Pass the input current through the synaptic current (above; default False: it enters
        the membrane directly, so that the network responds within ``tau_mem``). A list of
        input channels passes only those through the synapse (above). Through a slow synapse
        an input integrates evidence but its offset is felt slowly: with ``tau_syn`` 500 ms
        the current falls by 18 % in 100 ms. An excitatory-only (Dale) network then cannot
        answer at a go cue that is an input turning off (every path from the offset to a rise
        in activity passes through a slowly decaying current), so the context task's Dale
        network takes the fixation input into the membrane and the others through the synapse
        (``docs/spiking.md``, "Context-dependent decisions").
    surrogate : {"arctan", "fast_sigmoid", "triangle"}
        The pseudo-derivative of the spike used by the backward pass (default ``arctan``, as
        snnTorch's).
    surrogate_scale : float, optional
        Its sharpness ``k``; default the surrogate's own (arctan 2, fast_sigmoid 10,
        triangle 1).
    input_encoding : {"current", "poisson"}
        ``"current"``: ``x`` is an input current. ``"poisson"``: each input channel becomes a
        Poisson spike train of rate ``|x| poisson_rate`` Hz carrying the sign of ``x`` (at most
        one spike per step, probability ``min(|x| poisson_rate dt / 1000, 1)``); a spike adds
        ``W_x / (poisson_rate dt / 1000)`` in place of ``W_x x``, so the expected drive is the
        current encoding's (while the probability stays below 1). Without noise
        (``noise=False``, ``step``) the expectation is used.
    poisson_rate : float
        Rate in Hz of an input of 1 with Poisson encoding.
    sigma_rec : float
        Membrane noise: the stationary standard deviation of the free membrane potential (an
        Ornstein-Uhlenbeck process, the same at every ``dt``), in units of ``V``.
    w_in_gain : float
        ``W_x ~ N(0, w_in_gain^2 / n_input)`` (default 2: inputs of order 1 then drive units
        past the threshold of 1).
    w_rec_init : {"orthogonal", "identity", "gaussian"}
    w_rec_gain : float
        Scale of the initial ``W`` (spectral radius for ``"gaussian"``).
    seed : int, optional
    connectivity : Connectivity or mapping, optional
        As :class:`RateRNN`: :class:`Dale`, :class:`SparseMask`, :class:`LowRank`,
        :class:`MultiArea`, :class:`FixedPlusTrainable` or a description (seeded from stream 1
        of ``seed``). With :class:`Dale` the defaults saturate the network (excitatory inputs
        of gain 2 drive it near one spike per step) and it does not learn perceptual decisions;
        ``w_in_gain=1``, ``Dale(spectral_radius=1, readout_from="all", positive="abs")`` and a
        :class:`~brainlike.training.FiringRatePenalty` above 20 Hz do (``docs/spiking.md``,
        "Dale's law").

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import make
    >>> snn = make("spiking", n_input=3, n_hidden=50, n_output=2, dt=1.0, seed=0)
    >>> out = snn(torch.ones(4, 100, 3))
    >>> tuple(out.activity.shape), sorted(set(out.activity.unique().tolist())) <= [0.0, 1.0]
    ((4, 100, 50), True)
    >>> sorted(snn.state_parts)
    ['i', 'r', 'ref', 's', 'v']

    References
    ----------
    Neftci, E. O., Mostafa, H. & Zenke, F. (2019). Surrogate gradient learning in spiking neural
    networks. IEEE Signal Process. Mag. 36, 51-63.
    Zenke, F. & Ganguli, S. (2018). SuperSpike. Neural Comput. 30, 1514-1541.
    Zenke, F. & Vogels, T. P. (2021). The remarkable robustness of surrogate gradient learning.
    Neural Comput. 33, 899-925.
    Kim, R., Li, Y. & Sejnowski, T. J. (2019). Simple framework for constructing functional
    spiking recurrent neural networks. PNAS 116, 22811-22820.
    """

    activity_part = "s"

    @checked
    def __init__(
        self,
        n_input: Size,
        n_hidden: Size,
        n_output: Size,
        *,
        tau_mem: Milliseconds = 20.0,
        tau_syn: Milliseconds = 100.0,
        tau_out: Milliseconds = 100.0,
        dt: Milliseconds = 20.0,
        threshold: Annotated[float, Range(0.0, math.inf, low_open=True)] = 1.0,
        reset: Annotated[str, OneOf(RESETS)] = "zero",
        refractory: Annotated[float, Range(0.0, math.inf)] = 0.0,
        input_synapse: bool | Sequence[int] = False,
        surrogate: Annotated[str, OneOf(tuple(SURROGATES))] = "arctan",
        surrogate_scale: Annotated[float | None, Range(0.0, math.inf, low_open=True)] = None,
        input_encoding: Annotated[str, OneOf(INPUT_ENCODINGS)] = "current",
        poisson_rate: Annotated[float, Range(0.0, math.inf, low_open=True)] = 100.0,
        sigma_rec: Annotated[float, Range(0.0, math.inf)] = 0.0,
        w_in_gain: Annotated[float, Range(0.0, math.inf)] = 2.0,
        w_rec_init: Annotated[str, OneOf(W_REC_INITS)] = "gaussian",
        w_rec_gain: Annotated[float, Range(0.0, math.inf)] = 1.0,
        seed: Seed = None,
        connectivity: Connectivity | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.n_input, self.n_hidden, self.n_output = int(n_input), int(n_hidden), int(n_output)
        self.tau_mem, self.tau_syn, self.tau_out = float(tau_mem), float(tau_syn), float(tau_out)
        self.dt, self.threshold, self.reset = float(dt), float(threshold), reset
        self.refractory = float(refractory)
        self.input_synapse, self._synaptic_channels = _input_synapse(input_synapse, self.n_input)
        self.surrogate = surrogate
        self.surrogate_scale = float(SURROGATES[surrogate].default_scale
                                     if surrogate_scale is None else surrogate_scale)
        self.input_encoding, self.poisson_rate = input_encoding, float(poisson_rate)
        self.sigma_rec = float(sigma_rec)
        self.w_in_gain, self.w_rec_gain = float(w_in_gain), float(w_rec_gain)
        self.w_rec_init = w_rec_init
        seed = fresh_seed() if seed is None else int(seed)
        if isinstance(connectivity, Mapping):
            connectivity = build_connectivity(
                connectivity, self.n_hidden, seed=derive_seed(seed, _CONNECTIVITY_STREAM))
        gen = generator(seed)
        n, i, o = self.n_hidden, self.n_input, self.n_output
        w_in = torch.randn(n, i, generator=gen) * (self.w_in_gain / math.sqrt(i))
        w_rec = init_recurrent(n, w_rec_init, self.w_rec_gain, gen)
        w_out = (torch.rand(o, n, generator=gen) * 2 - 1) / math.sqrt(n)
        self.connectivity = connectivity
        if connectivity is None:
            self.w_rec = nn.Parameter(w_rec)
        else:
            w_in = connectivity.init_input(w_in)
            w_out = connectivity.init_output(w_out)
        self.w_in = nn.Parameter(w_in)
        self.b_rec = nn.Parameter(torch.zeros(n))
        self.w_out = nn.Parameter(w_out)
        self.b_out = nn.Parameter(torch.zeros(o))
        self.register_buffer("state0", torch.zeros(5 * n))

    # Shared with RateRNN and STSPRNN (the same weights and connectivity): the connectivity's size
    # check, the effective weights and the copy with connections cut.
    _check_together = LeakyRateModel.__dict__["_check_together"]
    effective_weights = LeakyRateModel.effective_weights
    without_connections = LeakyRateModel.without_connections

    # -- constants --------------------------------------------------------------------------------

    @property
    def alpha(self) -> float:
        """``exp(-dt / tau_syn)``: decay of the synaptic current per step."""
        return math.exp(-self.dt / self.tau_syn)

    @property
    def beta(self) -> float:
        """``exp(-dt / tau_mem)``: decay of the membrane potential per step."""
        return math.exp(-self.dt / self.tau_mem)

    @property
    def gamma(self) -> float:
        """``exp(-dt / tau_out)``: decay of the readout filter per step."""
        return math.exp(-self.dt / self.tau_out)

    @property
    def refractory_steps(self) -> int:
        """``round(refractory / dt)``: steps without spikes after a spike."""
        return round(self.refractory / self.dt)

    def constants(self) -> LIFConstants:
        """The per-step constants of the loop (:class:`~brainlike.models._lif_loop.LIFConstants`)."""
        return LIFConstants(self.alpha, self.beta, self.gamma, self.threshold, self.reset,
                            self.refractory_steps, SURROGATES[self.surrogate], self.surrogate_scale,
                            self.input_synapse is True)

    @property
    def state_parts(self) -> dict[str, int]:
        """``s`` spikes (the activity), ``v`` membrane potential, ``i`` synaptic current,
        ``ref`` refractory steps left, ``r`` readout filter without the last spikes."""
        return dict.fromkeys(_PARTS, self.n_hidden)

    def _trace_shapes(self) -> dict[str, tuple[int, ...]]:
        n = (self.n_hidden,)
        return {"rate": n, "voltage": n, "voltage_pre": n, "current": n}

    def config(self) -> dict:
        """Constructor arguments (JSON-serializable) that rebuild this architecture."""
        out = {
            "n_input": self.n_input, "n_hidden": self.n_hidden, "n_output": self.n_output,
            "tau_mem": self.tau_mem, "tau_syn": self.tau_syn, "tau_out": self.tau_out,
            "dt": self.dt, "threshold": self.threshold, "reset": self.reset,
            "refractory": self.refractory,
            "input_synapse": (self.input_synapse if isinstance(self.input_synapse, bool)
                              else list(self.input_synapse)),
            "surrogate": self.surrogate,
            "surrogate_scale": self.surrogate_scale, "input_encoding": self.input_encoding,
            "poisson_rate": self.poisson_rate, "sigma_rec": self.sigma_rec,
            "w_in_gain": self.w_in_gain, "w_rec_init": self.w_rec_init,
            "w_rec_gain": self.w_rec_gain,
        }
        if self.connectivity is not None:
            out["connectivity"] = self.connectivity.config()
        return out

    def rate_hz(self, filtered: Tensor) -> Tensor:
        """Filtered spikes ``r`` (readout filter, spikes included) as a rate in Hz."""
        return filtered * ((1.0 - self.gamma) * 1000.0 / self.dt)

    # -- dynamics -----------------------------------------------------------------------------------

    def _initial_state(self) -> Tensor:
        return self.state0

    def encode(self, inputs: Tensor, *, noise: bool = True,
               generator: torch.Generator | None = None) -> Tensor:
        """The input the network receives for ``inputs (..., n_input)``.

        With ``input_encoding="current"`` (or ``noise=False``) the inputs themselves; with
        ``"poisson"`` signed Poisson spikes ``sign(x) Bernoulli(min(|x| rate dt, 1))`` divided
        by ``rate dt`` (the expected spike count per step of an input of 1), an unbiased
        estimate of ``x`` below saturation.
        """
        if self.input_encoding != "poisson" or not noise:
            return inputs
        per_step = self.poisson_rate * self.dt / 1000.0
        prob = (inputs.abs() * per_step).clamp_max(1.0)
        device = generator.device if generator is not None else inputs.device
        draw = torch.rand(inputs.shape, generator=generator, dtype=inputs.dtype, device=device)
        return (draw.to(inputs.device) < prob).to(inputs.dtype) * inputs.sign() / per_step

    def _drive(self, inputs: Tensor, w_in: Tensor, noise: bool,
               generator: torch.Generator | None) -> tuple[Tensor, Tensor | None]:
        """The drive of inputs ``(..., I)`` (encoded by :meth:`encode`): ``(membrane, synaptic)``.

        ``W_x x + b`` goes to the membrane, or times ``1 - alpha`` into the synaptic current
        with ``input_synapse=True``; with a list of channels the listed ones go into the
        synaptic current (times ``1 - alpha``) and the rest and ``b`` into the membrane. The
        second part is None when nothing is split.
        """
        return self._project(self.encode(inputs, noise=noise, generator=generator), w_in)

    def _project(self, x: Tensor, w_in: Tensor) -> tuple[Tensor, Tensor | None]:
        """:meth:`_drive` of already encoded inputs ``x (..., I)``."""
        if self._synaptic_channels is None:
            # W_x x + b in one addmm (no separate pass for b), scaled in place before the view
            # (in place on the view would cost autograd copies of the whole drive)
            current = torch.addmm(self.b_rec, x.reshape(-1, x.shape[-1]), w_in.t())
            if self.input_synapse:
                current.mul_(1.0 - self.alpha)
            return current.view(*x.shape[:-1], -1), None
        syn, fast = self._synaptic_channels
        membrane = torch.matmul(x[..., fast], w_in[:, fast].t()) + self.b_rec
        return membrane, (1.0 - self.alpha) * torch.matmul(x[..., syn], w_in[:, syn].t())

    def _synaptic_filter(self, u: Tensor) -> Tensor:
        """``J_t = alpha J_{t-1} + u_t`` from ``J_0 = 0`` over time-major ``u (T, B, N)``.

        The synaptic current is linear, so a split input adds ``J`` to the current of the
        loop that has the same start and no synaptic input (both decay by ``alpha``): the loop
        takes ``J`` as a membrane drive and ``I = I_loop + J``. Exact; computed in blocks of
        64 steps, each one matrix product with the decay matrix ``alpha^(t-s)``.
        """
        n_steps = u.shape[0]
        block = min(n_steps, _FILTER_BLOCK)
        lag = torch.arange(block, dtype=u.dtype, device=u.device)
        diff = lag[:, None] - lag[None, :]
        decay = torch.where(diff >= 0, self.alpha ** diff.clamp_min(0), torch.zeros_like(diff))
        carry_decay = self.alpha ** (lag + 1)
        parts, carry = [], None
        for start in range(0, n_steps, block):
            chunk = u[start:start + block]
            k = chunk.shape[0]
            j = torch.einsum("ts,sbn->tbn", decay[:k, :k], chunk)
            if carry is not None:
                j = j + carry_decay[:k, None, None] * carry
            parts.append(j)
            carry = j[-1]
        return torch.cat(parts)

    def _membrane_noise(self, shape: tuple, generator, like: Tensor) -> Tensor:
        return self._noise(shape, generator, like) * (math.sqrt(1.0 - self.beta**2) * self.sigma_rec)

    def _run(self, inputs, state, noise, generator, traced):
        w = self.effective_weights()
        u, u_syn = self._drive(inputs.transpose(0, 1), w.w_in, noise, generator)   # (T, B, N)
        xi = self._membrane_noise(u.shape, generator, u) if noise and self.sigma_rec > 0 else None
        s0, v0, i0, c0, r0 = self.split_state(state).values()
        rho0 = r0 + s0
        j = None if u_syn is None else self._synaptic_filter(u_syn)
        if j is not None:
            u = u + j
        s, v, cur, rho, c, p = lif_loop(u, w.w_rec, s0, v0, i0, rho0, c0, self.constants(), xi)
        if j is not None:
            cur = cur + j
        activity = s.transpose(0, 1)
        filtered = rho.transpose(0, 1)
        # time-major readout: no (B, T, N) copy of rho, and its gradient comes back time-major
        outputs = torch.addmm(self.b_out, rho.reshape(-1, rho.shape[-1]), w.w_out.t())
        outputs = outputs.view(*rho.shape[:2], -1).transpose(0, 1).contiguous()
        rho_before = rho[-2] if len(rho) > 1 else rho0
        c_last = c[-1] if self.refractory_steps else torch.zeros_like(s0)
        final = torch.cat((s[-1], v[-1], cur[-1], c_last, self.gamma * rho_before), dim=-1)
        out = RNNOutput(outputs, activity, final)
        if not traced:
            return out, None
        if not self.refractory_steps:
            c = torch.zeros_like(s)
        r_before = self.gamma * torch.cat((rho0.unsqueeze(0), rho[:-1]))   # gamma r_{t-1}
        states = torch.cat((s, v, cur, c, r_before), dim=-1)              # (T, B, S)
        return out, {
            "rate": self.rate_hz(filtered), "voltage": v.transpose(0, 1),
            "voltage_pre": p.transpose(0, 1), "current": cur.transpose(0, 1),
            "state": states.transpose(0, 1),
        }

    def _step(self, state: Tensor, inputs: Tensor) -> Tensor:
        w = self.effective_weights()
        s0, v0, i0, c0, r0 = self.split_state(state).values()
        rho0 = r0 + s0
        u, u_syn = self._drive(inputs, w.w_in, False, None)
        s, v, i, _, c, _ = lif_step(u, w.w_rec, s0, v0, i0, rho0, c0, self.constants(),
                                    surrogate=False, synaptic=u_syn)
        return torch.cat((s, v, i, c, self.gamma * rho0), dim=-1)

    def _readout(self, state: Tensor) -> Tensor:
        parts = self.split_state(state)
        return (parts["r"] + parts["s"]) @ self.effective_weights().w_out.t() + self.b_out

