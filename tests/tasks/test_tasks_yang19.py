"""Facts about the Yang et al. 2019 suite: the paper's encoding, mask, noise and score."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brainlike.tasks import make, names

YANG = [n for n in names() if n.startswith("yang19.")]


def test_twenty_tasks_share_one_encoding():
    assert len(YANG) == 20
    tasks = [make(n) for n in YANG]
    assert {t.input_names for t in tasks} == {tasks[0].input_names}
    assert {t.output_names for t in tasks} == {tasks[0].output_names}
    t = tasks[0]
    assert (t.n_inputs, t.n_outputs) == (85, 33)  # 1 + 2*32 + 20, 1 + 32
    assert t.input_names[0] == "fixation" and t.input_names[65] == "rule_go"
    assert t.output_names[0] == "fixate"


@pytest.mark.parametrize("name", YANG)
def test_rule_input_is_one_hot_on_valid_steps(name):
    b = make(name).generate(8, seed=0, noise=False)
    rules = b.inputs[..., 65:]
    valid = np.arange(b.n_steps) < b.lengths[:, None]
    k = [r.removeprefix("rule_") for r in b.input_names[65:]].index(name.removeprefix("yang19."))
    np.testing.assert_array_equal(rules[..., k], valid)
    assert rules.sum(axis=-1)[valid].max() == 1.0


def test_go_stimulus_is_a_bump_at_its_location():
    task = make("yang19.go")
    loc, mod = math.pi / 2, 2  # unit 8 of ring 2 prefers π/2 exactly
    b = task.generate(2, seed=0, conditions={"stim_loc": loc, "stim_mod": mod}, noise=False)
    t = b.epochs["stim1"][0, 0]
    ring2 = b.inputs[0, t, 33:65]
    assert ring2.argmax() == 8 and np.isclose(ring2.max(), 0.8)
    # one neighbour is π/16 = half a unit of π/8 away: 0.8 exp(-0.5² / 2)
    assert np.isclose(ring2[9], 0.8 * np.exp(-(0.5**2) / 2), rtol=1e-6)
    assert (b.inputs[0, t, 1:33] == 0).all()  # modality 1 silent
    # fixation input on until the go epoch, off during it; target follows
    go, end = b.epochs["go1"][0]
    assert (b.inputs[0, :go, 0] == 1).all() and (b.inputs[0, go:end, 0] == 0).all()
    np.testing.assert_allclose(b.targets[0, :go, 0], 0.8)
    np.testing.assert_allclose(b.targets[0, go:end, 0], 0.05)
    last = b.targets[0, end - 1, 1:]
    assert np.isclose(last.max(), 0.85) and last.argmax() == 8


def test_anti_responds_opposite_the_stimulus():
    b = make("yang19.anti").generate(64, seed=0)
    d = np.mod(b.conditions["response_loc"] - b.conditions["stim_loc"], 2 * np.pi)
    np.testing.assert_allclose(d, np.pi)


def test_noise_std_is_sigma_x_sqrt_2_over_alpha():
    task = make("yang19.dm1", dt=20.0, tau=100.0, sigma_x=0.1)
    assert np.isclose(task.noise_std, 0.1 * np.sqrt(2 / 0.2))
    noisy = task.generate(64, seed=3)
    clean = task.generate(64, seed=3, noise=False)
    valid = np.arange(noisy.n_steps) < noisy.lengths[:, None]
    eps = (noisy.inputs - clean.inputs)[valid]
    # ~500k samples: the sample std is within 1% of the true one (SE 0.1%)
    assert abs(eps.std() / task.noise_std - 1) < 0.01


def test_dm_targets_the_stronger_stimulus():
    task = make("yang19.dm1")
    b = task.generate(256, seed=0)
    c = b.conditions
    want = np.where(c["stim1_strength"] > c["stim2_strength"], c["stim1_loc"], c["stim2_loc"])
    np.testing.assert_array_equal(c["response_loc"], want)
    diff = np.abs(c["stim1_strength"] - c["stim2_strength"]) / 2
    np.testing.assert_allclose(np.unique(np.round(diff, 9)), [0.01, 0.02, 0.04, 0.08])


def test_multidm_targets_the_summed_stronger_stimulus():
    b = make("yang19.multidm").generate(256, seed=0)
    c = b.conditions
    s1 = c["stim1_mod1_strength"] + c["stim1_mod2_strength"]
    s2 = c["stim2_mod1_strength"] + c["stim2_mod2_strength"]
    np.testing.assert_array_equal(c["response_loc"], np.where(s1 > s2, c["stim1_loc"], c["stim2_loc"]))


@pytest.mark.parametrize(("name", "go_on_match"), [("yang19.dms", True), ("yang19.dnms", False)])
def test_match_tasks_go_or_fixate(name, go_on_match):
    b = make(name).generate(256, seed=0)
    c = b.conditions
    go = c["match"] == int(go_on_match)
    assert 0.35 < go.mean() < 0.65
    np.testing.assert_array_equal(c["response_loc"] >= 0, go)
    last = b.targets[np.arange(256), b.lengths - 1, 0]
    np.testing.assert_allclose(last, np.where(go, 0.05, 0.8))
    d = np.abs(np.mod(c["stim2_loc"] - c["stim1_loc"] + np.pi, 2 * np.pi) - np.pi)
    assert (d[c["match"] == 1] < 1e-9).all() and (d[c["match"] == 0] >= np.pi / 9 - 1e-9).all()


def test_dmc_category_is_below_pi():
    b = make("yang19.dmc").generate(256, seed=0)
    c = b.conditions
    np.testing.assert_array_equal(c["stim1_category"], c["stim1_loc"] < np.pi)
    np.testing.assert_array_equal(c["match"], c["stim1_category"] == c["stim2_category"])


def test_score_rejects_wrong_direction_and_early_break():
    task = make("yang19.go")
    b = task.generate(32, seed=0)
    out = np.array(b.targets)
    assert task.score(out, b).accuracy == 1.0
    rot = out.copy()
    rot[..., 1:] = np.roll(out[..., 1:], 4, axis=-1)  # rotate by 4 units = π/4 > 0.2π
    assert task.score(rot, b).accuracy == 0.0
    ok = out.copy()
    ok[..., 1:] = np.roll(out[..., 1:], 3, axis=-1)  # 3 units = 0.1875π < 0.2π
    assert task.score(ok, b).accuracy == 1.0


def test_grid_is_the_papers_noise_free_test_grid():
    task = make("yang19.ctxdm1")
    g1, g2 = task.grid(), task.grid()
    assert g1.batch_size == 20 * 5 * 5
    np.testing.assert_array_equal(g1.inputs, g2.inputs)
    assert len(set(g1.lengths.tolist())) == 1 and g1.lengths[0] == 2000 // 20
    c = g1.conditions
    np.testing.assert_allclose(c["stim2_mod1_strength"], 2 - c["stim1_mod1_strength"])
    # noise-free: the fixation input takes exactly 0 or 1
    assert set(np.unique(g1.inputs[..., 0])) <= {0.0, 1.0}


def test_explicit_parameters_give_a_psychometric_sweep():
    task = make("yang19.dm1")
    s1 = np.repeat([0.9, 0.98, 1.02, 1.1], 16)
    b = task.generate(s1.size, seed=0, conditions={"stim1_strength": s1, "stim2_strength": 2 - s1})
    c = b.conditions
    np.testing.assert_array_equal(c["response_loc"] == c["stim1_loc"], s1 > 1)


def test_generic_grid_takes_explicit_values():
    task = make("yang19.dlygo")
    g = task.grid({"stim_loc": [0.0, np.pi], "stim_mod": [1, 2]})
    assert g.batch_size == 4
    np.testing.assert_array_equal(g.conditions["stim_mod"], [1, 2, 1, 2])
    with pytest.raises(ValueError, match=r"conditions\[.stim_mod.\] must be one of \[1, 2\], got 3.0"):
        task.grid({"stim_mod": [3]})
    with pytest.raises(ValueError, match="has no default grid"):
        make("memory_report").grid()


def _papers_popvec(y: np.ndarray) -> np.ndarray:
    """``popvec`` of gyyang/multitask ``network.py``, written out as the paper's code does it."""
    pref = np.arange(0, 2 * np.pi, 2 * np.pi / y.shape[-1])
    temp_sum = y.sum(axis=-1)
    temp_cos = np.sum(y * np.cos(pref), axis=-1) / temp_sum
    temp_sin = np.sum(y * np.sin(pref), axis=-1) / temp_sum
    return np.mod(np.arctan2(temp_sin, temp_cos), 2 * np.pi)


