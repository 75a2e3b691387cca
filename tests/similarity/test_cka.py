"""CKA: invariances, equivalence of the Gram and feature-space forms, explicit HSIC formulas."""

import numpy as np
import pytest

from brainlike.analysis import center_gram, cka, cka_matrix, cka_minibatch, gram_rbf

TOL = dict(rtol=1e-10, atol=1e-12)  # float64, same quantities by different algebra


def _hsic_explicit(K, L):
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H)


def _hsic_unbiased_explicit(K, L):
    # Song et al. (2012), Eq. 5
    n = K.shape[0]
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0)
    np.fill_diagonal(L, 0)
    one = np.ones(n)
    return (np.trace(K @ L) + one @ K @ one * (one @ L @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ K @ L @ one) / (n * (n - 3))


@pytest.fixture
def XY():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 10))
    Y = X @ rng.normal(size=(10, 6)) + 0.5 * rng.normal(size=(40, 6))
    return X, Y


@pytest.mark.parametrize("debiased", [False, True])
def test_linear_cka_equals_explicit_hsic_ratio(XY, debiased):
    X, Y = XY
    K, L = X @ X.T, Y @ Y.T
    h = _hsic_unbiased_explicit if debiased else _hsic_explicit
    expected = h(K, L) / np.sqrt(h(K, K) * h(L, L))
    np.testing.assert_allclose(cka(X, Y, debiased=debiased), expected, **TOL)  # n > p: feature form
    wide = np.hstack([X, np.zeros((40, 40))])  # p > n: Gram form, same value
    np.testing.assert_allclose(cka(wide, Y, debiased=debiased), expected, **TOL)


def test_center_gram_unbiased_matches_song_estimator(XY):
    X, Y = XY
    K, L = X @ X.T, Y @ Y.T
    n = len(X)
    got = np.vdot(center_gram(K, True), center_gram(L, True)) / (n * (n - 3))
    np.testing.assert_allclose(got, _hsic_unbiased_explicit(K, L), **TOL)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("debiased", [False, True])
def test_invariant_to_rotation_and_isotropic_scaling(XY, kernel, debiased):
    X, Y = XY
    Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    base = cka(X, Y, kernel, debiased)
    np.testing.assert_allclose(cka(X, 2.5 * Y @ Q + 3.0, kernel, debiased), base, rtol=1e-9)
    np.testing.assert_allclose(cka(X, X, kernel, debiased), 1.0, rtol=1e-12)
    np.testing.assert_allclose(cka(Y, X, kernel, debiased), base, rtol=1e-12)


def test_rbf_matches_reference_formula(XY):
    X, _ = XY
    d2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.testing.assert_allclose(gram_rbf(X, 0.5), np.exp(-d2 / (2 * 0.25 * np.median(d2))), rtol=1e-12)


def test_debiasing_removes_small_sample_inflation():
    # independent Gaussians: biased linear CKA ~ p/n-ish > 0; debiased is centred on 0
    rng = np.random.default_rng(2)
    biased, unbiased = [], []
    for _ in range(20):
        X, Y = rng.normal(size=(32, 20)), rng.normal(size=(32, 20))
        biased.append(cka(X, Y))
        unbiased.append(cka(X, Y, debiased=True))
    assert np.mean(biased) > 0.3  # the inflation MONAI PR#9129 reports (~0.2 at n=32)
    assert abs(np.mean(unbiased)) < 0.05


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_matrix_equals_pairwise_cka(debiased):
    rng = np.random.default_rng(3)
    reps = [rng.normal(size=(25, p)) for p in (5, 30, 12)]
    M = cka_matrix(reps, debiased=debiased)
    for i in range(3):
        for j in range(3):
            np.testing.assert_allclose(M[i, j], cka(reps[i], reps[j], debiased=debiased), rtol=1e-9)


def test_minibatch_cka_is_consistent_with_full_data():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2000, 8))
    Y = np.tanh(X @ rng.normal(size=(8, 8))) + 0.3 * rng.normal(size=(2000, 8))
    batches = [(X[i:i + 200], Y[i:i + 200]) for i in range(0, 2000, 200)]
    # one batch: exactly debiased CKA on it
    np.testing.assert_allclose(cka_minibatch(batches[:1]), cka(*batches[0], debiased=True), **TOL)
    # ten batches of 200 estimate the full-data value (sd of the estimate ~0.01 here)
    assert abs(cka_minibatch(batches) - cka(X, Y, debiased=True)) < 0.03


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cka(np.ones((5, 2)), np.ones((4, 2))), "same number of samples"),
        (lambda: cka(np.ones(5), np.ones((5, 2))), r"X must have shape \(n_samples, n_features\)"),
        (lambda: cka(np.ones((5, 2)), np.ones((5, 2)), kernel="poly"), "kernel must be one of"),
        (lambda: cka(np.ones((5, 2)), np.eye(5)[:, :2]), "constant across samples"),
        (lambda: cka(np.eye(3), np.eye(3), debiased=True), "at least 4 samples"),
        (lambda: cka_minibatch([]), "batches is empty"),
        (lambda: cka_matrix([np.ones((3, 2)), np.ones((4, 2))]), r"representations\[1\] must have shape \(3"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
