"""Feature use: kernels and MI recover planted observer weights, permutation p-values are uniform
under the null, the vectorized MI equals the per-permutation formula, observers, CSV responses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import kstest

from brainlike.analysis import (
    NetworkObserver,
    SimulatedObserver,
    feature_use,
    gaussian_mi,
    load_responses,
)
from brainlike.analysis.features._information import (
    _mi_continuous,
    _mi_discrete,
    _mi_gaussian_discrete,
    copula_normalize,
)
from brainlike.tasks import ShapeTextureGenerator

GEN = ShapeTextureGenerator(16, seed=0)
IDS = [GEN.identity(k) for k in range(GEN.n_identities)]


def test_vectorized_permutation_mi_equals_the_formula_per_permutation():
    rng = np.random.default_rng(0)
    n = 120
    x = copula_normalize(rng.standard_normal((n, 3)) + np.array([0.0, 0.5, 0.0]))
    y = copula_normalize(x[:, 0] + x[:, 2] + rng.standard_normal(n))[:, 0]
    rows = np.vstack([y[None], y[np.argsort(rng.random((5, n)), axis=1)]])
    labels = np.where(x[:, 1] > 0.3, 2, rng.integers(0, 2, n))
    lab_rows = np.vstack([labels[None], labels[np.argsort(rng.random((5, n)), axis=1)]])
    for cols in ([0], [1], [0, 2], [0, 1, 2]):
        np.testing.assert_allclose(
            _mi_continuous(x[:, cols], rows), [gaussian_mi(x[:, cols], r) for r in rows],
            rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            _mi_discrete(x[:, cols], lab_rows),
            [_mi_gaussian_discrete(x[:, cols], r, True) for r in lab_rows], rtol=1e-10, atol=1e-12)


def test_kernels_and_mi_recover_a_linear_observers_planted_weights():
    rng = np.random.default_rng(1)
    n = 6000
    names = ["s1", "s2", "s3", "t1", "t2", "t3"]
    w = np.array([1.0, -0.6, 0.3, 0.0, 0.0, 0.0])
    f = {k: rng.standard_normal(n) for k in names}
    x = np.stack([f[k] for k in names], 1)
    rating = x @ w + 0.5 * rng.standard_normal(n)
    choice = (x @ w + 0.5 * rng.standard_normal(n)) > 0
    fu = feature_use(f, {"rating": rating, "choice": choice}, discrete={"choice": True},
                     groups={"shape": names[:3], "texture": names[3:]}, n_permutations=200)
    # kernel_j = w_j sd(f_j) / sd(r) for the rating: unit-variance features, sd(r) = |w|-ish
    sd = np.sqrt(w @ w + 0.25)
    np.testing.assert_allclose(fu.kernel[0], w / sd, atol=0.03)  # corr s.e. ~ 1/sqrt(6000)
    for row in fu.kernel:
        assert row @ w / np.linalg.norm(row) / np.linalg.norm(w) > 0.99
    assert fu.used("rating") == ["s1", "s2", "s3"] and fu.used("choice") == ["s1", "s2", "s3"]
    assert fu.shared() == ["s1", "s2", "s3"]
    assert fu.group_p_value[:, 0].max() < 0.01 and fu.group_p_value[:, 1].min() > 0.05
    for who in ("rating", "choice"):
        assert fu.group_share(who)["shape"] > 0.99
    # jointly Gaussian: the shape group's MI is -1/2 log2(1 - R^2) with R^2 = |w|^2 / var(r)
    exact = -0.5 * np.log2(1 - (w @ w) / (w @ w + 0.25))
    assert abs(fu.group_mi[0, 0] - exact) < 0.05


def test_simulated_observer_kernels_point_at_its_weights_in_each_paradigm():
    """The evidence for identity a over b is linear in the factors with kernel 2 w_f (a_f - b_f):
    reverse correlation recovers it, only on the factors the observer weighs."""
    rc = GEN.reverse_correlation_set(4000, seed=0)
    table = {k: rc.conditions[k] for k in GEN.factor_names}
    weights = {"shape_1": 1.0, "shape_2": 1.0, "shape_3": 0.5, "shape_4": 0.5}
    obs = SimulatedObserver(weights, identities=IDS, noise=1.0, seed=0)
    texture_obs = SimulatedObserver({"texture": 1.0}, identities=IDS, groups=GEN.groups, seed=1)
    ev = obs.evidence(rc, 0, 1)
    fu = feature_use(table, {"shape": ev, "texture": texture_obs.evidence(rc, 0, 1) > 0},
                     discrete={"texture": True}, groups=GEN.groups, n_permutations=200)
    planted = np.array([2 * weights.get(k, 0.0) * (IDS[0].get(k, 0) - IDS[1].get(k, 0))
                        for k in GEN.factor_names])
    cos = fu.kernel[0] @ planted / np.linalg.norm(fu.kernel[0]) / np.linalg.norm(planted)
    assert cos > 0.99
    assert set(fu.used("shape")) <= set(GEN.groups["shape"])
    assert set(fu.used("texture")) <= set(GEN.groups["texture"]) and fu.used("texture")
    assert fu.group_share("shape")["shape"] > 0.95 and fu.group_share("texture")["texture"] > 0.95
    cmp = fu.compare("shape", "texture")
    assert cmp.overlap == 0.0 and cmp.shared == () and abs(cmp.tau) < 0.05
    assert abs(cmp.kernel_similarity) < 0.1 and cmp.response_p_value > 0.01
    same = feature_use(table, {"a": ev, "b": ev}, n_permutations=50).compare("a", "b")
    assert same.tau == pytest.approx(1.0) and same.kernel_similarity == pytest.approx(1.0)
    assert same.overlap == 1.0 and same.response_p_value == pytest.approx(1 / 51)
    # two observers' choices: the plug-in MI of identical choices is their entropy
    c = ev > np.median(ev)
    choices = feature_use(table, {"a": c, "b": c}, discrete=True, n_permutations=50).compare("a", "b")
    assert choices.response_mi == pytest.approx(1.0, abs=1e-9) and choices.tau == pytest.approx(1.0)


def test_simulated_observer_identifies_and_judges_in_its_own_space():
    ident = GEN.identification_set(10, seed=0)
    for space, key in (("shape", "shape_identity"), ("texture", "texture_identity")):
        obs = SimulatedObserver({space: 1.0}, identities=IDS, groups=GEN.groups, noise=0.0)
        assert (obs.identify(ident) == ident.conditions[key]).mean() > 0.95
        trials = GEN.similarity_set(400, seed=1)
        np.testing.assert_array_equal(obs.judge(trials), trials.closer[space])  # noise-free
    both = SimulatedObserver({"shape": 1.0, "texture": 1.0}, groups=GEN.groups, noise=0.0)
    np.testing.assert_array_equal(both.judge(trials), trials.closer["both"])
    rating = SimulatedObserver({"shape": 1.0}, identities=IDS, groups=GEN.groups, noise=0.0)
    np.testing.assert_allclose(rating.rate({k: [v] for k, v in IDS[2].items()}, 2), [0.0])
    blind = SimulatedObserver({"shape": 0.0}, groups=GEN.groups, noise=0.0)
    np.testing.assert_array_equal(blind.distance2(trials.first, trials.reference), np.zeros(400))


class _PixelNet(torch.nn.Module):
    """Logits (x0, -x0) from the mean of the image's left half; activity = the image."""

    def forward(self, x):
        a = x[:, 0, :, : x.shape[-1] // 2].mean(dim=(1, 2))
        return type("Out", (), {"outputs": torch.stack([a, -a], 1), "activity": x.flatten(1)})


def test_network_observer_reads_logits_and_representation():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((50, 1, 4, 4)).astype(np.float32)
    net = NetworkObserver(_PixelNet(), batch_size=7)
    a = images[:, 0, :, :2].mean(axis=(1, 2))
    np.testing.assert_allclose(net.evidence(images, 0, 1), 2 * a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.rate(images, 0), 2 * a, rtol=1e-5, atol=1e-6)  # 2 classes
    np.testing.assert_array_equal(net.identify(images), (a < 0).astype(int))
    ref, first = images[:25], images[25:]
    trials = type("T", (), {"reference": ref, "first": first, "second": ref + 0.01})
    assert (net.judge(trials) == 1).all()
    with pytest.raises(ValueError, match=r"an identity must be an int in \[0, 2\); got 2"):
        net.evidence(images, 0, 2)


def test_permutation_p_values_are_uniform_under_the_null():
    """Independent responses: the family-wise p-value of the best feature is uniform (it is the
    rank of the observed maximum among the permutation maxima), and so is the groups'."""
    rng = np.random.default_rng(2)
    pmin, gmin, pdisc = [], [], []
    for k in range(200):
        f = {f"f{j}": rng.standard_normal(80) for j in range(4)}
        fu = feature_use(f, {"r": rng.standard_normal(80), "c": rng.integers(0, 2, 80)},
                         discrete={"c": True}, groups={"a": ["f0", "f1"], "b": ["f2", "f3"]},
                         n_permutations=99, seed=k)
        pmin.append(fu.p_value[0].min())
        pdisc.append(fu.p_value[1].min())
        gmin.append(fu.group_p_value[0].min())
    for p in (pmin, pdisc, gmin):
        p = np.asarray(p)
        assert kstest(p, "uniform").pvalue > 0.01
        assert 0.015 < (p <= 0.05).mean() < 0.095  # FWER at 5 %: binomial sd 0.015


def test_feature_use_errors_name_the_problem():
    f = {"a": np.arange(10.0), "b": np.arange(10.0) % 3}
    r = {"x": np.arange(10.0)}
    with pytest.raises(ValueError, match=r"features \['c'\] are constant: they carry no information"):
        feature_use({**f, "c": np.ones(10)}, r)
    with pytest.raises(ValueError, match=r"responses\['x'\] are constant"):
        feature_use(f, {"x": np.ones(10)})
    with pytest.raises(ValueError, match=r"groups\['shape'\] names features the table lacks: \['c'\]"):
        feature_use(f, r, groups={"shape": ["a", "c"]})
    with pytest.raises(ValueError, match=r"responses\['x'\] are discrete but take a single value"):
        feature_use(f, {"x": np.zeros(10)}, discrete=True)
    with pytest.raises(ValueError, match=r"features\['a'\] must be numeric or boolean; got dtype <U1"):
        feature_use({"a": np.array(list("abcdefghij"))}, r)
    fu = feature_use({"a": np.random.default_rng(0).standard_normal(10)}, r, n_permutations=5)
    with pytest.raises(ValueError, match=r"unknown responder 'y'; the responders are \['x'\]"):
        fu.compare("x", "y")
    with pytest.raises(ValueError, match=r"The 'alpha' parameter of feature_use must be a float"):
        feature_use(f, r, alpha=True)
    with pytest.raises(ValueError, match=r"weights\['shape'\] of SimulatedObserver must be a finite float >= 0"):
        SimulatedObserver({"shape": -1.0})
    with pytest.raises(ValueError, match=r"identities\[0\] lacks the weighted factor\(s\) \['colour'\]"):
        SimulatedObserver({"colour": 1.0}, identities=IDS)
    with pytest.raises(ValueError, match=r"the stimuli lack the factor 'colour' the observer weighs"):
        SimulatedObserver({"colour": 1.0}).distance2({"shape_1": [0.0]}, {"colour": 0.0})
    with pytest.raises(ValueError, match=r"this paradigm needs the observer's identities"):
        SimulatedObserver({"shape_1": 1.0}).rate({"shape_1": [0.0]}, 0)


def test_load_responses_reads_a_csv_and_names_missing_columns(tmp_path):
    rc = GEN.reverse_correlation_set(40, seed=0)
    obs = SimulatedObserver({"shape": 1.0}, identities=IDS, groups=GEN.groups, seed=0)
    import pandas as pd

    frame = pd.DataFrame({"trial": np.arange(40), **{k: rc.conditions[k] for k in GEN.factor_names},
                          "response": obs.evidence(rc, 0, 1) > 0, "rt_ms": 500.0})
    path = tmp_path / "person.csv"
    frame.to_csv(path, index=False)
    got = load_responses(path, factors=GEN.groups)
    assert list(got.factors) == list(GEN.factor_names)
    np.testing.assert_allclose(got.factors["shape_2"], rc.conditions["shape_2"], rtol=1e-12)
    np.testing.assert_array_equal(got.responses, frame["response"].to_numpy(float))
    frame.drop(columns=["shape_3", "response"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"person.csv lacks the column\(s\) \['shape_3', 'response'\]; "
                                         r"it has \['trial', 'shape_1', 'shape_2', 'shape_4'"):
        load_responses(path, factors=GEN.factor_names)
    bad = frame.astype({"x": object})
    bad.loc[3, "x"] = "left"
    bad.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"column 'x' must hold finite numbers; row 4 \(after the header\) holds 'left'"):
        load_responses(path, factors=["x"], response="rt_ms")
    with pytest.raises(FileNotFoundError, match=r"load_responses: .*nope.csv is not a file"):
        load_responses(tmp_path / "nope.csv", factors=["x"])
