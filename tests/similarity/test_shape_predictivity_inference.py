"""Shape metrics (metric properties), regression predictivity and RDM inference."""

import numpy as np
import pytest

from brainlike.analysis import (
    LinearMetric,
    bootstrap_compare,
    cka,
    compare_rdms,
    layer_mapping,
    noise_ceiling,
    predictivity,
    rdm,
    split_half_consistency,
)

rsatoolbox = pytest.importorskip("rsatoolbox")


def _rot(p, seed):
    return np.linalg.qr(np.random.default_rng(seed).normal(size=(p, p)))[0]


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("score_method", ["angular", "euclidean"])
def test_zero_distance_under_rotation_and_symmetry(alpha, score_method):
    X = np.random.default_rng(0).normal(size=(50, 6))
    Y = X @ _rot(6, 1) + 2.0
    m = LinearMetric(alpha=alpha, score_method=score_method)
    assert m.fit(X, Y).score(X, Y) < 1e-6  # rotation + translation: the same shape
    Z = np.random.default_rng(2).normal(size=(50, 4))  # narrower: zero-padded
    np.testing.assert_allclose(m.fit_score(X, Z), m.fit_score(Z, X), rtol=1e-8)


def test_cca_end_ignores_any_invertible_map_procrustes_does_not():
    X = np.random.default_rng(3).normal(size=(80, 5))
    A = np.random.default_rng(4).normal(size=(5, 5))
    assert LinearMetric(alpha=0.0).fit_score(X, X @ A) < 1e-6
    assert LinearMetric(alpha=1.0).fit_score(X, X @ A) > 0.05


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_triangle_inequality(alpha):
    rng = np.random.default_rng(5)
    reps = [rng.normal(size=(30, 4)) for _ in range(5)]
    reps += [reps[0] + 0.1 * rng.normal(size=(30, 4))]
    m = LinearMetric(alpha=alpha)
    d = np.array([[m.fit_score(a, b) for b in reps] for a in reps])
    assert np.all(d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-9)


def test_procrustes_angle_is_arccos_of_nuclear_norm():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(40, 5)), rng.normal(size=(40, 5))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    expected = np.arccos(np.linalg.norm(Xc.T @ Yc, "nuc") / np.linalg.norm(Xc) / np.linalg.norm(Yc))
    np.testing.assert_allclose(LinearMetric().fit_score(X, Y), expected, rtol=1e-10)


def test_estimator_contract():
    m = LinearMetric(alpha=0.3)
    assert m.get_params() == {"alpha": 0.3, "center_columns": True, "score_method": "angular"}
    assert not hasattr(m, "alignment_")
    with pytest.raises(RuntimeError, match="not fitted yet"):
        m.score(np.ones((3, 2)), np.ones((3, 2)))
    X = np.random.default_rng(7).normal(size=(10, 3))
    assert m.fit(X, X) is m and hasattr(m, "alignment_")
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\]"):
        LinearMetric(alpha=2).fit(X, X)
    with pytest.raises(ValueError, match="score_method must be one of"):
        LinearMetric(score_method="cos").fit(X, X)


def _planted(seed, noise=1.0, n_reps=6):
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(120, 10))
    signal = F @ rng.normal(size=(10, 8))
    return F, signal[None] + noise * rng.normal(size=(n_reps, 120, 8))


@pytest.mark.parametrize("regression", ["pls", "ridge"])
def test_predictivity_recovers_planted_map_and_ceiling(regression):
    F, reps = _planted(0)
    p = predictivity(F, reps, regression=regression, n_components=10, alpha=1.0)
    # a linear map + noise: predictions reach the reliability of the trial-averaged data
    assert 0.8 < p.score <= 1.0 and p.ceiling is not None and 0.8 < p.ceiling <= 1.0
    np.testing.assert_allclose(p.ceiled_score, p.score / np.sqrt(p.ceiling))
    np.testing.assert_allclose(p.explained_variance, p.score**2 / p.ceiling)
    np.testing.assert_allclose(p.brainscore_ceiled_score, p.score / p.ceiling)
    assert p.split_scores.shape == (10,) and p.unit_r.shape == (8,)
    shuffled = predictivity(np.random.default_rng(1).normal(size=F.shape), reps, regression=regression)
    assert abs(shuffled.score) < 0.3  # unrelated features predict nothing


