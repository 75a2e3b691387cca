"""Parametric working memory: compare two vibrotactile frequencies (Romo et al. 1999).

Examples
--------
>>> from brainlike.tasks import make
>>> task = make("parametric_working_memory")
>>> batch = task.generate(2, seed=0, conditions={"f1": [34.0, 10.0], "f2": [26.0, 18.0]})
>>> batch.conditions["ground_truth"].tolist()
[1, 2]
>>> task.input_names, task.output_names
(('fixation', 'stimulus'), ('fixate', 'f1_greater', 'f1_smaller'))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ._core import Task, Trials, Variable, duration_steps_sample, normal_cdf, pick
from ._distributions import Choice

__all__ = ["ParametricWorkingMemory"]

_PAIRS = ((18.0, 10.0), (22.0, 14.0), (26.0, 18.0), (30.0, 22.0), (34.0, 26.0))


class ParametricWorkingMemory(Task):
    """Delayed frequency comparison (Romo et al. 1999), NeuroGym's
    ``DelayComparison-v0`` encoding.

    Epochs ``fixation`` 500, ``f1`` 500, ``delay`` Choice(200, 400, 800, 1600,
    3200) (the delays of the Primer's notebook), ``f2`` 500, ``decision``
    100 ms; dt=100 ms by default (NeuroGym's and the notebook's).

    Inputs ``fixation, stimulus``: fixation is 1 until the decision epoch (go
    cue). During ``f1`` and ``f2`` the stimulus channel carries the
    frequency as NeuroGym represents it, ``(1 + (f - f_min) / (f_max -
    f_min)) / 2`` in [0.5, 1], with f_min, f_max the extremes of
    ``frequency_pairs`` (10 and 34 Hz), plus Gaussian noise of std
    ``sigma / sqrt(dt)`` (dt in ms) on the stimulus channel during f1 and f2
    only (NeuroGym also adds it to the fixation channel; we do not).

    Outputs ``fixate, f1_greater, f1_smaller``; target 0 until decision, then
    ``ground_truth`` = 1 if f1 > f2 else 2. Mask 1 on valid steps.

    Trials draw a pair from ``frequency_pairs`` and an order at random, as
    NeuroGym does. Conditions: ``f1``, ``f2`` (Hz, any value in
    [f_min, f_max] may be fixed; f1 == f2 is rejected), ``ground_truth``
    (derived). Score: argmax at the last valid step equals ``ground_truth``.

    Parameters
    ----------
    dt : float
        Step in ms (default 100).
    sigma : float
        Noise scale; per-step std ``sigma / sqrt(dt)``.
    frequency_pairs : sequence of (float, float)
        Unordered frequency pairs (Hz); default NeuroGym's
        (18,10), (22,14), (26,18), (30,22), (34,26).
    timing : mapping, optional
        Epoch -> duration overrides.

    References
    ----------
    Romo, Brody, Hernández & Lemus (1999) Nature 399:470.
    """

    name: ClassVar[str] = "parametric_working_memory"
    description: ClassVar[str] = "Hold frequency f1 over a delay, then report whether f1 > f2"
    citation: ClassVar[str] = "Romo et al. 1999 Nature (NeuroGym DelayComparison-v0)"
    epoch_names = ("fixation", "f1", "delay", "f2", "decision")
    default_timing: ClassVar[Mapping[str, Any]] = {
        "fixation": 500.0,
        "f1": 500.0,
        "delay": Choice((200.0, 400.0, 800.0, 1600.0, 3200.0)),
        "f2": 500.0,
        "decision": 100.0,
    }
    input_names = ("fixation", "stimulus")
    output_names = ("fixate", "f1_greater", "f1_smaller")
    target_kind = "class"
    noise_channels = ("stimulus",)
    noise_epochs = ("f1", "f2")

    def __init__(
        self,
        *,
        dt: float = 100.0,
        sigma: float = 1.0,
        frequency_pairs: Any = _PAIRS,
        timing: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dt=dt, sigma=sigma, timing=timing)
        try:
            pairs = np.asarray(frequency_pairs, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"frequency_pairs must be (n, 2) numbers, got {frequency_pairs!r}") from None
        if pairs.ndim != 2 or pairs.shape[1] != 2 or len(pairs) == 0:
            raise ValueError(f"frequency_pairs must have shape (n, 2), got {pairs.shape}")
        if not np.isfinite(pairs).all() or (pairs[:, 0] == pairs[:, 1]).any():
            raise ValueError(f"frequency_pairs must be finite with f1 != f2, got {pairs.tolist()}")
        self.frequency_pairs = tuple((float(a), float(b)) for a, b in pairs)
        self.f_min, self.f_max = float(pairs.min()), float(pairs.max())
        self.variables = (
            Variable("f1", "first frequency (Hz)", low=self.f_min, high=self.f_max),
            Variable("f2", "second frequency (Hz)", low=self.f_min, high=self.f_max),
            Variable("ground_truth", "1 if f1 > f2 else 2", integer=True, derived=True),
        )
        self._params.update(sigma=self.sigma, frequency_pairs=[list(p) for p in self.frequency_pairs])

    def represent(self, f: np.ndarray) -> np.ndarray:
        """Input value of frequency ``f`` (Hz): ``(1 + (f - f_min)/(f_max - f_min)) / 2``."""
        return (1.0 + (f - self.f_min) / (self.f_max - self.f_min)) / 2.0

    @property
    def ceiling(self) -> float:
        """Ideal observer comparing the mean stimulus input of f1 and f2.

        With k1, k2 stimulus steps, ``P = Φ(|r1 - r2| / (s·sqrt(1/k1 + 1/k2)))``,
        s = sigma/sqrt(dt), averaged over pairs (and sampled durations).
        """
        pairs = np.asarray(self.frequency_pairs)
        diff = np.abs(self.represent(pairs[:, 0]) - self.represent(pairs[:, 1]))[:, None]
        if self.noise_std == 0:
            return 1.0
        (k1, w1), (k2, w2) = (duration_steps_sample(self.timing[e], self.dt) for e in ("f1", "f2"))
        with np.errstate(divide="ignore"):  # a 0-ms stimulus gives inv = inf -> Φ(0) = 0.5
            inv = (1.0 / k1)[:, None] + (1.0 / k2)[None, :]
        weights = (w1[:, None] * w2[None, :]) / (w1.sum() * w2.sum())
        p = normal_cdf(diff[..., None] / (self.noise_std * np.sqrt(inv))[None])
        return float((p * weights[None]).sum(axis=(1, 2)).mean())

    def sample_conditions(self, rng, n, fixed):
        pairs = np.asarray(self.frequency_pairs)[rng.integers(len(self.frequency_pairs), size=n)]
        swap = rng.integers(0, 2, size=n).astype(bool)
        f1 = pick(fixed, "f1", np.where(swap, pairs[:, 1], pairs[:, 0]))
        f2 = pick(fixed, "f2", np.where(swap, pairs[:, 0], pairs[:, 1]))
        if (f1 == f2).any():
            raise ValueError(
                f"conditions give f1 == f2 = {f1[f1 == f2][0]} Hz; the comparison needs f1 != f2"
            )
        return {"f1": f1, "f2": f2, "ground_truth": np.where(f1 > f2, 1, 2)}

    def fill(self, trials: Trials, conditions) -> None:
        trials.set_input("fixation", 1.0, "fixation", "f1", "delay", "f2")
        trials.set_input("stimulus", self.represent(conditions["f1"]), "f1")
        trials.set_input("stimulus", self.represent(conditions["f2"]), "f2")
        trials.set_target(conditions["ground_truth"], "decision")
