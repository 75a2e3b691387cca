"""Reward-based training (brainlike.training._rl): GAE against naive sums in float64, the fused
whole-trial path against stepping the environment, PPO's ratio at the first step, bitwise
resume, any model of the protocol (Dale's law included), the config and the CLI, errors, and
learning to Song et al. 2017's criterion."""

import numpy as np
import pytest
import torch

from brainlike.experiments import parse_config, run_training
from brainlike.models import RateRNN, make, names
from brainlike.tasks import make as make_task
from brainlike.training import gae, rollout, train_a2c, train_ppo
from brainlike.training._rl import _Agent, _sample, _ValueHead

TASK = make_task("perceptual_decision", dt=100.0)
SMALL = dict(batch_size=8, eval_every=2, eval_trials=16)


def _policy(seed=0, **kw):
    return RateRNN(3, 16, 3, dt=100.0, tau=200.0, seed=seed, **kw)


def _naive_gae(r, v, done, mask, gamma, lam):
    b, t = r.shape
    adv = np.zeros((b, t))
    for i in range(b):
        for k in range(t):
            if not mask[i, k]:
                continue
            total, weight = 0.0, 1.0
            for s in range(k, t):  # sum of (gamma lam)^(s-k) delta_s up to the episode's end
                nxt = 0.0 if done[i, s] or s + 1 == t else v[i, s + 1]
                total += weight * (r[i, s] + gamma * nxt - v[i, s])
                if done[i, s]:
                    break
                weight *= gamma * lam
            adv[i, k] = total
    return adv


@pytest.mark.parametrize("gamma,lam", [(1.0, 1.0), (0.9, 0.95), (0.99, 0.0)])
def test_gae_equals_the_naive_sum(gamma, lam):
    rng = np.random.default_rng(0)
    b, t = 5, 9
    ends = rng.integers(0, t, b)
    mask = np.arange(t)[None] <= ends[:, None]
    done = np.arange(t)[None] == ends[:, None]
    r, v = rng.normal(size=(b, t)) * mask, rng.normal(size=(b, t))
    adv, ret = gae(*(torch.tensor(x, dtype=torch.float64) for x in (r, v, done, mask)),
                   gamma=gamma, lam=lam)
    np.testing.assert_allclose(adv.numpy(), _naive_gae(r, v, done, mask, gamma, lam), atol=1e-12)
    np.testing.assert_allclose(ret.numpy(), (adv.numpy() + v) * mask, atol=1e-12)
    if gamma == lam == 1.0:  # REINFORCE with a baseline: reward to go minus the value
        to_go = np.flip(np.cumsum(np.flip(r, 1), 1), 1)
        np.testing.assert_allclose(adv.numpy(), (to_go - v) * mask, atol=1e-12)


