"""Duration distributions: bounds, rounding to dt, TruncExp mean, JSON specs, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brainlike.tasks import Choice, Fixed, TruncExp, Uniform, make
from brainlike.tasks._distributions import as_duration, to_steps

N = 20_000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_samples_lie_within_bounds(seed):
    rng = np.random.default_rng(seed)
    np.testing.assert_array_equal(Fixed(250).sample(rng, 5), 250.0)
    u = Uniform(100, 300).sample(rng, N)
    assert u.min() >= 100 and u.max() <= 300
    c = Choice((200, 400, 800)).sample(rng, N)
    assert set(np.unique(c)) == {200.0, 400.0, 800.0}
    t = TruncExp(600, 300, 3000).sample(rng, N)
    assert t.min() >= 300 and t.max() <= 3000


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("mean", "low", "high"), [(600, 300, 3000), (200, 0, 400), (100, 50, math.inf)])
def test_truncexp_mean_matches_truncated_exponential(seed, mean, low, high):
    w = high - low
    r = 0.0 if math.isinf(w) else w * math.exp(-w / mean) / -math.expm1(-w / mean)
    expected = low + mean - r
    got = TruncExp(mean, low, high).sample(np.random.default_rng(seed), N)
    # the truncated exponential's std is at most `mean`: SE <= mean / sqrt(N); allow 5 SE
    assert abs(got.mean() - expected) < 5 * mean / math.sqrt(N)


def test_to_steps_floors_to_dt_with_one_step_minimum():
    ms = np.array([0.0, 5.0, 19.9, 20.0, 39.9, 40.0, 750.0])
    np.testing.assert_array_equal(to_steps(ms, 20.0), [0, 1, 1, 1, 1, 2, 37])


def test_generated_epochs_are_whole_steps_of_the_drawn_durations():
    task = make("perceptual_decision", dt=20.0, timing={"stimulus": Uniform(100, 900)})
    b = task.generate(500, seed=0)
    steps = np.diff(b.epochs["stimulus"], axis=1)[:, 0]
    assert steps.min() >= 5 and steps.max() <= 45  # floor(100/20) .. floor(900/20)
    assert len(np.unique(steps)) > 10  # durations really vary per trial
    np.testing.assert_array_equal(np.diff(b.epochs["fixation"], axis=1), 5)  # 100 ms / 20 ms


@pytest.mark.parametrize(
    "dist", [Fixed(100), Uniform(1, 2), Choice((3, 4)), TruncExp(5, 1, 9), TruncExp(5)]
)
def test_specs_round_trip(dist):
    assert as_duration(dist.to_spec()) == dist


def test_numbers_mean_fixed():
    assert as_duration(300) == Fixed(300.0)
    task = make("perceptual_decision", timing={"stimulus": 500})
    assert task.timing["stimulus"] == Fixed(500.0)


@pytest.mark.parametrize(
    ("build", "exc", "match"),
    [
        (lambda: Uniform(5, 1), ValueError, r"low <= high, got low=5.0, high=1.0"),
        (lambda: TruncExp(0), ValueError, r"TruncExp mean must be > 0 ms, got 0.0"),
        (lambda: TruncExp(10, 50, 20), ValueError, r"low <= high, got low=50.0, high=20.0"),
        (lambda: Fixed(-1), ValueError, r"Fixed ms must be >= 0 ms, got -1.0"),
        (lambda: Fixed(math.nan), ValueError, r"Fixed ms must be finite"),
        (lambda: Fixed("long"), TypeError, r"Fixed ms must be a real number of ms, got 'long'"),
        (lambda: Choice(()), ValueError, r"Choice values must not be empty"),
        (lambda: Choice((1, -2)), ValueError, r"Choice values\[1\] must be >= 0 ms, got -2.0"),
        (lambda: as_duration("long"), TypeError, r"duration must be a number of ms"),
    ],
)
def test_invalid_arguments_raise_named_errors(build, exc, match):
    with pytest.raises(exc, match=match):
        build()
