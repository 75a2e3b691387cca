"""Engine for trial-structured tasks: records, variables, trial frames, the Task base.

A task declares ordered epochs with a duration distribution each, named input
and output channels, its task variables, and three vectorized hooks:

* ``sample_conditions(rng, n, fixed)`` draws the task variables of ``n`` trials
  (respecting the values the caller fixed);
* ``epoch_steps(rng, n, conditions)`` (optional) gives per-trial epoch lengths
  in steps; by default each epoch's duration is drawn from ``self.timing``;
* ``fill(trials, conditions)`` writes inputs, targets and mask into a
  :class:`Trials` frame using per-trial epoch masks.

:meth:`Task.generate` does the rest: rng handling, the conditions override,
epoch boundaries, padding, input noise and validation.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from ._distributions import Duration, Fixed, as_duration, to_steps

__all__ = ["Task", "TaskScore", "TrialBatch", "Trials", "Variable"]

_TARGET_KINDS = ("class", "value")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _frozen_mapping(m: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    return MappingProxyType({k: _readonly(np.asarray(v)) for k, v in m.items()})


def _shape(a: np.ndarray) -> tuple[int, ...]:
    return a.shape


def _fixed_epochs(fixed: dict[str, Any], names: tuple[str, ...], n: int) -> tuple:
    """``n`` trials of a fixed layout: their lengths, starts and stops (epoch -> (n,)) and
    the batch's epochs mapping, all read-only and made once per ``n`` (shared by the batches
    of that size: nothing writes to them)."""
    by_n = fixed.setdefault("by_n", {})
    out = by_n.get(n)
    if out is None:
        if len(by_n) >= 8:  # a few batch sizes are in use at a time
            by_n.clear()
        rows = fixed["rows"].repeat(n, axis=2)
        bounds = fixed["bounds"].repeat(n, axis=1)
        rows.setflags(write=False)
        bounds.setflags(write=False)
        out = (rows[1, -1], MappingProxyType(dict(zip(names, rows[0]))),
               MappingProxyType(dict(zip(names, rows[1]))),
               MappingProxyType(dict(zip(names, bounds))))
        by_n[n] = out
    return out


def _merged_spans(uniform: Mapping[str, tuple[int, int]], epochs: tuple[str, ...]) -> Any:
    """The ``(start, stop)`` spans of ``epochs``, sorted, adjacent or overlapping ones joined
    and empty ones dropped; False when there are none or one epoch is not uniform."""
    try:
        spans = sorted(uniform[e] for e in epochs)
    except KeyError:
        return False
    if not spans:
        return False
    merged: list[tuple[int, int]] = []
    for start, stop in spans:
        if start >= stop:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return tuple(merged)


def _noise_scale(fixed: dict[str, Any], std: float) -> np.ndarray:
    """``std`` on the noisy steps of a fixed layout and 0 elsewhere, as a (T, 1) float64
    column (made once per std)."""
    cached = fixed.get("noise_scale")
    if cached is None or cached[0] != std:
        cached = (std, np.where(fixed["noise_time"], std, 0.0)[:, None])
        fixed["noise_scale"] = cached
    return cached[1]


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, eq=False, repr=False)
class TrialBatch:
    """A batch of padded trials, (batch, time, feature) axis order.

    Attributes
    ----------
    inputs : ndarray, float32, shape (B, T, n_inputs)
        Zero beyond each trial's length.
    targets : ndarray
        ``(B, T)`` int64 class labels when ``target_kind == "class"`` (train
        with cross-entropy on logits), ``(B, T, n_outputs)`` float32 values
        when ``target_kind == "value"`` (train with MSE).
    mask : ndarray, float32, shape (B, T)
        Loss weights; 0 beyond each trial's length.
    lengths : ndarray, int64, shape (B,)
        Number of valid steps of each trial.
    conditions : Mapping[str, ndarray]
        One array of length B per task variable.
    epochs : Mapping[str, ndarray]
        Per epoch an int64 ``(B, 2)`` array of ``[start, stop)`` steps; the
        epochs tile ``[0, length)`` in declaration order (empty epochs have
        ``start == stop``).
    dt : float
        Step size in ms.
    input_names, output_names : tuple of str
    target_kind : {"class", "value"}
    task : str
        Name of the task that generated the batch (``Task.name``); a
        :class:`~brainlike.tasks.MultiTask` dispatches scoring on it.
    output_mask : ndarray or None, float32, shape (B, T, n_outputs)
        Value tasks only: per-step, per-output loss weights, for tasks whose
        outputs are weighted differently (Yang et al. 2019 weigh the fixation
        output twice). None means every output takes ``mask``. When given,
        a loss should use ``output_mask`` in place of ``mask``; it is 0 on
        padding like ``mask``.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    conditions: Mapping[str, np.ndarray]
    epochs: Mapping[str, np.ndarray]
    dt: float
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    target_kind: str
    task: str = ""
    output_mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._validate(engine=False)

    @classmethod
    def _from_engine(cls, **fields: Any) -> TrialBatch:
        """A batch :meth:`Task.generate` assembled: the same checks and freezing, less the
        scan of ``lengths`` (the engine made them from the epochs and T from their max) and
        the epochs' checks (the engine hands them over read-only, rows of one array)."""
        batch = cls.__new__(cls)
        batch.__dict__.update(fields)  # what the frozen dataclass's object.__setattr__ sets
        batch._validate(engine=True)
        return batch

    def _validate(self, engine: bool) -> None:
        x, y, m, n = self.inputs, self.targets, self.mask, self.lengths
        if x.ndim != 3 or x.dtype != np.float32:
            raise ValueError(f"inputs must be float32 (B, T, I), got {x.dtype} {x.shape}")
        b, t, i = x.shape
        if i != len(self.input_names):
            raise ValueError(f"inputs has {i} channels but {len(self.input_names)} input_names")
        if self.target_kind == "class":
            if y.shape != (b, t) or y.dtype != np.int64:
                raise ValueError(f"class targets must be int64 {(b, t)}, got {y.dtype} {y.shape}")
        elif self.target_kind == "value":
            want = (b, t, len(self.output_names))
            if y.shape != want or y.dtype != np.float32:
                raise ValueError(f"value targets must be float32 {want}, got {y.dtype} {y.shape}")
        else:
            raise ValueError(f"target_kind must be one of {_TARGET_KINDS}, got {self.target_kind!r}")
        if m.shape != (b, t) or m.dtype != np.float32:
            raise ValueError(f"mask must be float32 {(b, t)}, got {m.dtype} {m.shape}")
        if n.shape != (b,) or n.dtype != np.int64:
            raise ValueError(f"lengths must be int64 ({b},), got {n.dtype} {n.shape}")
        if not engine and b and (n.min() < 1 or n.max() != t):
            raise ValueError(f"lengths must lie in [1, T={t}] with max == T, got {n.min()}..{n.max()}")
        shape = _shape if engine else np.shape  # the engine's conditions are arrays
        for k, v in self.conditions.items():
            if shape(v) != (b,):
                raise ValueError(f"conditions[{k!r}] must have shape ({b},), got {np.shape(v)}")
        if not engine:
            for k, v in self.epochs.items():
                if np.shape(v) != (b, 2):
                    raise ValueError(f"epochs[{k!r}] must have shape ({b}, 2), got {np.shape(v)}")
        if self.output_mask is not None:
            om = self.output_mask
            want = (b, t, len(self.output_names))
            if self.target_kind != "value":
                raise ValueError("output_mask is only defined for target_kind='value'")
            if om.shape != want or om.dtype != np.float32:
                raise ValueError(f"output_mask must be float32 {want}, got {om.dtype} {om.shape}")
            object.__setattr__(self, "output_mask", _readonly(om))
        if not isinstance(self.task, str):
            raise TypeError(f"task must be a str, got {self.task!r}")
        for name in ("inputs", "targets", "mask", "lengths"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))
        object.__setattr__(self, "conditions", _frozen_mapping(self.conditions))
        if not engine:
            object.__setattr__(self, "epochs", _frozen_mapping(self.epochs))
        object.__setattr__(self, "input_names", tuple(self.input_names))
        object.__setattr__(self, "output_names", tuple(self.output_names))

    def __repr__(self) -> str:
        def names(ns: tuple[str, ...]) -> str:
            return repr(ns) if len(ns) <= 8 else f"({ns[0]!r}, ... {len(ns)} channels ..., {ns[-1]!r})"

        return (
            f"TrialBatch(task={self.task!r}, batch_size={self.batch_size}, n_steps={self.n_steps}, "
            f"dt={self.dt}, inputs={names(self.input_names)}, outputs={names(self.output_names)}, "
            f"target_kind={self.target_kind!r}, conditions={list(self.conditions)}, "
            f"epochs={list(self.epochs)})"
        )

    @property
    def batch_size(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def n_steps(self) -> int:
        """Padded number of time steps T."""
        return int(self.inputs.shape[1])


@dataclass(frozen=True, eq=False)
class TaskScore:
    """Per-trial outcome of :meth:`Task.score`.

    Attributes
    ----------
    decision : ndarray, int64, shape (B,)
        The chosen class (1, 2, ...); -1 = no response (the network still
        fixated at the scored step) or, for value tasks, no discrete choice.
    correct : ndarray, bool, shape (B,)
    error : ndarray or None, float64, shape (B,)
        Value tasks only: absolute error of the scored output.
    """

    decision: np.ndarray
    correct: np.ndarray
    error: np.ndarray | None = None

    def __post_init__(self) -> None:
        d, c = np.asarray(self.decision, np.int64), np.asarray(self.correct, bool)
        if d.ndim != 1 or c.shape != d.shape:
            raise ValueError(f"decision and correct must be (B,), got {d.shape} and {c.shape}")
        object.__setattr__(self, "decision", _readonly(d))
        object.__setattr__(self, "correct", _readonly(c))
        if self.error is not None:
            object.__setattr__(self, "error", _readonly(np.asarray(self.error, np.float64)))

    @property
    def accuracy(self) -> float:
        """Fraction of correct trials (nan for an empty batch)."""
        return float(self.correct.mean()) if self.correct.size else math.nan


# --------------------------------------------------------------------------- variables
@dataclass(frozen=True)
class Variable:
    """A task variable recorded in ``TrialBatch.conditions``.

    Parameters
    ----------
    name : str
    doc : str
        One line: meaning and unit.
    integer : bool
        Stored as int64 (else float64).
    low, high : float or None
        Inclusive bounds for values passed through ``conditions``.
    values : tuple or None
        Allowed values for ``conditions`` (checked in addition to bounds).
    derived : bool
        Computed from other variables; cannot be fixed through ``conditions``.
    labels : mapping of value to str, optional
        Readable names of coded values (``{0: "motion", 1: "colour"}``), used by
        :meth:`Task.level_label` in evaluations and reports.
    """

    name: str
    doc: str
    integer: bool = False
    low: float | None = None
    high: float | None = None
    values: tuple[float, ...] | None = None
    derived: bool = False
    labels: Mapping[float, str] | None = field(default=None, compare=False, hash=False)

    def check(self, value: Any, n: int) -> np.ndarray:
        """Validate a caller-fixed value (scalar or length-n) -> array of shape (n,)."""
        where = f"conditions[{self.name!r}]"
        if self.derived:
            raise ValueError(f"{where} cannot be fixed: it is derived from other variables")
        try:
            a = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{where} must be numeric, got {value!r}") from None
        if a.ndim == 0:
            a = np.full(n, float(a))
        if a.shape != (n,):
            raise ValueError(f"{where} must be a scalar or have length {n}, got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{where} must be finite, got {a[~np.isfinite(a)][0]}")
        if self.integer and not np.array_equal(a, np.round(a)):
            raise ValueError(f"{where} must be integers, got {a[a != np.round(a)][0]}")
        if self.low is not None and (a < self.low).any():
            raise ValueError(f"{where} must be >= {self.low}, got {a.min()}")
        if self.high is not None and (a > self.high).any():
            raise ValueError(f"{where} must be <= {self.high}, got {a.max()}")
        if self.values is not None and not np.isin(a, self.values).all():
            bad = a[~np.isin(a, self.values)][0]
            raise ValueError(f"{where} must be one of {list(self.values)}, got {bad}")
        return a.astype(np.int64) if self.integer else a


# --------------------------------------------------------------------------- frame
@dataclass(eq=False)
class Trials:
    """Mutable frame a task's ``fill`` writes into (B trials padded to T steps).

    ``inputs`` (B, T, I) float32, ``targets`` (B, T) int64 or (B, T, O) float32
    and ``mask`` (B, T) float32 start at zero, zero and 1-on-valid-steps.
    ``starts``/``stops`` map each epoch to its (B,) first step / exclusive end.
    ``rng`` is the batch's generator, for tasks whose inputs are random
    beyond the engine's noise (draw from it in a fixed order).
    ``output_mask`` (value tasks) may be set to a (B, T, O) float32 array of
    per-output loss weights; the engine zeroes it on padding.
    """

    dt: float
    lengths: np.ndarray
    starts: dict[str, np.ndarray]
    stops: dict[str, np.ndarray]
    input_index: Mapping[str, int]
    output_index: Mapping[str, int]
    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    rng: np.random.Generator | None = None
    output_mask: np.ndarray | None = None
    _cache: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, repr=False)
    # Epochs whose [start, stop) is the same in every trial, as (start, stop) (filled by the
    # engine; a mask of such epochs is a few slice assignments instead of broadcast compares).
    _uniform: Mapping[str, tuple[int, int]] = field(default_factory=dict, repr=False)
    # Per tuple of epoch names: their uniform spans merged (adjacent ones joined, empty ones
    # dropped), or False when one of them is not uniform (shared by a task's fixed layouts).
    _spans: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def valid(self) -> np.ndarray:
        """(B, T) bool: step lies inside the trial."""
        return np.arange(self.n_steps) < self.lengths[:, None]

    def epoch(self, *names: str) -> np.ndarray:
        """(B, T) bool mask of the steps in any of the named epochs (a new array)."""
        return self._where(names).copy()

    def _where(self, names: tuple[str, ...]) -> np.ndarray:
        """Like :meth:`epoch` but the cached array itself (callers must not modify it).

        Cached per set of names: a task's fill asks for the same unions again and again."""
        out = self._cache.get(names)
        if out is None:
            for name in names:
                if name not in self.starts:
                    raise KeyError(f"unknown epoch {name!r}; epochs are {list(self.starts)}")
            out = np.zeros((self.n, self.n_steps), dtype=bool)
            t = None
            for name in names:
                span = self._uniform.get(name)
                if span is not None:
                    out[:, span[0]:span[1]] = True
                else:
                    if t is None:
                        t = np.arange(self.n_steps)
                    out |= (t >= self.starts[name][:, None]) & (t < self.stops[name][:, None])
            self._cache[names] = out
        return out

    def set_input(self, channel: str, value: Any, *epochs: str) -> None:
        """Set input ``channel`` to ``value`` (scalar or (B,)) within ``epochs``."""
        col = self.inputs[..., self.input_index[channel]]
        if not self._set_spans(col, value, epochs):
            np.copyto(col, np.reshape(value, (-1, 1)), where=self._where(epochs))

    def _set_spans(self, dest: np.ndarray, value: Any, epochs: tuple[str, ...]) -> bool:
        """``dest[:, start:stop] = value`` for epochs the same in every trial; False (nothing
        done) when one of them is not. The same values as the masked copy: each entry is
        cast from ``value`` once either way."""
        spans = self._spans.get(epochs)
        if spans is None:
            spans = self._spans[epochs] = _merged_spans(self._uniform, epochs)
        if spans is False:
            return False
        v = np.asarray(value).reshape(-1, 1)
        if ((v.shape[0] != 1 and v.shape[0] != dest.shape[0])
                or not np.can_cast(v.dtype, dest.dtype, "same_kind")):
            return False  # np.copyto raises the error
        for start, stop in spans:
            dest[:, start:stop] = v
        return True

    def set_inputs(self, channels: tuple[str, ...], values: np.ndarray, *epochs: str) -> None:
        """Set several channels at once from ``values`` of shape (B, len(channels))."""
        values = np.asarray(values)
        for j, channel in enumerate(channels):
            self.set_input(channel, values[:, j], *epochs)

    def set_target(self, value: Any, *epochs: str, output: str | None = None) -> None:
        """Set the class label (or, for value tasks, ``output``) within ``epochs``."""
        dest = self.targets if output is None else self.targets[..., self.output_index[output]]
        if not self._set_spans(dest, value, epochs):
            np.copyto(dest, np.reshape(value, (-1, 1)), where=self._where(epochs))


