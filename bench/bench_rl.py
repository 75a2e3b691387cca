"""Reward-based training speed: brainlike PPO vs sb3-contrib RecurrentPPO on the same environment.

Part ``rdm``: wall time to Song, Yang & Wang 2017's stopping rule (>= 99 % of 500 evaluation
trials answered, >= 80 % of the answers correct, actions sampled) on random-dot motion
(``perceptual_decision``, dt 100 ms, 22 steps per trial, the rules of ``Task.as_vector_env``),
and environment steps per second of training, for

* brainlike: ``train_ppo`` (RateRNN 64 units; 64 trials per update run through the fused
  recurrent loop at once, actions sampled afterwards; 4 epochs x 4 minibatches, lr 3e-3);
* sb3-contrib ``RecurrentPPO`` (``MlpLstmPolicy``, LSTM 64, critic LSTM; 8 environments,
  n_steps 128, batch 256, 10 epochs, lr 7e-4, gae_lambda 0.98, max_grad_norm 1: the
  hyperparameters of its own CartPole-without-velocities test) driving brainlike's own
  ``VectorTaskEnv`` of the same task through a thin SB3 ``VecEnv`` adapter.

Both are checked every ``--check`` seconds of training (evaluation time excluded from the
wall time), seeds run alternately, median of ``--seeds``; a run that does not reach the rule
within its budget (``--budget`` seconds for brainlike, ``--sb3-budget`` for sb3-contrib) is
reported as not reached (the ratio is then a lower bound). Each run records its wall time and its
process CPU time (``time.process_time``, 1 thread): on a machine shared with other jobs the CPU
time is what the same run takes on an idle machine, so the budgets count CPU seconds and the
ratios are reported on both clocks. brainlike's CPU time includes its evaluations (it is not
split out), which counts against brainlike.

Part ``cartpole``: CartPole-v1 with the velocities hidden (cart position and pole angle only,
divided by their failure thresholds), 8 environments, 50 000 steps, the same hyperparameters for
both (``CARTPOLE_PPO``: RL Zoo's RecurrentPPO settings for CartPoleNoVel with a constant learning
rate and clip range; rewards normalized by the running return std -- brainlike's
``normalize_rewards``, SB3's ``VecNormalize(norm_obs=False)``): brainlike ``train_ppo`` (GRU 64
with ``CARTPOLE_BRAINLIKE``'s options) and sb3-contrib ``RecurrentPPO`` (``MlpLstmPolicy``, LSTM
64 with a critic LSTM), each scored on 20 fresh episodes with sampled actions, for every seed of
``--cartpole-seeds`` (``--cartpole-learners`` picks the learners). sb3-contrib's own bar: mean
reward >= 450 after 50 000 steps.

Run: ``/tmp/benchvenv/bin/python bench/bench_rl.py`` (needs the ``rl-bench`` extra); writes
``bench/results/rl.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from brainlike.models import RateRNN
from brainlike.models import make as make_model
from brainlike.tasks import make
from brainlike.training import train_ppo

ROOT = Path(__file__).resolve().parent
TASK = dict(name="perceptual_decision", dt=100.0)
CRITERION, MIN_ANSWERED, EVAL_TRIALS = 0.8, 0.99, 500
# CartPole without velocities: both learners get these (RL Zoo's RecurrentPPO settings for
# CartPoleNoVel but a constant learning rate and clip range), rewards normalized.
CARTPOLE_STEPS = 50_000
CARTPOLE_PPO = dict(n_steps=32, epochs=20, n_minibatches=1, lr=1e-3, gamma=0.98, gae_lambda=0.8,
                    grad_clip=0.5, normalize_rewards=True)
# brainlike's options beyond the shared settings: a critic with a recurrent state of its own, as
# RecurrentPPO's critic LSTM (a GRU reading the policy's activity, not differentiated into it, and
# the previous action) instead of a value head on the policy's body; the learning rate falling
# linearly to 0 over the updates (RL Zoo's lin_1e-3 for CartPoleNoVel), so that the final policy
# stops drifting.
CARTPOLE_BRAINLIKE = dict(value_network="separate", schedule="linear")


def task():
    return make(TASK["name"], dt=TASK["dt"])


# -- brainlike -------------------------------------------------------------------------------------


def run_brainlike(seed: int, budget: float) -> dict:
    t = task()
    policy = RateRNN(3, 64, 3, dt=t.dt, tau=200.0, seed=seed)
    cpu0 = time.process_time()
    stop = lambda info: time.process_time() - cpu0 > budget  # noqa: E731
    res = train_ppo(policy, t, steps=100_000, batch_size=64, lr=3e-3, epochs=4, n_minibatches=4,
                    eval_every=5, eval_trials=EVAL_TRIALS, criterion=CRITERION,
                    min_answered=MIN_ANSWERED, seed=seed, callbacks=[stop])
    cpu = time.process_time() - cpu0
    steps = float(np.nansum(res.history["env_steps"]))
    return {"reached": res.status == "criterion", "train_seconds": res.train_seconds,
            "eval_seconds": res.eval_seconds, "cpu_seconds": cpu, "env_steps": steps,
            "steps_per_second": steps / res.train_seconds, "updates": res.steps,
            "loadavg": os.getloadavg()}


# -- sb3-contrib ------------------------------------------------------------------------------------


def _vec_env(env):
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv

    class BrainlikeVecEnv(VecEnv):
        """brainlike's VectorTaskEnv behind SB3's VecEnv interface (same-step autoreset)."""

        def __init__(self, env):
            self.env = env
            super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)

        def reset(self):
            seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else None
            obs, _ = self.env.reset(seed=seed)
            self._reset_seeds()
            return obs

        def step_async(self, actions):
            self._actions = np.asarray(actions)

        def step_wait(self):
            obs, reward, term, trunc, info = self.env.step(self._actions)
            dones = term | trunc
            infos = [{} for _ in range(self.num_envs)]
            for i in np.flatnonzero(dones):
                infos[i] = {**info["final_info"][i], "TimeLimit.truncated": False,
                            "terminal_observation": info["final_observation"][i]}
            return obs, reward.astype(np.float32), dones, infos

        def close(self):
            pass

        def get_attr(self, name, indices=None):
            return [getattr(self.env, name)] * self.num_envs

        def set_attr(self, name, value, indices=None):
            raise NotImplementedError

        def env_method(self, name, *args, indices=None, **kwargs):
            raise NotImplementedError

        def env_is_wrapped(self, wrapper_class, indices=None):
            return [False] * self.num_envs

    return BrainlikeVecEnv(env)


def _sb3_rule(model, seed: int) -> tuple[float, float]:
    """Song's rule on EVAL_TRIALS fresh trials, one per environment, actions sampled."""
    env = task().as_vector_env(EVAL_TRIALS, seed=seed)
    obs, _ = env.reset()
    state, starts = None, np.ones(EVAL_TRIALS, bool)
    outcome: list = [None] * EVAL_TRIALS
    while any(o is None for o in outcome):
        actions, state = model.predict(obs, state=state, episode_start=starts, deterministic=False)
        obs, _, term, _, info = env.step(actions)
        starts = term
        for i in np.flatnonzero(term):
            if outcome[i] is None:
                outcome[i] = info["final_info"][i]
    answered = np.array([o["decision"] > 0 for o in outcome])
    correct = np.array([o["correct"] for o in outcome])
    return float(answered.mean()), float(correct[answered].mean()) if answered.any() else 0.0


