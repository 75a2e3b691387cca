"""Delayed match-to-sample on a ring of directions (Miller et al. 1996).

Examples
--------
>>> from brainlike.tasks import make
>>> task = make("delayed_match_to_sample", n_directions=4)
>>> batch = task.generate(2, seed=0, conditions={"sample": [0, 1], "test": [0, 3]})
>>> batch.conditions["match"].tolist(), batch.conditions["ground_truth"].tolist()
([1, 0], [1, 2])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ._core import Task, Trials, Variable, _check_positive, pick, ring_response

__all__ = ["DelayedMatchToSample"]


def resolve_match(fixed, sample_key_values, match, test, same):
    """Shared DMS/DMC logic: a fixed ``test`` determines ``match``; check consistency."""
    if "test" in fixed:
        derived = same(sample_key_values, fixed["test"]).astype(np.int64)
        if "match" in fixed and not np.array_equal(derived, fixed["match"]):
            raise ValueError("conditions fix both 'test' and 'match' inconsistently; fix one of them")
        return fixed["test"], derived
    return test, match


class DelayedMatchToSample(Task):
    """Delayed match-to-sample, NeuroGym ``DelayMatchSample-v0`` encoding.

    Epochs ``fixation`` 300, ``sample`` 500, ``delay`` 1000, ``test`` 500,
    ``decision`` 900 ms (NeuroGym defaults; dt=100 ms by default).

    Inputs ``fixation, dir_0 .. dir_{n-1}``: a ring of ``n_directions``
    channels, channel k preferring angle ``2πk/n``; a stimulus at angle θ
    drives them with NeuroGym's ``0.5 + 0.5 cos(θ_k − θ)``. The sample (during
    ``sample``) and the test (during ``test``) are directions ``2π·index/n``;
    Gaussian noise of std ``sigma / sqrt(dt)`` (dt in ms) is added to the ring
    channels during sample and test only. Fixation is 1 until the decision
    epoch (go cue).

    Outputs ``fixate, match, non_match``; target 0 until decision, then
    ``ground_truth`` (1 match, 2 non-match). Mask 1 on valid steps.

    A match occurs with probability 1/2; a non-match test is drawn uniformly
    from the other n−1 directions (with n = 2 that is the opposite direction,
    as in NeuroGym, whose default ring has 2 channels; ours has 8).

    Conditions: ``sample``, ``test`` (direction indices), ``match`` (0/1),
    ``ground_truth`` (derived). Fixing ``test`` determines ``match``.
    Score: argmax at the last valid step equals ``ground_truth``.

    Parameters
    ----------
    dt : float
        Step in ms (default 100).
    sigma : float
        Noise scale; per-step std ``sigma / sqrt(dt)``.
    n_directions : int
        Number of directions = ring channels (>= 2, default 8).
    timing : mapping, optional
        Epoch -> duration overrides.

    References
    ----------
    Miller, Erickson & Desimone (1996) J Neurosci 16:5154.
    """

    name: ClassVar[str] = "delayed_match_to_sample"
    description: ClassVar[str] = "Hold a sample direction over a delay; report if the test matches"
    citation: ClassVar[str] = "Miller et al. 1996 J Neurosci (NeuroGym DelayMatchSample-v0)"
    epoch_names = ("fixation", "sample", "delay", "test", "decision")
    default_timing: ClassVar[Mapping[str, Any]] = {
        "fixation": 300.0,
        "sample": 500.0,
        "delay": 1000.0,
        "test": 500.0,
        "decision": 900.0,
    }
    output_names = ("fixate", "match", "non_match")
    target_kind = "class"
    noise_epochs = ("sample", "test")

    def __init__(
        self,
        *,
        dt: float = 100.0,
        sigma: float = 1.0,
        n_directions: int = 8,
        timing: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dt=dt, sigma=sigma, timing=timing)
        n = _check_positive("n_directions", n_directions, integer=True)
        if n < 2:
            raise ValueError(f"n_directions must be >= 2, got {n}")
        self.n_directions = n
        self.ring = tuple(f"dir_{k}" for k in range(n))
        self.input_names = ("fixation", *self.ring)
        self.noise_channels = self.ring
        self.variables = (
            Variable("sample", "sample direction index (angle 2π·i/n)", integer=True, low=0, high=n - 1),
            Variable("test", "test direction index", integer=True, low=0, high=n - 1),
            Variable("match", "1 if test == sample", integer=True, values=(0, 1),
                     labels={0: "non-match", 1: "match"}),
            Variable("ground_truth", "1 match, 2 non-match", integer=True, derived=True),
        )
        self._params.update(sigma=self.sigma, n_directions=n)

    @property
    def ceiling(self) -> float | None:
        """1.0 without input noise; None otherwise (not computed)."""
        return 1.0 if self.sigma == 0 else None

    def sample_conditions(self, rng, n, fixed):
        k = self.n_directions
        sample = pick(fixed, "sample", rng.integers(k, size=n))
        match = pick(fixed, "match", rng.integers(0, 2, size=n))
        offset = rng.integers(1, k, size=n)
        test = np.where(match == 1, sample, (sample + offset) % k)
        test, match = resolve_match(fixed, sample, match, test, np.equal)
        return {
            "sample": sample,
            "test": test,
            "match": match,
            "ground_truth": np.where(match == 1, 1, 2),
        }

    def fill(self, trials: Trials, conditions) -> None:
        preferred = 2 * np.pi * np.arange(self.n_directions) / self.n_directions
        trials.set_input("fixation", 1.0, "fixation", "sample", "delay", "test")
        for epoch in ("sample", "test"):
            angle = 2 * np.pi * conditions[epoch] / self.n_directions
            trials.set_inputs(self.ring, ring_response(angle, preferred), epoch)
        trials.set_target(conditions["ground_truth"], "decision")
