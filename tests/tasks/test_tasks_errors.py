"""Errors at the public boundary name the argument, the expectation and the value."""

from __future__ import annotations

import numpy as np
import pytest

from brainlike.tasks import make


def test_unknown_task_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown task 'nope'; valid names are \['context_decision'"):
        make("nope")


def test_unknown_parameter_is_named():
    with pytest.raises(ValueError, match=r"no parameter 'cohs'; allowed: \['dt', 'sigma', 'coh"):
        make("perceptual_decision", cohs=[1])


@pytest.mark.parametrize(
    ("params", "exc", "match"),
    [
        ({"dt": 0}, ValueError, r"dt \(ms\) must be finite and > 0, got 0"),
        ({"dt": "20"}, TypeError, r"dt \(ms\) must be a real number, got '20'"),
        ({"sigma": -1.0}, ValueError, r"sigma must be finite and >= 0, got -1.0"),
        ({"coherences": []}, ValueError, r"coherences must be a non-empty 1-D sequence"),
        ({"coherences": [150]}, ValueError, r"coherences must lie in \[0.0, 100.0\]"),
        ({"timing": {"stim": 100}}, ValueError, r"unknown epoch\(s\) \['stim'\]"),
        ({"timing": {"stimulus": "long"}}, TypeError, r"timing\['stimulus'\] must be a number"),
    ],
)
def test_bad_parameters(params, exc, match):
    with pytest.raises(exc, match=match):
        make("perceptual_decision", **params)


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("delayed_match_to_category", {"n_channels": 2}, r"n_channels must be >= 3"),
        ("delayed_match_to_category", {"n_directions": 5}, r"n_directions must be even"),
        ("delayed_match_to_sample", {"n_directions": 1}, r"n_directions must be >= 2, got 1"),
        ("memory_report", {"min_steps": 2}, r"min_steps must be >= 3"),
        ("memory_report", {"min_steps": 9, "max_steps": 8}, r"max_steps must be >= min_steps=9"),
        ("parametric_working_memory", {"frequency_pairs": [[10, 10]]}, r"f1 != f2"),
    ],
)
def test_bad_task_specific_parameters(name, params, match):
    with pytest.raises(ValueError, match=match):
        make(name, **params)


def test_memory_report_takes_no_timing():
    with pytest.raises(ValueError, match=r"no parameter 'timing'"):
        make("memory_report", timing={"pre": 1})


@pytest.mark.parametrize(
    ("batch_size", "exc", "match"),
    [
        (0, ValueError, r"batch_size must be finite and > 0, got 0"),
        (2.5, TypeError, r"batch_size must be an int, got 2.5"),
        (True, TypeError, r"batch_size must be an int, got True"),
    ],
)
def test_bad_batch_size(batch_size, exc, match):
    with pytest.raises(exc, match=match):
        make("perceptual_decision").generate(batch_size)


@pytest.mark.parametrize(
    ("conditions", "exc", "match"),
    [
        ({"cohrence": 1.0}, ValueError, r"unknown condition 'cohrence' .*known: \['coherence', "),
        ({"signed_coherence": 1.0}, ValueError, r"'signed_coherence'\] cannot be fixed"),
        ({"coherence": [1.0, 2.0]}, ValueError, r"scalar or have length 4, got shape \(2,\)"),
        ({"coherence": -3.0}, ValueError, r"conditions\['coherence'\] must be >= 0.0, got -3.0"),
        ({"ground_truth": 3}, ValueError, r"must be one of \[1, 2\], got 3.0"),
        ({"ground_truth": 1.5}, ValueError, r"must be integers, got 1.5"),
        ({"coherence": np.nan}, ValueError, r"must be finite"),
        ({"coherence": "high"}, TypeError, r"conditions\['coherence'\] must be numeric"),
        ([("coherence", 1.0)], TypeError, r"conditions must be a mapping"),
    ],
)
def test_bad_conditions(conditions, exc, match):
    with pytest.raises(exc, match=match):
        make("perceptual_decision").generate(4, seed=0, conditions=conditions)


@pytest.mark.parametrize(
    ("name", "conditions", "match"),
    [
        ("parametric_working_memory", {"f1": 18.0, "f2": 18.0}, r"f1 == f2 = 18.0 Hz"),
        ("parametric_working_memory", {"f1": 40.0}, r"conditions\['f1'\] must be <= 34.0"),
        ("delayed_match_to_sample", {"sample": 0, "test": 1, "match": 1}, r"inconsistently"),
        ("memory_report", {"t_report": 3}, r"must also fix 'trial_length'"),
        ("memory_report", {"trial_length": 6, "t_report": 5}, r"t_report <= trial_length - 2"),
    ],
)
def test_inconsistent_task_conditions(name, conditions, match):
    with pytest.raises(ValueError, match=match):
        make(name).generate(4, seed=0, conditions=conditions)


def test_score_checks_output_shape():
    task = make("perceptual_decision")
    b = task.generate(4, seed=0)
    with pytest.raises(ValueError, match=r"outputs must have shape \(B, T, n_outputs\) = \(4, 22, 3\)"):
        task.score(np.zeros((4, 22, 2)), b)
