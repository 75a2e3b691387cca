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
within ``--budget`` seconds is reported as not reached (the ratio is then a lower bound).

Part ``cartpole``: brainlike ``train_ppo`` on CartPole-v1 with the velocities hidden (8
environments, 50 000 steps; sb3-contrib's own bar: mean reward >= 450 after 50 000 steps),
evaluated on 20 fresh episodes. Observations are divided by the failure thresholds (a fixed
stand-in for the observation normalization of ``VecNormalize`` in sb3-contrib's test).

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


def task():
    return make(TASK["name"], dt=TASK["dt"])


# -- brainlike -------------------------------------------------------------------------------------


def run_brainlike(seed: int, budget: float) -> dict:
    t = task()
    policy = RateRNN(3, 64, 3, dt=t.dt, tau=200.0, seed=seed)
    start = time.perf_counter()
    stop = lambda info: time.perf_counter() - start > budget  # noqa: E731
    res = train_ppo(policy, t, steps=100_000, batch_size=64, lr=3e-3, epochs=4, n_minibatches=4,
                    eval_every=5, eval_trials=EVAL_TRIALS, criterion=CRITERION,
                    min_answered=MIN_ANSWERED, seed=seed, callbacks=[stop])
    steps = float(np.nansum(res.history["env_steps"]))
    return {"reached": res.status == "criterion", "train_seconds": res.train_seconds,
            "eval_seconds": res.eval_seconds, "env_steps": steps,
            "steps_per_second": steps / res.train_seconds, "updates": res.steps}


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
            self.start = time.perf_counter()
            self.evaluating = 0.0
            self.last = 0.0
            self.reached = False
            self.answered = self.correct = 0.0

        def train_seconds(self):
            return time.perf_counter() - self.start - self.evaluating

        def _on_step(self):
            if self.train_seconds() - self.last < check:
                return self.train_seconds() < budget
            t0 = time.perf_counter()
            self.answered, self.correct = _sb3_rule(self.model, seed + 1)
            self.evaluating += time.perf_counter() - t0
            self.last = self.train_seconds()
            self.reached = self.answered >= MIN_ANSWERED and self.correct >= CRITERION
            return not self.reached and self.train_seconds() < budget

    rule = Rule()
    model.learn(total_timesteps=10**9, callback=rule)
    seconds = rule.train_seconds()
    return {"reached": rule.reached, "train_seconds": seconds, "eval_seconds": rule.evaluating,
            "env_steps": float(model.num_timesteps),
            "steps_per_second": model.num_timesteps / seconds,
            "last_answered": rule.answered, "last_correct_of_answered": rule.correct}


# -- CartPole without velocities ----------------------------------------------------------------


def cartpole_env(n: int, seed: int):
    import gymnasium

    # Position and angle only, divided by their failure thresholds (2.4, 0.2095 rad) so that
    # the inputs are O(1): a fixed stand-in for the observation part of SB3's VecNormalize,
    # which sb3-contrib's own test uses.
    scale = np.array([2.4, 0.2095], dtype=np.float32)

    def make_one():
        env = gymnasium.make("CartPole-v1")
        space = gymnasium.spaces.Box(-np.inf, np.inf, (2,), dtype=np.float32)
        return gymnasium.wrappers.TransformObservation(
            env, lambda o: (o[[0, 2]] / scale).astype(np.float32), space)

    kw = {}
    mode = getattr(getattr(gymnasium.vector, "AutoresetMode", None), "SAME_STEP", None)
    if mode is not None:
        kw["autoreset_mode"] = mode
    return gymnasium.vector.SyncVectorEnv([make_one for _ in range(n)], **kw)


def run_cartpole(seed: int) -> dict:
    env = cartpole_env(8, seed)
    policy = make_model("gru", n_input=2, n_hidden=64, n_output=2, dt=20.0, seed=seed)
    start = time.perf_counter()
    res = train_ppo(policy, env, steps=50_000 // (8 * 128), batch_size=8, n_steps=128, lr=7e-4,
                    epochs=10, n_minibatches=1, gamma=0.99, gae_lambda=0.98, grad_clip=1.0,
                    eval_every=7, seed=seed)
    wall = time.perf_counter() - start
    test = cartpole_env(20, seed + 1)
    obs, _ = test.reset(seed=seed + 1)
    state = policy.initial_state(20)
    total, alive = np.zeros(20), np.ones(20, bool)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(500):
            out = policy(torch.as_tensor(obs, dtype=torch.float32)[:, None], state)
            state = out.final_state
            p = torch.softmax(out.outputs[:, 0], -1)
            a = torch.multinomial(p, 1, generator=gen)[:, 0].numpy()
            obs, r, term, trunc, _ = test.step(a)
            total += r * alive
            alive &= ~(term | trunc)
            if not alive.any():
                break
    return {"env_steps": float(np.nansum(res.history["env_steps"])), "wall_seconds": wall,
            "eval_mean_reward": float(total.mean()), "eval_episodes": 20,
            "training_episode_return": [x for x in res.history["episode_return"].tolist()
                                        if x == x]}


def summarize(runs: dict) -> dict:
    """Medians over seeds; a run that did not reach the rule counts with its time at the stop
    (a lower bound), so the wall-time ratio is a measurement only when every brainlike run
    reached the rule, and a lower bound when some sb3-contrib run did not."""
    med = {k: {m: float(np.median([r[m] for r in v]))
               for m in ("train_seconds", "steps_per_second", "env_steps")}
           for k, v in runs.items()}
    reached = {k: [r["reached"] for r in v] for k, v in runs.items()}
    ratio = med["sb3_contrib"]["train_seconds"] / med["brainlike"]["train_seconds"]
    return {
        "median": med, "reached": reached,
        "wall_time_ratio_sb3_over_brainlike": ratio if all(reached["brainlike"]) else None,
        "wall_time_ratio_is_lower_bound": not all(reached["sb3_contrib"]),
        "steps_per_second_ratio": med["brainlike"]["steps_per_second"]
        / med["sb3_contrib"]["steps_per_second"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per sb3 run")
    parser.add_argument("--check", type=float, default=10.0, help="sb3: seconds between checks")
    parser.add_argument("--part", choices=("rdm", "cartpole", "all"), default="all")
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
            runs["sb3_contrib"].append(run_sb3(seed, args.budget, args.check))
            print("sb3", seed, runs["sb3_contrib"][-1], flush=True)
        result["rdm"] = {
            "task": TASK, "criterion": {"correct_of_answered": CRITERION,
                                        "answered": MIN_ANSWERED, "trials": EVAL_TRIALS},
            "budget_seconds": args.budget, "runs": runs, **summarize(runs)}
    if args.part in ("cartpole", "all"):
        result["cartpole_no_velocity"] = run_cartpole(0)
        print("cartpole", result["cartpole_no_velocity"], flush=True)
    result["machine"]["loadavg_end"] = os.getloadavg()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