# --------------------------------------------------------------------------- helpers
def _check_positive(name: str, value: Any, *, integer: bool = False, allow_zero: bool = False):
    if type(value) is int and value > 0:  # the common case, the same result as below
        return value if integer else float(value)
    ok_type = isinstance(value, numbers.Integral if integer else numbers.Real)
    if isinstance(value, bool) or not ok_type:
        kind = "an int" if integer else "a real number"
        raise TypeError(f"{name} must be {kind}, got {value!r}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value}")
    return int(value) if integer else float(value)


def check_dt(dt: Any) -> float:
    """Validate a step size in ms."""
    return _check_positive("dt (ms)", dt)


def check_sigma(sigma: Any) -> float:
    """Validate an input-noise scale."""
    return _check_positive("sigma", sigma, allow_zero=True)


def check_values(name: str, values: Any, *, low: float, high: float) -> tuple[float, ...]:
    """Validate a non-empty sequence of reals within [low, high]."""
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got {values!r}")
    if not np.isfinite(a).all() or (a < low).any() or (a > high).any():
        raise ValueError(f"{name} must lie in [{low}, {high}], got {a.tolist()}")
    return tuple(float(v) for v in a)


def pick(fixed: Mapping[str, np.ndarray], name: str, drawn: np.ndarray) -> np.ndarray:
    """The caller-fixed values of ``name`` if any, else the drawn ones."""
    return fixed[name] if name in fixed else drawn


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF, vectorized, without scipy."""
    z = np.asarray(z, dtype=np.float64)
    return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[np.float64])(z / math.sqrt(2.0)))


def duration_steps_sample(dist: Duration, dt: float, n: int = 20_000) -> np.ndarray:
    """Steps of an epoch: exact for fixed durations, else a seeded sample (for ceilings)."""
    return np.unique(to_steps(dist.sample(np.random.default_rng(0), n), dt), return_counts=True)


def ring_response(angles: np.ndarray, preferred: np.ndarray) -> np.ndarray:
    """NeuroGym ring code: ``0.5 + 0.5 cos(preferred - angle)``, shape (B, n_channels)."""
    return 0.5 + 0.5 * np.cos(np.asarray(preferred)[None, :] - np.asarray(angles)[:, None])


def last_step_choice(out: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """argmax at each trial's last valid step; class 0 (fixate) -> -1 (no response)."""
    last = out[np.arange(out.shape[0]), lengths - 1]
    decision = np.argmax(last, axis=-1).astype(np.int64)
    return np.where(decision == 0, -1, decision)


