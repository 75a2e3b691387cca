"""The pattern-generation tasks: Sussillo & Abbott's sum of sines and a triangle wave."""

import numpy as np
import pytest

from brainlike.tasks import make


def test_sum_of_sines_is_sussillos_target_and_repeats_every_1200_ms():
    """Sussillo's demo: (1.3/1.5)[sin(pi f t) + sin(2 pi f t)/2 + sin(3 pi f t)/6 + sin(4 pi f t)/3]
    with f = 1/60 per tau, tau = 10 ms."""
    task = make("sum_of_sines")
    t = np.arange(0.0, 2400.0, 7.0)
    f = 1.0 / 600.0  # per ms
    paper = (1.3 / 1.5) * (np.sin(np.pi * f * t) + np.sin(2 * np.pi * f * t) / 2
                           + np.sin(3 * np.pi * f * t) / 6 + np.sin(4 * np.pi * f * t) / 3)
    np.testing.assert_allclose(task.signal(t), paper, rtol=0, atol=1e-12)
    b = task.generate(2, seed=0, conditions={"start": [250.0, 1450.0]})
    np.testing.assert_allclose(b.targets[0], b.targets[1], rtol=0, atol=1e-5)
    np.testing.assert_allclose(b.targets[0, :, 0], task.signal(250.0 + np.arange(1200.0)),
                               rtol=0, atol=1e-6)  # float32 targets


def test_triangle_wave_and_the_mae_score():
    task = make("triangle_wave", period=400.0, amplitude=2.0, timing={"generate": 100.0})
    np.testing.assert_allclose(task.signal([0.0, 100.0, 200.0, 300.0, 400.0]),
                               [-2.0, 0.0, 2.0, 0.0, -2.0], atol=1e-12)
    b = task.generate(3, seed=0)
    out = np.array(b.targets) + np.array([0.01, 0.04, 0.06])[:, None, None]
    score = task.score(out, b)
    np.testing.assert_allclose(score.error, [0.01, 0.04, 0.06], atol=1e-6)
    assert score.correct.tolist() == [True, True, False]  # tolerance 0.05
    fixed = make("triangle_wave", start=0.0).generate(4, seed=3)
    assert (fixed.conditions["start"] == 0.0).all()


def test_bad_parameters_are_refused_by_name():
    with pytest.raises(ValueError, match=r"amplitudes must hold one value per period \(2\), got \[1\.0\]"):
        make("sum_of_sines", periods=[100.0, 200.0], amplitudes=[1.0])
    with pytest.raises(ValueError, match=r"periods must be > 0 ms, got \[0\.0\]"):
        make("sum_of_sines", periods=[0.0], amplitudes=[1.0])
    with pytest.raises(ValueError, match=r"tolerance must be finite and > 0, got -1"):
        make("triangle_wave", tolerance=-1)
    with pytest.raises(ValueError, match=r"start must be finite and >= 0, got -5"):
        make("triangle_wave", start=-5)