@pytest.mark.parametrize("noise", [0.5, 1.0, 2.0, 3.0])
def test_the_generating_model_has_a_ceiled_score_of_one(noise):
    """The ceiling (split-half, Spearman-Brown) is a reliability, on the r^2 scale: the model
    that generated the data correlates with the noisy trial average at r = sqrt(reliability).
    Its ceiled score r / sqrt(ceiling) is 1 (and so is r^2 / ceiling); Brain-Score's r / ceiling
    gives it 1 / sqrt(reliability) > 1. Tolerance 0.03: over seeds 0-4 and these noise levels
    (reliabilities 0.97-0.46) r / sqrt(ceiling) ranged over 0.983-1.020."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 8))
    signal = features @ rng.normal(size=(8, 60)) / np.sqrt(8)
    reps = signal[None] + noise * rng.normal(size=(8, 400, 60))
    p = predictivity(features, reps, regression="ridge", alpha=1e-6)
    assert abs(p.ceiled_score - 1.0) < 0.03 and abs(p.explained_variance - 1.0) < 0.05
    np.testing.assert_allclose(p.brainscore_ceiled_score, p.ceiled_score / np.sqrt(p.ceiling))
    assert p.brainscore_ceiled_score > 1.01  # Brain-Score's convention overshoots


def test_split_half_is_spearman_brown_corrected():
    # identical halves: r = 1 -> ceiling 1 (Brain-Score's internal-consistency test)
    reps = np.repeat(np.random.default_rng(2).normal(size=(1, 30, 4)), 4, axis=0)
    np.testing.assert_allclose(split_half_consistency(reps), 1.0)


def test_layer_mapping_finds_the_generating_layer():
    rng = np.random.default_rng(3)
    layers = {f"layer{i}": rng.normal(size=(100, 12)) for i in range(3)}
    areas = {"V": layers["layer0"] @ rng.normal(size=(12, 5)) + 0.5 * rng.normal(size=(100, 5)),
             "IT": layers["layer2"] @ rng.normal(size=(12, 5)) + 0.5 * rng.normal(size=(100, 5))}
    m = layer_mapping(layers, areas, regression="ridge")
    assert m.best_layer == {"V": "layer0", "IT": "layer2"} and m.scores.shape == (3, 2)


@pytest.mark.parametrize("method", ["cosine", "pearson", "spearman"])
def test_noise_ceiling_matches_rsatoolbox(method):
    rng = np.random.default_rng(4)
    data = np.abs(rng.normal(size=(1, 28)) + 0.7 * rng.normal(size=(6, 28)))
    theirs = {"pearson": "corr"}.get(method, method)
    lo, hi = rsatoolbox.inference.boot_noise_ceiling(rsatoolbox.rdm.RDMs(data), method=theirs)
    nc = noise_ceiling(data, method)
    np.testing.assert_allclose([nc.lower, nc.upper], [lo, hi], rtol=1e-9)
    assert nc.lower < nc.upper


@pytest.mark.parametrize("over", ["conditions", "subjects", "both"])
def test_bootstrap_intervals_cover_the_estimate(over):
    rng = np.random.default_rng(5)
    truth = rng.normal(size=(12, 20))
    data = [rdm(truth + rng.normal(size=truth.shape), "correlation") for _ in range(5)]
    from brainlike.analysis import RDM

    data = RDM.concat(data)
    models = RDM.concat([rdm(truth, "correlation"), rdm(rng.normal(size=truth.shape), "correlation")])
    res = bootstrap_compare(models, data, "spearman", over=over, n_bootstrap=200)
    np.testing.assert_allclose(res.estimate, compare_rdms(models, data, "spearman").mean(axis=1))
    assert res.samples.shape == (200, 2)
    assert np.all(res.ci_low <= res.estimate + 0.05) and np.all(res.estimate - 0.05 <= res.ci_high)
    assert res.ci_low[0] > res.ci_high[1]  # the true model beats the random one


def test_rdm_and_cka_agree_on_what_is_similar():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(20, 30))
    near, far = X @ _rot(30, 7) + 0.1 * rng.normal(size=X.shape), rng.normal(size=X.shape)
    assert cka(X, near) > cka(X, far)
    r = [rdm(a, "correlation") for a in (X, near, far)]
    assert compare_rdms(r[0], r[1], "pearson") > compare_rdms(r[0], r[2], "pearson")
