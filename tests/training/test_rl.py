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
    kw = dict(steps=6, **SMALL, value_network="separate" if train_fn is train_a2c else "shared")
    full = train_fn(_policy(), TASK, **kw)
    train_fn(_policy(), TASK, **{**kw, "steps": 4}, out=tmp_path)
    resumed = train_fn(_policy(), TASK, **kw, out=tmp_path)
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
    np.testing.assert_array_equal(resumed.history["value_loss"], full.history["value_loss"])
    assert resumed.steps == 6 and np.isfinite(resumed.history["answered"][[1, 3, 5]]).all()


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


def test_a2c_and_ppo_runs_from_a_config(tmp_path):
    for algorithm in ("a2c", "ppo"):
        cfg = parse_config({"task": {"name": "perceptual_decision", "params": {"dt": 100.0}},
                            "model": {"n_hidden": 8, "tau": 200.0},
                            "training": {"algorithm": algorithm, "steps": 2, "batch_size": 8,
                                         "eval_every": 2, "eval_trials": 16, "criterion": 0.8}})
        res = run_training(cfg, tmp_path / algorithm)
        assert res.steps == 2 and (tmp_path / algorithm / "checkpoint.safetensors").is_file()
    from brainlike.experiments import ConfigError
    bad = {"task": {"name": "perceptual_decision"},
           "training": {"algorithm": "ppo", "clip_range": 1.5}}
    with pytest.raises(ConfigError, match=r"training\.clip_range"):
        parse_config(bad)
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
