"""Reverse correlation recovers planted filters; Gaussian-copula MI matches theory and a peer."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_selection import mutual_info_regression

from brainlike.analysis import (
    classification_image,
    copula_normalize,
    feature_use,
    gaussian_mi,
    mutual_information,
    reverse_correlation,
)
from brainlike.models import layer_activations
from brainlike.tasks import gabor, white_noise

from .conftest import cosine


def test_sta_recovers_the_filter_of_a_linear_nonlinear_unit():
    k = gabor(8, orientation=30.0, spatial_frequency=0.2, sigma=2.0) - 0.5
    s = white_noise(10_000, 8, seed=0)
    rng = np.random.default_rng(1)
    rate = np.exp(np.einsum("nchw,hw->n", s, k) / np.linalg.norm(k) - 1)  # exponential LN unit
    spikes = rng.poisson(rate)
    rc = reverse_correlation(s, spikes)
    assert rc.sta.shape == (1, 8, 8)
    assert cosine(rc.sta, k) > 0.9


def test_sta_recovers_a_first_layer_conv_kernel(digits_net):
    """A conv1 unit is ReLU(w * s + b): its STA over white noise is its 3x3 kernel (Bussgang)."""
    s = white_noise(10_000, 8, seed=2)
    acts = layer_activations(digits_net, s, ["relu1"], flatten=False)["relu1"].numpy()
    for ch in range(6):
        rc = reverse_correlation(s, acts[:, ch, 4, 4])
        kernel = digits_net.conv1.weight[ch, 0].detach().numpy()
        patch = rc.sta[0, 3:6, 3:6]  # the unit at (4, 4) sees pixels 3..5 (3x3, same padding)
        assert cosine(patch, kernel) > 0.9, ch
        outside = np.delete(rc.sta[0].ravel(), [r * 8 + c for r in range(3, 6) for c in range(3, 6)])
        assert np.abs(outside).max() < 0.3 * np.abs(patch).max()  # nothing outside its receptive field


def test_stc_finds_the_filters_of_an_energy_unit():
    """A complex-cell-like unit (sum of squares of two filters) has a zero STA; STC finds both."""
    rng = np.random.default_rng(0)
    s = rng.standard_normal((20_000, 16))
    k1, k2 = np.zeros(16), np.zeros(16)
    k1[:4], k2[4:8] = 0.5, 0.5
    r = (s @ k1) ** 2 + (s @ k2) ** 2
    rc = reverse_correlation(s, r, n_stc=2)
    assert np.linalg.norm(rc.sta) < 0.05
    assert (rc.stc_values > 0).all()  # variance increased along both
    overlap = np.linalg.svd(np.stack([k1, k2]) @ rc.stc_filters.T, compute_uv=False)
    assert overlap.min() > 0.95 * 0.5 * 2  # both planted (norm-1) directions recovered


def test_classification_image_recovers_the_observers_template():
    rng = np.random.default_rng(0)
    template = gabor(8, orientation=90.0, spatial_frequency=0.15, sigma=2.0).ravel() - 0.5
    signal = rng.integers(0, 2, 6000)
    noise = rng.standard_normal((6000, 64))
    stim = noise + 0.5 * np.outer(2 * signal - 1, template)
    answers = stim @ template + 0.5 * rng.standard_normal(6000) > 0
    ci = classification_image(noise.reshape(-1, 1, 8, 8), answers, signal)
    assert cosine(ci.image, template) > 0.9
    assert ci.n_trials.shape == (2, 2)
    with pytest.raises(ValueError, match="every class needs trials with both answers"):
        classification_image(noise, np.ones(6000, bool))


def test_reverse_correlation_errors():
    s = np.zeros((5, 4))
    with pytest.raises(
        ValueError, match=r"responses must have shape \(n_samples,\) = \(5,\); got \(4,\)"
    ):
        reverse_correlation(s, np.ones(4))
    with pytest.raises(ValueError, match="responses must be finite and non-negative"):
        reverse_correlation(s, -np.ones(5))
    with pytest.raises(ValueError, match="responses are all zero"):
        reverse_correlation(s, np.zeros(5))


# ---------------------------------------------------------------- information
@pytest.mark.parametrize("rho", [0.0, 0.3, 0.8])
def test_gcmi_equals_the_gaussian_formula_and_sklearn_ksg(rho):
    rng = np.random.default_rng(0)
    n = 5000
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    exact = -0.5 * np.log2(1 - rho**2)
    mi = mutual_information(x, y)
    assert abs(mi - exact) < 0.02  # sampling error of a 5000-sample estimate
    # the same data transformed monotonically: the copula estimate does not change at all
    assert mutual_information(np.exp(x), y**3) == pytest.approx(mi, abs=1e-12)
    # scikit-learn's k-nearest-neighbour (KSG) estimator, in nats, on the same samples
    ksg = mutual_info_regression(x[:, None], y, random_state=0)[0] / np.log(2)
    assert abs(ksg - exact) < 0.05 and abs(ksg - mi) < 0.06


def test_multivariate_and_discrete_mi():
    rng = np.random.default_rng(1)
    n = 20000
    cov = np.array([[1, 0, 0.5], [0, 1, 0.5], [0.5, 0.5, 1]])
    z = rng.multivariate_normal(np.zeros(3), cov, n)
    exact = 0.5 * np.log2(np.linalg.det(cov[:2, :2]) * cov[2, 2] / np.linalg.det(cov))
    assert abs(gaussian_mi(z[:, :2], z[:, 2]) - exact) < 0.01
    labels = rng.integers(0, 2, n)
    x = rng.standard_normal(n) + 2.0 * labels  # two unit Gaussians 2 apart
    mi = mutual_information(x, labels, discrete=True)
    assert 0.45 < mi < 0.6  # the Gaussian-copula lower bound; exact MI of this mixture is 0.486 bits
    np.testing.assert_allclose(copula_normalize(np.arange(5.0))[:, 0].mean(), 0.0, atol=1e-12)


def test_feature_use_finds_the_planted_features():
    """A 'network' uses shape1 and shape2, a 'person' shape1 and texture: feature_use says so."""
    rng = np.random.default_rng(0)
    n = 800
    f = {name: rng.standard_normal(n) for name in ("shape1", "shape2", "texture", "nuisance")}
    net = f["shape1"] + 0.7 * f["shape2"] + 0.5 * rng.standard_normal(n)
    person = (f["shape1"] - f["texture"] + rng.standard_normal(n)) > 0
    fu = feature_use(
        f, {"network": net, "person": person}, discrete={"person": True}, n_permutations=100
    )
    assert fu.used("network") == ["shape1", "shape2"]
    assert fu.used("person") == ["shape1", "texture"]
    assert fu.shared() == ["shape1"]
    assert fu.mi.shape == (2, 4) and fu.p_value.min() == pytest.approx(1 / 101)
    assert fu.similarity[0, 0] == pytest.approx(1.0) and fu.similarity[0, 1] < 0.9
    with pytest.raises(
        ValueError, match=r"responses\['x'\] must have shape \(n_trials,\) = \(800,\); got \(3,\)"
    ):
        feature_use(f, {"x": [1, 2, 3]})


def test_mi_errors():
    with pytest.raises(ValueError, match=r"x and y must have the same number of samples; got 5 and 4"):
        gaussian_mi(np.ones((5, 1)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="the covariance is singular"):
        gaussian_mi(np.ones(10), np.arange(10.0))
