"""Batched reward environments (brainlike.tasks._env): Song et al. 2017's rules against a naive
per-trial reference, the stepped Gymnasium vector env against whole-trial play, seeding,
Gymnasium's own checker and wrappers, the closed-loop bandit, and errors."""

import gymnasium
import numpy as np
import pytest

from brainlike.tasks import VectorTaskEnv, as_vector_env, make, play
from brainlike.tasks._env import Rewards, _judged

OPEN_LOOP = ["perceptual_decision", "perceptual_decision_rt", "post_decision_wager", "go_no_go",
             "delayed_match_to_sample"]


def _reference(task, batch, actions, r_abort=-1.0):
    """Song et al. 2017's rules, one trial and one step at a time, in plain Python."""
    out = []
    for b in range(batch.batch_size):
        for t in range(int(batch.lengths[b])):
            a, target = int(actions[b, t]), int(batch.targets[b, t])
            if a != 0 and target == 0:
                out.append((t, r_abort, -1, True, False))
                break
            if a != 0:
                if task.name == "post_decision_wager":
                    wager = batch.conditions["wager"][b] == 1
                    if a == 3:  # the sure target: r_sure if offered, else an abort (Song 2017)
                        reward = task.r_sure if wager else task.r_abort
                    else:
                        reward = task.r_correct if a == target else 0.0
                else:
                    reward = 1.0 if a == target else 0.0
                out.append((t, reward, a, False, a == target))
                break
            if t == batch.lengths[b] - 1:
                ok = target == 0
                out.append((t, (task.r_correct if task.name == "post_decision_wager" else 1.0)
                            if ok else r_abort, -1, False, ok))
    return out


def _actions(rng, shape, n_actions, p_fixate):
    """Mostly fixating random actions, so that trials reach their response window."""
    a = rng.integers(1, n_actions, shape)
    return np.where(rng.random(shape) < p_fixate, 0, a)


@pytest.mark.parametrize("name", OPEN_LOOP)
def test_play_follows_the_rules_step_by_step(name):
    task = make(name)
    batch = task.generate(64, seed=1)
    rng = np.random.default_rng(2)
    actions = _actions(rng, batch.targets.shape, task.n_outputs, 0.97)
    # half the trials played by the oracle up to the end of the trial
    actions[::2] = batch.targets[::2]
    ep = play(task, batch, actions)
    ref = _reference(task, batch, actions)
    assert ep.end.tolist() == [r[0] for r in ref]
    np.testing.assert_allclose(ep.reward, [r[1] for r in ref], rtol=0, atol=1e-12)
    assert ep.decision.tolist() == [r[2] for r in ref]
    assert ep.aborted.tolist() == [r[3] for r in ref]
    assert ep.correct.tolist() == [r[4] for r in ref]
    # the oracle's trials are all correct; rewards sit on the last played step only
    assert ep.correct[::2].all()
    np.testing.assert_array_equal(ep.rewards.sum(1), ep.reward.astype(np.float32))
    assert (ep.played.sum(1) == ep.end + 1).all()


def test_wagering_pays_the_sure_bet_only_when_offered():
    task = make("post_decision_wager")
    batch = task.generate(200, seed=0)
    sure = np.where(batch.targets != 0, 3, 0)  # choose the sure target in the decision epoch
    ep = play(task, batch, sure)
    wager = batch.conditions["wager"] == 1
    np.testing.assert_allclose(ep.reward[wager], task.r_sure)
    # Song et al. 2017 (pyrl's postdecisionwager) and NeuroGym: R_ABORTED when not offered
    np.testing.assert_allclose(ep.reward[~wager], -1.0)
    assert not ep.correct.any() and (ep.decision == 3).all()
    # the sure cue is on only after the stimulus and a delay, and choosing it any time before
    # the decision epoch breaks fixation
    cue = batch.inputs[..., 3] > 0
    for b in range(200):
        on = np.flatnonzero(cue[b])
        stim_end = batch.epochs["stimulus"][b, 1]
        assert (on.size > 0) == wager[b]
        if wager[b]:
            assert on[0] - stim_end >= 500 / task.dt and on[-1] == batch.lengths[b] - 1
    early = np.where(cue & (batch.targets == 0), 3, 0)
    ep = play(task, batch, early)
    assert ep.aborted[wager].all() and (ep.reward[wager] == -1.0).all()


