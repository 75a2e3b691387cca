"""The recurrent model protocol: what every recurrent model of brainlike offers.

Every recurrent model (``RateRNN``, ``LSTM``, ``GRU``; later plastic, short-term-plasticity and
spiking networks) subclasses :class:`RecurrentModel`. The base class holds everything that is the
same for all of them -- input validation, the empty simulation, the flat state and its named
parts, the named traces, clamping -- so that callers (training, run directories, perturbations,
fixed points) never need to know which kind they hold. A subclass implements four small methods:

``_run(inputs, state, noise, generator, traced)``
    simulate; return ``(RNNOutput, traces or None)``;
``_step(state, inputs)``
    one noise-free step of the flat state;
``_readout(state)``
    outputs from the flat state;
``_initial_state()``
    the ``(S,)`` state a simulation starts from;

and declares ``state_parts`` (the named parts of the flat state), ``activity_part`` (the part
that is the population's activity) and ``trace_shapes`` (the named traces it can record).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from ._params import arguments, check_all

__all__ = ["EffectiveWeights", "RNNOutput", "RecurrentModel", "Traced"]


class RNNOutput(NamedTuple):
    """What a recurrent model returns; unpacks as ``outputs, activity, final_state``.

    Attributes
    ----------
    outputs : Tensor, shape (B, T, O)
        The readout at every step.
    activity : Tensor, shape (B, T, N)
        What analyses read as the population's activity: rates, hidden state or spikes.
    final_state : Tensor, shape (B, S)
        The flat state after the last step (``S = model.state_size``), to continue from.
    """

    outputs: Tensor
    activity: Tensor
    final_state: Tensor


@dataclass(frozen=True)
class Traced:
    """A simulation with its named traces (:meth:`RecurrentModel.traced`).

    Attributes
    ----------
    output : RNNOutput
        Exactly what ``forward`` returns for the same arguments.
    traces : mapping of str to Tensor
        Each ``(B, T, *model.trace_shapes[name])``; always holds ``"state"``, the flat state
        after every step, ``(B, T, S)``.
    """

    output: RNNOutput
    traces: Mapping[str, Tensor]


@dataclass(frozen=True)
class EffectiveWeights:
    """The weights a network actually uses, after its connectivity's constraints.

    Attributes
    ----------
    w_in : Tensor, shape (G N, n_input)
    w_rec : Tensor, shape (G N, N)
        ``w_rec[i, j]`` is the weight from unit ``j`` to row ``i``. ``G = 1`` for a rate network;
        a gated network stacks its ``G`` gates' blocks (LSTM: input, forget, cell, output).
    w_out : Tensor, shape (n_output, N)
    """

    w_in: Tensor
    w_rec: Tensor
    w_out: Tensor


def _shape(x: Any) -> tuple:
    return tuple(x.shape)


class RecurrentModel(nn.Module):
    """Base class of the recurrent models: the protocol every one of them follows.

    Attributes
    ----------
    n_input, n_hidden, n_output : int
        Sizes of the inputs, of the activity ``N`` and of the outputs.
    dt : float
        Time step in ms.
    state_size : int
        ``S``, the size of the flat state (``N`` for a rate network, ``2 N`` for an LSTM).
    state_parts : dict of str to int
        The named parts of the flat state, in order, with their sizes.
    activity_part : str
        The part of the state that is the activity.
    trace_shapes : dict of str to tuple
        The trailing shape of every trace :meth:`traced` records (``"state"`` included).
    """

    activity_part: ClassVar[str]
    n_input: int
    n_hidden: int
    n_output: int
    dt: float

    # -- what every model declares ------------------------------------------------------------

    @property
    def state_parts(self) -> dict[str, int]:
        raise NotImplementedError

    @property
    def state_size(self) -> int:
        return sum(self.state_parts.values())

    @property
    def trace_shapes(self) -> dict[str, tuple[int, ...]]:
        return {**self._trace_shapes(), "state": (self.state_size,)}

    def _trace_shapes(self) -> dict[str, tuple[int, ...]]:
        return {}

    def config(self) -> dict:
        """JSON-serializable constructor arguments: ``models.make(kind, **config())`` rebuilds
        the architecture (the weights come from a ``state_dict``)."""
        raise NotImplementedError

    @classmethod
    def check_arguments(cls, **args: Any) -> None:
        """Check constructor arguments (any subset) without building the model.

        Raises the errors the constructor would raise for them: ``ValueError`` or ``TypeError``
        naming the argument, the allowed values and the value given.
        """
        check_all(cls, args)

    def extra_repr(self) -> str:
        """Sizes, ``dt`` and the arguments that differ from their defaults."""
        specs = arguments(type(self))
        always = ("n_input", "n_hidden", "n_output", "dt")
        items = [f"{k}={v!r}" for k, v in self.config().items()
                 if not isinstance(v, (dict, list))
                 and (k in always or k not in specs or v != specs[k].default)]
        return ", ".join(items)

    # -- the public protocol --------------------------------------------------------------------

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
            Of the model's dtype and device (no silent casts). ``T = 0`` is allowed: nothing
            happens and ``final_state`` is the initial state.
        state : Tensor, shape (B, state_size), optional
            The flat state before the first step; default :meth:`initial_state`.
        noise : bool
            Add the model's recurrent noise, if it has any.
        generator : torch.Generator, optional
            Source of the recurrent noise. The noise is drawn on the generator's device (CPU by
            default) and moved to the model's, so a seed gives the same noise on every device.

        Returns
        -------
        RNNOutput
            ``(outputs (B, T, n_output), activity (B, T, N), final_state (B, S))``.
        """
        inputs, state = self._prepare(inputs, state, noise, generator)
        if inputs.shape[1] == 0:
            return self._empty(inputs, state)
        out, _ = self._run(inputs, state, noise, generator, False)
        return out

    def traced(
        self,
        inputs: Tensor,
        state: Tensor | None = None,
        *,
        noise: bool = True,
        generator: torch.Generator | None = None,
    ) -> Traced:
        """``forward`` plus the model's named traces (gates, cell state, pre-activations...).

        Arguments as :meth:`forward`; the same arguments give exactly the ``forward`` output.
        Recording the traces costs extra work only in this call, never in ``forward``.

        Returns
        -------
        Traced
            ``output`` (an :class:`RNNOutput`) and ``traces``, a read-only mapping of
            ``(B, T, *shape)`` tensors for ``name, shape in trace_shapes.items()``.
        """
        inputs, state = self._prepare(inputs, state, noise, generator)
        if inputs.shape[1] == 0:
            out = self._empty(inputs, state)
            traces = {k: inputs.new_zeros((inputs.shape[0], 0, *s))
                      for k, s in self.trace_shapes.items()}
        else:
            out, traces = self._run(inputs, state, noise, generator, True)
        return Traced(out, MappingProxyType(dict(traces)))

    def step(self, state: Tensor, inputs: Tensor) -> Tensor:
        """One noise-free step of the flat state, ``s_{t-1} -> s_t`` (the map ``F``).

        This is the map fixed points, Jacobians and perturbations analyse; it agrees with
        ``forward(..., noise=False)`` step by step and is differentiable.

        Parameters
        ----------
        state : Tensor, shape (B, state_size)
        inputs : Tensor, shape (B, n_input)

        Returns
        -------
        Tensor, shape (B, state_size)
        """
        self._check_step(state, inputs)
        return self._step(state, inputs)

    def initial_state(self, batch_size: int) -> Tensor:
        """The flat state a simulation starts from, ``(batch_size, state_size)``."""
        s0 = self._initial_state()
        return s0.unsqueeze(0).expand(batch_size, -1).contiguous()

    def activity_of(self, state: Tensor) -> Tensor:
        """The activity ``(..., N)`` in a flat state ``(..., state_size)`` (a view)."""
        self._check_flat("state", state)
        return self.split_state(state)[self.activity_part]

    def readout(self, state: Tensor) -> Tensor:
        """The outputs ``(..., n_output)`` the model gives in a flat state ``(..., S)``.

        ``readout(final_state)`` equals ``outputs[:, -1]``: the outputs at a step depend on the
        state after that step only.
        """
        self._check_flat("state", state)
        return self._readout(state)

    def split_state(self, state: Tensor) -> dict[str, Tensor]:
        """The named parts of a flat state ``(..., S)``, as views ``(..., size)``."""
        self._check_flat("state", state)
        out, start = {}, 0
        for name, size in self.state_parts.items():
            out[name] = state[..., start:start + size]
            start += size
        return out

    def clamp(self, state: Tensor, units: Any, value: float) -> Tensor:
        """A copy of ``state`` in which the activity of ``units`` is ``value``.

        What the next step, and :meth:`readout`, see is then the clamped activity: this is how
        lesions and inactivations silence units in every kind of model.
        """
        self._check_flat("state", state)
        out = state.clone()
        idx = torch.as_tensor(np.asarray(units, dtype=np.int64).reshape(-1), device=state.device)
        part = self.split_state(out)[self.activity_part]
        part[..., idx] = value
        return out

    # -- what subclasses implement ---------------------------------------------------------------

    def _run(self, inputs: Tensor, state: Tensor, noise: bool,
             generator: torch.Generator | None, traced: bool) -> tuple[RNNOutput, dict | None]:
        raise NotImplementedError

    def _step(self, state: Tensor, inputs: Tensor) -> Tensor:
        raise NotImplementedError

    def _readout(self, state: Tensor) -> Tensor:
        raise NotImplementedError

    def _initial_state(self) -> Tensor:
        raise NotImplementedError

    # -- shared helpers -----------------------------------------------------------------------------

    def _reference(self) -> Tensor:
        for t in self.parameters():
            return t
        for t in self.buffers():
            return t
        return torch.zeros(())

    def _check_like(self, name: str, x: Any, want: str) -> None:
        ref = self._reference()
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape {want}; got "
                            f"{type(x).__name__} (convert with torch.as_tensor(x, dtype={ref.dtype}))")
        if x.dtype != ref.dtype:
            raise TypeError(
                f"{name} must have the model's dtype {ref.dtype}; got {x.dtype}. Convert the "
                f"{name} ({name}.to({ref.dtype})) or the model (model.to({x.dtype}))"
                if x.is_floating_point() else
                f"{name} must be floating point with the model's dtype {ref.dtype}; got {x.dtype} "
                f"(convert with {name}.to({ref.dtype}))"
            )
        if x.device != ref.device:
            raise ValueError(f"{name} is on device {x.device} but the model is on {ref.device}; "
                             f"move one of them ({name}.to({str(ref.device)!r}))")

    def _prepare(self, inputs: Tensor, state: Tensor | None, noise: bool,
                 generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        want = f"(batch, time, n_input) with n_input={self.n_input}"
        self._check_like("inputs", inputs, "(batch, time, n_input)")
        if inputs.ndim != 3 or inputs.shape[-1] != self.n_input:
            raise ValueError(f"inputs must have shape {want}; got shape {_shape(inputs)}")
        if inputs.shape[0] == 0:
            raise ValueError(f"inputs must hold at least one trial (batch >= 1); got shape "
                             f"{_shape(inputs)}")
        if not isinstance(noise, bool):
            raise TypeError(f"noise must be a bool; got {noise!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None; got "
                            f"{type(generator).__name__}")
        batch = inputs.shape[0]
        if state is None:
            return inputs, self.initial_state(batch)
        self._check_like("state", state, "(batch, state_size)")
        if _shape(state) != (batch, self.state_size):
            raise ValueError(f"state must have shape (batch, state_size) = ({batch}, "
                             f"{self.state_size}); got {_shape(state)}")
        return inputs, state

    def _check_step(self, state: Tensor, inputs: Tensor) -> None:
        self._check_like("inputs", inputs, "(batch, n_input)")
        if inputs.ndim != 2 or inputs.shape[-1] != self.n_input:
            raise ValueError(f"inputs must have shape (batch, n_input) with "
                             f"n_input={self.n_input}; got shape {_shape(inputs)}")
        self._check_like("state", state, "(batch, state_size)")
        if _shape(state) != (inputs.shape[0], self.state_size):
            raise ValueError(f"state must have shape (batch, state_size) = ({inputs.shape[0]}, "
                             f"{self.state_size}) to match inputs; got {_shape(state)}")

    def _check_flat(self, name: str, state: Any) -> None:
        if not isinstance(state, Tensor) or state.ndim < 1 or state.shape[-1] != self.state_size:
            got = _shape(state) if isinstance(state, Tensor) else type(state).__name__
            raise ValueError(f"{name} must have shape (..., state_size) with "
                             f"state_size={self.state_size}; got {got}")

    def _empty(self, inputs: Tensor, state: Tensor) -> RNNOutput:
        b = inputs.shape[0]
        return RNNOutput(inputs.new_zeros((b, 0, self.n_output)),
                         inputs.new_zeros((b, 0, self.n_hidden)), state)

    def _noise(self, shape: tuple, generator: torch.Generator | None, like: Tensor) -> Tensor:
        """Standard normal noise drawn on the generator's device, moved to ``like``'s."""
        device = generator.device if generator is not None else like.device
        xi = torch.randn(shape, generator=generator, dtype=like.dtype, device=device)
        return xi.to(like.device)


def derive_seed(seed: int, stream: int) -> int:
    """An independent 63-bit seed for stream ``stream`` of ``seed`` (NumPy ``SeedSequence``).

    Used where one user-facing seed initializes several things (a network and its connectivity):
    each gets its own stream, so their random draws are independent.

    Examples
    --------
    >>> derive_seed(0, 1) == derive_seed(0, 1), derive_seed(0, 1) == derive_seed(0, 2)
    (True, False)
    """
    state = np.random.SeedSequence([int(seed), int(stream)]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def fresh_seed() -> int:
    """A seed drawn from torch's global generator (for ``seed=None``)."""
    return int(torch.randint(0, 2**62, ()).item())


def generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``."""
    return torch.Generator().manual_seed(int(seed))

