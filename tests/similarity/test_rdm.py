"""RDMs and RDM comparison: scipy formulas, rsatoolbox agreement, properties."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import kendalltau, pearsonr, spearmanr

from brainlike.analysis import RDM, compare_rdms, rdm

rsatoolbox = pytest.importorskip("rsatoolbox")

# rsatoolbox and we both work in float64 on the same formulas; differences are rounding only.
TOL = dict(rtol=1e-9, atol=1e-10)


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(12, 30))


def _rs_rdm(X, method, **kw):
    ds = rsatoolbox.data.Dataset(X)
    return rsatoolbox.rdm.calc_rdm(ds, method=method, **kw).get_vectors()[0]


def test_rdm_matches_scipy(X):
    p = X.shape[1]
    np.testing.assert_allclose(rdm(X, "euclidean").dissimilarities[0], pdist(X), **TOL)
    np.testing.assert_allclose(rdm(X, "squared_euclidean").dissimilarities[0], pdist(X, "sqeuclidean") / p, **TOL)
    np.testing.assert_allclose(rdm(X, "correlation").dissimilarities[0], pdist(X, "correlation"), **TOL)
    np.testing.assert_allclose(rdm(X, "cosine").dissimilarities[0], pdist(X, "cosine"), **TOL)
    i, j = np.triu_indices(len(X), 1)
    np.testing.assert_allclose(rdm(X, "correlation").dissimilarities[0], (1 - np.corrcoef(X))[i, j], **TOL)


def test_rdm_matches_rsatoolbox(X):
    np.testing.assert_allclose(rdm(X, "squared_euclidean").dissimilarities[0], _rs_rdm(X, "euclidean"), **TOL)
    np.testing.assert_allclose(rdm(X, "correlation").dissimilarities[0], _rs_rdm(X, "correlation"), **TOL)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(30, 30))
    prec = a @ a.T / 30 + np.eye(30)
    np.testing.assert_allclose(
        rdm(X, "mahalanobis", noise=prec).dissimilarities[0], _rs_rdm(X, "mahalanobis", noise=prec), **TOL
    )


# rsatoolbox 0.3.2 casts NaN descriptors to int inside calc_rdm (its warning, not ours)
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_crossnobis_matches_rsatoolbox():
    rng = np.random.default_rng(2)
    n_folds, n_cond, p = 4, 6, 20
    folds = rng.normal(size=(n_folds, n_cond, p)) + rng.normal(size=(1, n_cond, p))
    data = folds.reshape(-1, p)
    ds = rsatoolbox.data.Dataset(
        data,
        obs_descriptors={"cond": np.tile(np.arange(n_cond), n_folds), "fold": np.repeat(np.arange(n_folds), n_cond)},
    )
    ref = rsatoolbox.rdm.calc_rdm(ds, method="crossnobis", descriptor="cond", cv_descriptor="fold").get_vectors()[0]
    np.testing.assert_allclose(rdm(folds, "crossnobis").dissimilarities[0], ref, **TOL)


def test_crossnobis_is_unbiased_where_squared_euclidean_is_not():
    # Identical true patterns + noise: the expected crossnobis distance is 0, the plain one > 0.
    rng = np.random.default_rng(3)
    folds = rng.normal(size=(200, 5, 10))  # 200 folds of pure noise
    cn = rdm(folds, "crossnobis").dissimilarities
    se = rdm(folds.mean(axis=0) * np.sqrt(200), "squared_euclidean").dissimilarities  # one-fold scale
    assert abs(cn.mean()) < 0.05 * se.mean()  # 5 sigma-ish margin at 200 folds
    assert se.min() > 0


def test_rdm_properties(X):
    Q, _ = np.linalg.qr(np.random.default_rng(4).normal(size=(30, 30)))
    # rotating the units keeps distances and angles (not correlations: the mean over units moves)
    for method in ("euclidean", "squared_euclidean", "cosine"):
        np.testing.assert_allclose(rdm(X @ Q, method).dissimilarities, rdm(X, method).dissimilarities, **TOL)
    # correlation/cosine distances ignore isotropic scaling; correlation ignores per-condition offsets
    np.testing.assert_allclose(rdm(3 * X, "cosine").dissimilarities, rdm(X, "cosine").dissimilarities, **TOL)
    np.testing.assert_allclose(rdm(X + 5, "euclidean").dissimilarities, rdm(X, "euclidean").dissimilarities, **TOL)
    M = rdm(X, "euclidean").matrices[0]
    assert np.all(np.diag(M) == 0) and np.allclose(M, M.T)
    # triangle inequality of the (unsquared) Euclidean RDM: d(i, j) <= d(i, k) + d(k, j)
    via = M[:, :, None] + M[None, :, :]  # [i, k, j]
    assert np.all(M[:, None, :] <= via + 1e-12)


def test_rdm_round_trip_and_concat(X):
    r = rdm(X, "correlation")
    back = RDM.from_matrices(r.matrices)
    np.testing.assert_array_equal(back.dissimilarities, r.dissimilarities)
    both = RDM.concat([r, rdm(X, "cosine")])
    assert len(both) == 2 and both.method == "mixed" and len(both[1]) == 1


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda X: rdm(X, "manhattan"), "method must be one of"),
        (lambda X: rdm(X[0]), r"X must have shape \(n_conditions, n_units\); got \(30,\)"),
        (lambda X: rdm(X, "crossnobis"), r"crossnobis needs X of shape \(n_folds >= 2"),
        (lambda X: rdm(X, "mahalanobis", noise=np.eye(3)), r"noise must be a precision matrix of shape \(30, 30\)"),
        (lambda X: rdm(X, "euclidean", noise=np.eye(30)), "noise is only used by"),
        (lambda X: rdm(np.ones((3, 4)), "correlation"), "constant across units"),
        (lambda X: compare_rdms(np.ones(6), np.ones(10)), "same number of conditions"),
        (lambda X: compare_rdms(np.ones(7), np.ones(7)), "not n\\*\\(n-1\\)/2"),
        (lambda X: compare_rdms(np.ones(6), np.ones(6), method="kendall"), "method must be one of"),
        (lambda X: RDM(np.ones(5), 4, "given"), r"dissimilarities must have shape \(n_rdms, 6\)"),
    ],
)
def test_errors_name_the_argument(X, call, match):
    with pytest.raises(ValueError, match=match):
        call(X)


def _random_rdms(rng, k, n, ties):
    v = rng.normal(size=(k, n * (n - 1) // 2))
    return np.round(v) if ties else v


@pytest.mark.parametrize("ties", [False, True])
def test_compare_matches_scipy(ties):
    rng = np.random.default_rng(5)
    A, B = _random_rdms(rng, 3, 10, ties), _random_rdms(rng, 4, 10, ties)
    got = {m: compare_rdms(A, B, m) for m in ("cosine", "pearson", "spearman", "tau_a")}
    assert got["tau_a"].shape == (3, 4)
    m = A.shape[1]
    for i in range(3):
        for j in range(4):
            a, b = A[i], B[j]
            np.testing.assert_allclose(got["cosine"][i, j], a @ b / np.linalg.norm(a) / np.linalg.norm(b), **TOL)
            np.testing.assert_allclose(got["pearson"][i, j], pearsonr(a, b)[0], **TOL)
            np.testing.assert_allclose(got["spearman"][i, j], spearmanr(a, b)[0], **TOL)
            # tau_a = tau_b * sqrt((n0 - n1)(n0 - n2)) / n0
            tb = kendalltau(a, b).statistic
            n0 = m * (m - 1) / 2
            n1 = sum(c * (c - 1) / 2 for c in np.unique(a, return_counts=True)[1])
            n2 = sum(c * (c - 1) / 2 for c in np.unique(b, return_counts=True)[1])
            np.testing.assert_allclose(got["tau_a"][i, j], tb * np.sqrt((n0 - n1) * (n0 - n2)) / n0, **TOL)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("cosine", "cosine"), ("pearson", "corr"), ("spearman", "spearman"), ("rho_a", "rho-a"),
     ("tau_a", "tau-a"), ("whitened_cosine", "cosine_cov")],
)
def test_compare_matches_rsatoolbox(ours, theirs, ties):
    rng = np.random.default_rng(6)
    A = _random_rdms(rng, 3, 12, ties) + 3  # positive, like dissimilarities
    B = _random_rdms(rng, 2, 12, ties) + 3
    ref = rsatoolbox.rdm.compare(rsatoolbox.rdm.RDMs(A), rsatoolbox.rdm.RDMs(B), method=theirs)
    np.testing.assert_allclose(compare_rdms(A, B, ours), ref, **TOL)


def test_tau_a_large_rdm_matches_rsatoolbox():
    # 92 conditions as in the benchmark: the block decomposition spans several blocks
    rng = np.random.default_rng(7)
    A = np.round(rng.normal(size=(2, 4186)) * 3)
    B = rng.normal(size=(3, 4186))
    ref = rsatoolbox.rdm.compare(rsatoolbox.rdm.RDMs(A), rsatoolbox.rdm.RDMs(B), method="tau-a")
    np.testing.assert_allclose(compare_rdms(A, B, "tau_a"), ref, **TOL)


def test_compare_self_and_invariances():
    rng = np.random.default_rng(8)
    A = rng.random((3, 15))
    for method in ("cosine", "pearson", "spearman", "whitened_cosine"):
        np.testing.assert_allclose(np.diag(compare_rdms(A, A, method)), 1.0, **TOL)
    np.testing.assert_allclose(np.diag(compare_rdms(A, A, "tau_a")), 1.0, **TOL)
    # rank methods see only the order: a monotone transform changes nothing
    for method in ("spearman", "tau_a", "rho_a"):
        np.testing.assert_allclose(compare_rdms(A, A**3 + 1, method), compare_rdms(A, A, method), **TOL)
    # RDM objects and full matrices are accepted
    r = RDM(A, 6, "given")
    np.testing.assert_allclose(compare_rdms(r, r.matrices, "pearson"), compare_rdms(A, A, "pearson"), **TOL)


def _tau_a_brute(a, b):
    s = np.sign(a[:, None] - a[None, :]) * np.sign(b[:, None] - b[None, :])
    m = a.size
    return np.triu(s, 1).sum() / (m * (m - 1) / 2)


@pytest.fixture(params=["kernel", "numpy"])
def tau_a_path(request, monkeypatch):
    """Run a test on both τ_a paths: scipy's compiled kernel and the pure-numpy fallback."""
    from brainlike.analysis.similarity import _rdm

    if request.param == "kernel":
        assert _rdm._kendall_dis_kernel() is not None, "scipy's _kendall_dis is not usable here"
    else:
        monkeypatch.setattr(_rdm, "_KENDALL_DIS", False)
        assert _rdm._kendall_dis_kernel() is None
    return request.param