def test_reaction_time_trials_end_at_the_choice():
    task = make("perceptual_decision_rt")
    batch = task.generate(32, seed=0)
    onset = batch.epochs["stimulus"][:, 0]
    delay = np.arange(32) % 20
    actions = np.zeros(batch.targets.shape, np.int64)
    actions[np.arange(32), onset + delay] = batch.conditions["ground_truth"]
    ep = play(task, batch, actions)
    np.testing.assert_array_equal(ep.end, onset + delay)
    assert ep.correct.all() and not ep.aborted.any()


def _first_episodes(env, actions):
    """Step ``env`` with ``actions[b, t]`` until every environment finished its first trial."""
    n = env.num_envs
    t = np.zeros(n, np.int64)
    done_info = [None] * n
    while any(d is None for d in done_info):
        a = actions[np.arange(n), np.minimum(t, actions.shape[1] - 1)]
        _, _, terminated, _, info = env.step(a)
        for i in np.flatnonzero(terminated):
            if done_info[i] is None:
                done_info[i] = info["final_info"][i]
        t += 1
    return done_info


@pytest.mark.parametrize("name", ["perceptual_decision", "post_decision_wager"])
def test_stepping_the_vector_env_gives_what_play_gives(name):
    task = make(name)
    env = task.as_vector_env(24, seed=5)
    env.reset()
    # The env's first block of trials: task.generate from the first of its two seed streams.
    rng = np.random.default_rng(np.random.SeedSequence(5).spawn(2)[0])
    batch = task.generate(24, seed=rng)
    actions = _actions(np.random.default_rng(0), batch.targets.shape, task.n_outputs, 0.98)
    actions[::3] = batch.targets[::3]
    ep = play(task, batch, actions)
    info = _first_episodes(env, actions)
    np.testing.assert_allclose([i["reward"] for i in info], ep.reward, rtol=0, atol=1e-12)
    assert [i["steps"] for i in info] == (ep.end + 1).tolist()
    assert [i["decision"] for i in info] == ep.decision.tolist()
    assert [i["correct"] for i in info] == ep.correct.tolist()
    assert [i["conditions"]["coherence"] for i in info] == batch.conditions["coherence"].tolist()


def _roll(env, steps, seed, env_seed=3):
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=env_seed)
    trace = [obs]
    for _ in range(steps):
        obs, r, term, trunc, _ = env.step(_actions(rng, (env.num_envs,), env.task.n_outputs, 0.9))
        trace += [obs, r[:, None], term[:, None], trunc[:, None]]
    return trace


@pytest.mark.parametrize("name", ["perceptual_decision", "two_armed_bandit"])
def test_same_seed_same_episodes(name):
    task = make(name)
    a, b = _roll(task.as_vector_env(8), 150, 0), _roll(task.as_vector_env(8), 150, 0)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = _roll(task.as_vector_env(8), 150, 0, env_seed=4)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_trials_are_dealt_in_blocks_not_one_by_one(monkeypatch):
    task = make("perceptual_decision", dt=100.0)
    calls = []
    original = type(task).generate
    monkeypatch.setattr(type(task), "generate",
                        lambda self, n, **kw: calls.append(n) or original(self, n, **kw))
    env = task.as_vector_env(32, seed=0)
    env.reset()
    for _ in range(100):  # always choose at once: every trial aborts at its first step
        env.step(np.ones(32, np.int64))
    assert set(calls) == {32} and len(calls) == 101  # 3232 trials in 101 calls


class _Single(gymnasium.Env):
    """One environment of a VectorTaskEnv (num_envs=1) as a gymnasium.Env, for check_env."""

    def __init__(self, name):
        self.vec = make(name).as_vector_env(1)
        self.observation_space = self.vec.single_observation_space
        self.action_space = self.vec.single_action_space

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        obs, _info = self.vec.reset(seed=seed)
        return obs[0], {}

    def step(self, action):
        obs, r, term, trunc, _ = self.vec.step(np.array([action]))
        return obs[0], float(r[0]), bool(term[0]), bool(trunc[0]), {}


@pytest.mark.parametrize("name", ["perceptual_decision", "two_armed_bandit"])
def test_gymnasium_checker_passes(name):
    from gymnasium.utils.env_checker import check_env

    check_env(_Single(name), skip_render_check=True)