# --------------------------------------------------------------------------- Task
class Task:
    """Base class of declarative trial-structured tasks.

    Subclasses set the class attributes below (or instance attributes of the
    same names in ``__init__`` when they depend on parameters), call
    ``Task.__init__`` and implement ``sample_conditions`` and ``fill``.

    Input noise: the engine adds i.i.d. Gaussian noise of std
    ``sigma / sqrt(dt)`` (dt in ms; NeuroGym's convention) to the channels in
    ``noise_channels`` during ``noise_epochs`` (all valid steps if None); never
    to padding.

    ``signed_stimuli`` names the variables whose sign says which choice is correct
    (+ toward choice 2, e.g. a signed coherence): reports draw psychometric curves of
    P(choice 2) against them.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    epoch_names: tuple[str, ...] = ()
    default_timing: ClassVar[Mapping[str, Any]] = {}
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    target_kind: str = "class"
    variables: tuple[Variable, ...] = ()
    noise_channels: tuple[str, ...] = ()
    noise_epochs: tuple[str, ...] | None = None
    signed_stimuli: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, dt: float, sigma: float = 0.0, timing: Mapping[str, Any] | None = None):
        self.dt = check_dt(dt)
        self.sigma = check_sigma(sigma)
        if timing is not None and not isinstance(timing, Mapping):
            raise TypeError(f"timing must be a mapping epoch -> duration, got {timing!r}")
        timing = dict(timing or {})
        unknown = sorted(set(timing) - set(self.epoch_names))
        if unknown and self.default_timing:
            raise ValueError(
                f"timing has unknown epoch(s) {unknown}; epochs of {self.name} are "
                f"{list(self.epoch_names)}"
            )
        if timing and not self.default_timing:
            raise ValueError(f"{self.name} takes no timing parameter (its epochs are in steps)")
        merged = {**self.default_timing, **timing}
        self.timing: Mapping[str, Duration] = MappingProxyType(
            {e: as_duration(merged[e], name=f"timing[{e!r}]") for e in self.default_timing}
        )
        self._params: dict[str, Any] = {"dt": self.dt}
        if self.default_timing:
            self._params["timing"] = {e: d.to_spec() for e, d in self.timing.items()}

    # ---- declared properties
    @property
    def n_inputs(self) -> int:
        return len(self.input_names)

    @property
    def n_outputs(self) -> int:
        return len(self.output_names)

    @property
    def condition_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    @property
    def params(self) -> dict[str, Any]:
        """Constructor parameters (JSON-serializable): ``make(name, **params)`` rebuilds."""
        return dict(self._params)

    @property
    def ceiling(self) -> float | None:
        """Ideal-observer accuracy where computable, else None."""
        return None

    @property
    def noise_std(self) -> float:
        """Per-step input noise std: ``sigma / sqrt(dt)`` (dt in ms)."""
        return self.sigma / math.sqrt(self.dt)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"make({self.name!r}, {args})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Task):
            return NotImplemented
        return type(self) is type(other) and self._params == other._params

    def __hash__(self) -> int:
        return hash((type(self), repr(self)))

    # ---- hooks
    def sample_conditions(
        self, rng: np.random.Generator, n: int, fixed: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Draw all task variables for ``n`` trials, honouring ``fixed``."""
        raise NotImplementedError

    def epoch_steps(
        self, rng: np.random.Generator, n: int, conditions: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Per-epoch (n,) int64 lengths in steps; default: draw from ``self.timing``."""
        fixed = self._fixed_steps()  # a fixed duration draws nothing from rng
        return {e: np.full(n, fixed[e], dtype=np.int64) if e in fixed
                else to_steps(self.timing[e].sample(rng, n), self.dt) for e in self.epoch_names}

    def fill(self, trials: Trials, conditions: Mapping[str, np.ndarray]) -> None:
        """Write inputs, targets and mask of all trials (vectorized)."""
        raise NotImplementedError

    # ---- engine
    def generate(
        self,
        batch_size: int,
        *,
        seed: Any = None,
        conditions: Mapping[str, Any] | None = None,
        noise: bool = True,
    ) -> TrialBatch:
        """Generate a batch of trials, padded to the longest.

        Parameters
        ----------
        batch_size : int
            Number of trials B (>= 1).
        seed : int, sequence of int, SeedSequence, Generator or None
            Anything ``numpy.random.default_rng`` accepts. The same seed gives
            a bitwise identical batch; a Generator is used (and advanced) in
            place, so successive calls with one Generator give new batches.
        conditions : mapping, optional
            Task variable -> scalar or length-B array fixing that variable
            (e.g. ``{"coherence": 6.4}``); see ``condition_names``. Derived
            variables cannot be fixed.
        noise : bool
            Add the task's input noise (default). ``False`` gives noise-free
            inputs, e.g. for analysis; all other draws are unchanged.

        Returns
        -------
        TrialBatch
            Arrays of shape (B, T, ...) with T the longest trial.
        """
        n = _check_positive("batch_size", batch_size, integer=True)
        fixed = self._check_conditions(conditions, n)
        rng = np.random.default_rng(seed)
        conds, steps = self._draw(rng, n, fixed)
        trials, layout = self._frame(n, steps, rng)
        self.fill(trials, conds)
        return self._finish(trials, layout, conds, rng, noise)

    # ---- the engine's parts (shared with the stacked generation of ensembles)
    def _engine(self) -> dict[str, Any]:
        """What every batch of this task shares (channel indices), computed once."""
        key = (self.input_names, self.output_names, self.noise_channels)
        cache = self.__dict__.get("_engine_cache")
        if cache is None or cache["key"] != key:
            input_index = {c: i for i, c in enumerate(self.input_names)}
            idx = [input_index[c] for c in self.noise_channels]
            # A run of channels is a view (no fancy-index copy and write-back).
            run = bool(idx) and idx == list(range(idx[0], idx[-1] + 1))
            cache = {
                "key": key,
                "input_index": MappingProxyType(input_index),
                "output_index": MappingProxyType(
                    {c: i for i, c in enumerate(self.output_names)}),
                "noise_index": slice(idx[0], idx[-1] + 1) if run else idx,
                "n_noise": len(idx),
            }
            self.__dict__["_engine_cache"] = cache
        return cache

    def _fixed_steps(self) -> dict[str, int]:
        """Steps of the epochs of fixed duration (which draw nothing), computed once."""
        key = (self.timing, self.dt)
        cache = self.__dict__.get("_fixed_steps_cache")
        if cache is None or cache[0][0] is not key[0] or cache[0][1] != key[1]:
            steps = {e: int(to_steps(np.array([d.ms]), self.dt)[0])
                     for e, d in self.timing.items() if type(d) is Fixed}
            cache = (key, steps)
            self.__dict__["_fixed_steps_cache"] = cache
        return cache[1]

    def _plan(self) -> dict[str, Any]:
        """What every batch of this task draws and lays out alike, computed once (again only
        when an attribute it comes from is rebound): the variables' names and dtypes, and
        ``layout`` when every epoch has a fixed duration and the default ``epoch_steps``
        applies, so that every trial has the same epochs and nothing is drawn for them
        (``length``; ``spans`` epoch -> (start, stop); ``rows`` (2, n_epochs, 1) starts and
        stops; ``bounds`` (n_epochs, 1, 2); ``noise_time`` (T,) bool, the steps of
        ``noise_epochs``, or None when noise goes on every step). Else ``layout`` is None."""
        epoch_steps = type(self).epoch_steps
        plan = self.__dict__.get("_plan_cache")
        if plan is not None:
            k = plan["key"]
            if (k[0] is self.variables and k[1] is self.timing and k[2] is self.epoch_names
                    and k[3] is self.noise_epochs and k[4] is epoch_steps and k[5] == self.dt):
                return plan
        key = (self.variables, self.timing, self.epoch_names, self.noise_epochs, epoch_steps,
               self.dt)
        plan = {
            "key": key,
            "variables": tuple((v.name, np.int64 if v.integer else np.float64)
                               for v in self.variables),
            "layout": self._fixed_layout() if epoch_steps is Task.epoch_steps else None,
        }
        self.__dict__["_plan_cache"] = plan
        return plan

    def _fixed_layout(self) -> dict[str, Any] | None:
        """The ``layout`` of :meth:`_plan`, or None when an epoch's duration is drawn (or the
        epochs are empty or invalid: the general path then raises its error)."""
        names, fixed = self.epoch_names, self._fixed_steps()
        if not names or any(e not in fixed for e in names):
            return None
        steps = np.array([fixed[e] for e in names], dtype=np.int64)
        stops = np.cumsum(steps)
        starts = stops - steps
        if (steps < 0).any() or stops[-1] < 1:
            return None
        spans = {e: (int(a), int(b)) for e, a, b in zip(names, starts, stops)}
        noise_time = None
        if self.noise_epochs is not None:
            if any(e not in spans for e in self.noise_epochs):
                return None
            noise_time = np.zeros(int(stops[-1]), dtype=bool)
            for e in self.noise_epochs:
                noise_time[spans[e][0]:spans[e][1]] = True
        return {
            "length": int(stops[-1]),
            "spans": MappingProxyType(spans),
            "rows": np.stack((starts, stops))[:, :, None],
            "bounds": np.stack((starts, stops), axis=-1)[:, None, :],
            "noise_time": noise_time,
            "merged": {},
        }

    def _draw(
        self, rng: np.random.Generator, n: int, fixed: Mapping[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], Mapping[str, np.ndarray] | None]:
        """The task variables and epoch steps of ``n`` trials, drawn from ``rng`` in order.

        The steps are None when every trial has the plan's fixed epochs (nothing drawn)."""
        plan = self._plan()
        conds = self.sample_conditions(rng, n, fixed)
        try:
            conds = {name: np.asarray(conds[name], dtype) for name, dtype in plan["variables"]}
        except KeyError:
            missing = set(self.condition_names) - set(conds)
            raise RuntimeError(
                f"{self.name}.sample_conditions did not return {sorted(missing)}") from None
        if plan["layout"] is not None:
            return conds, None
        return conds, self.epoch_steps(rng, n, conds)

    def _frame(
        self, n: int, steps: Mapping[str, np.ndarray] | None, rng: Any
    ) -> tuple[Trials, tuple]:
        """The empty :class:`Trials` frame of trials with these epoch steps (None: the plan's
        fixed epochs), and its layout: the ``(n, T)`` valid steps (None when no trial is
        padded), the read-only ``epochs`` mapping of the batch (epoch -> (n, 2) starts and
        stops), and the plan's fixed ``layout`` (None when the steps were given)."""
        names = self.epoch_names
        engine = self._engine()
        class_targets = self.target_kind == "class"
        if steps is None:
            fixed = self._plan()["layout"]
            n_steps = fixed["length"]
            lengths, starts, stops, epochs = _fixed_epochs(fixed, names, n)
            trials = Trials(
                dt=self.dt,
                lengths=lengths,
                starts=dict(starts),
                stops=dict(stops),
                input_index=engine["input_index"],
                output_index=engine["output_index"],
                inputs=np.zeros((n, n_steps, self.n_inputs), dtype=np.float32),
                targets=np.zeros((n, n_steps) if class_targets else (n, n_steps, self.n_outputs),
                                 dtype=np.int64 if class_targets else np.float32),
                mask=np.ones((n, n_steps), dtype=np.float32),
                rng=rng,
                _uniform=fixed["spans"],
                _spans=fixed["merged"],
            )
            return trials, (None, epochs, fixed)
        mat = np.zeros((len(names), n), dtype=np.int64)
        for k, e in enumerate(names):
            s = steps[e]
            if np.shape(s) != (n,):
                raise RuntimeError(f"epoch {e!r} steps must be (n,) and >= 0, got {s!r}")
            mat[k] = s
        if names and (mat < 0).any():
            k = int(np.nonzero((mat < 0).any(axis=1))[0][0])
            raise RuntimeError(f"epoch {names[k]!r} steps must be (n,) and >= 0, got "
                               f"{np.asarray(steps[names[k]])!r}")
        stops_mat = np.cumsum(mat, axis=0)
        starts_mat = stops_mat - mat
        lengths = stops_mat[-1].copy() if names else np.zeros(n, dtype=np.int64)
        shortest, n_steps = int(lengths.min()), int(lengths.max())
        if shortest < 1:
            raise ValueError(f"{self.name}: every trial needs at least one step; check timing")
        # Epochs whose bounds are the same in every trial (all of them, with fixed timing).
        same = (stops_mat == stops_mat[:, :1]).all(axis=1).tolist()
        uniform = {e: (int(starts_mat[k, 0]), int(stops_mat[k, 0]))
                   for k, e in enumerate(names) if same[k] and (k == 0 or same[k - 1])}
        if shortest < n_steps:
            valid = np.arange(n_steps) < lengths[:, None]
            mask = valid.astype(np.float32)
        else:
            valid, mask = None, np.ones((n, n_steps), dtype=np.float32)
        trials = Trials(
            dt=self.dt,
            lengths=lengths,
            starts={e: starts_mat[k] for k, e in enumerate(names)},
            stops={e: stops_mat[k] for k, e in enumerate(names)},
            input_index=engine["input_index"],
            output_index=engine["output_index"],
            inputs=np.zeros((n, n_steps, self.n_inputs), dtype=np.float32),
            targets=np.zeros((n, n_steps) if class_targets else (n, n_steps, self.n_outputs),
                             dtype=np.int64 if class_targets else np.float32),
            mask=mask,
            rng=rng,
            _uniform=uniform,
        )
        bounds = np.stack((starts_mat, stops_mat), axis=-1)
        bounds.setflags(write=False)  # the batch's epochs are its rows
        return trials, (valid, MappingProxyType(dict(zip(names, bounds))), None)

    def _finish(
        self, trials: Trials, layout: tuple, conds: dict[str, np.ndarray],
        rng: np.random.Generator | Sequence[np.random.Generator], noise: bool,
    ) -> TrialBatch:
        """Add the input noise (drawn from ``rng``), zero the padding, make the record.

        ``rng`` may be a sequence of E generators for E equal blocks of trials (the stacked
        batches of an ensemble): block k's noise is then drawn from generator k, as a batch of
        its own would draw it."""
        valid, epochs, fixed = layout
        n, n_steps = trials.n, trials.n_steps
        std = self.noise_std
        if noise and std > 0 and self.noise_channels:
            engine = self._engine()
            if isinstance(rng, np.random.Generator):
                eps = rng.standard_normal((n, n_steps, engine["n_noise"]))
            else:
                block = (n // len(rng), n_steps, engine["n_noise"])
                eps = np.concatenate([r.standard_normal(block) for r in rng])
            # in place: the noise of many-channel tasks is most of a batch
            if fixed is not None and fixed["noise_time"] is not None:
                # the same noisy steps in every trial: one multiply by std on them and 0
                # elsewhere, equal to multiplying by std and then by the 0/1 mask (std > 0)
                eps *= _noise_scale(fixed, std)
            else:
                eps *= std
                if self.noise_epochs is not None:
                    eps *= trials._where(self.noise_epochs)[..., None]
                elif valid is not None:
                    eps *= valid[..., None]
            idx = engine["noise_index"]
            if isinstance(idx, slice):  # a view: added in place, without `a[i] += b`'s write-back
                noisy = trials.inputs[..., idx]
                noisy += eps.astype(np.float32)
            else:
                trials.inputs[..., idx] += eps.astype(np.float32)
        output_mask = None
        if trials.output_mask is not None:
            output_mask = np.asarray(trials.output_mask, dtype=np.float32)
        if valid is not None:
            pad = ~valid
            trials.inputs[pad] = 0.0
            trials.targets[pad] = 0
            trials.mask[pad] = 0.0
            if output_mask is not None:
                output_mask[pad] = 0.0
        return TrialBatch._from_engine(
            epochs=epochs,
            inputs=trials.inputs,
            targets=trials.targets,
            mask=trials.mask,
            lengths=trials.lengths,
            conditions=conds,
            dt=self.dt,
            input_names=self.input_names,
            output_names=self.output_names,
            target_kind=self.target_kind,
            task=self.name,
            output_mask=output_mask,
        )

    def as_vector_env(self, n_envs: int, *, seed: Any = None, **rewards: Any) -> Any:
        """This task as ``n_envs`` reward-giving environments stepped together.

        A :class:`~brainlike.tasks.VectorTaskEnv` (a ``gymnasium.vector.VectorEnv``): broken
        fixation aborts, a choice ends the trial, the task's own reward rule (see
        ``brainlike.tasks._env``). Class tasks only.

        Parameters
        ----------
        n_envs : int
            Number of trials B stepped together.
        seed : int, sequence of int or None
            Same seed, same actions -> same episodes.
        **rewards
            ``r_correct`` (1), ``r_wrong`` (0), ``r_abort`` (-1), ``r_no_response`` (= r_abort).
        """
        from ._env import as_vector_env

        return as_vector_env(self, n_envs, seed=seed, **rewards)

    def level_label(self, name: str, value: Any) -> str:
        """A readable name for value ``value`` of task variable ``name``.

        The variable's ``labels`` where it has them; for ``ground_truth`` of a class task the
        output channel it asks for (``choice_2``; ``-1`` is ``"no response"``); otherwise the
        number itself (``"3.2"``).

        Examples
        --------
        >>> from brainlike.tasks import make
        >>> task = make("context_decision")
        >>> task.level_label("context", 1), task.level_label("ground_truth", 2)
        ('colour', 'choice_2')
        >>> task.level_label("motion_coherence", -12.8)
        '-12.8'
        """
        v = float(value)
        var = next((x for x in self.variables if x.name == name), None)
        if var is not None and var.labels is not None and v in var.labels:
            return var.labels[v]
        if name == "ground_truth" and self.target_kind == "class" and v.is_integer():
            if v == -1:
                return "no response"
            if 0 < v < self.n_outputs:
                return self.output_names[int(v)]
        return f"{v + 0.0:g}"

    def default_grid(self) -> dict[str, tuple[float, ...]]:
        """Condition values of the default analysis grid (see :meth:`grid`).

        The base class builds it from the variables that declare ``values``;
        tasks override it (the Yang et al. 2019 tasks return the paper's
        ``mode='test'`` grids). Empty when no variable is enumerable.
        """
        return {v.name: v.values for v in self.variables if v.values is not None and not v.derived}

    def grid(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        seed: Any = 0,
        noise: bool = False,
    ) -> TrialBatch:
        """A dense grid of conditions: one trial per combination, noise-free.

        Parameters
        ----------
        values : mapping name -> sequence, optional
            Values of each task variable; the batch holds their Cartesian
            product (first name varies slowest). Default :meth:`default_grid`.
        seed : seed
            Drives whatever the grid leaves free (unlisted variables, epoch
            durations), so a grid is reproducible.
        noise : bool
            Add input noise (default False, as for the paper's analyses).

        Returns
        -------
        TrialBatch
            ``prod(len(v))`` trials in ``itertools.product`` order.
        """
        values = self.default_grid() if values is None else values
        if not isinstance(values, Mapping) or not values:
            raise ValueError(
                f"{self.name} has no default grid; pass values={{name: [...]}} with names from "
                f"{[v.name for v in self.variables if not v.derived]}"
            )
        axes = [np.asarray(v, dtype=np.float64).ravel() for v in values.values()]
        mesh = np.meshgrid(*axes, indexing="ij")
        conditions = {k: m.ravel() for k, m in zip(values, mesh)}
        return self.generate(int(mesh[0].size), seed=seed, conditions=conditions, noise=noise)

    def _check_conditions(self, conditions: Any, n: int) -> dict[str, np.ndarray]:
        if conditions is None:
            return {}
        if not isinstance(conditions, Mapping):
            raise TypeError(f"conditions must be a mapping name -> values, got {conditions!r}")
        by_name = {v.name: v for v in self.variables}
        fixed = {}
        for key, value in conditions.items():
            if key not in by_name:
                raise ValueError(
                    f"unknown condition {key!r} for {self.name}; "
                    f"known: {[v.name for v in self.variables if not v.derived]}"
                )
            fixed[key] = by_name[key].check(value, n)
        return fixed

    def _check_outputs(self, outputs: Any, batch: TrialBatch) -> np.ndarray:
        if hasattr(outputs, "detach"):
            outputs = outputs.detach().cpu()
        out = np.asarray(outputs, dtype=np.float64)
        want = (batch.batch_size, batch.n_steps, self.n_outputs)
        if out.shape != want:
            raise ValueError(f"outputs must have shape (B, T, n_outputs) = {want}, got {out.shape}")
        return out

    def score(self, outputs: Any, batch: TrialBatch) -> TaskScore:
        """Score network outputs against a batch.

        Default rule (class tasks): the decision is the argmax of the outputs
        at each trial's last valid step (class 0, fixate, counts as no
        response, -1); correct when it equals ``conditions["ground_truth"]``.

        Parameters
        ----------
        outputs : array-like or torch.Tensor, shape (B, T, n_outputs)
            Logits or probabilities (any monotone scale).
        batch : TrialBatch
            The batch the outputs were produced for.
        """
        out = self._check_outputs(outputs, batch)
        decision = last_step_choice(out, batch.lengths)
        return TaskScore(decision=decision, correct=decision == batch.conditions["ground_truth"])


def integrator_ceiling(
    coherences: tuple[float, ...], noise_std: float, stimulus: Duration, dt: float
) -> float:
    """Accuracy of an observer summing (correct − wrong) channel evidence.

    Each stimulus step the two channels differ by ``coh / 100`` in mean
    (``0.5 ± coh/200``) and the difference carries Gaussian noise of std
    ``sqrt(2) * noise_std``; over ``k`` steps ``P(correct) = Φ(coh/100 · sqrt(k)
    / (sqrt(2) · noise_std))`` (0.5 at coh 0). Averaged uniformly over
    ``coherences`` and over the distribution of stimulus steps.
    """
    steps, counts = duration_steps_sample(stimulus, dt)
    weights = counts / counts.sum()
    coh = np.asarray(coherences, dtype=np.float64)[:, None]
    k = steps[None, :].astype(np.float64)
    if noise_std == 0:
        p = np.where((coh > 0) & (k > 0), 1.0, 0.5)
    else:
        p = normal_cdf(coh / 100.0 * np.sqrt(k) / (math.sqrt(2.0) * noise_std))
    return float((p @ weights).mean())
