"""Facts about go/no-go, Ready-Set-Go, interval discrimination, wagering, bandit and clicks."""

from __future__ import annotations

import numpy as np
import pytest

from brainlike.tasks import as_gym_env, make


def test_ready_set_go_scores_the_produced_interval():
    task = make("ready_set_go", gains=[1.0, 1.5])
    b = task.generate(64, seed=0)
    perfect = 10.0 * np.eye(2)[b.targets]
    s = task.score(perfect, b)
    assert s.accuracy == 1.0
    # perfect error is at most the flooring of two epochs: < 2 steps
    assert (np.abs(s.error) < 2 * task.dt).all()
    late = np.zeros_like(perfect)
    late[..., 0] = 10.0
    for i in range(64):  # respond 30% of the target interval too late: outside tolerance 0.15
        go = b.epochs["set"][i, 0] + int(1.3 * b.conditions["target_interval"][i] / task.dt)
        late[i, go:, 1] = 20.0
    assert task.score(late, b).accuracy == 0.0
    early = perfect.copy()
    early[:, 0, 1] = 20.0  # a response before Set fails the trial
    assert task.score(early, b).accuracy == 0.0


def test_interval_discrimination_truth_follows_the_step_counts():
    b = make("interval_discrimination").generate(128, seed=0)
    k1 = np.diff(b.epochs["stim1"], axis=1)[:, 0]
    k2 = np.diff(b.epochs["stim2"], axis=1)[:, 0]
    np.testing.assert_array_equal(b.conditions["ground_truth"], np.where(k1 > k2, 1, 2))
    assert (k1 != k2).all()


def test_wager_reward_structure():
    task = make("post_decision_wager", r_sure=0.6)
    b = task.generate(200, seed=0)
    gt, wager = b.conditions["ground_truth"], b.conditions["wager"]
    out = np.zeros((200, b.n_steps, 4))
    out[..., 3] = 1.0  # always take the sure target
    r = task.reward(task.score(out, b), b)
    np.testing.assert_allclose(r, np.where(wager == 1, 0.6, -1.0))  # not offered: an abort
    out = 10.0 * np.eye(4)[b.targets]
    np.testing.assert_allclose(task.reward(task.score(out, b), b), 1.0)
    assert set(np.unique(gt)) == {1, 2}


def test_bandit_env_is_closed_loop():
    env = as_gym_env("two_armed_bandit", schedule="fixed", n_pulls=50)
    obs, _ = env.reset(seed=0)
    assert (obs == 0).all()
    for _ in range(49):
        obs, r, *_ = env.step(1)
        assert obs[0] == 1.0 and obs[1] == 0.0 and obs[2] == r  # our pull and its payoff come back
    payoff = []
    for _ in range(4000):
        _, r, *_ = env.step(env.oracle_action())
        payoff.append(r)
    # the better arm pays 0.75; SD of the mean over 4000 pulls is 0.007
    assert abs(np.mean(payoff) - 0.75) < 0.04


def test_clicks_inputs_hold_the_counted_clicks():
    task = make("poisson_clicks")
    b = task.generate(64, seed=0)
    np.testing.assert_array_equal(b.inputs[..., 1].sum(axis=1), b.conditions["n_left"])
    np.testing.assert_array_equal(b.inputs[..., 2].sum(axis=1), b.conditions["n_right"])
    more = b.conditions["n_right"] != b.conditions["n_left"]
    want = np.where(b.conditions["n_right"] > b.conditions["n_left"], 2, 1)
    np.testing.assert_array_equal(b.conditions["ground_truth"][more], want[more])
    # rates sum to 40 Hz: the mean count per second over the batch is near 40
    rate = (b.conditions["n_left"] + b.conditions["n_right"]).sum() / (b.conditions["duration"].sum() / 1000)
    assert 34 < rate < 46


def test_go_no_go_cue_and_target():
    b = make("go_no_go").generate(32, seed=0)
    go = b.conditions["go"] == 1
    stim = b.epochs["stimulus"][:, 0]
    rows = np.arange(32)
    np.testing.assert_array_equal(b.inputs[rows, stim, 1], go)
    np.testing.assert_array_equal(b.targets[rows, b.lengths - 1], np.where(go, 1, 0))