def test_spaces_and_gymnasium_episode_statistics():
    env = make("perceptual_decision", dt=100.0).as_vector_env(6, seed=0)
    assert isinstance(env, gymnasium.vector.VectorEnv)
    assert env.observation_space.shape == (6, 3) and env.action_space.shape == (6,)
    wrapped = gymnasium.wrappers.RecordEpisodeStatistics(env)
    obs, _ = wrapped.reset(seed=1)
    rng = np.random.default_rng(0)
    returns, finals = [], []
    for _ in range(200):
        assert env.observation_space.contains(obs)
        obs, _r, term, _trunc, info = wrapped.step(_actions(rng, (6,), 3, 0.8))
        if term.any():
            returns += info["episode"]["r"][info["_episode"]].tolist()
            finals += [f["reward"] for f in info["final_info"][info["_final_info"]]]
    assert len(returns) > 20
    np.testing.assert_allclose(returns, finals, rtol=0, atol=1e-6)


def test_bandit_pays_each_pull_and_feeds_it_back():
    task = make("two_armed_bandit", n_pulls=50)
    env = task.as_vector_env(400, seed=0)
    obs, _ = env.reset()
    assert not obs.any()
    p1 = env.conditions["p_arm1"]
    total = np.zeros(400)
    for t in range(50):
        obs, r, term, _, _ = env.step(np.ones(400, np.int64))
        total += r
        if t < 49:  # the next observation is this pull and its reward
            assert (obs[:, 0] == 1).all() and (obs[:, 1] == 0).all()
            np.testing.assert_array_equal(obs[:, 2], r)
    assert term.all()
    # Bernoulli(p_arm1) pulls: mean payoff within 4 standard errors of the mean probability
    se = np.sqrt((p1 * (1 - p1)).sum() / 50) / 400
    assert abs(total.mean() / 50 - p1.mean()) < 4 * se + 1e-9
    blind = make("two_armed_bandit", reward_input=False).as_vector_env(8, seed=0)
    blind.reset()
    for _ in range(5):
        obs, *_ = blind.step(np.full(8, 2))
        assert (obs[:, 2] == 0).all() and (obs[:, 1] == 1).all()


def test_reward_table_uses_the_tasks_own_rule():
    task = make("post_decision_wager", r_sure=0.5)
    batch = task.generate(10, seed=0)
    j = _judged(task, batch, Rewards())
    wager = batch.conditions["wager"] == 1
    np.testing.assert_allclose(j.if_right[wager, 3], 0.5)
    np.testing.assert_allclose(j.if_wrong[:, 1], 0.0)
    np.testing.assert_allclose(j.if_right[:, 1], task.r_correct)


def test_bad_input_is_refused_by_name():
    task = make("perceptual_decision", dt=100.0)
    batch = task.generate(2, seed=0)
    with pytest.raises(ValueError, match=r"actions of play must have shape \(2, 22\), got \(2, 3\)"):
        play(task, batch, np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\) \(0 = fixate\), got 0..3"):
        play(task, batch, np.full((2, 22), 3).astype(np.int64) * (np.arange(22) > 0))
    with pytest.raises(ValueError, match="must be integers in"):
        play(task, batch, np.full((2, 22), 0.5))
    with pytest.raises(ValueError, match=r"needs a class task .* target_kind='value'"):
        make("yang19.go").as_vector_env(2)
    with pytest.raises(ValueError, match="closed loop"):
        play(make("two_armed_bandit"), make("two_armed_bandit").generate(2, seed=0),
             np.zeros((2, 20), np.int64))
    with pytest.raises(ValueError, match="n_envs must be finite and > 0, got 0"):
        task.as_vector_env(0)
    with pytest.raises(ValueError, match="r_abort must be a finite number"):
        as_vector_env("perceptual_decision", 2, r_abort=float("nan"))
    env = task.as_vector_env(2)
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        env.step(np.zeros(2, np.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions of VectorTaskEnv.step must have shape \(2,\)"):
        env.step(np.zeros(3, np.int64))
    assert repr(env).startswith("VectorTaskEnv(make('perceptual_decision'")
    assert isinstance(env, VectorTaskEnv)
