"""Continuous-time rate RNN (Yang & Wang 2020, Eq. 26-27)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

import torch
from torch import Tensor

from ._activations import ACTIVATIONS
from ._bptt import leaky_loop_with_drive
from ._connectivity import Connectivity
from ._init import W_REC_INITS
from ._leaky import NOISE_CONVENTIONS, LeakyRateModel
from ._params import Milliseconds, OneOf, Range, Seed, Size, checked
from ._protocol import RNNOutput

__all__ = ["NOISE_CONVENTIONS", "RateRNN"]

class RateRNN(LeakyRateModel):
    r"""Leaky continuous-time rate network with a linear readout.

    .. math::

        \tau \frac{dr}{dt} = -r + f(W_r r + W_x x + b_r) + \text{noise}, \qquad y = W_y r + b_y

    discretized with the Euler method (Eq. 27), ``alpha = dt / tau``. The recurrent noise
    ``xi_t ~ N(0, I)`` (private per unit, step and trial) enters by one of two conventions,
    chosen with ``noise_convention``:

    ``"inside_f"`` (default; the code of Yang et al. 2019)::

        r_t = (1 - alpha) r_{t-1} + alpha f(W_r r_{t-1} + W_x x_t + b_r + sqrt(2 / alpha) sigma_rec xi_t)

    ``"on_state"`` (Song et al. 2016; the Euler-Maruyama step of the stochastic equation)::

        r_t = (1 - alpha) r_{t-1} + alpha f(W_r r_{t-1} + W_x x_t + b_r) + sqrt(2 alpha) sigma_rec xi_t

    For a linear ``f`` the two are the same equation (and give the same trajectories from the
    same draws). ``"on_state"`` is white noise of strength ``sigma_rec`` added to the
    continuous dynamics: the statistics of a simulation converge as ``dt`` shrinks. ``"inside_f"``
    passes noise of standard deviation ``sqrt(2 / alpha) sigma_rec`` through ``f``; for a
    nonlinear ``f`` that is *not* the same noise at every ``dt``: with ReLU the rectified noise
    adds a mean drive ``alpha E[f(z + s xi)] - alpha f(z)`` that grows like ``1 / sqrt(dt)`` as
    ``dt`` shrinks. The rates of ``"on_state"`` can leave the range of ``f`` (negative with
    ReLU), as the state of any additive-noise model can.

    With ``alpha = 1`` (``dt == tau``) this is the vanilla (Elman) network of Eq. 14-16.

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
    noise_convention : {"inside_f", "on_state"}
        Where the recurrent noise enters (above).
    w_rec_init : {"orthogonal", "identity", "gaussian"}
        Initial ``W_r``: ``gain`` times a random orthogonal matrix, ``gain`` times the identity,
        or Gaussian with spectral radius ``gain``.
    w_rec_gain : float, optional
        Scale of the initial ``W_r``. Defaults: 0.5 (orthogonal, identity; Yang et al. 2019),
        0.9 (gaussian).
    train_initial_state : bool
        Learn the initial rates ``r_0`` (a parameter) instead of keeping them fixed at 0.
    seed : int, optional
        Seed of the initialization; ``None`` draws one from torch's global generator.
    connectivity : Connectivity or mapping, optional
        A parameterization of the recurrent weights (:class:`Dale`, :class:`SparseMask`,
        :class:`FixedPlusTrainable`, :class:`LowRank`, :class:`MultiArea`) with
        ``n_units == n_hidden``, or its description for :func:`build_connectivity` (e.g.
        ``{"type": "dale", "e_fraction": 0.8}``). A description without a ``seed`` is seeded
        from an independent stream of ``seed`` (:func:`derive_seed`), so that the network's and
        the connectivity's initial weights are not drawn from the same random numbers; give an
        instance its own seed for the same reason. The connectivity owns the recurrent
        parameters (the network then has no ``w_rec`` parameter; ``w_rec_init`` and
        ``w_rec_gain`` are unused) and may constrain ``w_in`` and ``w_out``.
        :meth:`effective_weights` returns the matrices in use.

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
    Yang, G. R., Joglekar, M. R., Song, H. F., Newsome, W. T. & Wang, X.-J. (2019). Task
    representations in neural networks trained to perform many cognitive tasks. Nat. Neurosci.
    22, 297-306.
    Song, H. F., Yang, G. R. & Wang, X.-J. (2016). Training excitatory-inhibitory recurrent neural
    networks for cognitive tasks. PLoS Comput. Biol. 12, e1004792.
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
        dt: Milliseconds = 20.0,
        activation: Annotated[str, OneOf(tuple(sorted(ACTIVATIONS)))] = "relu",
        sigma_rec: Annotated[float, Range(0.0, math.inf)] = 0.0,
        noise_convention: Annotated[str, OneOf(NOISE_CONVENTIONS)] = "inside_f",
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

    @property
    def state_parts(self) -> dict[str, int]:
        """One part: the rates ``r`` (the state is the activity)."""
        return {"r": self.n_hidden}

    def _trace_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"pre_activation": (self.n_hidden,)}

    def config(self) -> dict:
        """Constructor arguments (JSON-serializable) that rebuild this architecture.

        With a connectivity, ``"connectivity"`` holds its own :meth:`Connectivity.config`.
        """
        return self._rate_config()

    # -- dynamics -------------------------------------------------------------------------------

    def _initial_state(self) -> Tensor:
        return self.r0

    def _run(self, inputs, state, noise, generator, traced):
        # Effective weights once per forward pass (a connectivity may reparameterize them).
        w = self.effective_weights()
        u, on_state = self._drive_and_noise(inputs, w, noise, generator)
        n_steps, b = u.shape[:2]
        rates, z = leaky_loop_with_drive(u, w.w_rec, state, self.alpha, self._act, on_state)
        # The readout of all steps in one product on the time-major rates (no copy), so that
        # its gradient reaches the loop time-major too; outputs are a (B, T, O) view.
        y = torch.addmm(self.b_out, rates.view(n_steps * b, self.n_hidden), w.w_out.t())
        outputs = y.view(n_steps, b, self.n_output).transpose(0, 1)
        activity = rates.transpose(0, 1)
        out = RNNOutput(outputs, activity, rates[-1])
        if not traced:
            return out, None
        return out, {"pre_activation": z.transpose(0, 1), "state": activity}

    def _drive(self, state: Tensor, inputs: Tensor) -> Tensor:
        w = self.effective_weights()
        return self._act.fn(state @ w.w_rec.t() + inputs @ w.w_in.t() + self.b_rec)

    def _step(self, state: Tensor, inputs: Tensor) -> Tensor:
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
        self._check_step(state, inputs)
        return (self._drive(state, inputs) - state) / self.tau

    def jacobian_parts(self, state: Tensor, inputs: Tensor, *,
                       kind: str = "discrete") -> tuple[float, Tensor, Tensor]:
        """The Jacobian of :meth:`step` (``kind="discrete"``) or :meth:`velocity`
        (``"continuous"``) as ``c I + diag(s) W``.

        Returns
        -------
        c : float
            ``1 - alpha`` (discrete) or ``-1 / tau`` (continuous).
        s : Tensor, shape (B, N)
            ``alpha f'(z)`` or ``f'(z) / tau`` at ``z = W r + W_x x + b``.
        W : Tensor, shape (N, N)
            The effective recurrent weights.
        """
        self._check_step(state, inputs)
        w = self.effective_weights()
        z = state @ w.w_rec.t() + inputs @ w.w_in.t() + self.b_rec
        d = self._act.derivative(z, self._act.fn(z))
        if kind == "discrete":
            return 1.0 - self.alpha, self.alpha * d, w.w_rec
        return -1.0 / self.tau, d / self.tau, w.w_rec