def run_sb3(seed: int, budget: float, check: float) -> dict:
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.callbacks import BaseCallback

    env = _vec_env(task().as_vector_env(8, seed=seed))
    model = RecurrentPPO(
        "MlpLstmPolicy", env, n_steps=128, batch_size=256, n_epochs=10, learning_rate=7e-4,
        gae_lambda=0.98, gamma=0.99, max_grad_norm=1.0, seed=seed, verbose=0, device="cpu",
        policy_kwargs={"lstm_hidden_size": 64, "enable_critic_lstm": True},
    )

    class Rule(BaseCallback):
        def __init__(self):
            super().__init__()
            self.start, self.cpu0 = time.perf_counter(), time.process_time()
            self.evaluating = self.evaluating_cpu = 0.0
            self.last = 0.0
            self.reached = False
            self.answered = self.correct = 0.0

        def train_seconds(self):
            return time.perf_counter() - self.start - self.evaluating

        def cpu_seconds(self):
            return time.process_time() - self.cpu0 - self.evaluating_cpu

        def _on_step(self):
            if self.cpu_seconds() - self.last < check:
                return self.cpu_seconds() < budget
            t0, c0 = time.perf_counter(), time.process_time()
            self.answered, self.correct = _sb3_rule(self.model, seed + 1)
            self.evaluating += time.perf_counter() - t0
            self.evaluating_cpu += time.process_time() - c0
            self.last = self.cpu_seconds()
            self.reached = self.answered >= MIN_ANSWERED and self.correct >= CRITERION
            return not self.reached and self.cpu_seconds() < budget

    rule = Rule()
    model.learn(total_timesteps=10**9, callback=rule)
    seconds = rule.train_seconds()
    return {"reached": rule.reached, "train_seconds": seconds, "eval_seconds": rule.evaluating,
            "cpu_seconds": rule.cpu_seconds(), "env_steps": float(model.num_timesteps),
            "steps_per_second": model.num_timesteps / seconds,
            "last_answered": rule.answered, "last_correct_of_answered": rule.correct,
            "loadavg": os.getloadavg()}


