"""A chaotic rate network whose readout feeds back into it (Sussillo & Abbott 2009)."""

from __future__ import annotations

import copy
import math
from typing import Annotated, Any

import numpy as np
import torch
from torch import Tensor, nn

from ._leaky import check_euler_step
from ._params import MAX_UNITS, Milliseconds, Range, Seed, Size, checked
from ._protocol import EffectiveWeights, RecurrentModel, RNNOutput, fresh_seed, generator

__all__ = ["FeedbackRNN"]


class FeedbackRNN(RecurrentModel):
    r"""Sussillo & Abbott's generator network: a sparse chaotic tanh network with readout feedback.

    .. math::

        \tau \frac{dx}{dt} = -x + J r + W_{fb} z + W_{in} u, \qquad r = \tanh(x), \qquad
        z = W_{out} r

    discretized with the Euler method, ``alpha = dt / tau``::

        x_t = (1 - alpha) x_{t-1} + alpha (J r_{t-1} + W_fb z_{t-1} + W_in u_t),
        r_t = tanh(x_t),        z_t = W_out r_t.

    The network integrates currents ``x`` (Sussillo & Abbott's form; :class:`RateRNN` integrates
    rates). Since ``z_{t-1} = W_out r_{t-1}``, the readout feedback makes the effective recurrent
    weights ``J + W_fb W_out`` (:meth:`effective_weights`), which is how learning the readout
    changes the network's dynamics. With ``feedback=False`` the readout is not fed back.

    Initialization (Sussillo & Abbott 2009, Methods): each ``J_ij`` is nonzero with probability
    ``p_connect``, drawn from ``N(0, g^2 / (p_connect N))`` -- chaotic for ``g > 1`` when ``N`` is
    large --; ``W_fb ~ U(-1, 1)`` (fixed, a buffer); ``W_in ~ N(0, 1)``; the initial currents
    ``x_0 ~ N(0, 0.25)`` (a buffer; Sussillo's demo code). ``W_out ~ U(-s, s) / sqrt(N)`` with
    ``s = readout_scale``, the readout of every brainlike model; Sussillo & Abbott start FORCE
    from ``W_out = 0``: ``readout_scale=0``.

    The state, and what ``forward`` returns as the activity, is the currents ``x`` (the network's
    dynamical variable, which fixed points and perturbations act on; clamping ``x_i = 0`` silences
    unit ``i``); the rates ``r = tanh(x)`` are the trace ``"rate"`` of :meth:`traced`.

    Parameters
    ----------
    n_input : int
        Size of the input ``u``; 0 for a network without input (pattern generation).
    n_hidden, n_output : int
        Sizes of ``r`` and ``z``.
    tau : float, optional
        Time constant in ms, ``>= dt``. Default ``10 dt``: Sussillo & Abbott's step is
        ``dt = 0.1 tau``, with ``tau = 10`` ms at the default ``dt``.
    dt : float
        Time step in ms (default 1).
    g : float
        Gain of the recurrent weights (default 1.5: chaotic before learning).
    p_connect : float
        Connection probability of ``J`` (default 0.1).
    feedback : bool
        Feed the readout back through ``W_fb`` (default True).
    readout_scale : float
        Scale of the initial readout weights (above); 0 starts from ``W_out = 0``.
    seed : int, optional
        Seed of the initialization; ``None`` draws one from torch's global generator.

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import FeedbackRNN
    >>> net = FeedbackRNN(0, 200, 1, readout_scale=0.0, seed=0)   # Sussillo & Abbott's start
    >>> out = net(torch.zeros(1, 50, 0))
    >>> tuple(out.activity.shape), tuple(out.final_state.shape)     # the currents x
    ((1, 50, 200), (1, 200))
    >>> rates = net.traced(torch.zeros(1, 50, 0)).traces["rate"]    # r = tanh(x)
    >>> bool(torch.equal(rates, torch.tanh(out.activity)))
    True

    References
    ----------
    Sussillo, D. & Abbott, L. F. (2009). Generating coherent patterns of activity from chaotic
    neural networks. Neuron 63, 544-557.
    """

    activity_part = "x"

    @checked
    def __init__(
        self,
        n_input: Annotated[int, Range(0, MAX_UNITS)],
        n_hidden: Size,
        n_output: Size,
        *,
        tau: Annotated[float | None, Range(0.0, math.inf, low_open=True)] = None,
        dt: Milliseconds = 1.0,
        g: Annotated[float, Range(0.0, math.inf)] = 1.5,
        p_connect: Annotated[float, Range(0.0, 1.0, low_open=True)] = 0.1,
        feedback: bool = True,
        readout_scale: Annotated[float, Range(0.0, math.inf)] = 1.0,
        seed: Seed = None,
    ) -> None:
        super().__init__()
        self.n_input, self.n_hidden, self.n_output = int(n_input), int(n_hidden), int(n_output)
        self.dt = float(dt)
        self.tau = 10.0 * self.dt if tau is None else float(tau)
        self.g, self.p_connect, self.feedback = float(g), float(p_connect), bool(feedback)
        self.readout_scale = float(readout_scale)
        gen = generator(fresh_seed() if seed is None else int(seed))
        n = self.n_hidden
        mask = torch.rand(n, n, generator=gen) < self.p_connect
        scale = self.g / math.sqrt(self.p_connect * n)
        self.w_rec = nn.Parameter(torch.randn(n, n, generator=gen) * scale * mask)
        self.w_in = nn.Parameter(torch.randn(n, self.n_input, generator=gen))
        bound = self.readout_scale / math.sqrt(n)
        self.w_out = nn.Parameter((torch.rand(self.n_output, n, generator=gen) * 2 - 1) * bound)
        self.register_buffer("w_fb", torch.rand(n, self.n_output, generator=gen) * 2 - 1)
        self.register_buffer("x0", 0.5 * torch.randn(n, generator=gen))

    @classmethod
    def _check_together(cls, args: dict) -> None:
        check_euler_step(cls.__name__, args)

    @property
    def alpha(self) -> float:
        """``dt / tau``."""
        return self.dt / self.tau

    @property
    def state_parts(self) -> dict[str, int]:
        """One part: the currents ``x``."""
        return {"x": self.n_hidden}

    def _trace_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"rate": (self.n_hidden,)}

    def config(self) -> dict:
        """Constructor arguments (JSON-serializable) that rebuild this architecture."""
        return {
            "n_input": self.n_input, "n_hidden": self.n_hidden, "n_output": self.n_output,
            "tau": self.tau, "dt": self.dt, "g": self.g, "p_connect": self.p_connect,
            "feedback": self.feedback, "readout_scale": self.readout_scale,
        }

    def effective_weights(self) -> EffectiveWeights:
        """``w_in (N, n_input)``, ``w_rec = J + W_fb W_out`` (``J`` without feedback) and
        ``w_out (n_output, N)``: the matrices the dynamics use (differentiable)."""
        w_rec = self.w_rec + self.w_fb @ self.w_out if self.feedback else self.w_rec
        return EffectiveWeights(self.w_in, w_rec, self.w_out)

    # -- dynamics -------------------------------------------------------------------------------

    def _initial_state(self) -> Tensor:
        return self.x0

    def _run(self, inputs, state, noise, generator, traced):
        w = self.effective_weights()
        drive = inputs @ w.w_in.t()  # (B, T, N)
        x, w_rec_t = state, w.w_rec.t()
        currents = []
        for t in range(inputs.shape[1]):
            x = torch.lerp(x, torch.tanh(x) @ w_rec_t + drive[:, t], self.alpha)
            currents.append(x)
        activity = torch.stack(currents, dim=1)
        rates = torch.tanh(activity)
        out = RNNOutput(rates @ w.w_out.t(), activity, x)
        if not traced:
            return out, None
        return out, {"rate": rates, "state": activity}

    def _step(self, state: Tensor, inputs: Tensor) -> Tensor:
        w = self.effective_weights()
        return torch.lerp(state, torch.tanh(state) @ w.w_rec.t() + inputs @ w.w_in.t(), self.alpha)

    def _readout(self, state: Tensor) -> Tensor:
        return torch.tanh(state) @ self.w_out.t()

    def without_connections(self, from_units: Any, to_units: Any) -> FeedbackRNN:
        """A copy with the synapses ``J`` from ``from_units`` to ``to_units`` set to 0 (the
        readout feedback, a loop through ``z``, is left as it is)."""
        src = np.asarray(from_units, dtype=np.int64).reshape(-1)
        dst = np.asarray(to_units, dtype=np.int64).reshape(-1)
        cut = copy.deepcopy(self)
        with torch.no_grad():
            cut.w_rec[np.ix_(dst, src)] = 0.0
        return cut
