"""Planted psychometric parameters are recovered; PCA of planted trajectories is exact."""

import numpy as np
import pytest

from brainlike.analysis import fit_psychometric, trajectory_pca, trial_average


@pytest.mark.parametrize("kind", ["logistic", "probit"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_psychometric_parameters_are_recovered(kind, seed):
    from scipy import special, stats

    rng = np.random.default_rng(seed)
    bias, scale = 3.0, 5.0
    x = np.repeat(np.linspace(-30, 30, 13), 2000)
    z = (x - bias) / scale
    p = special.expit(z) if kind == "logistic" else stats.norm.cdf(z)
    fit = fit_psychometric(x, rng.random(x.size) < p, kind=kind)
    # 26,000 trials: the ML estimates' standard errors are ~0.1 (bias) and ~0.07 (scale).
    assert abs(fit.bias - bias) < 0.4 and abs(fit.scale - scale) < 0.35
    np.testing.assert_allclose(fit.counts, 2000)
    assert fit.predict(np.array([fit.bias]))[0] == pytest.approx(0.5)


def test_psychometric_errors():
    with pytest.raises(ValueError, match=r"kind must be one of \['logistic', 'probit'\]"):
        fit_psychometric([0, 1], [True, False], kind="weibull")
    with pytest.raises(ValueError, match="equal length"):
        fit_psychometric([0, 1, 2], [True, False])
    with pytest.raises(ValueError, match="at least 2 distinct"):
        fit_psychometric([1, 1], [True, False])
    with pytest.raises(ValueError, match="chose must be boolean"):
        fit_psychometric([0, 1], [0.5, 2])


def test_trial_average_excludes_padding_and_groups():
    a = np.arange(2 * 3 * 1, dtype=float).reshape(2, 3, 1) + 1
    a = np.concatenate([a, a + 10])  # trials 0,1 and 2,3
    groups, avg = trial_average(a, ["x", "x", "y", "y"], lengths=[3, 2, 3, 3])
    assert groups == ("x", "y")
    np.testing.assert_allclose(avg[0, :, 0], [2.5, 3.5, 3.0])  # last step: trial 0 only
    np.testing.assert_allclose(avg[1, :, 0], [12.5, 13.5, 14.5])
    groups, _ = trial_average(a, [[0, 0, 1, 1], [5, 6, 5, 6]])
    assert groups == ((0, 5), (0, 6), (1, 5), (1, 6))
    with pytest.raises(ValueError, match=r"one entry per trial \(4\); got 3"):
        trial_average(a, [1, 2, 3])


def test_pca_recovers_a_planted_plane():
    """Condition averages living in a 2-D plane: 2 PCs explain all variance, span the plane."""
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(20, 2)))
    t = np.linspace(0, 1, 30)
    conds = np.repeat(np.arange(5), 8)
    latent = np.stack([np.outer(np.ones(40), t), np.outer(conds - 2.0, t)], -1)  # (40,30,2)
    activity = latent @ basis.T + 0.5
    pca = trajectory_pca(activity, conds, n_components=3)
    assert pca.explained_variance_ratio[:2].sum() == pytest.approx(1.0, abs=1e-10)
    overlap = np.linalg.svd(pca.components[:2] @ basis, compute_uv=False)
    np.testing.assert_allclose(overlap, 1.0, atol=1e-10)
    np.testing.assert_allclose(pca.transform(pca.averages), pca.projections, atol=1e-10)
    # Condition-dependent axes ignore the shared time course: one axis carries it all.
    dep = trajectory_pca(activity, conds, n_components=2, condition_dependent=True)
    assert dep.explained_variance_ratio[0] == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(abs(dep.components[0] @ basis[:, 1]), 1.0, atol=1e-10)