def test_whole_trials_through_the_loop_equal_stepping_the_environment():
    """The fused path (all steps at once, actions sampled afterwards, episode end as a mask)
    gives the episodes that stepping the vector env one step at a time gives."""
    policy = _policy().double()
    env = TASK.as_vector_env(32, seed=3)
    obs, _ = env.reset()  # its first 32 trials: generate from the first of its two seed streams
    batch = TASK.generate(32, seed=np.random.default_rng(np.random.SeedSequence(3).spawn(2)[0]))
    np.testing.assert_array_equal(env.conditions["coherence"], batch.conditions["coherence"])
    x = torch.tensor(batch.inputs, dtype=torch.float64)
    logits = policy(x).outputs
    actions = _sample(logits, torch.Generator().manual_seed(1))
    fused = env.play(batch, actions.numpy())
    # stepping: one step of the model and of every environment at a time, the same uniforms
    u = torch.rand(actions.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    state = policy.initial_state(32)
    outcome = [None] * 32
    for t in range(batch.n_steps):
        out = policy(torch.tensor(obs, dtype=torch.float64)[:, None], state)  # what the env shows
        state = out.final_state
        p = torch.softmax(out.outputs[:, 0], -1).cumsum(-1)
        a = (u[:, t, None] > p).sum(-1).clamp_max(2)
        obs, _, term, _, info = env.step(a.numpy())
        for i in np.flatnonzero(term):
            outcome[i] = outcome[i] or info["final_info"][i]
    assert [o["steps"] for o in outcome] == (fused.end + 1).tolist()
    np.testing.assert_allclose([o["reward"] for o in outcome], fused.reward, atol=1e-12)
    assert [o["decision"] for o in outcome] == fused.decision.tolist()


@pytest.mark.parametrize("task", [TASK, make_task("two_armed_bandit", n_pulls=6)])
def test_ppo_ratio_is_one_before_the_first_step(task):
    """A minibatch run again from its first step, with the noise it was played with, gives the
    log-probabilities it was played with: rho = 1."""
    policy = RateRNN(task.n_inputs, 16, task.n_outputs, dt=task.dt, tau=task.dt * 2,
                     sigma_rec=0.1, seed=0)
    steps = 6 if task.name == "two_armed_bandit" else None
    agent = _Agent(policy, _ValueHead(16), task, True, 0, 12, 3, steps)
    b, _ = agent.collect(0)
    for m, c in enumerate(b.chunks):
        from brainlike.training._rl import TRAIN_NOISE, _generator
        logits, _ = agent.unroll(b.inputs[c], b.starts[c], b.state0[c], b.actions[c],
                                 _generator(0, TRAIN_NOISE, 0, m))
        logp = torch.log_softmax(logits, -1).gather(-1, b.actions[c, :, None])[..., 0]
        torch.testing.assert_close(logp * b.mask[c], b.logp[c] * b.mask[c], rtol=0, atol=1e-5)


@pytest.mark.parametrize("train_fn", [train_a2c, train_ppo])
def test_an_interrupted_run_resumes_bitwise(train_fn, tmp_path):
    # PPO with the rewards normalized: the running return statistics are checkpointed too
    kw = dict(steps=6, **SMALL, **({"value_network": "separate"} if train_fn is train_a2c
                                   else {"normalize_rewards": True}))
    full = train_fn(_policy(), TASK, **kw)
    train_fn(_policy(), TASK, **{**kw, "steps": 4}, out=tmp_path)
    resumed = train_fn(_policy(), TASK, **kw, out=tmp_path)
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
    np.testing.assert_array_equal(resumed.history["value_loss"], full.history["value_loss"])
    assert resumed.steps == 6 and np.isfinite(resumed.history["answered"][[1, 3, 5]]).all()


def test_the_default_ppo_path_is_pinned():
    """train_ppo's default path on whole trials (as bench_rl.py --part rdm runs it: a RateRNN with
    recurrent noise, minibatches of trials, the shared value head) gives the losses it gave
    before the options for external environments (separate recurrent critic, value clipping)
    were added. Recorded with torch 2.13 on x86-64 CPU, where they are equal bit for bit; the
    tolerance (1e-5 relative) only allows for another BLAS's float32 rounding order."""
    res = train_ppo(_policy(sigma_rec=0.1), TASK, steps=3, batch_size=16, lr=3e-3, epochs=2,
                    n_minibatches=2, eval_every=3, eval_trials=32, seed=0)
    recorded = {
        "loss": [0.44614797830581665, 0.4090035818517208, 0.3430721275508404],
        "policy_loss": [-0.010223222896456718, -0.0012369342148303986, -0.012325013056397438],
        "value_loss": [0.9127423763275146, 0.8204810172319412, 0.7107942849397659],
        "grad_norm": [1.5281197428703308, 1.4545200169086456, 1.4493036568164825],
    }
    for key, values in recorded.items():
        np.testing.assert_allclose(res.history[key], values, rtol=1e-5, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("kind", names())
def test_any_recurrent_model_is_a_policy(kind):
    policy = make(kind, n_input=3, n_hidden=8, n_output=3, dt=100.0, seed=0)
    res = train_a2c(policy, TASK, steps=2, **SMALL)
    assert np.isfinite(res.history["loss"]).all()


def test_a_dale_policy_keeps_its_signs():
    policy = _policy(connectivity={"type": "dale", "e_fraction": 0.75})
    before = torch.sign(policy.effective_weights().w_rec.detach())
    res = train_ppo(policy, TASK, steps=3, **SMALL)
    after = policy.effective_weights().w_rec.detach()
    assert np.isfinite(res.history["loss"]).all()
    assert ((torch.sign(after) == before) | (after == 0)).all()


def test_rollout_plays_fixed_conditions():
    played = rollout(_policy(), TASK, n_trials=10, seed=0, conditions={"coherence": 51.2})
    assert (played.conditions["coherence"] == 51.2).all()
    assert played.played[:, 0].all() and (played.played.sum(1) == played.end + 1).all()
    with pytest.raises(ValueError, match="open-loop tasks only"):
        rollout(RateRNN(3, 8, 3, dt=100.0, seed=0), make_task("two_armed_bandit"), n_trials=2,
                conditions={"p_arm1": 0.5})


def test_an_external_gymnasium_environment_trains():
    env = make_task("perceptual_decision", dt=100.0).as_vector_env(4, seed=0)
    res = train_ppo(_policy(), env, steps=2, batch_size=4, n_steps=30, eval_every=2)
    assert res.accuracy is None and "episode_return" in res.history


def test_a_linear_schedule_takes_the_learning_rate_to_zero_over_the_updates():
    res = train_ppo(_policy(), TASK, steps=4, lr=1e-3, schedule="linear", epochs=1,
                    n_minibatches=1, **SMALL)
    np.testing.assert_allclose(res.history["lr"], 1e-3 * (1 - np.arange(4) / 4), rtol=1e-12)
    with pytest.raises(ValueError, match="'schedule' parameter of train_a2c must be one of"):
        train_a2c(_policy(), TASK, schedule="step")


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match=r"'gamma' parameter of train_a2c must be a float in the "
                                         r"range \[0.0, 1.0\]. Got 1.5"):
        train_a2c(_policy(), TASK, gamma=1.5)
    with pytest.raises(ValueError, match="'value_network' parameter of train_ppo must be one of"):
        train_ppo(_policy(), TASK, value_network="twin")
    with pytest.raises(ValueError, match="'clip_range' parameter of train_ppo"):
        train_ppo(_policy(), TASK, clip_range=0.0)
    with pytest.raises(ValueError, match=r"needs a class task .* target_kind='value'"):
        train_a2c(RateRNN(1, 8, 1, dt=20.0, seed=0), make_task("yang19.go", dt=20.0))
    with pytest.raises(ValueError, match=r"model.n_output \(2\) must equal task.n_outputs \(3\)"):
        train_a2c(RateRNN(3, 8, 2, dt=100.0, seed=0), TASK)
    env = TASK.as_vector_env(4)
    with pytest.raises(ValueError, match="needs n_steps"):
        train_ppo(_policy(), env, batch_size=4)
    with pytest.raises(ValueError, match="batch_size \\(8\\) must equal the environment's"):
        train_ppo(_policy(), env, batch_size=8, n_steps=5)
    with pytest.raises(TypeError, match="needs a brainlike class task or a gymnasium vector"):
        train_a2c(_policy(), object())
    with pytest.raises(ValueError, match="'normalize_rewards' parameter of train_ppo must be a bool"):
        train_ppo(_policy(), TASK, normalize_rewards=1)
    bandit = make_task("two_armed_bandit", n_pulls=6)
    with pytest.raises(ValueError, match=r"'separate' needs n_steps equal to the trial's length "
                                         r"\(6\) for the closed-loop task 'two_armed_bandit'; got 4"):
        train_a2c(make("gru", n_input=3, n_hidden=8, n_output=3, dt=bandit.dt, seed=0), bandit,
                  value_network="separate", n_steps=4)


def test_a2c_and_ppo_runs_from_a_config(tmp_path):
    for algorithm in ("a2c", "ppo"):
        cfg = parse_config({"task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
                            "model": {"n_hidden": 8, "tau": 200.0},
                            "training": {"algorithm": algorithm, "steps": 2, "batch_size": 8,
                                         "eval_every": 2, "eval_trials": 16, "criterion": 0.8,
                                         "schedule": "linear"}})
        res = run_training(cfg, tmp_path / algorithm)
        assert res.steps == 2 and (tmp_path / algorithm / "checkpoint.safetensors").is_file()
        np.testing.assert_allclose(res.history["lr"], [cfg.training.lr, cfg.training.lr / 2],
                                   rtol=1e-12)
    from brainlike.experiments import ConfigError
    bad = {"task": {"name": "perceptual_decision"},
           "training": {"algorithm": "ppo", "clip_range": 1.5}}
    with pytest.raises(ConfigError, match=r"training\.clip_range"):
        parse_config(bad)
    with pytest.raises(ConfigError, match=r"training\.schedule"):
        parse_config({**bad, "training": {"algorithm": "a2c", "schedule": "step"}})
    with_penalty = parse_config({"task": {"name": "perceptual_decision"},
                                 "training": {"algorithm": "a2c", "steps": 1},
                                 "penalties": {"l2_rate": 1e-3}})
    with pytest.raises(ConfigError, match="penalties do not apply"):
        run_training(with_penalty, tmp_path / "p")
    assert not (tmp_path / "p").exists()


@pytest.mark.slow
def test_ppo_learns_random_dots_to_song_2017s_criterion():
    torch.manual_seed(0)
    policy = RateRNN(3, 32, 3, dt=100.0, tau=200.0, seed=0)
    res = train_ppo(policy, TASK, steps=300, batch_size=64, lr=3e-3, eval_every=10,
                    eval_trials=400, criterion=0.8, seed=0)
    assert res.status == "criterion", res.history["correct_of_answered"][9::10]


class _Steps:
    """A gymnasium env paying 1 per step whose observation is the step in the episode; episodes
    end after ``length`` steps, by termination or (``cut``) by a time limit."""

    def __init__(self, length, cut):
        import gymnasium

        class Env(gymnasium.Env):
            observation_space = gymnasium.spaces.Box(0.0, 10.0, (1,), np.float32)
            action_space = gymnasium.spaces.Discrete(2)

            def reset(self, seed=None, options=None):
                super().reset(seed=seed)
                self.t = 0
                return np.zeros(1, np.float32), {}

            def step(self, action):
                self.t += 1
                end = self.t >= length
                return (np.full(1, self.t, np.float32), 1.0, end and not cut, end and cut, {})

        self.env = Env


def test_closed_loop_returns_cross_episode_ends_and_time_limits_by_hand():
    """Two environments, 5 steps each, reward 1 per step, V = 2 everywhere, gamma 1/2: one ends
    its episodes after 3 steps (terminated: nothing follows), the other is cut by a time limit
    after 2 (truncated: the cut step is bootstrapped with V of its final observation, 2), and
    the window's end is bootstrapped with V = 2. The hidden state is reset where an episode
    begins: each step's log-probability is that of the episode played alone."""
    import gymnasium

    from brainlike.training._rl import _advantages, _External

    env = gymnasium.vector.SyncVectorEnv([_Steps(3, False).env, _Steps(2, True).env])
    policy = make("gru", n_input=1, n_hidden=8, n_output=2, dt=20.0, seed=0)
    critic = _ValueHead(8)
    torch.nn.init.constant_(critic.linear.bias, 2.0)
    agent = _Agent(policy, critic, _External(env), False, 0, 2, 1, 5)
    b, _ = agent.collect(0)
    torch.testing.assert_close(b.starts, torch.tensor([[1.0, 0, 0, 1, 0], [1, 0, 1, 0, 1]]))
    torch.testing.assert_close(b.dones, torch.tensor([[0.0, 0, 1, 0, 0], [0, 1, 0, 1, 0]]))
    # V(final observation) on the steps a time limit cut only
    torch.testing.assert_close(b.bootstrap, torch.tensor([[0.0] * 5, [0.0, 2, 0, 2, 0]]))
    adv, ret = _advantages(b, {"gamma": 0.5, "gae_lambda": 1.0}, None)
    # row 0: 1 + 1/2 (1 + 1/2 * 1) = 1.75, ...; its second episode cut by the window: 1 + 1/2 V
    # row 1, cut by the time limit every 2 steps: 1 + 1/2 V(final) = 2 at every step
    expected = torch.tensor([[1.75, 1.5, 1.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    torch.testing.assert_close(ret, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(adv, expected - 2.0, rtol=0, atol=1e-6)
    for i, episodes in enumerate(([slice(0, 3), slice(3, 5)],
                                  [slice(0, 2), slice(2, 4), slice(4, 5)])):
        for s in episodes:
            alone = policy(b.inputs[i : i + 1, s], noise=False).outputs.detach()
            logp = torch.log_softmax(alone, -1)[0].gather(-1, b.actions[i, s, None])[:, 0]
            torch.testing.assert_close(logp, b.logp[i, s], rtol=0, atol=1e-6)


def test_a_separate_critic_on_an_external_environment_is_reset_at_episode_starts():
    """value_network='separate' on an external environment: the value network is stepped with
    the policy, carried from window to window and reset where an episode begins, so every
    step's value (and the bootstrap of a step a time limit cut) is the value network run on its
    episode alone from the episode's first step; and the PPO update's unroll from the window's
    carry gives the values the window was played with."""
    import gymnasium

    from brainlike.training._rl import _External, _ValueNetwork

    env = gymnasium.vector.SyncVectorEnv([_Steps(3, False).env, _Steps(2, True).env])
    policy = make("gru", n_input=1, n_hidden=8, n_output=2, dt=20.0, seed=0)
    critic = _ValueNetwork(8, 2, 6, 20.0, seed=1)
    agent = _Agent(policy, critic, _External(env), False, 0, 2, 1, 5)
    first, _ = agent.collect(0)
    b, _ = agent.collect(1)  # the second window: episodes carried over from the first
    torch.testing.assert_close(b.starts, torch.tensor([[0.0, 1, 0, 0, 1], [0, 1, 0, 1, 0]]))
    _, again = agent.unroll(b.inputs, b.starts, b.state0, b.actions,
                            torch.Generator().manual_seed(0), b.critic0)
    torch.testing.assert_close(again, b.values, rtol=0, atol=1e-6)
    # (row, steps of the first window, steps of the second) of an episode; row 1 is cut by the
    # time limit every 2 steps, its final observation 2.0
    for i, before, now in ((0, slice(3, 5), slice(0, 1)), (0, slice(5, 5), slice(1, 4)),
                           (1, slice(5, 5), slice(1, 3)), (1, slice(5, 5), slice(3, 5))):
        x = torch.cat((first.inputs[i, before], b.inputs[i, now]))
        acts = torch.cat((first.actions[i, before], b.actions[i, now]))
        played = torch.cat((first.values[i, before], b.values[i, now]))
        if i == 1:  # one more step on the final observation (its action is never used)
            x, acts = torch.cat((x, torch.full((1, 1), 2.0))), torch.cat((acts, acts[:1]))
        with torch.no_grad():
            alone = critic(policy(x[None]).activity, acts[None])[0]
        torch.testing.assert_close(played, alone[: len(played)], rtol=0, atol=1e-6)
        if i == 1:  # truncated: bootstrapped with V of the final observation
            torch.testing.assert_close(b.bootstrap[i, now.stop - 1], alone[-1], rtol=0,
                                       atol=1e-6)


def test_normalized_rewards_are_divided_by_the_return_std():
    """normalize_rewards: the rewards are divided by the standard deviation of the discounted
    returns seen so far (pooled exactly over updates)."""
    from brainlike.training._rl import _RewardScale

    rng = np.random.default_rng(1)
    scale, seen = _RewardScale(0.9), []
    for _ in range(3):
        b, _ = _Agent(_policy(), _ValueHead(16), TASK, True, 0, 8, 1, None).collect(0)
        b.rewards = torch.tensor(rng.normal(size=b.rewards.shape), dtype=torch.float32) * b.mask
        out = scale(b)
        r = b.rewards.double().numpy()
        for i in range(r.shape[0]):  # the naive discounted return of every played step
            g = 0.0
            for t in np.flatnonzero(b.mask[i].numpy()):
                g = 0.9 * g + r[i, t]
                seen.append(g)
        np.testing.assert_allclose(out.numpy(), r / np.sqrt(np.var(seen) + 1e-8), rtol=1e-6)
