"""Recurrent networks with Hebbian fast weights whose plasticity is learned (primer Eq. 45-47).

The recurrent weights have a fixed part ``W`` and a plastic part ``alpha * Hebb``: the Hebbian
trace ``Hebb`` changes at every step of a trial, driven by the activity, and is reset at the
start of every trial. Gradient descent (BPTT through the trace updates) learns ``W``, the
plasticity coefficients ``alpha`` (one per connection) and the plasticity rate ``eta``, so the
network learns *how to learn within a trial* (Miconi et al. 2018). In the neuromodulated variant
(Miconi et al. 2019, "backpropamine") the rate of the update is itself an output of the network.
"""

from __future__ import annotations

import copy
import math
from typing import Annotated, Any

import numpy as np
import torch
from torch import Tensor, nn

from ._activations import ACTIVATIONS, get_activation
from ._init import W_REC_INITS, init_recurrent
from ._leaky import _DEFAULT_GAIN
from ._params import Milliseconds, OneOf, Range, Seed, Size, checked
from ._protocol import EffectiveWeights, RecurrentModel, RNNOutput, fresh_seed, generator

__all__ = ["HEBB_CLIP", "PLASTICITY_RULES", "PlasticRNN"]

#: The plasticity rules of :class:`PlasticRNN`.
PLASTICITY_RULES = ("hebbian", "oja", "neuromodulated")
#: The neuromodulated trace is clipped to ``[-HEBB_CLIP, HEBB_CLIP]`` (Miconi et al. 2019).
HEBB_CLIP = 2.0


