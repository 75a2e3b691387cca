"""pattern_completion (Miconi et al. 2018): the trial structure and the score, stated as facts."""

from __future__ import annotations

import numpy as np
import pytest

from brainlike.tasks import make


def test_study_shows_each_pattern_in_cycles_and_the_test_erases_a_fixed_number_of_bits():
    task = make("pattern_completion", n_bits=10, n_patterns=3, n_presentations=2, show_steps=2,
                gap_steps=1, test_steps=2, degrade_fraction=0.3)
    b = task.generate(64, seed=0)
    assert task.study_steps == 2 * 3 * 3 and b.n_steps == 18 + 2
    x = b.inputs
    patterns = x[:, [0, 3, 6]]                                   # (B, 3, 10): first cycle
    np.testing.assert_array_equal(x[:, [1, 4, 7]], patterns)     # shown for 2 steps
    np.testing.assert_array_equal(x[:, [9, 10, 12, 13, 15, 16]],  # the second cycle, same order
                                  np.repeat(patterns, 2, axis=1))
    assert (x[:, [2, 5, 8, 11, 14, 17]] == 0).all()              # the gaps
    assert set(np.unique(patterns)) == {-1.0, 1.0}
    rows = np.arange(64)
    tested = patterns[rows, b.conditions["tested_pattern"]]
    for t in (18, 19):
        np.testing.assert_array_equal(b.targets[:, t], tested)
        cue = x[:, t]
        assert ((cue == 0).sum(1) == 3).all()                   # round(0.3 * 10) erased
        np.testing.assert_array_equal(cue[cue != 0], tested[cue != 0])
    # Loss on the test epoch only (output_mask), every step valid (mask).
    assert (b.mask == 1).all()
    np.testing.assert_array_equal(b.output_mask[:, :18], 0)
    np.testing.assert_array_equal(b.output_mask[:, 18:], 1)


def test_patterns_are_new_in_every_trial():
    """Nothing about the patterns carries over between trials: bits agree half the time."""
    b = make("pattern_completion", n_bits=16).generate(2000, seed=1)
    first = b.inputs[:, 0]
    agree = (first[1:] == first[:-1]).mean()
    assert abs(agree - 0.5) < 0.02  # 5 SD of 31 984 bits is 0.014


def test_score_counts_sign_errors_on_the_erased_bits_only():
    task = make("pattern_completion", n_bits=8, n_patterns=2)
    b = task.generate(4, seed=2)
    out = np.array(b.targets) * 0.3                # the right signs, not the right size
    assert task.score(out, b).accuracy == 1.0
    last = b.n_steps - 1
    def erased(k):
        return np.flatnonzero(b.inputs[k, last] == 0)

    out[0, last, b.inputs[0, last] != 0] *= -1      # wrong kept bits: not scored
    out[1, last, erased(1)[0]] *= -1                # one wrong erased bit
    out[2, last, erased(2)[1]] = 0.0                # no sign: wrong
    score = task.score(out, b)
    np.testing.assert_array_equal(score.correct, [True, False, False, True])
    np.testing.assert_allclose(score.error, [0, 1 / 4, 1 / 4, 0])
    assert (score.decision == -1).all()


def test_bad_parameters_are_refused_by_name():
    with pytest.raises(ValueError, match=r"n_bits must be >= 2 \(one kept, one zeroed\), got 1"):
        make("pattern_completion", n_bits=1)
    with pytest.raises(ValueError, match=r"degrade_fraction must lie in \(0, 1\), got 1\.0"):
        make("pattern_completion", degrade_fraction=1.0)
    with pytest.raises(ValueError, match=r"gap_steps must be finite and >= 0, got -1"):
        make("pattern_completion", gap_steps=-1)
    with pytest.raises(TypeError, match=r"show_steps must be an int, got 1\.5"):
        make("pattern_completion", show_steps=1.5)
