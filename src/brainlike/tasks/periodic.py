"""Autonomous pattern generation: periodic targets without inputs (Sussillo & Abbott 2009).

A network receives no input and must produce a periodic signal ``f(t)``: Sussillo & Abbott's sum
of four sines (``sum_of_sines``) and a triangle wave (``triangle_wave``). A trial is a window of
the signal that starts at time ``start`` (ms, a task variable); consecutive windows
(``start = k * duration``) tile the signal, which is how :func:`brainlike.training.train_force`
trains on-line on one long run.

Examples
--------
>>> import numpy as np
>>> from brainlike.tasks import make
>>> task = make("sum_of_sines")
>>> batch = task.generate(2, seed=0, conditions={"start": [0.0, 1200.0]})
>>> batch.inputs.shape, batch.targets.shape          # no inputs; one output, 1200 steps of 1 ms
((2, 1200, 0), (2, 1200, 1))
>>> bool(np.allclose(batch.targets[0], batch.targets[1], atol=1e-5))   # period 1200 ms
True
>>> task.score(batch.targets, batch).accuracy
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ._core import Task, TaskScore, TrialBatch, Trials, Variable, _check_positive, check_values, pick

__all__ = ["PeriodicTarget", "SumOfSines", "TriangleWave"]


class PeriodicTarget(Task):
    """Base of the pattern-generation tasks: produce ``signal(t)``, no inputs.

    One epoch, ``generate``, of ``timing["generate"]`` ms. The output ``output`` at step ``k`` of
    a trial is ``signal(start + k * dt)``; the mask is 1 on every step. ``start`` is drawn
    uniformly from ``[0, start_range)`` unless the task's ``start`` parameter fixes it (a network
    without input cannot know a random phase: train one by BPTT from its initial state with a
    fixed ``start``). Score: a trial is correct when its mean absolute error is below
    ``tolerance``; ``error`` holds that MAE and ``decision`` is -1 (no discrete choice).
    Subclasses define :meth:`signal` and ``start_range``.
    """

    epoch_names = ("generate",)
    default_timing: ClassVar[dict[str, Any]] = {"generate": 1200.0}
    input_names = ()
    output_names = ("output",)
    target_kind = "value"

    def __init__(self, *, dt: float, timing: Any, tolerance: float, start: float | None) -> None:
        super().__init__(dt=dt, timing=timing)
        self.tolerance = _check_positive("tolerance", tolerance)
        self.start = None if start is None else _check_positive("start", start, allow_zero=True)
        self.variables = (
            Variable("start", "time of the signal at the trial's first step (ms)", low=0.0),
        )
        self._params.update(tolerance=self.tolerance, start=self.start)

    @property
    def start_range(self) -> float:
        """``start`` is drawn uniformly from ``[0, start_range)`` ms unless fixed."""
        raise NotImplementedError

    def signal(self, t: Any) -> np.ndarray:
        """The target ``f(t)`` at times ``t`` (ms), float64 of ``t``'s shape."""
        raise NotImplementedError

    def sample_conditions(self, rng, n, fixed):
        drawn = rng.uniform(0.0, self.start_range, size=n)
        if self.start is not None:
            drawn = np.full(n, self.start)
        return {"start": pick(fixed, "start", drawn)}

    def fill(self, trials: Trials, conditions) -> None:
        t = conditions["start"][:, None] + self.dt * np.arange(trials.n_steps)
        trials.targets[..., 0] = self.signal(t)

    def score(self, outputs: Any, batch: TrialBatch) -> TaskScore:
        """Correct when the mean absolute error over the trial's valid steps is < ``tolerance``.

        ``outputs``: ``(B, T, 1)`` array-like or tensor, (batch, time, feature).
        """
        out = self._check_outputs(outputs, batch)
        valid = np.arange(batch.n_steps) < batch.lengths[:, None]
        err = np.abs(out[..., 0] - batch.targets[..., 0]) * valid
        mae = err.sum(axis=1) / batch.lengths
        return TaskScore(decision=np.full(batch.batch_size, -1, dtype=np.int64),
                         correct=mae < self.tolerance, error=mae)


