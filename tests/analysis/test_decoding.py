"""Facts about time-resolved decoding and cross-temporal generalization on planted codes."""

import numpy as np
import pytest
import torch

from brainlike.analysis import cross_temporal_generalization, decode_over_time
from brainlike.recordings import Recording

K = 4  # classes


def _planted(seed=0, n_per=20, n_time=10, window=(3, 7), moving=False, noise=1.0):
    """Labels coded in the population only during ``window`` (a stable or a moving code)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(K), n_per)
    x = noise * rng.normal(size=(y.size, n_time, 12))
    corners = 3.0 * np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    for t in range(*window):
        u = 2 * (t - window[0]) if moving else 0  # a moving code uses new units at every step
        x[:, t, u:u + 2] += corners[y]
    return x, y


def test_decode_over_time_finds_the_code_at_the_right_times_and_chance_is_one_over_k():
    x, y = _planted(n_time=8, window=(3, 6))
    dec = decode_over_time(x, y, n_permutations=6, seed=0)
    inside = np.zeros(8, bool)
    inside[3:6] = True
    assert dec.score[inside].min() > 0.9
    assert np.abs(dec.score[~inside] - 1 / K).max() < 0.2
    # chance by permutation near 1/k at every step (6 permutations x 80 trials; one null score
    # has a standard deviation of about sqrt(0.25 * 0.75 / 80) = 0.05)
    assert abs(dec.chance.mean() - 1 / K) < 0.03
    assert np.abs(dec.chance - 1 / K).max() < 0.1
    assert dec.p_value[inside].max() == pytest.approx(1 / 7)
    assert dec.p_value[~inside].min() > 0.01
    assert dec.fold_scores.shape == (5, 8) and dec.null.shape == (6, 8)
    np.testing.assert_allclose(dec.score, dec.fold_scores.mean(axis=0))
    assert dec.classes.tolist() == [0, 1, 2, 3] and dec.scoring == "accuracy"


def test_diagonal_of_the_generalization_matrix_is_decode_over_time():
    x, y = _planted(seed=1, n_time=6, window=(1, 5))
    dec = decode_over_time(x, y, seed=4)
    ctg = cross_temporal_generalization(x, y, seed=4)
    np.testing.assert_allclose(ctg.diagonal, dec.score, atol=1e-12)


def test_stable_code_generalizes_across_time_and_a_moving_code_does_not():
    stable = cross_temporal_generalization(*_planted(seed=2, n_time=7, window=(2, 6)))
    moving = cross_temporal_generalization(*_planted(seed=2, n_time=7, window=(2, 6), moving=True))
    off = ~np.eye(4, dtype=bool)
    block = (slice(2, 6), slice(2, 6))
    assert stable.score[block][off].min() > 0.9
    assert moving.score[block][off].max() < 0.5
    assert np.diag(moving.score[block]).min() > 0.9
    # training outside the window transfers nothing
    assert np.abs(stable.score[0] - 1 / K).max() < 0.2


def test_generalization_chance_by_permutation():
    x, y = _planted(seed=3, n_time=4, window=(1, 3))
    ctg = cross_temporal_generalization(x, y, n_permutations=5)
    assert ctg.null.shape == (5, 4, 4)
    assert abs(ctg.chance.mean() - 1 / K) < 0.05
    assert ctg.p_value[1, 2] == pytest.approx(1 / 6)


def test_works_on_a_recording_and_on_tensors_and_with_any_estimator():
    from sklearn.linear_model import Ridge
    from sklearn.svm import SVC

    x, y = _planted(seed=5, n_time=5, window=(2, 5))
    rec = Recording(x, time=np.arange(5) * 20.0, conditions={"direction": y})
    dec = decode_over_time(rec, "direction", estimator=SVC(kernel="linear"))
    assert dec.variable == "direction" and dec.time.tolist() == [0.0, 20.0, 40.0, 60.0, 80.0]
    assert dec.score[2:].min() > 0.9
    dt = decode_over_time(torch.tensor(x, dtype=torch.float32), y, time_steps=[0, 3])
    assert dt.time.tolist() == [0.0, 3.0] and dt.score[1] > 0.9
    # a continuous variable with a regressor (scored by R²)
    rng = np.random.default_rng(0)
    v = rng.normal(size=80)
    xr = rng.normal(size=(80, 3, 4))
    xr[:, 1:, 0] += 3 * v[:, None]
    reg = decode_over_time(xr, v, estimator=Ridge(alpha=1.0))
    assert reg.scoring == "r2" and reg.classes.size == 0
    assert reg.score[0] < 0.2 and reg.score[1:].min() > 0.8


def test_decoding_errors():
    x, y = _planted(seed=6, n_time=3, window=(0, 1))
    with pytest.raises(ValueError, match=r"labels must have shape \(n_trials,\) = \(80,\)"):
        decode_over_time(x, y[:10])
    with pytest.raises(ValueError, match="is not a condition of the data"):
        decode_over_time(Recording(x, conditions={"a": y}), "b")
    with pytest.raises(ValueError, match="at least 2 classes"):
        decode_over_time(x, np.zeros(80))
    with pytest.raises(ValueError, match="cv=30 folds need at least 30 trials of every class"):
        decode_over_time(x, y, cv=30)
    with pytest.raises(ValueError, match="cv must be an int >= 2"):
        decode_over_time(x, y, cv=1)
    bad = x.copy()
    bad[0, 2] = np.nan
    with pytest.raises(ValueError, match="must be finite at every decoded step"):
        decode_over_time(bad, y)
    assert decode_over_time(bad, y, time_steps=[0, 1]).score.shape == (2,)
    with pytest.raises(ValueError, match=r"time_steps must be step indices in \[0, 3\)"):
        decode_over_time(x, y, time_steps=[5])
    with pytest.raises(ValueError, match="n_permutations must be an int >= 0"):
        decode_over_time(x, y, n_permutations=-1)
    with pytest.raises(TypeError, match="estimator must be a scikit-learn estimator"):
        decode_over_time(x, y, estimator="svm")
    with pytest.raises(ValueError, match="data must have shape"):
        decode_over_time(np.zeros(80), y)
