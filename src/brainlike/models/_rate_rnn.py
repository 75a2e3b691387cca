"""Continuous-time rate RNN (Yang & Wang 2020, Eq. 26-27)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .. import _checks
from ._activations import ACTIVATIONS, get_activation
from ._bptt import leaky_loop
from ._connectivity import Connectivity
from ._init import W_REC_INITS, init_recurrent

_DEFAULT_GAIN = {"orthogonal": 0.5, "identity": 0.5, "gaussian": 0.9}


class RNNOutput(NamedTuple):
    """What a recurrent model returns; unpacks as ``outputs, activity, final_state``.

    Attributes
    ----------
    outputs : Tensor, shape (B, T, O)
        Linear readout ``W_y r_t + b_y`` at every step.
    activity : Tensor, shape (B, T, N)
        Rates ``r_1 ... r_T``.
    final_state : Tensor, shape (B, N)
        ``r_T``, to continue the simulation from.
    """

    outputs: Tensor
    activity: Tensor
    final_state: Tensor


@dataclass(frozen=True)
class EffectiveWeights:
    """The weights a network actually uses, after its connectivity's constraints.

    Attributes
    ----------
    w_in : Tensor, shape (N, n_input)
    w_rec : Tensor, shape (N, N)
        ``w_rec[i, j]`` is the weight from unit ``j`` to unit ``i``.
    w_out : Tensor, shape (n_output, N)
    """

    w_in: Tensor
    w_rec: Tensor
    w_out: Tensor


class RateRNN(nn.Module):
    r"""Leaky continuous-time rate network with a linear readout.

    .. math::

        \tau \frac{dr}{dt} = -r + f(W_r r + W_x x + b_r), \qquad y = W_y r + b_y

    discretized with the Euler method (Eq. 27) and ``alpha = dt / tau``::

        r_t = (1 - alpha) r_{t-1}
              + alpha f(W_r r_{t-1} + W_x x_t + b_r + sqrt(2 / alpha) sigma_rec xi_t)

    With ``alpha = 1`` (``dt == tau``) this is the vanilla (Elman) network of Eq. 14-16. The
    private noise ``xi_t ~ N(0, I)`` is scaled by ``sqrt(2 / alpha)`` inside ``f`` as in Yang et
    al. (2019), so that its effect on the state is ``sqrt(2 alpha) sigma_rec`` per step, the Euler
    discretization of white noise of strength ``sigma_rec`` (Song et al. 2016).

    Parameters
    ----------
    n_input, n_hidden, n_output : int
        Sizes of the input ``x``, the rates ``r`` and the readout ``y``.
    tau : float
        Single-unit time constant in ms.
    dt : float
        Time step in ms, ``0 < dt <= tau``.
    activation : {"relu", "tanh", "softplus", "retanh", "sigmoid", "linear"}
        The rate nonlinearity ``f``. ``retanh`` is ``max(tanh(z), 0)``.
    sigma_rec : float
        Strength of the recurrent noise; 0 turns it off. Use ``forward(..., noise=False)`` to
        simulate without it.
    w_rec_init : {"orthogonal", "identity", "gaussian"}
        Initial ``W_r``: ``gain`` times a random orthogonal matrix, ``gain`` times the identity,
        or Gaussian with spectral radius ``gain``.
    w_rec_gain : float, optional
        Scale of the initial ``W_r``. Defaults: 0.5 (orthogonal, identity; Yang et al. 2019),
        0.9 (gaussian).
    train_initial_state : bool
        Learn the initial rates ``r_0`` (a parameter) instead of keeping them fixed at 0.
    seed : int, optional
        Seed of the initialization; ``None`` draws from torch's global generator.
    connectivity : Connectivity, optional
        A parameterization of the recurrent weights (:class:`Dale`, :class:`SparseMask`,
        :class:`FixedPlusTrainable`, :class:`LowRank`, :class:`MultiArea`) with
        ``n_units == n_hidden``. It owns the recurrent parameters (the network then has no
        ``w_rec`` parameter; ``w_rec_init`` and ``w_rec_gain`` are unused) and may constrain
        ``w_in`` and ``w_out``. :meth:`effective_weights` returns the matrices in use.

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import RateRNN
    >>> rnn = RateRNN(3, 64, 2, tau=100.0, dt=20.0, seed=0)
    >>> outputs, activity, final_state = rnn(torch.zeros(8, 50, 3))
    >>> tuple(outputs.shape), tuple(activity.shape), tuple(final_state.shape)
    ((8, 50, 2), (8, 50, 64), (8, 64))

    References
    ----------
    Yang, G. R. & Wang, X.-J. (2020). Artificial neural networks for neuroscientists: a primer.
    Neuron 107, 1048-1070. Eq. 14-16 and 26-27.
    Song, H. F., Yang, G. R. & Wang, X.-J. (2016). Training excitatory-inhibitory recurrent neural
    networks for cognitive tasks. PLoS Comput. Biol. 12, e1004792.
    """

    def __init__(
        self,
        n_input: int,
        n_hidden: int,
        n_output: int,
        *,
        tau: float = 100.0,
        dt: float = 20.0,
        activation: str = "relu",
        sigma_rec: float = 0.0,
        w_rec_init: str = "orthogonal",
        w_rec_gain: float | None = None,
        train_initial_state: bool = False,
        seed: int | None = None,
        connectivity: Connectivity | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.n_input = _checks.positive_int("n_input", n_input, owner)
        self.n_hidden = _checks.positive_int("n_hidden", n_hidden, owner)
        self.n_output = _checks.positive_int("n_output", n_output, owner)
        self.tau = _checks.in_range("tau", tau, owner, 0.0, math.inf)
        self.dt = _checks.in_range("dt", dt, owner, 0.0, math.inf)
        if self.dt > self.tau:
            raise ValueError(
                f"{owner} needs dt <= tau for a stable Euler step (alpha = dt/tau <= 1). "
                f"Got dt={dt!r}, tau={tau!r}."
            )
        _checks.one_of("activation", activation, owner, sorted(ACTIVATIONS))
        self.activation = activation
        self.sigma_rec = _checks.in_range("sigma_rec", sigma_rec, owner, 0.0, math.inf, low_open=False)
        _checks.one_of("w_rec_init", w_rec_init, owner, W_REC_INITS)
        gain = _DEFAULT_GAIN[w_rec_init] if w_rec_gain is None else w_rec_gain
        _checks.in_range("w_rec_gain", gain, owner, 0.0, math.inf, low_open=False)
        self.w_rec_init = w_rec_init
        self.w_rec_gain = float(gain)
        self.train_initial_state = bool(train_initial_state)
        self._act = get_activation(activation)
        if connectivity is not None:
            if not isinstance(connectivity, Connectivity):
                raise TypeError(
                    f"The 'connectivity' parameter of {owner} must be a Connectivity "
                    f"(Dale, SparseMask, ...). Got {type(connectivity).__name__} instead."
                )
            if connectivity.n_units != self.n_hidden:
                raise ValueError(
                    f"connectivity.n_units must be equal to n_hidden of {owner}. "
                    f"Expected {self.n_hidden}, got {connectivity.n_units}."
                )

        gen = torch.Generator()
        gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, ()).item()))
        n, i, o = self.n_hidden, self.n_input, self.n_output
        # W_x ~ N(0, 1/n_input) (Yang et al. 2019); W_y ~ U(-1/sqrt(n), 1/sqrt(n)) (torch Linear).
        w_in = torch.randn(n, i, generator=gen) / math.sqrt(i)
        w_rec = init_recurrent(n, w_rec_init, self.w_rec_gain, gen)
        bound = 1.0 / math.sqrt(n)
        w_out = (torch.rand(o, n, generator=gen) * 2 - 1) * bound
        if connectivity is None:
            self.connectivity = None
            self.w_rec = nn.Parameter(w_rec)
        else:
            self.connectivity = connectivity
            w_in = connectivity.init_input(w_in)
            w_out = connectivity.init_output(w_out)
        self.w_in = nn.Parameter(w_in)
        self.b_rec = nn.Parameter(torch.zeros(n))
        self.w_out = nn.Parameter(w_out)
        self.b_out = nn.Parameter(torch.zeros(o))
        r0 = torch.zeros(n)
        if self.train_initial_state:
            self.r0 = nn.Parameter(r0)
        else:
            self.register_buffer("r0", r0)

    @property
    def alpha(self) -> float:
        """``dt / tau``."""
        return self.dt / self.tau

    def config(self) -> dict:
        """Constructor arguments (JSON-serializable) that rebuild this architecture.

        With a connectivity, ``"connectivity"`` holds its own :meth:`Connectivity.config`.
        """
        out = {
            "n_input": self.n_input,
            "n_hidden": self.n_hidden,
            "n_output": self.n_output,
            "tau": self.tau,
            "dt": self.dt,
            "activation": self.activation,
            "sigma_rec": self.sigma_rec,
            "w_rec_init": self.w_rec_init,
            "w_rec_gain": self.w_rec_gain,
            "train_initial_state": self.train_initial_state,
        }
        if self.connectivity is not None:
            out["connectivity"] = self.connectivity.config()
        return out

    def effective_weights(self) -> EffectiveWeights:
        """The input, recurrent and readout weights in use (differentiable).

        Returns
        -------
        EffectiveWeights
            ``w_in (N, n_input)``, ``w_rec (N, N)``, ``w_out (n_output, N)``.
        """
        c = self.connectivity
        if c is None:
            return EffectiveWeights(self.w_in, self.w_rec, self.w_out)
        return EffectiveWeights(
            c.input_weights(self.w_in), c.recurrent(), c.output_weights(self.w_out)
        )

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "connectivity")

    # -- dynamics -------------------------------------------------------------------------------

    def _check_inputs(self, inputs: Tensor, name: str, ndim: int) -> None:
        if not isinstance(inputs, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor; got {type(inputs).__name__}")
        if inputs.ndim != ndim or inputs.shape[-1] != self.n_input:
            want = "(batch, time, n_input)" if ndim == 3 else "(batch, n_input)"
            raise ValueError(
                f"{name} must have shape {want} with n_input={self.n_input}; "
                f"got shape {tuple(inputs.shape)}"
            )

    def _initial_state(self, state: Tensor | None, batch: int) -> Tensor:
        if state is None:
            return self.r0.unsqueeze(0).expand(batch, -1).contiguous()
        if state.shape != (batch, self.n_hidden):
            raise ValueError(
                f"state must have shape (batch, n_hidden) = ({batch}, {self.n_hidden}); "
                f"got {tuple(state.shape)}"
            )
        return state

    def forward(
        self,
        inputs: Tensor,
        state: Tensor | None = None,
        *,
        noise: bool = True,
        generator: torch.Generator | None = None,
    ) -> RNNOutput:
        """Simulate the network on a batch of input sequences.

        Parameters
        ----------
        inputs : Tensor, shape (B, T, n_input)
        state : Tensor, shape (B, n_hidden), optional
            Rates before the first step; default the (learned or zero) initial state ``r0``.
        noise : bool
            Add the recurrent noise (when ``sigma_rec > 0``).
        generator : torch.Generator, optional
            Source of the recurrent noise.

        Returns
        -------
        RNNOutput
            ``(outputs (B, T, n_output), activity (B, T, n_hidden), final_state (B, n_hidden))``.
        """
        self._check_inputs(inputs, "inputs", 3)
        batch = inputs.shape[0]
        r0 = self._initial_state(state, batch)
        # Effective weights once per forward pass (a connectivity may reparameterize them).
        w = self.effective_weights()
        # Input drive for all steps in one matmul, time-major so each step reads a contiguous slice.
        u = torch.matmul(inputs.transpose(0, 1), w.w_in.t()) + self.b_rec
        if noise and self.sigma_rec > 0:
            scale = math.sqrt(2.0 / self.alpha) * self.sigma_rec
            xi = torch.randn(u.shape, generator=generator, dtype=u.dtype, device=u.device)
            u = u + scale * xi
        rates = leaky_loop(u, w.w_rec, r0, self.alpha, self._act)  # (T, B, N)
        activity = rates.transpose(0, 1)
        outputs = activity @ w.w_out.t() + self.b_out
        return RNNOutput(outputs, activity, rates[-1])

    def step(self, state: Tensor, inputs: Tensor) -> Tensor:
        """One noise-free Euler step ``r_{t-1} -> r_t`` (the map ``F`` of a discrete-time system).

        Parameters
        ----------
        state : Tensor, shape (B, n_hidden)
        inputs : Tensor, shape (B, n_input)

        Returns
        -------
        Tensor, shape (B, n_hidden)
        """
        return state + self.alpha * (self._drive(state, inputs) - state)

    def velocity(self, state: Tensor, inputs: Tensor) -> Tensor:
        """Noise-free ``dr/dt = (-r + f(W_r r + W_x x + b_r)) / tau`` (Eq. 26), per ms.

        Parameters
        ----------
        state : Tensor, shape (B, n_hidden)
        inputs : Tensor, shape (B, n_input)

        Returns
        -------
        Tensor, shape (B, n_hidden)
        """
        return (self._drive(state, inputs) - state) / self.tau

    def _drive(self, state: Tensor, inputs: Tensor) -> Tensor:
        self._check_inputs(inputs, "inputs", 2)
        if state.ndim != 2 or state.shape != (inputs.shape[0], self.n_hidden):
            raise ValueError(
                f"state must have shape (batch, n_hidden) = ({inputs.shape[0]}, {self.n_hidden}) "
                f"to match inputs; got {tuple(state.shape)}"
            )
        w = self.effective_weights()
        return self._act.fn(state @ w.w_rec.t() + inputs @ w.w_in.t() + self.b_rec)
