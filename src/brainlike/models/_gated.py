"""Gated recurrent networks whose gates a scientist can read: LSTM and GRU (primer Eq. 43, Fig. 8).

Training runs PyTorch's fused ``nn.LSTM`` / ``nn.GRU`` (forward and backward), which keep their
gates to themselves. The gates at step ``t`` depend only on ``x_t`` and ``h_{t-1}``, and both are
known after the fused pass (the inputs, and the hidden states it returns), so :meth:`traced`
recomputes every gate for all steps at once with one matrix product per weight matrix::

    G = X W_ih^T + H_prev W_hh^T + b,       H_prev = (h_0, h_1, ..., h_{T-1})

and the LSTM's cell state from the elementwise recurrence ``c_t = f_t c_{t-1} + i_t g_t``. This
is exact (the same equations on the same numbers; it differs from the fused kernel's own values
by float rounding only), and ``forward`` pays nothing for it.
"""

from __future__ import annotations

import copy
import math
from typing import Annotated, Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ._params import Milliseconds, Range, Seed, Size, checked
from ._protocol import EffectiveWeights, RecurrentModel, RNNOutput, fresh_seed, generator

__all__ = ["GRU", "LSTM"]


class _Gated(RecurrentModel):
    """What LSTM and GRU share: the fused torch module, a linear readout, seeded init."""

    activity_part = "h"
    _torch_cls: ClassVar[type[nn.RNNBase]]
    gate_names: ClassVar[tuple[str, ...]]  # the row blocks of weight_ih / weight_hh, in order

    def _setup(self, n_input: int, n_hidden: int, n_output: int, dt: float,
               train_initial_state: bool, seed: int | None) -> torch.Generator:
        self.n_input, self.n_hidden, self.n_output = int(n_input), int(n_hidden), int(n_output)
        self.dt = float(dt)
        self.train_initial_state = bool(train_initial_state)
        self.rnn = self._torch_cls(self.n_input, self.n_hidden, batch_first=True)
        gen = generator(fresh_seed() if seed is None else int(seed))
        n = self.n_hidden
        bound = 1.0 / math.sqrt(n)
        with torch.no_grad():  # torch's own init, U(-1/sqrt(N), 1/sqrt(N)), from our generator
            for p in self.rnn.parameters():
                p.uniform_(-bound, bound, generator=gen)
        self.w_out = nn.Parameter((torch.rand(self.n_output, n, generator=gen) * 2 - 1) * bound)
        self.b_out = nn.Parameter(torch.zeros(self.n_output))
        s0 = torch.zeros(self.state_size)
        if self.train_initial_state:
            self.s0 = nn.Parameter(s0)
        else:
            self.register_buffer("s0", s0)
        return gen

    @property
    def _weights(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        r = self.rnn
        return r.weight_ih_l0, r.weight_hh_l0, r.bias_ih_l0, r.bias_hh_l0

    def _base_config(self) -> dict:
        return {"n_input": self.n_input, "n_hidden": self.n_hidden, "n_output": self.n_output,
                "dt": self.dt}

    def effective_weights(self) -> EffectiveWeights:
        """The weights in use, gate blocks stacked as in ``nn.LSTM`` / ``nn.GRU``.

        Returns
        -------
        EffectiveWeights
            ``w_in (G N, n_input)``, ``w_rec (G N, N)`` with the ``G = len(gate_names)`` blocks
            in the order of :attr:`gate_names`, and ``w_out (n_output, N)``.
        """
        w_ih, w_hh, _, _ = self._weights
        return EffectiveWeights(w_ih, w_hh, self.w_out)

    def _initial_state(self) -> Tensor:
        return self.s0

    def _readout(self, state: Tensor) -> Tensor:
        h = state[..., : self.n_hidden]
        return h @ self.w_out.t() + self.b_out

    def _gate_inputs(self, inputs: Tensor, h_prev: Tensor) -> tuple[Tensor, Tensor]:
        """``(X W_ih^T + b_ih, H_prev W_hh^T + b_hh)``, each ``(..., G N)``."""
        w_ih, w_hh, b_ih, b_hh = self._weights
        return F.linear(inputs, w_ih, b_ih), F.linear(h_prev, w_hh, b_hh)

    @staticmethod
    def _previous(h0: Tensor, h: Tensor) -> Tensor:
        """``(h_0, ..., h_{T-1})`` from ``h_0 (B, N)`` and ``h (B, T, N) = (h_1, ..., h_T)``."""
        return torch.cat((h0.unsqueeze(1), h[:, :-1]), dim=1)

    def without_connections(self, from_units: Any, to_units: Any) -> _Gated:
        """A copy in which units ``from_units`` no longer reach ``to_units`` through the
        recurrent weights (the columns of every gate block of ``weight_hh`` set to 0)."""
        src = np.asarray(from_units, dtype=np.int64).reshape(-1)
        dst = np.asarray(to_units, dtype=np.int64).reshape(-1)
        cut = copy.deepcopy(self)
        n = self.n_hidden
        rows = np.concatenate([g * n + dst for g in range(len(self.gate_names))])
        with torch.no_grad():
            cut.rnn.weight_hh_l0[np.ix_(rows, src)] = 0.0
        return cut


class LSTM(_Gated):
    r"""Long short-term memory network with visible gates and cell state (primer Eq. 43).

    .. math::

        i_t &= \sigma(W_i x_t + U_i h_{t-1} + b_i), \quad
        f_t = \sigma(W_f x_t + U_f h_{t-1} + b_f), \quad
        o_t = \sigma(W_o x_t + U_o h_{t-1} + b_o) \\
        g_t &= \tanh(W_c x_t + U_c h_{t-1} + b_c), \quad
        c_t = f_t \odot c_{t-1} + i_t \odot g_t, \quad
        h_t = o_t \odot \tanh(c_t), \quad y_t = W_y h_t + b_y

    (the primer writes ``r_t`` for ``h_t``). Simulated by ``torch.nn.LSTM``; :meth:`traced`
    adds the gates and the cell state, recomputed exactly from the hidden states. There is no
    recurrent noise (``noise`` and ``generator`` are accepted and unused).

    State: ``(h, c)``, ``state_size = 2 N``; activity: ``h``. Traces (each ``(B, T, N)``):
    ``input_gate`` ``i``, ``forget_gate`` ``f``, ``cell_input`` ``g``, ``output_gate`` ``o``,
    ``cell`` ``c`` (and ``state``, ``(B, T, 2 N)``).

    Parameters
    ----------
    n_input, n_hidden, n_output : int
    dt : float
        Time step in ms; labels time only (the network is a discrete-time map).
    forget_bias : float
        Added to the forget gate's bias after initialization (Gers et al. 2000 and
        Jozefowicz et al. 2015 use 1 to start with memories kept). Default 0: PyTorch's
        initialization.
    train_initial_state : bool
        Learn ``(h_0, c_0)`` instead of starting at 0.
    seed : int, optional
        Seed of the initialization (PyTorch's ``U(-1/sqrt(N), 1/sqrt(N))`` for the LSTM's
        weights and biases and for the readout; readout bias 0).

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import LSTM
    >>> lstm = LSTM(3, 8, 1, seed=0)
    >>> run = lstm.traced(torch.zeros(2, 5, 3))
    >>> tuple(run.output.activity.shape), tuple(run.traces["input_gate"].shape)
    ((2, 5, 8), (2, 5, 8))

    References
    ----------
    Hochreiter, S. & Schmidhuber, J. (1997). Long short-term memory. Neural Comput. 9, 1735-1780.
    Gers, F. A., Schmidhuber, J. & Cummins, F. (2000). Learning to forget: continual prediction
    with LSTM. Neural Comput. 12, 2451-2471.
    Yang, G. R. & Wang, X.-J. (2020). Neuron 107, 1048-1070, Eq. 43 and Fig. 8.
    """

    _torch_cls = nn.LSTM
    gate_names = ("input_gate", "forget_gate", "cell_input", "output_gate")

    @checked
    def __init__(
        self,
        n_input: Size,
        n_hidden: Size,
        n_output: Size,
        *,
        dt: Milliseconds = 20.0,
        forget_bias: Annotated[float, Range()] = 0.0,
        train_initial_state: bool = False,
        seed: Seed = None,
    ) -> None:
        super().__init__()
        self.forget_bias = float(forget_bias)
        self.n_hidden = int(n_hidden)
        self._setup(n_input, n_hidden, n_output, dt, train_initial_state, seed)
        n = self.n_hidden
        with torch.no_grad():
            self.rnn.bias_ih_l0[n:2 * n] += self.forget_bias

    @property
    def state_parts(self) -> dict[str, int]:
        """``h`` (the activity) then the cell state ``c``."""
        return {"h": self.n_hidden, "c": self.n_hidden}

    def _trace_shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: (self.n_hidden,) for name in (*self.gate_names, "cell")}

    def config(self) -> dict:
        return {**self._base_config(), "forget_bias": self.forget_bias,
                "train_initial_state": self.train_initial_state}

    def _gates(self, gi: Tensor, gh: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        i, f, g, o = (gi + gh).chunk(4, dim=-1)
        return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)

    def _run(self, inputs, state, noise, generator, traced):
        n = self.n_hidden
        h0, c0 = state[:, :n], state[:, n:]
        h, (h_t, c_t) = self.rnn(inputs, (h0.unsqueeze(0).contiguous(),
                                          c0.unsqueeze(0).contiguous()))
        outputs = h @ self.w_out.t() + self.b_out
        out = RNNOutput(outputs, h, torch.cat((h_t[0], c_t[0]), dim=-1))
        if not traced:
            return out, None
        i, f, g, o = self._gates(*self._gate_inputs(inputs, self._previous(h0, h)))
        # c_t = f_t c_{t-1} + i_t g_t: an elementwise scan, time-major for contiguous slices.
        ig, ft = (i * g).transpose(0, 1), f.transpose(0, 1)
        cells, prev = [], c0
        for t in range(ig.shape[0]):
            prev = torch.addcmul(ig[t], ft[t], prev)
            cells.append(prev)
        c = torch.stack(cells, dim=1)
        traces = {"input_gate": i, "forget_gate": f, "cell_input": g, "output_gate": o,
                  "cell": c, "state": torch.cat((h, c), dim=-1)}
        return out, traces

    def _step(self, state: Tensor, inputs: Tensor) -> Tensor:
        n = self.n_hidden
        h, c = state[:, :n], state[:, n:]
        i, f, g, o = self._gates(*self._gate_inputs(inputs, h))
        c = f * c + i * g
        return torch.cat((o * torch.tanh(c), c), dim=-1)