class PlasticRNN(RecurrentModel):
    r"""Recurrent network with Hebbian fast weights and learned plasticity (Miconi et al. 2018).

    .. math::

        h_t &= f\big(W_x x_t + b + (W + \alpha \odot \mathrm{Hebb}_{t-1})\, h_{t-1}\big),
        \qquad y_t = W_y h_t + b_y \\
        \mathrm{Hebb}_t &= \mathrm{Hebb}_{t-1} + \Delta_t

    with ``Hebb[i, j]`` the trace of the connection from unit ``j`` (presynaptic, activity
    ``h_{t-1}``) to unit ``i`` (postsynaptic, activity ``h_t``), and ``Delta_t`` given by
    ``rule``:

    ``"hebbian"`` (plain Hebbian with decay; Miconi et al. 2018, Eq. 2)::

        Hebb_t = (1 - eta) Hebb_{t-1} + eta h_t h_{t-1}^T

    ``"oja"`` (Oja's rule, which keeps the trace bounded without a decay; Miconi et al. 2018)::

        Hebb_t[i, j] = Hebb_{t-1}[i, j] + eta h_t[i] (h_{t-1}[j] - h_t[i] Hebb_{t-1}[i, j])

    ``"neuromodulated"`` (Miconi et al. 2019, "simple neuromodulation"): a modulatory output
    ``m_t = tanh(w_m . h_t + b_m)`` of the network, fanned out to the postsynaptic units by
    learned weights ``v``, sets the sign and size of the update::

        Hebb_t = clip(Hebb_{t-1} + (v m_t) h_t h_{t-1}^T, -2, 2)

    The trace starts every simulation at 0 (``initial_state``) and is part of the flat state
    (``{"h": N, "hebb": N * N}``, ``Hebb`` row-major: postsynaptic rows), so ``step``, fixed
    points, clamping and a continued simulation all see it. ``W``, ``alpha``, ``W_x``, ``b``,
    ``W_y``, ``b_y``, ``eta`` (kept in (0, 1) as ``sigmoid`` of a parameter; fixed with
    ``learn_eta=False``) and, for ``"neuromodulated"``, ``w_m``, ``b_m`` and ``v`` are learned
    by backpropagation through the trial, trace updates included. The network is a
    discrete-time map (``dt`` labels time) without recurrent noise (``noise`` and ``generator``
    are accepted and unused).

    Traces (:meth:`traced`): ``hebb_norm`` ``(B, T)``, the Frobenius norm of ``Hebb_t``;
    ``modulation`` ``(B, T)``, ``m_t`` (``"neuromodulated"`` only); ``state``.

    Parameters
    ----------
    n_input, n_hidden, n_output : int
    dt : float
        Time step in ms; labels time only.
    activation : str
        ``f``; default ``"tanh"`` (Miconi et al.). One of ``brainlike.models.ACTIVATIONS``.
    rule : {"hebbian", "oja", "neuromodulated"}
        The plasticity rule (above).
    eta : float
        Initial plasticity rate, in (0, 1) (``"hebbian"``, ``"oja"``; not used by
        ``"neuromodulated"``, whose rate is ``v m_t``).
    learn_eta : bool
        Learn ``eta`` (Miconi et al. 2018 learn one scalar) or keep it fixed.
    alpha_init : float
        Scale of the initial plasticity coefficients: ``alpha_ij ~ alpha_init N(0, 1)``
        (Miconi et al. 2018 use 0.01).
    w_rec_init : {"orthogonal", "identity", "gaussian"}
        Initial ``W``, as for :class:`RateRNN`.
    w_rec_gain : float, optional
        Scale of the initial ``W``; defaults as :class:`RateRNN` (0.5 orthogonal and identity,
        0.9 gaussian).
    train_initial_state : bool
        Learn the initial activity ``h_0`` (the trace always starts at 0).
    seed : int, optional
        Seed of the initialization. ``W_x ~ N(0, 1 / n_input)``, ``W_y ~ U(-1/sqrt(N),
        1/sqrt(N))``, ``w_m ~ U(-1/sqrt(N), 1/sqrt(N))``, ``v = 1``, biases 0.

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import make
    >>> net = make("plastic", n_input=3, n_hidden=8, n_output=2, rule="oja", seed=0)
    >>> net.state_parts
    {'h': 8, 'hebb': 64}
    >>> run = net.traced(torch.randn(4, 10, 3))
    >>> tuple(run.traces["hebb_norm"].shape), tuple(net.plastic_weights(run.output.final_state).shape)
    ((4, 10), (4, 8, 8))

    References
    ----------
    Miconi, T., Clune, J. & Stanley, K. O. (2018). Differentiable plasticity: training plastic
    neural networks with backpropagation. ICML, PMLR 80, 3559-3568.
    Miconi, T., Rawal, A., Clune, J. & Stanley, K. O. (2019). Backpropamine: training
    self-modifying neural networks with differentiable neuromodulated plasticity. ICLR.
    Oja, E. (1982). A simplified neuron model as a principal component analyzer. J. Math. Biol.
    15, 267-273.
    Yang, G. R. & Wang, X.-J. (2020). Neuron 107, 1048-1070, Section 5.3 (Eq. 45-47).
    """

    activity_part = "h"

    @checked
    def __init__(
        self,
        n_input: Size,
        n_hidden: Size,
        n_output: Size,
        *,
        dt: Milliseconds = 20.0,
        activation: Annotated[str, OneOf(tuple(sorted(ACTIVATIONS)))] = "tanh",
        rule: Annotated[str, OneOf(PLASTICITY_RULES)] = "hebbian",
        eta: Annotated[float, Range(0.0, 1.0, low_open=True, high_open=True)] = 0.1,
        learn_eta: bool = True,
        alpha_init: Annotated[float, Range(0.0, math.inf)] = 0.01,
        w_rec_init: Annotated[str, OneOf(W_REC_INITS)] = "gaussian",
        w_rec_gain: Annotated[float | None, Range(0.0, math.inf)] = None,
        train_initial_state: bool = False,
        seed: Seed = None,
    ) -> None:
        super().__init__()
        self.n_input, self.n_hidden, self.n_output = int(n_input), int(n_hidden), int(n_output)
        self.dt = float(dt)
        self.activation, self.rule = activation, rule
        self.eta_init, self.learn_eta = float(eta), bool(learn_eta)
        self.alpha_init = float(alpha_init)
        self.w_rec_init = w_rec_init
        self.w_rec_gain = float(_DEFAULT_GAIN[w_rec_init] if w_rec_gain is None else w_rec_gain)
        self.train_initial_state = bool(train_initial_state)
        self._act = get_activation(activation)
        gen = generator(fresh_seed() if seed is None else int(seed))
        n, i, o = self.n_hidden, self.n_input, self.n_output
        bound = 1.0 / math.sqrt(n)
        self.w_in = nn.Parameter(torch.randn(n, i, generator=gen) / math.sqrt(i))
        self.b_rec = nn.Parameter(torch.zeros(n))
        self.w_rec = nn.Parameter(init_recurrent(n, w_rec_init, self.w_rec_gain, gen))
        self.alpha = nn.Parameter(self.alpha_init * torch.randn(n, n, generator=gen))
        self.w_out = nn.Parameter((torch.rand(o, n, generator=gen) * 2 - 1) * bound)
        self.b_out = nn.Parameter(torch.zeros(o))
        if rule == "neuromodulated":
            self.w_mod = nn.Parameter((torch.rand(n, generator=gen) * 2 - 1) * bound)
            self.b_mod = nn.Parameter(torch.zeros(()))
            self.mod_fanout = nn.Parameter(torch.ones(n))
        else:
            logit = torch.tensor(math.log(self.eta_init / (1.0 - self.eta_init)))
            if self.learn_eta:
                self.eta_logit = nn.Parameter(logit)
            else:
                self.register_buffer("eta_logit", logit)
        h0 = torch.zeros(n)
        if self.train_initial_state:
            self.h0 = nn.Parameter(h0)
        else:
            self.register_buffer("h0", h0)
        self.register_buffer("hebb0", torch.zeros(n * n))

    # -- protocol -------------------------------------------------------------------------------

    @property
    def state_parts(self) -> dict[str, int]:
        """The activity ``h`` then the Hebbian trace ``hebb`` (``N * N``, postsynaptic rows)."""
        return {"h": self.n_hidden, "hebb": self.n_hidden * self.n_hidden}

    def _trace_shapes(self) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {"hebb_norm": ()}
        if self.rule == "neuromodulated":
            out["modulation"] = ()
        return out

    def config(self) -> dict:
        """Constructor arguments (JSON-serializable) that rebuild this architecture."""
        return {
            "n_input": self.n_input, "n_hidden": self.n_hidden, "n_output": self.n_output,
            "dt": self.dt, "activation": self.activation, "rule": self.rule,
            "eta": self.eta_init, "learn_eta": self.learn_eta, "alpha_init": self.alpha_init,
            "w_rec_init": self.w_rec_init, "w_rec_gain": self.w_rec_gain,
            "train_initial_state": self.train_initial_state,
        }

    @property
    def eta(self) -> Tensor | None:
        """The plasticity rate ``sigmoid(eta_logit)``, a 0-d tensor; None for
        ``"neuromodulated"`` (whose rate is ``v m_t``)."""
        return None if self.rule == "neuromodulated" else torch.sigmoid(self.eta_logit)

    def effective_weights(self) -> EffectiveWeights:
        """The fixed weights: ``w_in (N, n_input)``, ``w_rec = W (N, N)``, ``w_out``.

        The recurrent weights in use at a step also hold the plastic part; see
        :meth:`plastic_weights`.
        """
        return EffectiveWeights(self.w_in, self.w_rec, self.w_out)

    def plastic_weights(self, state: Tensor) -> Tensor:
        """``W + alpha * Hebb``, ``(..., N, N)``: the recurrent weights in a flat state ``(..., S)``."""
        hebb = self.split_state(state)["hebb"]
        n = self.n_hidden
        return torch.addcmul(self.w_rec, self.alpha, hebb.reshape(*hebb.shape[:-1], n, n))

    def _initial_state(self) -> Tensor:
        return torch.cat((self.h0, self.hebb0))

    def _readout(self, state: Tensor) -> Tensor:
        return state[..., : self.n_hidden] @ self.w_out.t() + self.b_out

    # -- dynamics -------------------------------------------------------------------------------

    def _cell(self, drive: Tensor, h: Tensor, hebb: Tensor, eta: Tensor | None
              ) -> tuple[Tensor, Tensor, Tensor | None]:
        """One step from ``h (B, N)``, ``hebb (B, N, N)`` with input drive ``W_x x_t + b``."""
        w = torch.addcmul(self.w_rec, self.alpha, hebb)                       # (B, N, N)
        h_new = self._act.fn(drive + torch.bmm(w, h.unsqueeze(-1)).squeeze(-1))
        outer = h_new.unsqueeze(-1) * h.unsqueeze(-2)                         # post i, pre j
        m = None
        if self.rule == "hebbian":
            hebb = torch.lerp(hebb, outer, eta)
        elif self.rule == "oja":
            hebb = hebb + eta * (outer - h_new.square().unsqueeze(-1) * hebb)
        else:
            m = torch.tanh(h_new @ self.w_mod + self.b_mod)                    # (B,)
            rate = m.unsqueeze(-1) * self.mod_fanout                           # (B, N) post
            hebb = torch.clamp(hebb + rate.unsqueeze(-1) * outer, -HEBB_CLIP, HEBB_CLIP)
        return h_new, hebb, m

    def _split(self, state: Tensor) -> tuple[Tensor, Tensor]:
        n = self.n_hidden
        return state[:, :n], state[:, n:].reshape(-1, n, n)

    def _run(self, inputs, state, noise, generator, traced):
        drive = torch.matmul(inputs, self.w_in.t()) + self.b_rec              # (B, T, N)
        h, hebb = self._split(state)
        eta = self.eta
        hs, norms, mods, hebbs = [], [], [], []
        for t in range(inputs.shape[1]):
            h, hebb, m = self._cell(drive[:, t], h, hebb, eta)
            hs.append(h)
            if traced:
                hebbs.append(hebb.flatten(1))
                norms.append(torch.linalg.matrix_norm(hebb))
                if m is not None:
                    mods.append(m)
        activity = torch.stack(hs, dim=1)
        outputs = activity @ self.w_out.t() + self.b_out
        out = RNNOutput(outputs, activity, torch.cat((h, hebb.flatten(1)), dim=-1))
        if not traced:
            return out, None
        traces = {"hebb_norm": torch.stack(norms, dim=1),
                  "state": torch.cat((activity, torch.stack(hebbs, dim=1)), dim=-1)}
        if mods:
            traces["modulation"] = torch.stack(mods, dim=1)
        return out, traces

    def _step(self, state: Tensor, inputs: Tensor) -> Tensor:
        h, hebb = self._split(state)
        h, hebb, _ = self._cell(inputs @ self.w_in.t() + self.b_rec, h, hebb, self.eta)
        return torch.cat((h, hebb.flatten(1)), dim=-1)

    def without_connections(self, from_units: Any, to_units: Any) -> PlasticRNN:
        """A copy in which units ``from_units`` no longer reach ``to_units``: the fixed weight
        and the plasticity coefficient of each of those connections set to 0."""
        src = np.asarray(from_units, dtype=np.int64).reshape(-1)
        dst = np.asarray(to_units, dtype=np.int64).reshape(-1)
        cut = copy.deepcopy(self)
        with torch.no_grad():
            cut.w_rec[np.ix_(dst, src)] = 0.0
            cut.alpha[np.ix_(dst, src)] = 0.0
        return cut