# -- CartPole without velocities ----------------------------------------------------------------


class _Positions:
    """CartPole-v1 showing the cart's position and the pole's angle only, divided by their
    failure thresholds (2.4, 0.2095 rad) so that the inputs are O(1)."""

    scale = np.array([2.4, 0.2095], dtype=np.float32)

    @classmethod
    def make(cls):
        import gymnasium

        class PositionsOnly(gymnasium.ObservationWrapper):
            def __init__(self, env):
                super().__init__(env)
                self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (2,), np.float32)

            def observation(self, obs):
                return (obs[[0, 2]] / cls.scale).astype(np.float32)

        return PositionsOnly(gymnasium.make("CartPole-v1"))


def cartpole_env(n: int):
    import gymnasium

    kw = {}
    mode = getattr(getattr(gymnasium.vector, "AutoresetMode", None), "SAME_STEP", None)
    if mode is not None:
        kw["autoreset_mode"] = mode
    return gymnasium.vector.SyncVectorEnv([_Positions.make for _ in range(n)], **kw)


def _test_episodes(act, seed: int, n: int = 20) -> float:
    """Mean return of ``n`` fresh episodes (one per environment), actions sampled by
    ``act(obs, starts) -> actions``."""
    test = cartpole_env(n)
    obs, _ = test.reset(seed=seed)
    total, alive, starts = np.zeros(n), np.ones(n, bool), np.ones(n, bool)
    for _ in range(500):
        a = act(obs, starts)
        obs, r, term, trunc, _ = test.step(a)
        starts = term | trunc
        total += r * alive
        alive &= ~starts
        if not alive.any():
            break
    return float(total.mean())


def run_cartpole(seed: int) -> dict:
    env = cartpole_env(8)
    policy = make_model("gru", n_input=2, n_hidden=64, n_output=2, dt=20.0, seed=seed)
    start, cpu0 = time.perf_counter(), time.process_time()
    updates = CARTPOLE_STEPS // (8 * CARTPOLE_PPO["n_steps"])
    res = train_ppo(policy, env, **{**CARTPOLE_PPO, **CARTPOLE_BRAINLIKE}, steps=updates,
                    batch_size=8, eval_every=10, seed=seed)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    gen = torch.Generator().manual_seed(seed)
    state = [policy.initial_state(20)]

    def act(obs, starts):
        with torch.no_grad():
            s = torch.where(torch.as_tensor(starts)[:, None], policy.initial_state(20), state[0])
            out = policy(torch.as_tensor(obs, dtype=torch.float32)[:, None], s)
        state[0] = out.final_state
        return torch.multinomial(torch.softmax(out.outputs[:, 0], -1), 1, generator=gen)[:, 0].numpy()

    return {"env_steps": float(np.nansum(res.history["env_steps"])), "wall_seconds": wall,
            "cpu_seconds": cpu, "eval_mean_reward": _test_episodes(act, seed + 1),
            "eval_episodes": 20,
            "training_episode_return": [round(x, 1) for x in res.history["episode_return"].tolist()
                                        if x == x]}


def run_sb3_cartpole(seed: int) -> dict:
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    env = VecNormalize(make_vec_env(_Positions.make, n_envs=8, seed=seed), norm_obs=False,
                       norm_reward=True, gamma=CARTPOLE_PPO["gamma"])
    model = RecurrentPPO(
        "MlpLstmPolicy", env, n_steps=CARTPOLE_PPO["n_steps"], batch_size=256,
        n_epochs=CARTPOLE_PPO["epochs"], learning_rate=CARTPOLE_PPO["lr"],
        gae_lambda=CARTPOLE_PPO["gae_lambda"], gamma=CARTPOLE_PPO["gamma"],
        max_grad_norm=CARTPOLE_PPO["grad_clip"], seed=seed, verbose=0, device="cpu",
        policy_kwargs={"lstm_hidden_size": 64, "enable_critic_lstm": True},
    )
    start, cpu0 = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=CARTPOLE_STEPS)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    state = [None]

    def act(obs, starts):
        a, state[0] = model.predict(obs, state=state[0], episode_start=starts, deterministic=False)
        return a

    return {"env_steps": float(model.num_timesteps), "wall_seconds": wall, "cpu_seconds": cpu,
            "eval_mean_reward": _test_episodes(act, seed + 1), "eval_episodes": 20}