class GRU(_Gated):
    r"""Gated recurrent unit network with visible gates (Cho et al. 2014), PyTorch's convention.

    .. math::

        r_t &= \sigma(W_r x_t + b_{ir} + U_r h_{t-1} + b_{hr}), \quad
        z_t = \sigma(W_z x_t + b_{iz} + U_z h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_n x_t + b_{in} + r_t \odot (U_n h_{t-1} + b_{hn})), \quad
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}, \quad y_t = W_y h_t + b_y

    Simulated by ``torch.nn.GRU``; :meth:`traced` recomputes the gates exactly from the hidden
    states. No recurrent noise. State and activity: ``h`` (``state_size = N``). Traces (each
    ``(B, T, N)``): ``reset_gate`` ``r``, ``update_gate`` ``z``, ``candidate`` ``n`` (and
    ``state``).

    Parameters
    ----------
    n_input, n_hidden, n_output : int
    dt : float
        Time step in ms; labels time only.
    train_initial_state : bool
        Learn ``h_0`` instead of starting at 0.
    seed : int, optional
        Seed of the initialization (PyTorch's ``U(-1/sqrt(N), 1/sqrt(N))``).

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import GRU
    >>> gru = GRU(3, 8, 1, seed=0)
    >>> sorted(gru.traced(torch.zeros(2, 5, 3)).traces)
    ['candidate', 'reset_gate', 'state', 'update_gate']

    References
    ----------
    Cho, K. et al. (2014). Learning phrase representations using RNN encoder-decoder for
    statistical machine translation. EMNLP, 1724-1734.
    Yang, G. R. & Wang, X.-J. (2020). Neuron 107, 1048-1070, Section 5.2.
    """

    _torch_cls = nn.GRU
    gate_names = ("reset_gate", "update_gate", "candidate")

    @checked
    def __init__(
        self,
        n_input: Size,
        n_hidden: Size,
        n_output: Size,
        *,
        dt: Milliseconds = 20.0,
        train_initial_state: bool = False,
        seed: Seed = None,
    ) -> None:
        super().__init__()
        self.n_hidden = int(n_hidden)
        self._setup(n_input, n_hidden, n_output, dt, train_initial_state, seed)

    @property
    def state_parts(self) -> dict[str, int]:
        """One part: ``h`` (the state is the activity)."""
        return {"h": self.n_hidden}

    def _trace_shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: (self.n_hidden,) for name in self.gate_names}

    def config(self) -> dict:
        return {**self._base_config(), "train_initial_state": self.train_initial_state}

    @staticmethod
    def _gates(gi: Tensor, gh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        ir, iz, i_n = gi.chunk(3, dim=-1)
        hr, hz, h_n = gh.chunk(3, dim=-1)
        r = torch.sigmoid(ir + hr)
        z = torch.sigmoid(iz + hz)
        return r, z, torch.tanh(i_n + r * h_n)

    def _run(self, inputs, state, noise, generator, traced):
        h, h_t = self.rnn(inputs, state.unsqueeze(0).contiguous())
        outputs = h @ self.w_out.t() + self.b_out
        out = RNNOutput(outputs, h, h_t[0])
        if not traced:
            return out, None
        r, z, n = self._gates(*self._gate_inputs(inputs, self._previous(state, h)))
        return out, {"reset_gate": r, "update_gate": z, "candidate": n, "state": h}

    def _step(self, state: Tensor, inputs: Tensor) -> Tensor:
        _, z, n = self._gates(*self._gate_inputs(inputs, state))
        return (1 - z) * n + z * state
