"""Delayed match-to-category on motion directions (Freedman & Assad 2006).

Examples
--------
>>> from brainlike.tasks import make
>>> task = make("delayed_match_to_category")
>>> batch = task.generate(2, seed=0, conditions={"sample": [0, 0], "test": [4, 5]})
>>> batch.conditions["test_category"].tolist(), batch.conditions["ground_truth"].tolist()
([0, 1], [1, 2])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ._core import Task, Trials, Variable, _check_positive, pick, ring_response
from .delayed_match_to_sample import resolve_match

__all__ = ["DelayedMatchToCategory"]


class DelayedMatchToCategory(Task):
    """Delayed match-to-category (Freedman & Assad 2006), close to NeuroGym's
    ``DelayMatchCategory-v0`` and Yang et al. 2019's ``dmcgo``.

    Epochs ``fixation`` 500, ``sample`` 650, ``delay`` 1000, ``test`` 650
    (Freedman & Assad's and NeuroGym's durations), then ``decision`` 100 ms;
    dt=100 ms by default.

    Directions: ``n_directions`` (even, default 10) angles
    ``θ_i = 2π(i + 0.5)/n`` (0.1π, 0.3π, ..., 1.9π at n = 10, as in Yang et
    al. 2019), none on the category boundary; category 0 if θ < π else 1.
    Inputs ``fixation, ring_0 .. ring_{c-1}``: ``n_channels`` (default 8) ring
    channels preferring ``2πk/c`` with NeuroGym's code ``0.5 + 0.5
    cos(θ_k − θ)`` during ``sample`` and ``test``, plus Gaussian noise of std
    ``sigma / sqrt(dt)`` (dt in ms) on the ring channels in those epochs.
    Fixation is 1 until the decision epoch (go cue).

    NeuroGym's default ring has 2 channels (preferred 0 and π), which see
    only cos θ: θ and 2π − θ, which lie in opposite categories, give the same
    input, so the task is unsolvable there. We require ``n_channels >= 3``.

    Outputs ``fixate, match, non_match``; target 0 until decision, then
    ``ground_truth`` (1 category match, 2 non-match). Mask 1 on valid steps.
    A category match occurs with probability 1/2; the test direction is
    uniform within the required category.

    Conditions: ``sample``, ``test`` (direction indices), ``sample_category``,
    ``test_category`` (derived), ``match`` (0/1), ``ground_truth`` (derived).
    Fixing ``test`` determines ``match``. Score: argmax at the last valid
    step equals ``ground_truth``.

    Parameters
    ----------
    dt : float
        Step in ms (default 100).
    sigma : float
        Noise scale; per-step std ``sigma / sqrt(dt)``.
    n_directions : int
        Even number of directions (>= 2, default 10).
    n_channels : int
        Ring channels (>= 3, default 8).
    timing : mapping, optional
        Epoch -> duration overrides.

    References
    ----------
    Freedman & Assad (2006) Nature 443:85; Yang et al. (2019) Nat Neurosci 22:297.
    """

    name: ClassVar[str] = "delayed_match_to_category"
    description: ClassVar[str] = "Report whether sample and test directions share a category"
    citation: ClassVar[str] = "Freedman & Assad 2006 Nature (NeuroGym DelayMatchCategory-v0)"
    epoch_names = ("fixation", "sample", "delay", "test", "decision")
    default_timing: ClassVar[Mapping[str, Any]] = {
        "fixation": 500.0,
        "sample": 650.0,
        "delay": 1000.0,
        "test": 650.0,
        "decision": 100.0,
    }
    output_names = ("fixate", "match", "non_match")
    target_kind = "class"
    noise_epochs = ("sample", "test")

    def __init__(
        self,
        *,
        dt: float = 100.0,
        sigma: float = 1.0,
        n_directions: int = 10,
        n_channels: int = 8,
        timing: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dt=dt, sigma=sigma, timing=timing)
        n = _check_positive("n_directions", n_directions, integer=True)
        if n % 2:
            raise ValueError(f"n_directions must be even (half per category), got {n}")
        c = _check_positive("n_channels", n_channels, integer=True)
        if c < 3:
            raise ValueError(f"n_channels must be >= 3 to encode the direction unambiguously, got {c}")
        self.n_directions, self.n_channels = n, c
        self.ring = tuple(f"ring_{k}" for k in range(c))
        self.input_names = ("fixation", *self.ring)
        self.noise_channels = self.ring
        self.variables = (
            Variable(
                "sample", "sample direction index (angle 2π(i+0.5)/n)", integer=True, low=0, high=n - 1
            ),
            Variable("test", "test direction index", integer=True, low=0, high=n - 1),
            Variable("sample_category", "0 if sample angle < π else 1", integer=True, derived=True),
            Variable("test_category", "0 if test angle < π else 1", integer=True, derived=True),
            Variable("match", "1 if the categories are equal", integer=True, values=(0, 1),
                     labels={0: "non-match", 1: "match"}),
            Variable("ground_truth", "1 match, 2 non-match", integer=True, derived=True),
        )
        self._params.update(sigma=self.sigma, n_directions=n, n_channels=c)

    @property
    def ceiling(self) -> float | None:
        """1.0 without input noise; None otherwise (not computed)."""
        return 1.0 if self.sigma == 0 else None

    def category(self, index: np.ndarray) -> np.ndarray:
        """Category of direction ``index``: 0 if its angle is below π, else 1."""
        return (np.asarray(index) >= self.n_directions // 2).astype(np.int64)

    def sample_conditions(self, rng, n, fixed):
        half = self.n_directions // 2
        sample = pick(fixed, "sample", rng.integers(self.n_directions, size=n))
        match = pick(fixed, "match", rng.integers(0, 2, size=n))
        within = rng.integers(half, size=n)
        test_category = np.where(match == 1, self.category(sample), 1 - self.category(sample))
        test = test_category * half + within

        def same(a, b):
            return self.category(a) == self.category(b)

        test, match = resolve_match(fixed, sample, match, test, same)
        return {
            "sample": sample,
            "test": test,
            "sample_category": self.category(sample),
            "test_category": self.category(test),
            "match": match,
            "ground_truth": np.where(match == 1, 1, 2),
        }

    def fill(self, trials: Trials, conditions) -> None:
        preferred = 2 * np.pi * np.arange(self.n_channels) / self.n_channels
        trials.set_input("fixation", 1.0, "fixation", "sample", "delay", "test")
        for epoch in ("sample", "test"):
            angle = 2 * np.pi * (conditions[epoch] + 0.5) / self.n_directions
            trials.set_inputs(self.ring, ring_response(angle, preferred), epoch)
        trials.set_target(conditions["ground_truth"], "decision")
