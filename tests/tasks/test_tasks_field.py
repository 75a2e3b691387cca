"""Facts about go/no-go, Ready-Set-Go, interval discrimination, wagering, bandit and clicks."""

from __future__ import annotations

import numpy as np

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
    np.testing.assert_allclose(r, np.where(wager == 1, 0.6, 0.0))
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
