"""Per-task facts: encodings, noise scaling, ceilings, ground-truth rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brainlike.tasks import make

SEEDS = [0, 1, 2]


def epoch_values(batch, epoch, channel):
    """All values of input `channel` inside `epoch`, over trials."""
    t = np.arange(batch.n_steps)
    e = batch.epochs[epoch]
    where = (t >= e[:, :1]) & (t < e[:, 1:])
    return batch.inputs[..., batch.input_names.index(channel)][where]


# --------------------------------------------------------------------------- perceptual_decision
@pytest.mark.parametrize("seed", SEEDS)
def test_pdm_stimulus_mean_is_half_plus_minus_coh_over_200(seed):
    task = make("perceptual_decision")  # NeuroGym defaults: dt=100, noise std 0.1
    b = task.generate(200, seed=seed, conditions={"coherence": 25.6, "ground_truth": 2})
    right, left = epoch_values(b, "stimulus", "stim_right"), epoch_values(b, "stimulus", "stim_left")
    assert right.size == left.size == 200 * 20
    tol = 5 * task.noise_std / math.sqrt(right.size)  # 5 standard errors of the mean
    assert abs(right.mean() - (0.5 + 25.6 / 200)) < tol
    assert abs(left.mean() - (0.5 - 25.6 / 200)) < tol


@pytest.mark.parametrize(("dt", "sigma"), [(100.0, 1.0), (20.0, 1.0), (10.0, 0.5)])
def test_pdm_noise_std_is_sigma_over_sqrt_dt(dt, sigma):
    task = make("perceptual_decision", dt=dt, sigma=sigma)
    b = task.generate(100, seed=0, conditions={"coherence": 0.0})
    x = epoch_values(b, "stimulus", "stim_left")
    expected = sigma / math.sqrt(dt)
    assert task.noise_std == pytest.approx(expected)
    # relative SE of a sample std is ~ 1/sqrt(2n) (< 1.2% here); allow 5%
    assert abs(x.std() / expected - 1) < 0.05


def test_pdm_noise_only_on_stimulus_channels_in_stimulus_epoch():
    b = make("perceptual_decision", dt=20.0).generate(32, seed=0)
    for epoch in ("fixation", "delay", "decision"):
        assert (epoch_values(b, epoch, "stim_left") == 0).all()
        assert (epoch_values(b, epoch, "stim_right") == 0).all()
    for epoch in ("fixation", "stimulus", "delay"):
        assert (epoch_values(b, epoch, "fixation") == 1).all()
    assert (epoch_values(b, "decision", "fixation") == 0).all()


def test_pdm_trial_structure_matches_neurogym_defaults():
    task = make("perceptual_decision")
    b = task.generate(8, seed=0)
    assert b.n_steps == 22 and (b.lengths == 22).all()
    assert make("perceptual_decision", dt=20.0).generate(2, seed=0).n_steps == 110
    gt = b.conditions["ground_truth"]
    np.testing.assert_array_equal(b.targets[:, :21], 0)
    np.testing.assert_array_equal(b.targets[:, 21], gt)
    signed = b.conditions["signed_coherence"]
    np.testing.assert_array_equal(np.abs(signed), b.conditions["coherence"])
    assert ((signed >= 0) == (gt == 2))[b.conditions["coherence"] > 0].all()


def test_pdm_ceiling_matches_neurogym_ideal_observer():
    task = make("perceptual_decision")
    assert abs(task.ceiling - 0.896) < 0.005  # measured on NeuroGym: 0.8958
    assert make("perceptual_decision", sigma=0.0).ceiling == pytest.approx(0.9)  # coh 0 -> 0.5


@pytest.mark.parametrize("seed", [0, 1])
def test_pdm_ceiling_equals_empirical_ideal_observer(seed):
    task = make("perceptual_decision")
    n = 4000
    b = task.generate(n, seed=seed)
    t = np.arange(b.n_steps)
    e = b.epochs["stimulus"]
    w = (t >= e[:, :1]) & (t < e[:, 1:])
    evidence = ((b.inputs[..., 2] - b.inputs[..., 1]) * w).sum(axis=1)
    choice = np.where(evidence > 0, 2, 1)
    acc = (choice == b.conditions["ground_truth"]).mean()
    assert abs(acc - task.ceiling) < 5 * math.sqrt(0.1 * 0.9 / n)  # 5 binomial SEs


def test_pdm_conditions_override_psychometric_grid():
    cohs = np.array([0, 6.4, 12.8, 25.6, 51.2] * 2)
    b = make("perceptual_decision").generate(10, seed=0, conditions={"coherence": cohs})
    np.testing.assert_array_equal(b.conditions["coherence"], cohs)


def test_pdm_ceiling_averages_over_random_stimulus_durations():
    short = make("perceptual_decision", timing={"stimulus": 100}).ceiling
    long = make("perceptual_decision", timing={"stimulus": 2000}).ceiling
    mixed = make("perceptual_decision", timing={"stimulus": {"choice": [100, 2000]}}).ceiling
    assert short < mixed < long
    assert mixed == pytest.approx((short + long) / 2, abs=0.005)  # sampled mixture


# --------------------------------------------------------------------------- context_decision
@pytest.mark.parametrize("seed", SEEDS)
def test_context_ground_truth_follows_attended_modality(seed):
    b = make("context_decision").generate(300, seed=seed)
    c = b.conditions
    attended = np.where(c["context"] == 0, c["motion_coherence"], c["color_coherence"])
    ignored = np.where(c["context"] == 0, c["color_coherence"], c["motion_coherence"])
    np.testing.assert_array_equal(c["ground_truth"], np.where(attended > 0, 2, 1))
    # the ignored modality conflicts with the attended one on some trials
    assert (np.sign(attended) != np.sign(ignored)).any()


def test_context_encoding_without_noise():
    task = make("context_decision", sigma=0.0)
    b = task.generate(50, seed=0)
    c = b.conditions
    i = 7
    s = b.epochs["stimulus"][i]
    x = b.inputs[i, s[0]]
    names = b.input_names
    assert x[names.index("motion_2")] == pytest.approx(0.5 + c["motion_coherence"][i] / 200)
    assert x[names.index("color_1")] == pytest.approx(0.5 - c["color_coherence"][i] / 200)
    for k in range(50):
        cue = b.inputs[k, b.epochs["context"][k, 0] : b.lengths[k]]
        np.testing.assert_array_equal(cue[:, names.index("context_color")], c["context"][k])
        np.testing.assert_array_equal(cue[:, names.index("context_motion")], 1 - c["context"][k])
    assert (epoch_values(b, "decision", "fixation") == 0).all()
    assert (epoch_values(b, "delay", "fixation") == 1).all()


def test_context_zero_attended_coherence_is_a_coin_flip():
    b = make("context_decision").generate(
        200, seed=0, conditions={"context": 0, "motion_coherence": 0.0}
    )
    assert set(np.unique(b.conditions["ground_truth"])) == {1, 2}


# --------------------------------------------------------------------------- parametric WM
@pytest.mark.parametrize("seed", SEEDS)
def test_pwm_ground_truth_is_f1_greater_than_f2(seed):
    b = make("parametric_working_memory").generate(200, seed=seed)
    f1, f2 = b.conditions["f1"], b.conditions["f2"]
    np.testing.assert_array_equal(b.conditions["ground_truth"], np.where(f1 > f2, 1, 2))
    pairs = {(18, 10), (22, 14), (26, 18), (30, 22), (34, 26)}
    assert {tuple(sorted((a, b_), reverse=True)) for a, b_ in zip(f1, f2, strict=True)} <= pairs


def test_pwm_stimulus_encodes_frequency_like_neurogym():
    task = make("parametric_working_memory", sigma=0.0)
    b = task.generate(40, seed=0)
    for k in range(40):
        for epoch, f in (("f1", b.conditions["f1"][k]), ("f2", b.conditions["f2"][k])):
            s, e = b.epochs[epoch][k]
            np.testing.assert_allclose(b.inputs[k, s:e, 1], (1 + (f - 10) / 24) / 2, rtol=1e-6)
    assert set(np.diff(b.epochs["delay"], axis=1)[:, 0]) <= {2, 4, 8, 16, 32}


@pytest.mark.parametrize("seed", [0, 1])
def test_pwm_ceiling_equals_empirical_ideal_observer(seed):
    task = make("parametric_working_memory", sigma=3.0)  # noisy enough to be < 1
    n = 4000
    b = task.generate(n, seed=seed)
    t = np.arange(b.n_steps)

    def mean_in(epoch):
        e = b.epochs[epoch]
        w = (t >= e[:, :1]) & (t < e[:, 1:])
        return (b.inputs[..., 1] * w).sum(1) / w.sum(1)

    acc = (np.where(mean_in("f1") > mean_in("f2"), 1, 2) == b.conditions["ground_truth"]).mean()
    p = task.ceiling
    assert 0.6 < p < 0.99
    assert abs(acc - p) < 5 * math.sqrt(p * (1 - p) / n)
    assert make("parametric_working_memory", sigma=0.0).ceiling == 1.0


# --------------------------------------------------------------------------- match tasks
@pytest.mark.parametrize("seed", SEEDS)
def test_dms_match_and_ring_encoding(seed):
    task = make("delayed_match_to_sample", sigma=0.0)
    b = task.generate(200, seed=seed)
    c = b.conditions
    np.testing.assert_array_equal(c["match"], c["test"] == c["sample"])
    np.testing.assert_array_equal(c["ground_truth"], np.where(c["match"] == 1, 1, 2))
    assert 0.3 < c["match"].mean() < 0.7  # p = 0.5; 200 trials -> SE 0.035
    rows = np.arange(200)
    for epoch in ("sample", "test"):
        x = b.inputs[rows, b.epochs[epoch][:, 0], 1:]
        np.testing.assert_array_equal(np.argmax(x, axis=1), c[epoch])
        np.testing.assert_allclose(x.max(axis=1), 1.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_dmc_categories_and_direction_code(seed):
    task = make("delayed_match_to_category", sigma=0.0)
    b = task.generate(200, seed=seed)
    c = b.conditions
    angle = 2 * np.pi * (c["sample"] + 0.5) / 10
    np.testing.assert_array_equal(c["sample_category"], (angle >= np.pi).astype(int))
    np.testing.assert_array_equal(c["match"], c["sample_category"] == c["test_category"])
    np.testing.assert_array_equal(c["ground_truth"], np.where(c["match"] == 1, 1, 2))
    # the population vector of the ring input recovers the sample direction
    rows = np.arange(200)
    x = b.inputs[rows, b.epochs["sample"][:, 0], 1:] - 0.5
    pref = 2 * np.pi * np.arange(8) / 8
    decoded = np.mod(np.arctan2(x @ np.sin(pref), x @ np.cos(pref)), 2 * np.pi)
    np.testing.assert_allclose(decoded, angle, atol=1e-6)


# --------------------------------------------------------------------------- memory_report
@pytest.mark.parametrize("seed", SEEDS)
def test_memory_report_target_is_stimulus_at_memorize_step(seed):
    b = make("memory_report").generate(200, seed=seed)
    c = b.conditions
    rows = np.arange(200)
    np.testing.assert_array_equal(b.targets[rows, c["t_report"], 0], b.inputs[rows, c["t_memorize"], 0])
    np.testing.assert_array_equal(
        b.inputs[rows, c["t_memorize"], 0], c["stored_value"].astype(np.float32)
    )
    assert np.count_nonzero(b.targets) == 200  # nonzero only at the report step
    np.testing.assert_array_equal(b.inputs[..., 1].sum(1), 1)  # one memorize pulse
    np.testing.assert_array_equal(b.inputs[rows, c["t_report"], 2], 1)
    length = c["trial_length"]
    np.testing.assert_array_equal(b.lengths, length)
    assert length.min() >= 5 and length.max() <= 19
    assert (c["t_memorize"] < length // 2).all()
    assert ((c["t_report"] >= length // 2) & (c["t_report"] <= length - 2)).all()


def test_memory_report_scores_by_tolerance():
    task = make("memory_report", tolerance=0.1)
    b = task.generate(50, seed=0)
    out = np.array(b.targets)
    rows = np.arange(50)
    out[rows, b.conditions["t_report"], 0] += np.where(rows % 2 == 0, 0.05, 0.2)
    score = task.score(out, b)
    np.testing.assert_array_equal(score.correct, rows % 2 == 0)
    np.testing.assert_allclose(score.error, np.where(rows % 2 == 0, 0.05, 0.2), atol=1e-6)
    assert score.accuracy == 0.5


def test_trials_epoch_masks_are_unions_of_epochs_and_fresh_arrays():
    from brainlike.tasks import Trials

    starts = {"a": np.array([0, 0]), "b": np.array([1, 2])}
    stops = {"a": np.array([1, 2]), "b": np.array([3, 4])}
    tr = Trials(dt=10.0, lengths=np.array([3, 4]), starts=starts, stops=stops,
                input_index={"x": 0}, output_index={}, inputs=np.zeros((2, 4, 1), np.float32),
                targets=np.zeros((2, 4), np.int64), mask=np.ones((2, 4), np.float32))
    ab = tr.epoch("a", "b")
    np.testing.assert_array_equal(ab, [[1, 1, 1, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(tr.epoch("b"), [[0, 1, 1, 0], [0, 0, 1, 1]])
    ab[:] = False  # callers own what epoch() returns: the cached mask is untouched
    np.testing.assert_array_equal(tr.epoch("a", "b"), [[1, 1, 1, 0], [1, 1, 1, 1]])
    tr.set_input("x", np.array([2.0, 3.0]), "b")
    np.testing.assert_array_equal(tr.inputs[..., 0], [[0, 2, 2, 0], [0, 0, 3, 3]])
    with pytest.raises(KeyError, match="unknown epoch 'c'"):
        tr.epoch("c")
