"""Context-dependent gating (XdG; Masse, Grant & Freedman 2018) of any recurrent model.

Each context (task) has a fixed random subset of the units that may be active; the others are
silenced while that context is on. Tasks then train partly separate sub-networks, which reduces
the interference between them when they are learned in sequence, and combined with a
consolidation penalty (SI, EWC) it lets a network keep many tasks.

**Where the gate acts.** On the *activity* part of the model's flat state, after every step:
``s_t = G_t(F(G_t(s_{t-1}), x_t))``, with ``G_t`` setting the activity of the units outside the
current context's subset to 0. That is the same operation as the protocol's
:meth:`RecurrentModel.clamp` (how lesions and inactivations silence units), applied per trial and
per step, so it works unchanged for every recurrent kind -- rates of a ``RateRNN``, the hidden
state ``h`` of an ``LSTM``/``GRU`` -- and a silenced unit reaches nothing: not the recurrent
input of the next step, not the readout, not the analyses that read ``activity``. Gating inside a
model (its pre-activations, or one matrix) would instead need a change to every kind's loop, and
gating the weights could not differ between the trials of one batch. The cost is a step-by-step
loop through the model's own ``_run`` (no fused whole-sequence loop).

**Where the context comes from.** From the inputs, as in Yang et al.'s (2019) networks, which are
told the task by one-hot rule inputs: ``context_inputs`` names those input channels, and at each
step the context is the channel with the largest input. A step where every one of them is
``<= 0`` gates nothing (all units on).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .. import _checks
from ._protocol import EffectiveWeights, RecurrentModel, RNNOutput, fresh_seed
from ._registry import kind_of, make

__all__ = ["ContextGated"]


class ContextGated(RecurrentModel):
    """A recurrent model whose units are gated by the context given in its inputs (XdG).

    Parameters
    ----------
    model : RecurrentModel
        Any recurrent model (``models.make(...)``); it keeps its parameters and equations.
    context_inputs : sequence of int
        The input channels that signal the context (e.g. the 20 rule inputs of the ``yang19.*``
        tasks, channels 65..84); context ``c`` is ``context_inputs[c]``.
    keep : float in (0, 1]
        Fraction of the units each context leaves on (Masse et al. 2018 gate 80 %: ``keep =
        0.2``); ``round(keep * N)`` units, at least one.
    seed : int, optional
        Seed of the random subsets.

    Attributes
    ----------
    model : RecurrentModel
    gates : Tensor, shape (n_contexts, N)
        1 for the units each context keeps, 0 for the others (a buffer: saved in the
        ``state_dict``).

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import ContextGated, make
    >>> base = make("rate", n_input=4, n_hidden=10, n_output=1, seed=0)
    >>> net = ContextGated(base, context_inputs=[2, 3], keep=0.3, seed=0)
    >>> x = torch.zeros(1, 5, 4)
    >>> x[..., 3] = 1.0                                        # context 1 throughout
    >>> out = net(x + torch.randn(1, 5, 4).abs())
    >>> int((out.activity[0, -1] != 0).sum()) <= 3             # the other 7 units are silent
    True

    References
    ----------
    Masse, N. Y., Grant, G. D. & Freedman, D. J. (2018). Alleviating catastrophic forgetting
    using context-dependent gating and synaptic stabilization. PNAS 115, E10467-E10475.
    """

    def __init__(
        self, model: RecurrentModel, *, context_inputs: Sequence[int], keep: float = 0.2,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        owner = "ContextGated"
        if not isinstance(model, RecurrentModel) or isinstance(model, ContextGated):
            raise TypeError(f"The 'model' parameter of {owner} must be a recurrent model "
                            f"(brainlike.models.make(...)), not gated already. Got "
                            f"{type(model).__name__} instead.")
        n_in = model.n_input
        if (isinstance(context_inputs, (str, bytes)) or not isinstance(context_inputs, Sequence)
                or not context_inputs
                or any(isinstance(c, bool) or not isinstance(c, numbers.Integral)
                       or not 0 <= c < n_in for c in context_inputs)
                or len(set(context_inputs)) != len(context_inputs)):
            raise ValueError(f"The 'context_inputs' parameter of {owner} must be a non-empty list "
                             f"of distinct input channels in [0, {n_in}). Got {context_inputs!r} "
                             "instead.")
        self.keep = _checks.in_range("keep", keep, owner, 0.0, 1.0, high_open=False)
        seed = fresh_seed() if seed is None else _checks.seed("seed", seed, owner)
        self.model = model
        self.context_inputs = [int(c) for c in context_inputs]
        self.n_input, self.n_hidden, self.n_output = model.n_input, model.n_hidden, model.n_output
        self.dt = model.dt
        self.activity_part = model.activity_part
        n = model.n_hidden
        k = max(1, round(self.keep * n))
        gen = torch.Generator().manual_seed(seed)
        ref = model._reference()
        gates = torch.zeros(len(self.context_inputs), n, dtype=ref.dtype)
        for c in range(len(self.context_inputs)):
            gates[c, torch.randperm(n, generator=gen)[:k]] = 1.0
        self.register_buffer("gates", gates.to(ref.device))
        start = 0
        for name, size in model.state_parts.items():
            if name == model.activity_part:
                self._span = (start, start + size)
            start += size

    # -- the protocol -----------------------------------------------------------------------------

    @property
    def state_parts(self) -> dict[str, int]:
        return self.model.state_parts

    def _trace_shapes(self) -> dict[str, tuple[int, ...]]:
        return self.model._trace_shapes()

    def config(self) -> dict[str, Any]:
        """The wrapped model's kind and config, ``context_inputs`` and ``keep`` (the subsets
        themselves are in the ``state_dict``)."""
        return {"model": {"type": kind_of(self.model), **self.model.config()},
                "context_inputs": list(self.context_inputs), "keep": self.keep}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ContextGated:
        """Rebuild the architecture from :meth:`config` (the weights and subsets come from a
        ``state_dict``)."""
        spec = dict(config["model"])
        model = make(spec.pop("type"), **spec)
        return cls(model, context_inputs=config["context_inputs"], keep=config["keep"])

    def effective_weights(self) -> EffectiveWeights:
        """The wrapped model's weights (gating silences units; it changes no weight)."""
        return self.model.effective_weights()

    def extra_repr(self) -> str:
        return f"contexts={len(self.context_inputs)}, keep={self.keep:g}"

    # -- gating -------------------------------------------------------------------------------------

    def gate_of(self, inputs: Tensor) -> Tensor:
        """The gate ``(..., N)`` of inputs ``(..., n_input)``: the row of :attr:`gates` of the
        strongest context input, or all ones where no context input is > 0."""
        ctx = inputs[..., self.context_inputs]
        strongest, which = ctx.max(-1)
        return torch.where((strongest > 0)[..., None], self.gates[which],
                           torch.ones_like(self.gates[0]))

    def _state_gate(self, gate: Tensor) -> Tensor:
        """The activity gate ``(..., N)`` widened to the flat state ``(..., S)`` (ones outside
        the activity part)."""
        a, b = self._span
        ones = gate.new_ones(())
        return torch.cat((ones.expand(*gate.shape[:-1], a), gate,
                          ones.expand(*gate.shape[:-1], self.state_size - b)), dim=-1)

    def _gated(self, state: Tensor, gate: Tensor) -> Tensor:
        return state * self._state_gate(gate)

    def _run(self, inputs, state, noise, generator, traced):
        gates = self._state_gate(self.gate_of(inputs))    # (B, T, S)
        states = []
        parts: dict[str, list[Tensor]] = {}
        for t in range(inputs.shape[1]):
            g = gates[:, t]
            out, tr = self.model._run(inputs[:, t:t + 1], state * g, noise, generator, traced)
            state = out.final_state * g
            states.append(state)
            for name, value in (tr or {}).items():
                parts.setdefault(name, []).append(value)
        path = torch.stack(states, 1)                      # (B, T, S), gated
        activity = self.model.split_state(path)[self.activity_part]
        result = RNNOutput(self.model._readout(path), activity, state)
        if not traced:
            return result, None
        traces = {name: torch.cat(v, 1) for name, v in parts.items()}
        traces["state"] = path
        return result, traces

    def _step(self, state: Tensor, inputs: Tensor) -> Tensor:
        g = self.gate_of(inputs)
        return self._gated(self.model._step(self._gated(state, g), inputs), g)

    def _readout(self, state: Tensor) -> Tensor:
        return self.model._readout(state)

    def _initial_state(self) -> Tensor:
        return self.model._initial_state()