def test_wager_ideal_observer_matches_monte_carlo_on_generated_trials():
    """The quadrature of ``ideal_observer`` against the same observer run on the task's own noisy
    trials (the evidence summed from ``batch.inputs``; posterior by a plain loop over the
    coherences). 24 000 trials, ~4 000 a coherence: binomial SE <= 0.008, tolerance 0.035."""
    task = make("post_decision_wager", dt=50.0)
    ideal = task.ideal_observer()
    b = task.generate(24_000, seed=3)
    t = np.arange(b.n_steps)
    on = (t >= b.epochs["stimulus"][:, :1]) & (t < b.epochs["stimulus"][:, 1:])
    x = ((b.inputs[..., 2] - b.inputs[..., 1]) * on).sum(1)  # evidence for side 2
    k = on.sum(1)
    sd = np.sqrt(2.0 * k) * task.noise_std
    like2 = sum(np.exp(-0.5 * ((x - k * c / 100) / sd) ** 2) for c in task.coherences)
    like1 = sum(np.exp(-0.5 * ((x + k * c / 100) / sd) ** 2) for c in task.coherences)
    choice = np.where(x > 0, 2, 1)
    q = np.maximum(like1, like2) / (like1 + like2)
    right = choice == b.conditions["ground_truth"]
    sure = q < task.r_sure / task.r_correct
    coh = b.conditions["coherence"]
    for i, c in enumerate(task.coherences):
        m = coh == c
        assert abs(right[m].mean() - ideal["accuracy"][i]) < 0.035
        assert abs(sure[m].mean() - ideal["p_sure"][i]) < 0.035
        assert abs(right[m & ~sure].mean() - ideal["accuracy_waived"][i]) < 0.035
    assert abs(sure[~right].mean() - ideal["p_sure_if_wrong"]) < 0.035
    assert abs(sure[right].mean() - ideal["p_sure_if_correct"]) < 0.035


def test_wager_reward_design_makes_the_confidence_wager_optimal():
    """r_sure = 0.7: the Bayes-optimal wager earns more than always or never taking the sure
    target, and shows Kiani & Shadlen (2009)'s signatures."""
    task = make("post_decision_wager")
    ideal = task.ideal_observer()
    optimal, never = ideal["reward_optimal"].mean(), ideal["reward_never_sure"].mean()
    assert optimal > never + 0.02 and optimal > task.r_sure + 0.1  # 0.842, 0.808, 0.7
    assert np.all(np.diff(ideal["p_sure"]) < 0)  # sure taken less as coherence rises
    assert ideal["p_sure"][0] > 0.5 and ideal["p_sure"][-1] < 0.01
    assert np.all(ideal["accuracy_waived"] >= ideal["accuracy"] - 1e-12)
    assert ideal["accuracy_waived"][2] > ideal["accuracy"][2] + 0.1  # 6.4 %: 0.90 vs 0.78
    assert ideal["p_sure_if_wrong"] > ideal["p_sure_if_correct"] + 0.3  # 0.69 vs 0.24
    np.testing.assert_allclose(ideal["accuracy"].mean(), task.ceiling, atol=1e-3)
    # without any value in the sure target, it is never taken
    free = make("post_decision_wager", r_sure=0.0).ideal_observer()
    np.testing.assert_allclose(free["p_sure"], 0.0)
    with pytest.raises(ValueError, match=r"r_abort must be a number <= 0, got 0.5"):
        make("post_decision_wager", r_abort=0.5)
    with pytest.raises(ValueError, match=r"ideal_observer needs sigma > 0"):
        make("post_decision_wager", sigma=0.0).ideal_observer()
    with pytest.raises(ValueError, match=r"n_grid"):
        task.ideal_observer(n_grid=0)


def test_wager_ideal_observer_without_evidence_takes_the_sure_target():
    """A 0 ms stimulus gives confidence 1/2: the sure target (0.7) is taken on every trial."""
    ideal = make("post_decision_wager", timing={"stimulus": 0.0}).ideal_observer()
    np.testing.assert_allclose(ideal["p_sure"], 1.0)
    np.testing.assert_allclose(ideal["reward_optimal"], 0.7)
    np.testing.assert_allclose(ideal["accuracy"], 0.5)
