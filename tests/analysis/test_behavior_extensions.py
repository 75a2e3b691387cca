"""Psychometric fits per group, chronometric curves and accuracy by condition: planted values."""

import numpy as np
import pytest
from scipy import special

from brainlike.analysis import (
    DegenerateFitWarning,
    accuracy_by_condition,
    chronometric,
    fit_psychometric,
    fit_psychometric_by_group,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_psychometric_parameters_per_group_are_recovered(seed):
    rng = np.random.default_rng(seed)
    planted = {"motion": (-4.0, 3.0), "color": (2.0, 8.0), "both": (0.0, 5.0)}
    levels = np.repeat(np.linspace(-40, 40, 17), 1500)
    x, chose, group = [], [], []
    for name, (bias, scale) in planted.items():
        x.append(levels)
        chose.append(rng.random(levels.size) < special.expit((levels - bias) / scale))
        group.append(np.full(levels.size, name))
    x, chose, group = np.concatenate(x), np.concatenate(chose), np.concatenate(group)
    perm = rng.permutation(x.size)  # the trial order must not matter
    res = fit_psychometric_by_group(x[perm], chose[perm], group[perm])
    assert res.groups.tolist() == sorted(planted)
    np.testing.assert_array_equal(res.counts, levels.size)
    for g, bias, scale in zip(res.groups, res.bias, res.scale):
        b, s = planted[g]
        # 25,500 trials per group: ML standard errors <= ~0.15 (bias) and ~0.1 (scale at 8).
        assert abs(bias - b) < 0.6 and abs(scale - s) < 0.1 * s
    # Each group's fit is the fit of its trials alone.
    alone = fit_psychometric(x[group == "color"], chose[group == "color"])
    assert res.fit_for("color").bias == pytest.approx(alone.bias, rel=1e-9)
    assert res.fit_for("color").scale == pytest.approx(alone.scale, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_chronometric_curve_is_recovered(seed):
    rng = np.random.default_rng(seed)
    coh = np.array([0.0, 3.2, 6.4, 12.8, 25.6, 51.2])
    planted = 300.0 + 500.0 / (1.0 + coh / 10.0)  # mean RT falls with coherence (ms)
    x = np.repeat(coh, 800)
    rt = np.repeat(planted, 800) + rng.normal(0, 80.0, x.size)
    correct = rng.random(x.size) < 0.8
    rt[rng.random(x.size) < 0.05] = np.nan  # no response
    res = chronometric(x, rt)
    np.testing.assert_array_equal(res.levels, coh)
    # ~760 trials per level, sd 80: sem ~2.9 ms, so 6 sem ~ 17 ms.
    assert (np.abs(res.mean_rt - planted) < 6 * res.sem).all()
    np.testing.assert_allclose(res.sem, 80.0 / np.sqrt(res.counts), rtol=0.1)
    assert res.n_excluded == int(np.isnan(rt).sum())
    assert (np.diff(res.mean_rt) < 0).all()
    # Correct trials only: exactly the per-level means of those trials.
    only = chronometric(x, rt, correct=correct)
    keep = correct & ~np.isnan(rt)
    expect = [rt[keep & (x == c)].mean() for c in coh]
    np.testing.assert_allclose(only.mean_rt, expect, rtol=1e-12)
    assert only.counts.sum() + only.n_excluded == x.size


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_accuracy_by_condition_table(seed):
    rng = np.random.default_rng(seed)
    planted = {(0, 5.0): 0.6, (0, 50.0): 0.95, (1, 5.0): 0.55, (1, 50.0): 0.9}
    ctx, coh, correct = [], [], []
    for (c, h), p in planted.items():
        n = 2000 + 500 * c
        ctx.append(np.full(n, c))
        coh.append(np.full(n, h))
        correct.append(rng.random(n) < p)
    ctx, coh, correct = np.concatenate(ctx), np.concatenate(coh), np.concatenate(correct)
    perm = rng.permutation(ctx.size)
    res = accuracy_by_condition(correct[perm], {"context": ctx[perm], "coherence": coh[perm]})
    assert res.names == ("context", "coherence")
    rows = {(r["context"], r["coherence"]): r for r in res.rows()}
    assert set(rows) == set(planted)
    for key, p in planted.items():
        sel = (ctx == key[0]) & (coh == key[1])
        assert rows[key]["counts"] == int(sel.sum())
        assert rows[key]["accuracy"] == pytest.approx(correct[sel].mean(), rel=1e-12)
        assert abs(rows[key]["accuracy"] - p) < 0.04  # n >= 2000: binomial se <= 0.011
    np.testing.assert_allclose(res.sem, np.sqrt(res.accuracy * (1 - res.accuracy) / res.counts))
    # One variable: the marginal accuracy.
    marg = accuracy_by_condition(correct, {"context": ctx})
    np.testing.assert_allclose(marg.accuracy, [correct[ctx == 0].mean(), correct[ctx == 1].mean()])


def test_behaviour_extension_errors():
    with pytest.raises(ValueError, match="groups must have one value per trial"):
        fit_psychometric_by_group([0, 1, 2], [True, False, True], [0, 1])
    with pytest.raises(ValueError, match="group 1 has fewer than 2 distinct stimulus levels"), \
            pytest.warns(DegenerateFitWarning, match="choices fall"):  # group 0: [0, 1] -> [1, 0]
        fit_psychometric_by_group([0, 1, 2, 2], [True, False, True, False], [0, 0, 1, 1])
    with pytest.raises(KeyError, match="group 'x' not in"), pytest.warns(
            DegenerateFitWarning, match="choices fall as the stimulus grows"):
        fit_psychometric_by_group([0, 1, 0, 1], [True, False, True, False],
                                  ["a", "a", "b", "b"]).fit_for("x")
    with pytest.raises(ValueError, match="stimulus and reaction_time must be 1-D"):
        chronometric([0, 1], [1.0])
    with pytest.raises(ValueError, match="correct must be boolean"):
        chronometric([0, 1], [1.0, 2.0], correct=[0.5, 1])
    with pytest.raises(ValueError, match="no trial has a reaction time"):
        chronometric([0, 1], [np.nan, np.nan])
    with pytest.raises(ValueError, match="correct must be 1-D boolean"):
        accuracy_by_condition([0.5, 1], {"a": [0, 1]})
    with pytest.raises(ValueError, match="conditions must be a non-empty mapping"):
        accuracy_by_condition([True], {})
    with pytest.raises(ValueError, match=r"condition 'a' must have one value per trial \(2\)"):
        accuracy_by_condition([True, False], {"a": [0, 1, 2]})
