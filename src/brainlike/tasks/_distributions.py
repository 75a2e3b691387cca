"""Duration distributions for task epochs (all values in ms).

Each distribution is a small frozen object with a vectorized
``sample(rng, size) -> ndarray`` returning durations in milliseconds. The
engine converts durations to steps with :func:`to_steps` (floored to a multiple
of ``dt`` like NeuroGym's ``TrialEnv.sample_time``, with at least one step for
any positive duration).

Distributions are stored in ``Task.params`` as JSON specs: a plain number for
:class:`Fixed`, ``{"uniform": [low, high]}``, ``{"choice": [...]}`` and
``{"truncexp": [mean, low, high]}`` (``high`` is ``null`` when infinite).
:func:`as_duration` accepts a distribution, a number or such a spec.

Examples
--------
>>> import numpy as np
>>> from brainlike.tasks import Choice, Fixed
>>> Fixed(500).sample(np.random.default_rng(0), 3)
array([500., 500., 500.])
>>> d = Choice((200, 400))
>>> bool(np.isin(d.sample(np.random.default_rng(0), 10), [200, 400]).all())
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Choice", "Duration", "Fixed", "TruncExp", "Uniform", "as_duration", "to_steps"]


def _real(name: str, value: Any, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number of ms, got {value!r}")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 ms, got {value}")
    return value


@runtime_checkable
class Duration(Protocol):
    """A distribution of epoch durations in ms."""

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` durations (ms) as a float64 array of shape ``(size,)``."""
        ...

    def to_spec(self) -> Any:
        """JSON-serializable description, the inverse of :func:`as_duration`."""
        ...


@dataclass(frozen=True)
class Fixed:
    """Always ``ms`` milliseconds."""

    ms: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "ms", _real("Fixed ms", self.ms))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` durations (ms) as a float64 array of shape ``(size,)``."""
        return np.full(size, self.ms, dtype=np.float64)

    def to_spec(self) -> float:
        """JSON-serializable description, the inverse of :func:`as_duration`."""
        return self.ms


@dataclass(frozen=True)
class Uniform:
    """Uniform on ``[low, high]`` ms."""

    low: float
    high: float

    def __post_init__(self) -> None:
        low, high = _real("Uniform low", self.low), _real("Uniform high", self.high)
        if low > high:
            raise ValueError(f"Uniform requires low <= high, got low={low}, high={high}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` durations (ms) as a float64 array of shape ``(size,)``."""
        return rng.uniform(self.low, self.high, size)

    def to_spec(self) -> dict[str, list[float]]:
        """JSON-serializable description, the inverse of :func:`as_duration`."""
        return {"uniform": [self.low, self.high]}


@dataclass(frozen=True)
class Choice:
    """One of ``values`` ms, each with equal probability."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, (Sequence, np.ndarray)):
            raise TypeError(f"Choice values must be a sequence of ms, got {self.values!r}")
        if len(self.values) == 0:
            raise ValueError("Choice values must not be empty, got an empty sequence")
        vals = tuple(_real(f"Choice values[{i}]", v) for i, v in enumerate(self.values))
        object.__setattr__(self, "values", vals)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` durations (ms) as a float64 array of shape ``(size,)``."""
        return np.asarray(self.values, dtype=np.float64)[rng.integers(len(self.values), size=size)]

    def to_spec(self) -> dict[str, list[float]]:
        """JSON-serializable description, the inverse of :func:`as_duration`."""
        return {"choice": list(self.values)}


@dataclass(frozen=True)
class TruncExp:
    """Exponential with scale ``mean`` truncated to ``[low, high]`` ms.

    As in NeuroGym's ``TruncExp``/``trunc_exp``, ``mean`` is the mean of the
    *untruncated* exponential; the density is proportional to
    ``exp(-t / mean)`` on ``[low, high]``. Sampled by inverse CDF, so the
    truncated mean is ``low + mean - w e^{-w/mean} / (1 - e^{-w/mean})`` with
    ``w = high - low``.
    """

    mean: float
    low: float = 0.0
    high: float = math.inf

    def __post_init__(self) -> None:
        mean = _real("TruncExp mean", self.mean)
        if mean <= 0:
            raise ValueError(f"TruncExp mean must be > 0 ms, got {mean}")
        low = _real("TruncExp low", self.low)
        high = _real("TruncExp high", math.inf if self.high is None else self.high, allow_inf=True)
        if low > high:
            raise ValueError(f"TruncExp requires low <= high, got low={low}, high={high}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` durations (ms) as a float64 array of shape ``(size,)``."""
        u = rng.random(size)
        span = -math.expm1(-(self.high - self.low) / self.mean)  # 1 - e^{-w/mean}
        return np.minimum(self.low - self.mean * np.log1p(-u * span), self.high)

    def to_spec(self) -> dict[str, list[float | None]]:
        """JSON-serializable description, the inverse of :func:`as_duration`."""
        return {"truncexp": [self.mean, self.low, None if math.isinf(self.high) else self.high]}


_SPEC_KINDS = {"uniform": Uniform, "choice": None, "truncexp": TruncExp}


def as_duration(value: Any, *, name: str = "duration") -> Duration:
    """Coerce a number, a distribution or a JSON spec to a :class:`Duration`.

    Parameters
    ----------
    value : Duration, float or dict
        A number means :class:`Fixed`; a dict is one of the specs listed in the
        module docstring.
    name : str
        Used in error messages (e.g. ``"timing['delay']"``).
    """
    if isinstance(value, (Fixed, Uniform, Choice, TruncExp)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return Fixed(float(value))
    if isinstance(value, Mapping) and len(value) == 1:
        ((kind, args),) = value.items()
        if kind == "choice":
            return Choice(tuple(args))
        if kind in _SPEC_KINDS and isinstance(args, (list, tuple)):
            return _SPEC_KINDS[kind](*args)
    if isinstance(value, Duration):
        return value
    raise TypeError(
        f"{name} must be a number of ms, Fixed/Uniform/Choice/TruncExp, or a spec like "
        f"{{'uniform': [low, high]}}; got {value!r}"
    )


def to_steps(ms: np.ndarray, dt: float) -> np.ndarray:
    """Durations in ms -> int64 steps: ``floor(ms / dt)``, at least 1 if ``ms > 0``."""
    ms = np.asarray(ms, dtype=np.float64)
    steps = np.floor(ms / dt + 1e-9).astype(np.int64)
    return np.where((ms > 0) & (steps == 0), 1, steps)