def test_population_vector_is_the_papers_also_for_a_negative_ring_total():
    from brainlike.tasks.yang19 import bump, population_vector

    rng = np.random.default_rng(0)
    ring = np.concatenate([rng.normal(0.1, 0.3, (200, 32)), -rng.random((50, 32))])
    assert (ring.sum(-1) < 0).sum() >= 50  # a linear readout can make the total negative
    np.testing.assert_allclose(population_vector(ring), _papers_popvec(ring), rtol=0, atol=1e-12)
    # A negative bump (total < 0): the paper's division by the total turns the raw vector
    # sum's direction back by pi, onto the bump's own location.
    loc = np.array([0.5, 2.0, 4.0])
    np.testing.assert_allclose(population_vector(-bump(loc)), loc, atol=1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(population_vector(np.zeros((1, 32)))).all() and np.isnan(
            _papers_popvec(np.zeros((1, 32)))).all()


def test_score_decodes_a_negative_ring_as_the_paper_does():
    task = make("yang19.go")
    b = task.generate(32, seed=0)
    out = np.array(b.targets)
    last = b.lengths - 1
    rows = np.arange(32)
    out[rows, last, 1:] = -out[rows, last, 1:]  # the ring negated: total < 0, same popvec
    score = task.score(out, b)
    assert score.accuracy == 1.0
    out[rows, last, 1:] = 0.0  # no direction at all: never correct, no decision
    score = task.score(out, b)
    assert score.accuracy == 0.0 and (score.decision == -1).all()