@pytest.mark.parametrize("case", ["no_ties", "ties_a", "ties_b", "ties_both", "few_vs_many"])
def test_tau_a_paths_exact(tau_a_path, case):
    rng = np.random.default_rng(11)
    m = 13 * 12 // 2
    A, B = rng.normal(size=(3, m)), rng.normal(size=(4, m))
    if case in ("ties_a", "ties_both"):
        A = np.round(A)
    if case in ("ties_b", "ties_both"):
        B = np.round(B * 2)
    if case == "few_vs_many":  # the Fenwick tree goes on A for some pairs and on B for others
        A[0] = np.round(A[0])
        B[1] = np.round(B[1] * 3)
        A[2] = rng.integers(0, 2, m)
    got = compare_rdms(A, B, "tau_a")
    want = np.array([[_tau_a_brute(a, b) for b in B] for a in A])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    ref = rsatoolbox.rdm.compare(rsatoolbox.rdm.RDMs(A), rsatoolbox.rdm.RDMs(B), method="tau-a")
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(compare_rdms(B, A, "tau_a"), got.T, rtol=0, atol=1e-12)


def test_tau_a_paths_agree_at_benchmark_size(tau_a_path):
    rng = np.random.default_rng(12)
    A = rng.normal(size=(2, 4186))
    B = np.round(rng.normal(size=(3, 4186)) * 2)
    A[1] = np.round(A[1] * 4)  # ties in both for some pairs
    ref = rsatoolbox.rdm.compare(rsatoolbox.rdm.RDMs(A), rsatoolbox.rdm.RDMs(B), method="tau-a")
    np.testing.assert_allclose(compare_rdms(A, B, "tau_a"), ref, rtol=0, atol=1e-12)


def test_kendall_dis_self_check_rejects_a_wrong_kernel():
    from scipy.stats._stats import _kendall_dis

    from brainlike.analysis.similarity._rdm import _check_kendall_dis

    def raises(x, y):
        raise TypeError("changed signature")

    assert _check_kendall_dis(_kendall_dis)
    assert not _check_kendall_dis(lambda x, y: 0)
    assert not _check_kendall_dis(raises)