class SumOfSines(PeriodicTarget):
    """Sussillo & Abbott's (2009) target: a sum of sines, produced without input.

    .. math::

        f(t) = \\sum_k a_k \\sin(2 \\pi t / T_k)

    The defaults are the four sines of Sussillo & Abbott's Fig. 2 as written in Sussillo's
    ``force_external_feedback_loop.m`` (``(1.3/1.5) [sin(pi f t) + sin(2 pi f t)/2 +
    sin(3 pi f t)/6 + sin(4 pi f t)/3]``, ``f = 1/60`` per ``tau``) with ``tau = 10`` ms:
    periods 1200, 600, 400 and 300 ms, amplitudes ``13/15 * (1, 1/2, 1/6, 1/3)``; together
    they repeat every 1200 ms.

    Parameters
    ----------
    dt : float
        Step in ms (default 1, Sussillo & Abbott's ``0.1 tau``).
    periods : sequence of float
        Period of each sine in ms.
    amplitudes : sequence of float
        Amplitude of each sine (same length as ``periods``; any sign).
    timing : mapping, optional
        ``{"generate": duration}``: the trial's length in ms (default 1200, one period).
    tolerance : float
        Largest mean absolute error of a correct trial (default 0.05; the target's standard
        deviation is 0.72 at the defaults).
    start : float, optional
        Start every trial at this time of the signal (ms); default: a random start per trial.

    References
    ----------
    Sussillo, D. & Abbott, L. F. (2009). Generating coherent patterns of activity from chaotic
    neural networks. Neuron 63, 544-557.
    """

    name: ClassVar[str] = "sum_of_sines"
    description: ClassVar[str] = "Produce a sum of sines without input (FORCE's target)"
    citation: ClassVar[str] = "Sussillo & Abbott 2009 Neuron 63:544, Fig. 2"

    def __init__(
        self,
        *,
        dt: float = 1.0,
        periods: Sequence[float] = (1200.0, 600.0, 400.0, 300.0),
        amplitudes: Sequence[float] = (13 / 15, 13 / 30, 13 / 90, 13 / 45),
        timing: Any = None,
        tolerance: float = 0.05,
        start: float | None = None,
    ) -> None:
        super().__init__(dt=dt, timing=timing, tolerance=tolerance, start=start)
        self.periods = check_values("periods", periods, low=0.0, high=np.inf)
        if min(self.periods) <= 0:
            raise ValueError(f"periods must be > 0 ms, got {list(self.periods)}")
        self.amplitudes = check_values("amplitudes", amplitudes, low=-np.inf, high=np.inf)
        if len(self.amplitudes) != len(self.periods):
            raise ValueError(f"amplitudes must hold one value per period ({len(self.periods)}), "
                             f"got {list(self.amplitudes)}")
        self._params.update(periods=list(self.periods), amplitudes=list(self.amplitudes))

    @property
    def start_range(self) -> float:
        """The longest period: ``start`` is drawn from ``[0, max(periods))``."""
        return max(self.periods)

    def signal(self, t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        out = np.zeros_like(t)
        for a, p in zip(self.amplitudes, self.periods):
            out += a * np.sin(2.0 * np.pi * t / p)
        return out


class TriangleWave(PeriodicTarget):
    """A triangle wave produced without input (Sussillo & Abbott 2009, Fig. 2A).

    ``f(t)`` rises linearly from ``-amplitude`` to ``amplitude`` over half a period and falls
    back over the other half; ``f(0) = -amplitude``. Sussillo & Abbott show one in Fig. 2A; its
    period and amplitude here (600 ms, 1) are our choice.

    Parameters
    ----------
    dt : float
        Step in ms (default 1).
    period : float
        Period in ms (default 600).
    amplitude : float
        Peak value (default 1).
    timing : mapping, optional
        ``{"generate": duration}`` in ms (default 1200).
    tolerance : float
        Largest mean absolute error of a correct trial (default 0.05).
    start : float, optional
        Start every trial at this time of the signal (ms); default: a random start per trial.
    """

    name: ClassVar[str] = "triangle_wave"
    description: ClassVar[str] = "Produce a triangle wave without input (FORCE's target)"
    citation: ClassVar[str] = "Sussillo & Abbott 2009 Neuron 63:544, Fig. 2A"

    def __init__(
        self, *, dt: float = 1.0, period: float = 600.0, amplitude: float = 1.0,
        timing: Any = None, tolerance: float = 0.05, start: float | None = None,
    ) -> None:
        super().__init__(dt=dt, timing=timing, tolerance=tolerance, start=start)
        self._period_ms = float(_check_positive("period", period))
        self.amplitude = float(_check_positive("amplitude", amplitude))
        self._params.update(period=self._period_ms, amplitude=self.amplitude)

    @property
    def start_range(self) -> float:
        """The period: ``start`` is drawn from ``[0, period)``."""
        return self._period_ms

    def signal(self, t: Any) -> np.ndarray:
        phase = np.mod(np.asarray(t, dtype=np.float64) / self._period_ms, 1.0)
        return self.amplitude * (1.0 - 4.0 * np.abs(phase - 0.5))