def summarize(runs: dict) -> dict:
    """Medians over seeds; a run that did not reach the rule counts with its time at the stop
    (a lower bound), so the wall-time ratio is a measurement only when every brainlike run
    reached the rule, and a lower bound when some sb3-contrib run did not."""
    keys = ("train_seconds", "cpu_seconds", "steps_per_second", "env_steps")
    med = {k: {m: float(np.median([r[m] for r in v])) for m in keys if all(m in r for r in v)}
           for k, v in runs.items()}
    reached = {k: [r["reached"] for r in v] for k, v in runs.items()}
    ratio = med["sb3_contrib"]["train_seconds"] / med["brainlike"]["train_seconds"]
    cpu = ("cpu_seconds" in med["sb3_contrib"] and "cpu_seconds" in med["brainlike"]
           and med["sb3_contrib"]["cpu_seconds"] / med["brainlike"]["cpu_seconds"])
    # the median brainlike run must have reached the rule for the ratio of medians to hold
    holds = sum(reached["brainlike"]) > len(reached["brainlike"]) // 2
    return {
        "median": med, "reached": reached,
        "wall_time_ratio_sb3_over_brainlike": ratio if holds else None,
        "cpu_time_ratio_sb3_over_brainlike": cpu if holds else None,
        "wall_time_ratio_is_lower_bound": not all(reached["sb3_contrib"]),
        "steps_per_second_ratio": med["brainlike"]["steps_per_second"]
        / med["sb3_contrib"]["steps_per_second"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=600.0,
                        help="CPU seconds per brainlike run (and per sb3 run unless --sb3-budget)")
    parser.add_argument("--sb3-budget", type=float, default=None,
                        help="CPU seconds per sb3-contrib run (default: --budget)")
    parser.add_argument("--check", type=float, default=10.0, help="sb3: seconds between checks")
    parser.add_argument("--part", choices=("rdm", "cartpole", "all"), default="all")
    parser.add_argument("--cartpole-seeds", type=int, nargs="+", default=[0],
                        help="seeds of the cartpole part (each learner, one after the other)")
    parser.add_argument("--cartpole-learners", nargs="+", default=["brainlike", "sb3_contrib"],
                        choices=("brainlike", "sb3_contrib"))
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "rl.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import gymnasium
    import sb3_contrib

    path = args.out
    result = json.loads(path.read_text()) if path.exists() else {}
    result["machine"] = {
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "gymnasium": gymnasium.__version__, "sb3_contrib": sb3_contrib.__version__,
        "python": platform.python_version(), "loadavg_start": os.getloadavg(),
    }
    if args.part in ("rdm", "all"):
        runs = {"brainlike": [], "sb3_contrib": []}
        for seed in range(args.seeds):  # alternating: the load hits both alike
            runs["brainlike"].append(run_brainlike(seed, args.budget))
            print("brainlike", seed, runs["brainlike"][-1], flush=True)
            runs["sb3_contrib"].append(run_sb3(seed, args.sb3_budget or args.budget, args.check))
            print("sb3", seed, runs["sb3_contrib"][-1], flush=True)
        result["rdm"] = {
            "task": TASK, "criterion": {"correct_of_answered": CRITERION,
                                        "answered": MIN_ANSWERED, "trials": EVAL_TRIALS},
            "budget_cpu_seconds": {"brainlike": args.budget,
                                   "sb3_contrib": args.sb3_budget or args.budget},
            "runs": runs, **summarize(runs)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1))
    if args.part in ("cartpole", "all"):
        part = result["cartpole_no_velocity"] = {
            "env_steps": CARTPOLE_STEPS, "hyperparameters": CARTPOLE_PPO,
            "brainlike_options": CARTPOLE_BRAINLIKE, "bar": 450.0}
        learners = {"brainlike": run_cartpole, "sb3_contrib": run_sb3_cartpole}
        for seed in args.cartpole_seeds:
            for name in args.cartpole_learners:
                part.setdefault(name, {})[str(seed)] = learners[name](seed)
                print("cartpole", name, seed, part[name][str(seed)], flush=True)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(result, indent=1))  # each run's result as it comes
        for name, runs in part.items():
            if name in learners:
                scores = [r["eval_mean_reward"] for r in runs.values()]
                runs["median_eval_mean_reward"] = float(np.median(scores))
    result["machine"]["loadavg_end"] = os.getloadavg()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
