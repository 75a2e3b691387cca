"""Reward-based training of recurrent networks: actor-critic (REINFORCE / A2C) and recurrent PPO.

The network is the *policy*: its outputs are the logits of the actions (0 = fixate, k = choose
output k), one per step, and an action is sampled from ``softmax(outputs)`` at every step. A
critic estimates the value ``V_t`` of each step -- a linear head on the policy's own activity (a
shared body) or Song, Yang & Wang (2017)'s separate value network, a GRU reading the policy's
activity and its previous action. With ``gamma`` and ``lambda`` the advantages are generalized
advantage estimates (Schulman et al. 2016),

    delta_t = r_t + gamma V_{t+1} - V_t,        A_t = sum_k (gamma lambda)^k delta_{t+k},

cut at the end of each episode; ``lambda = gamma = 1`` gives REINFORCE with a learned baseline,
``A_t = sum_{s >= t} r_s - V_t`` (Song et al. 2017), ``lambda < 1`` A2C with GAE. The loss of one
update, every mean taken over the steps played,

    L = -mean(log pi(a_t) A_t) + c_v mean((V_t - R_t)^2) - c_e mean(H[pi_t]),   R_t = A_t + V_t,

is minimized with Adam (:func:`train_a2c`); :func:`train_ppo` replaces the first term by PPO's
clipped surrogate ``-mean(min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t))`` with
``rho_t = pi(a_t) / pi_old(a_t)`` over several epochs of minibatches of whole trials (Schulman
et al. 2017), backpropagating through each trial (BPTT truncated at trial boundaries).

How a batch is played:

* **open-loop tasks** (observations do not depend on actions until the trial ends: every class
  task but the bandit) -- B whole trials go through the recurrent loop at once (for a
  :class:`~brainlike.models.RateRNN`, its fused loop with the hand-written backward pass); the
  actions of all steps are then sampled from the logits, and the environment's rules
  (:func:`brainlike.tasks.play`) find where each trial ended (broken fixation, a choice, the last
  step): later steps are masked out. This is exactly what stepping the environment would give,
  because the policy at step ``t`` sees only the inputs up to ``t``.
* **closed-loop tasks** (the two-armed bandit: the previous action and reward are the next
  inputs, Wang et al. 2018) and any Gymnasium vector environment -- the model is stepped, one
  step of all environments at a time, with its state reset where an episode begins.

Random streams, all from ``(seed, stream, update)``: trials 0, evaluation trials 1, recurrent noise
2 / 3 (training / evaluation), sampled actions 4 / 5. A resumed run therefore takes exactly the
updates of an uninterrupted one (for a brainlike task; an external Gymnasium environment's own
state is not checkpointed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .. import _checks
from .. import models as _models
from ._loop import SCHEDULES, _make_optimizer, _make_schedule, check_model_fits_task
from ._session import (
    EVAL_NOISE,
    EVAL_TRIALS,
    TRAIN_NOISE,
    TRAIN_TRIALS,
    Session,
    StepInfo,
    TrainResult,
)

__all__ = ["PolicyRollout", "gae", "rollout", "train_a2c", "train_ppo"]

TRAIN_ACTIONS, EVAL_ACTIONS = 4, 5
VALUE_NETWORKS = ("shared", "separate")


def _generator(*entropy: int) -> torch.Generator:
    state = np.random.SeedSequence([int(e) for e in entropy]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)


def _int_seed(*entropy: int) -> int:
    return int(np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0])


# -- advantages -----------------------------------------------------------------------------------


def gae(rewards: Tensor, values: Tensor, dones: Tensor, mask: Tensor, *, gamma: float,
        lam: float, last_value: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Generalized advantage estimates and returns of a batch of episodes (Schulman et al. 2016).

    Parameters
    ----------
    rewards, values : Tensor, shape (B, T)
        ``r_t`` and ``V_t``.
    dones : Tensor, shape (B, T)
        1 where the episode ended *at* step ``t`` (nothing is bootstrapped past it).
    mask : Tensor, shape (B, T)
        1 on the steps that were played; advantages are 0 elsewhere.
    gamma, lam : float
        Discount and GAE ``lambda`` in [0, 1]. ``gamma = lam = 1``: ``A_t = sum_{s>=t} r_s - V_t``.
    last_value : Tensor, shape (B,), optional
        ``V`` after the last step, for episodes cut by the end of the window (default 0).

    Returns
    -------
    advantages, returns : Tensor, shape (B, T)
        ``A_t`` and ``R_t = A_t + V_t`` (the value target), both 0 off ``mask``.
    """
    b, t = rewards.shape
    adv = torch.zeros_like(rewards)
    carry = torch.zeros(b, dtype=rewards.dtype)
    following = torch.zeros(b, dtype=rewards.dtype) if last_value is None else last_value
    for k in range(t - 1, -1, -1):
        go_on = 1.0 - dones[:, k]
        delta = rewards[:, k] + gamma * following * go_on - values[:, k]
        carry = delta + gamma * lam * go_on * carry
        adv[:, k] = carry
        following = values[:, k]
    adv = adv * mask
    return adv, (adv + values) * mask


class _RewardScale:
    """Rewards divided by a running standard deviation of the discounted return (the reward part
    of Stable-Baselines3's ``VecNormalize``, written anew): per environment ``G <- gamma G + r_t``
    (0 where an episode begins or after it ends), its mean and variance over every played step
    so far (pooled batch by batch, float64), then ``r_t / sqrt(var + 1e-8)``. It keeps the
    value targets O(1) whatever the environment pays (CartPole pays 1 per step: returns ~100)."""

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma
        self.moments = torch.zeros(3, dtype=torch.float64)  # count, mean, sum of squares
        self.returns: Tensor | None = None  # (B,) running discounted returns

    def __call__(self, b: _Batch) -> Tensor:
        r, starts = b.rewards.double(), b.starts.double()
        g = torch.zeros(r.shape[0], dtype=torch.float64) if self.returns is None else self.returns
        seen = torch.empty_like(r)
        for t in range(r.shape[1]):
            g = (g * (1.0 - starts[:, t]) * self.gamma + r[:, t]) * b.mask[:, t]
            seen[:, t] = g
            g = g * (1.0 - b.dones[:, t].double())
        self.returns = g
        x = seen[b.mask > 0]
        n0, mean0, m0 = self.moments.tolist()
        n1, mean1 = float(x.numel()), float(x.mean()) if x.numel() else 0.0
        m1 = float(((x - mean1) ** 2).sum())
        n = n0 + n1
        if n > 0:
            delta = mean1 - mean0
            self.moments = torch.tensor([n, mean0 + delta * n1 / n,
                                         m0 + m1 + delta**2 * n0 * n1 / n], dtype=torch.float64)
        var = float(self.moments[2]) / max(float(self.moments[0]), 1.0)
        return (r / math.sqrt(var + 1e-8)).float()

    def state(self) -> dict[str, Tensor]:
        out = {"reward_scale/moments": self.moments.clone()}
        if self.returns is not None:
            out["reward_scale/returns"] = self.returns.clone()
        return out

    def load(self, state: Mapping[str, Tensor]) -> None:
        if "reward_scale/moments" in state:
            self.moments = state["reward_scale/moments"].double().clone()
        if "reward_scale/returns" in state:
            self.returns = state["reward_scale/returns"].double().clone()


def _advantages(b: _Batch, hp: Mapping[str, Any], scale: _RewardScale | None,
                ) -> tuple[Tensor, Tensor]:
    """GAE of a played batch: its rewards (divided by the running scale when rewards are
    normalized), plus ``gamma V(final observation)`` on the last step of an episode a time limit
    cut, bootstrapped with ``V`` after the window."""
    rewards = b.rewards if scale is None else scale(b)
    rewards = rewards + hp["gamma"] * b.bootstrap
    return gae(rewards, b.values, b.dones, b.mask, gamma=hp["gamma"], lam=hp["gae_lambda"],
               last_value=b.last_value)


# -- critics --------------------------------------------------------------------------------------


class _ValueHead(nn.Module):
    """``V_t = w . activity_t + b``: a value readout of the policy's own activity (shared body)."""

    def __init__(self, n_hidden: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_hidden, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, activity: Tensor, actions: Tensor) -> Tensor:
        return self.linear(activity).squeeze(-1)


class _ValueNetwork(nn.Module):
    """Song et al. (2017)'s baseline network: a GRU reading the policy's activity (not
    differentiated into the policy) and the one-hot previous action, with a linear readout."""

    def __init__(self, n_policy: int, n_actions: int, n_hidden: int, dt: float, seed: int) -> None:
        super().__init__()
        self.n_actions = n_actions
        self.net = _models.make("gru", n_input=n_policy + n_actions, n_hidden=n_hidden,
                                n_output=1, dt=dt, seed=seed)

    def forward(self, activity: Tensor, actions: Tensor) -> Tensor:
        prev = F.one_hot(actions, self.n_actions).to(activity.dtype)
        prev = torch.cat((torch.zeros_like(prev[:, :1]), prev[:, :-1]), dim=1)
        return self.net(torch.cat((activity.detach(), prev), dim=-1)).outputs[..., 0]

    # An external environment's episodes run across windows and begin anywhere in one: there the
    # network is stepped, its state (and the previous action) carried from window to window and
    # reset where an episode begins, as the policy's are.
    def initial_carry(self, n: int) -> tuple[Tensor, Tensor]:
        """``(state (n, S), previous action one-hot (n, A))`` where an episode begins."""
        return self.net.initial_state(n), torch.zeros(n, self.n_actions)

    def step(self, activity: Tensor, carry: tuple[Tensor, Tensor], start: Tensor,
             ) -> tuple[Tensor, Tensor]:
        """``V`` (n,) of one step on the policy's ``activity (n, N)`` from ``carry``, reset first
        where ``start (n,)`` is 1; returns it and the network's state after the step."""
        begin = start[:, None] > 0
        state = torch.where(begin, self.net.initial_state(activity.shape[0]), carry[0])
        prev = torch.where(begin, torch.zeros_like(carry[1]), carry[1])
        out = self.net(torch.cat((activity.detach(), prev), dim=-1)[:, None], state)
        return out.outputs[:, 0, 0], out.final_state

    def window(self, activity: Tensor, actions: Tensor, starts: Tensor,
               carry: tuple[Tensor, Tensor]) -> Tensor:
        """``V`` (n, T) of a window of steps (activity (n, T, N), actions and starts (n, T)),
        from the ``carry`` it began with: the values it was played with."""
        values, (state, prev) = [], carry
        for t in range(activity.shape[1]):
            v, state = self.step(activity[:, t], (state, prev), starts[:, t])
            values.append(v)
            prev = F.one_hot(actions[:, t], self.n_actions).to(prev.dtype)
        return torch.stack(values, dim=1)


# -- environments ---------------------------------------------------------------------------------


class _External:
    """A Gymnasium vector environment that is not a brainlike task, named for the Session."""

    def __init__(self, env: Any) -> None:
        spec = getattr(env, "spec", None)
        self.env = env
        self.name = getattr(spec, "id", None) or type(env).__name__
        self.params: dict[str, Any] = {"num_envs": int(env.num_envs)}


def _check_environment(task: Any, owner: str) -> tuple[Any, bool]:
    """``(task-like object for the Session, is_brainlike_task)``."""
    if hasattr(task, "as_vector_env"):
        if getattr(task, "target_kind", "class") != "class":
            raise ValueError(f"{owner} needs a class task (actions 0 = fixate, k = choose output "
                             f"k); task {task.name!r} has target_kind={task.target_kind!r}")
        return task, True
    if hasattr(task, "num_envs") and hasattr(task, "step") and hasattr(task, "reset"):
        space = getattr(task, "single_action_space", None)
        if not hasattr(space, "n"):
            raise ValueError(f"{owner} needs discrete actions; the environment's "
                             f"single_action_space is {space!r}")
        mode = getattr(task, "metadata", {}).get("autoreset_mode")
        if mode is not None and getattr(mode, "value", mode) != "SameStep":
            raise ValueError(f"{owner} needs a vector environment that resets an ended episode "
                             f"in the same step (autoreset_mode SAME_STEP); this one has {mode}")
        return _External(task), False
    raise TypeError(f"{owner} needs a brainlike class task or a gymnasium vector environment; "
                    f"got {task!r}")


# -- rollouts -------------------------------------------------------------------------------------


@dataclass
class _Batch:
    """One update's experience, (B, T) unless noted; ``chunks`` index the minibatches."""

    inputs: Tensor  # (B, T, I)
    actions: Tensor  # long
    rewards: Tensor
    dones: Tensor
    mask: Tensor
    starts: Tensor  # 1 where an episode begins (state reset before the step)
    state0: Tensor  # (B, S) state before the first step
    logp: Tensor
    values: Tensor
    last_value: Tensor  # (B,)
    bootstrap: Tensor  # V of the final observation where an episode was truncated, else 0
    chunks: list[slice]
    stats: dict[str, float]
    trials: dict[str, Any]  # conditions, epochs and per-trial outcome, for rollout()
    critic0: tuple[Tensor, Tensor] | None = None  # a recurrent critic's carry before the window


def _sample(logits: Tensor, gen: torch.Generator) -> Tensor:
    """One action per row of ``logits (..., O)``, by inverse CDF on uniforms from ``gen``."""
    p = torch.softmax(logits.detach(), dim=-1).cumsum(-1)
    u = torch.rand(logits.shape[:-1], generator=gen, dtype=p.dtype)
    return (u.unsqueeze(-1) > p).sum(-1).clamp_max(logits.shape[-1] - 1)


class _Agent:
    """The policy (the model), its critic, and how they are run on a task or an environment."""

    def __init__(self, model: nn.Module, critic: nn.Module, task: Any, brainlike: bool,
                 seed: int, n_envs: int, n_chunks: int, n_steps: int | None) -> None:
        self.model, self.critic, self.task, self.seed = model, critic, task, seed
        self.brainlike, self.n_envs = brainlike, n_envs
        self.open_loop = brainlike and getattr(task, "feedback", None) is None
        size = -(-n_envs // n_chunks)
        self.chunks = [slice(k, min(k + size, n_envs)) for k in range(0, n_envs, size)]
        self.env = task.as_vector_env(n_envs, seed=seed) if brainlike else task.env
        self.n_steps = n_steps  # closed loop: steps per environment and update
        self._carry: tuple[Any, Tensor, Tensor] | None = None  # external env: obs, state, starts
        self._running: tuple[np.ndarray, np.ndarray] | None = None  # its episodes' returns, steps
        self.reward_scale: _RewardScale | None = None  # set by _run with normalize_rewards
        # a separate value network on an external environment is stepped with the policy
        self.recurrent_critic = not brainlike and isinstance(critic, _ValueNetwork)
        self._critic_carry: tuple[Tensor, Tensor] | None = None

    # ---- the policy and the critic on a sequence --------------------------------------------
    def unroll(self, inputs: Tensor, starts: Tensor, state0: Tensor, actions: Tensor,
               gen: torch.Generator, critic0: tuple[Tensor, Tensor] | None = None,
               ) -> tuple[Tensor, Tensor]:
        """Logits (b, T, O) and values (b, T) of a recorded sequence (differentiable);
        ``critic0``: a recurrent critic's carry before it (external environments)."""
        if self.open_loop:
            out = self.model(inputs, generator=gen)
            logits, activity = out.outputs, out.activity
        else:
            steps, state = [], state0
            initial = self.model.initial_state(inputs.shape[0])
            for t in range(inputs.shape[1]):
                state = torch.where(starts[:, t, None] > 0, initial, state)
                out = self.model(inputs[:, t : t + 1], state, generator=gen)
                state = out.final_state
                steps.append(out)
            logits = torch.cat([o.outputs for o in steps], dim=1)
            activity = torch.cat([o.activity for o in steps], dim=1)
            if self.recurrent_critic:
                return logits, self.critic.window(activity, actions, starts, critic0)
        return logits, self.critic(activity, actions)

    # ---- playing ----------------------------------------------------------------------------
    def collect(self, update: int, *, evaluate: bool = False, n: int | None = None,
                grad: bool = False, conditions: Mapping[str, Any] | None = None,
                ) -> tuple[_Batch, list[tuple[Tensor, Tensor]]]:
        """Play one batch. Returns the batch and, with ``grad``, each chunk's (logits, values)."""
        trials_stream, noise_stream, action_stream = (
            (EVAL_TRIALS, EVAL_NOISE, EVAL_ACTIONS) if evaluate
            else (TRAIN_TRIALS, TRAIN_NOISE, TRAIN_ACTIONS))
        chunks = [slice(0, n)] if evaluate else self.chunks
        with torch.set_grad_enabled(grad):
            if self.open_loop:
                return self._trials(update, n or self.n_envs, chunks, trials_stream,
                                    noise_stream, action_stream, conditions)
            if conditions is not None:
                raise ValueError("conditions can be fixed for open-loop tasks only; "
                                 f"{self.task.name!r} is closed loop")
            return self._stream(update, chunks, trials_stream, noise_stream, action_stream,
                                evaluate=evaluate, n=n)

    def _trials(self, update, n, chunks, trials_stream, noise_stream, action_stream, conditions):
        batch = self.task.generate(n, seed=[self.seed, trials_stream, update],
                                   conditions=conditions)
        inputs = torch.tensor(batch.inputs)
        b, t = inputs.shape[:2]
        actions = torch.zeros(b, t, dtype=torch.long)
        outs = []
        for m, c in enumerate(chunks):
            out = self.model(inputs[c], generator=_generator(self.seed, noise_stream, update, m))
            actions[c] = _sample(out.outputs, _generator(self.seed, action_stream, update, m))
            outs.append((out.outputs, self.critic(out.activity, actions[c])))
        ep = self.env.play(batch, actions.numpy())
        mask = torch.tensor(ep.played, dtype=torch.float32)
        dones = torch.zeros(b, t)
        dones[torch.arange(b), torch.tensor(ep.end)] = 1.0
        logits = torch.cat([o[0] for o in outs]).detach()
        logp = torch.log_softmax(logits, -1).gather(-1, actions[..., None])[..., 0]
        stats = _trial_stats(ep.reward, ep.correct, ep.answered, ep.aborted, ep.end + 1)
        return _Batch(
            inputs, actions, torch.tensor(ep.rewards), dones, mask, torch.zeros(b, t),
            self.model.initial_state(b).detach(), logp,
            torch.cat([o[1] for o in outs]).detach(), torch.zeros(b), torch.zeros(b, t), chunks,
            stats,
            {"conditions": dict(batch.conditions), "epochs": dict(batch.epochs),
             "end": ep.end, "reward": ep.reward, "decision": ep.decision,
             "correct": ep.correct, "aborted": ep.aborted},
        ), outs

    def _stream(self, update, chunks, trials_stream, noise_stream, action_stream, *,
                evaluate: bool, n: int | None):
        if self.brainlike:  # every update from a seeded reset: one trial per environment
            env = self.env if not evaluate else self.task.as_vector_env(n)
            obs, _ = env.reset(seed=[self.seed, trials_stream, update])
            conditions = env.conditions
            length = self.n_steps
            state = self.model.initial_state(env.num_envs)
            starts_now = torch.ones(env.num_envs)
        else:  # an external environment runs on across updates
            env, length = self.env, self.n_steps
            if evaluate:
                raise RuntimeError("external environments are evaluated from training episodes")
            if self._carry is None:
                obs, _ = env.reset(seed=_int_seed(self.seed, trials_stream))
                state = self.model.initial_state(env.num_envs)
                starts_now = torch.ones(env.num_envs)
            else:
                obs, state, starts_now = self._carry
            conditions = {}
        b = env.num_envs
        state0 = state.detach()
        critic = None
        if self.recurrent_critic:
            critic = self._critic_carry or self.critic.initial_carry(b)
            critic0 = (critic[0].detach(), critic[1])
        gens = [(_generator(self.seed, noise_stream, update, m),
                 _generator(self.seed, action_stream, update, m)) for m in range(len(chunks))]
        initial = self.model.initial_state(b)
        rec: dict[str, list] = {k: [] for k in ("obs", "act", "rew", "done", "start", "out",
                                                 "boot", "value")}
        # An external environment's episodes run across windows: their returns and lengths too.
        returns, steps_in = self._running if self._running is not None else (
            np.zeros(b), np.zeros(b, np.int64))
        finished: list[tuple[float, bool, int, bool, int]] = []
        for _ in range(length):
            x = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
            state = torch.where(starts_now[:, None] > 0, initial, state)
            act_t, outs, new_state = torch.zeros(b, dtype=torch.long), [], []
            for m, c in enumerate(chunks):
                out = self.model(x[c, None], state[c], generator=gens[m][0])
                act_t[c] = _sample(out.outputs[:, 0], gens[m][1])
                outs.append(out)
                new_state.append(out.final_state)
            state = torch.cat(new_state)
            if critic is not None:
                activity_t = torch.cat([o.activity[:, 0] for o in outs])
                value_t, critic_state = self.critic.step(activity_t, critic, starts_now)
                critic = (critic_state, F.one_hot(act_t, self.critic.n_actions).float())
                rec["value"].append(value_t)
            obs, reward, terminated, truncated, info = env.step(act_t.numpy())
            terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
            done = terminated | truncated
            # An episode cut by a time limit did not end: its last step is bootstrapped with the
            # value of its final observation, seen from the state it reached.
            cut = np.flatnonzero(truncated & ~terminated)
            boot = torch.zeros(b)
            if cut.size:
                boot[cut] = self._value_of(_final_observations(info, cut), state[cut],
                                           critic, cut)
            rec["boot"].append(boot)
            rec["obs"].append(x)
            rec["act"].append(act_t)
            rec["rew"].append(torch.as_tensor(np.asarray(reward), dtype=torch.float32))
            rec["done"].append(torch.as_tensor(done, dtype=torch.float32))
            rec["start"].append(starts_now)
            rec["out"].append(outs)
            returns += np.asarray(reward, np.float64)
            steps_in += 1
            final = info.get("final_info")
            for i in np.flatnonzero(done):
                fi = _final_info(final, i)
                finished.append((returns[i], bool(fi.get("correct", False)),
                                 int(fi.get("decision", 0)),
                                 bool(fi.get("aborted", False)), int(steps_in[i])))
            returns[done] = 0.0
            steps_in[done] = 0
            starts_now = torch.as_tensor(done, dtype=torch.float32)
        if not self.brainlike:
            self._carry = (obs, state.detach(), starts_now)
            self._running = (returns, steps_in)
            if critic is not None:
                self._critic_carry = (critic[0].detach(), critic[1])
        t = length
        inputs = torch.stack(rec["obs"], dim=1)
        actions = torch.stack(rec["act"], dim=1)
        logits, activity = [], []
        for m in range(len(chunks)):
            logits.append(torch.cat([rec["out"][k][m].outputs for k in range(t)], dim=1))
            activity.append(torch.cat([rec["out"][k][m].activity for k in range(t)], dim=1))
        if critic is not None:
            values = torch.stack(rec["value"], dim=1)
            outs = [(lg, values[c]) for lg, c in zip(logits, chunks)]
        else:
            outs = [(lg, self.critic(ac, actions[c]))
                    for lg, ac, c in zip(logits, activity, chunks)]
        all_logits = torch.cat([o[0] for o in outs]).detach()
        logp = torch.log_softmax(all_logits, -1).gather(-1, actions[..., None])[..., 0]
        # bootstrap the episodes the window cut (0 where an episode has just ended)
        last_value = self._value_of(np.asarray(obs), state, critic) * (1.0 - starts_now)
        trials: dict[str, Any] = {"conditions": conditions, "epochs": {}}
        if finished:
            arr = np.array(finished, dtype=np.float64)
            stats = _trial_stats(arr[:, 0], arr[:, 1] > 0, arr[:, 2] >= 0, arr[:, 3] > 0, arr[:, 4])
            trials.update(reward=arr[:, 0], correct=arr[:, 1] > 0,
                          decision=arr[:, 2].astype(np.int64), aborted=arr[:, 3] > 0,
                          end=arr[:, 4].astype(np.int64) - 1)
        else:
            stats = {"reward": math.nan, "episodes": 0.0}
        return _Batch(
            inputs, actions, torch.stack(rec["rew"], 1), torch.stack(rec["done"], 1),
            torch.ones(b, t), torch.stack(rec["start"], 1), state0, logp,
            torch.cat([o[1] for o in outs]).detach(), last_value, torch.stack(rec["boot"], 1),
            chunks, stats, trials, None if critic is None else critic0,
        ), outs

    def _value_of(self, obs: np.ndarray, state: Tensor, critic: tuple[Tensor, Tensor] | None = None,
                  rows: np.ndarray | None = None) -> Tensor:
        """``V`` of one more step on observations ``obs (k, I)`` from ``state (k, S)`` (no noise,
        no gradient): the value head's, which reads the activity of that step alone, or a
        recurrent critic's from its carry ``critic`` (rows ``rows`` of it)."""
        with torch.no_grad():
            x = torch.as_tensor(obs, dtype=torch.float32)[:, None]
            out = self.model(x, state.detach(), noise=False)
            if critic is not None:
                carry = critic if rows is None else (critic[0][rows], critic[1][rows])
                return self.critic.step(out.activity[:, 0], carry, torch.zeros(x.shape[0]))[0]
            return self.critic(out.activity, torch.zeros(x.shape[0], 1, dtype=torch.long))[:, 0]


def _final_observations(info: Mapping[str, Any], rows: np.ndarray) -> np.ndarray:
    """The last observations of the episodes ``rows`` that ended in a step (Gymnasium 0.29:
    ``final_observation``, 1.x with same-step autoreset: ``final_obs``)."""
    final = info.get("final_obs", info.get("final_observation"))
    if final is None:
        raise RuntimeError("a truncated episode needs its final observation in the step's info "
                           "('final_obs' or 'final_observation'), as Gymnasium's vector "
                           "environments give it")
    return np.stack([np.asarray(final[i], np.float32) for i in rows])


def _final_info(final: Any, i: int) -> dict[str, Any]:
    """Environment ``i``'s final info: Gymnasium 0.29 gives an array of dicts, 1.x a dict of
    arrays (with ``_key`` masks)."""
    if final is None:
        return {}
    if isinstance(final, Mapping):
        return {k: v[i] for k, v in final.items() if not k.startswith("_")
                and final.get(f"_{k}", np.ones(i + 1, bool))[i]}
    return final[i] or {}


def _trial_stats(reward, correct, answered, aborted, steps) -> dict[str, float]:
    reward, correct = np.asarray(reward, np.float64), np.asarray(correct, bool)
    answered, aborted = np.asarray(answered, bool), np.asarray(aborted, bool)
    n_answered = int(answered.sum())
    return {
        "reward": float(reward.mean()),
        "accuracy": float(correct.mean()),
        "answered": float(answered.mean()),
        "correct_of_answered": float(correct[answered].mean()) if n_answered else 0.0,
        "aborted": float(aborted.mean()),
        "episode_steps": float(np.mean(steps)),
        "episodes": float(len(reward)),
    }


# -- the shared driver ----------------------------------------------------------------------------


def _check_common(owner: str, **hp: Any) -> dict[str, Any]:
    top = _checks.FLOAT32_MAX
    out = {
        "steps": _checks.positive_int("steps", hp["steps"], owner),
        "batch_size": _checks.positive_int("batch_size", hp["batch_size"], owner),
        "eval_every": _checks.positive_int("eval_every", hp["eval_every"], owner),
        "eval_trials": _checks.positive_int("eval_trials", hp["eval_trials"], owner),
        "lr": _checks.in_range("lr", hp["lr"], owner, 0.0, top),
        "schedule": _checks.one_of("schedule", hp["schedule"], owner, SCHEDULES),
        "gamma": _checks.in_range("gamma", hp["gamma"], owner, 0.0, 1.0, low_open=False,
                                  high_open=False),
        "gae_lambda": _checks.in_range("gae_lambda", hp["gae_lambda"], owner, 0.0, 1.0,
                                       low_open=False, high_open=False),
        "value_coef": _checks.in_range("value_coef", hp["value_coef"], owner, 0.0, top,
                                       low_open=False),
        "entropy_coef": _checks.in_range("entropy_coef", hp["entropy_coef"], owner, 0.0, top,
                                         low_open=False),
        "value_network": _checks.one_of("value_network", hp["value_network"], owner,
                                        VALUE_NETWORKS),
        "grad_clip": None if hp["grad_clip"] is None else _checks.in_range(
            "grad_clip", hp["grad_clip"], owner, 0.0, top),
        "criterion": None if hp["criterion"] is None else _checks.in_range(
            "criterion", hp["criterion"], owner, 0.0, 1.0, high_open=False),
        "min_answered": _checks.in_range("min_answered", hp["min_answered"], owner, 0.0, 1.0,
                                         low_open=False, high_open=False),
        "n_steps": None if hp["n_steps"] is None else _checks.positive_int(
            "n_steps", hp["n_steps"], owner),
        "normalize_rewards": hp["normalize_rewards"],
    }
    if not isinstance(hp["normalize_rewards"], bool):
        raise ValueError(f"The 'normalize_rewards' parameter of {owner} must be a bool. "
                         f"Got {hp['normalize_rewards']!r} instead.")
    return out


def _prefixed(stats: dict[str, float]) -> dict[str, float]:
    """The played batch's statistics as log columns ``rollout_<name>``."""
    return {f"rollout_{k}": v for k, v in stats.items()}


def _entropy(logits: Tensor) -> Tensor:
    logp = torch.log_softmax(logits, -1)
    return -(logp.exp() * logp).sum(-1)


def _masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    return (x * mask).sum() / mask.sum().clamp_min(1.0)


def _run(
    owner: str, model: nn.Module, task: Any, hp: dict[str, Any], extra: dict[str, Any], *,
    seed: int, out: str | Path | None, resume: bool, progress: bool,
    callbacks: Sequence[Callable[[StepInfo], bool | None]], n_chunks: int,
    update: Callable[..., dict[str, float]],
) -> TrainResult:
    """Everything :func:`train_a2c` and :func:`train_ppo` share; ``update`` is the algorithm."""
    seed = _checks.seed("seed", seed, owner)
    session_task, brainlike = _check_environment(task, owner)
    if not isinstance(model, _models.RecurrentModel):
        raise TypeError(f"{owner} needs a recurrent model of brainlike.models (the protocol's "
                        f"state and initial_state); got {type(model).__name__}")
    n_actions = task.n_outputs if brainlike else int(task.single_action_space.n)
    if brainlike:
        check_model_fits_task(model, task)
    elif model.n_output != n_actions:
        raise ValueError(f"model.n_output ({model.n_output}) must equal the number of actions "
                         f"({n_actions}) of the environment")
    n_envs = hp["batch_size"] if brainlike else int(task.num_envs)
    if not brainlike and hp["batch_size"] != n_envs:
        raise ValueError(f"batch_size ({hp['batch_size']}) must equal the environment's num_envs "
                         f"({n_envs})")
    n_steps = hp["n_steps"]
    if brainlike and getattr(task, "feedback", None) is not None:
        longest = int(task.generate(1, seed=0).n_steps)
        n_steps = longest if n_steps is None else n_steps
        if n_steps != longest and hp["value_network"] == "separate":
            raise ValueError(f"value_network='separate' needs n_steps equal to the trial's length "
                             f"({longest}) for the closed-loop task {task.name!r}; got {n_steps}")
    elif not brainlike and n_steps is None:
        raise ValueError(f"{owner} needs n_steps (steps per environment and update) for an "
                         "external environment")
    n_chunks = min(n_chunks, n_envs)
    critic: nn.Module
    if hp["value_network"] == "shared":
        critic = _ValueHead(model.n_hidden)
    else:
        critic = _ValueNetwork(model.n_hidden, n_actions, model.n_hidden, model.dt,
                               _models.derive_seed(seed, 7))
    agent = _Agent(model, critic, task if brainlike else session_task, brainlike, seed, n_envs,
                   n_chunks, n_steps)
    if hp["normalize_rewards"]:
        agent.reward_scale = _RewardScale(hp["gamma"])
    params = [p for p in (*model.parameters(), *critic.parameters()) if p.requires_grad]
    opt = _make_optimizer("adam", params, hp["lr"], 0.0, 0.0)
    sched = _make_schedule(hp["schedule"], opt, hp["steps"])  # one step per update
    # a constant schedule is not recorded: the settings of such runs stay as they were before
    # schedules were offered (their run directories resume)
    skip = ("steps", "eval_every", "eval_trials", "criterion",
            *(("schedule",) if hp["schedule"] == "constant" else ()))
    settings = {**{k: v for k, v in hp.items() if k not in skip}, **extra}
    episodes: list[dict[str, float]] = []  # external environments: training episodes

    def evaluation(eval_seed: int) -> dict[str, Any]:
        if not brainlike:
            done = [e for e in episodes if e.get("rollout_episodes")]
            episodes.clear()
            total = sum(e["rollout_episodes"] for e in done)
            mean = (sum(e["rollout_reward"] * e["rollout_episodes"] for e in done) / total
                    if total else math.nan)
            return {"accuracy": None, "episode_return": None if math.isnan(mean) else mean}
        was = model.training
        model.eval()
        try:
            ev = _Agent(model, critic, task, True, eval_seed, hp["eval_trials"], 1, n_steps)
            batch, _ = ev.collect(0, evaluate=True, n=hp["eval_trials"])
        finally:
            model.train(was)
        return {**{k: v for k, v in batch.stats.items() if k != "episodes"}}

    def criterion_met(row: Mapping[str, Any]) -> bool:
        c = hp["criterion"]
        if c is None or row.get("correct_of_answered") is None:
            return False
        return row["correct_of_answered"] >= c and row["answered"] >= hp["min_answered"]

    session = Session(
        out, algorithm=owner.removeprefix("train_"), settings=settings, model=model,
        task=session_task, steps=hp["steps"], seed=seed, eval_every=hp["eval_every"],
        eval_trials=hp["eval_trials"], criterion=hp["criterion"], callbacks=callbacks,
        optimizer=opt, scheduler=sched, resume=resume, progress=progress, owner=owner,
        steps_tied_to=None if sched is None else f"schedule {hp['schedule']!r}",
        state=lambda: {**{f"critic/{k}": v for k, v in critic.state_dict().items()},
                       **(agent.reward_scale.state() if agent.reward_scale else {})},
        evaluation=evaluation, criterion_met=criterion_met,
    )
    model.train()
    max_norm = hp["grad_clip"] if hp["grad_clip"] is not None else math.inf
    with session as run:
        if run.state:
            critic.load_state_dict({k.removeprefix("critic/"): v for k, v in run.state.items()
                                    if k.startswith("critic/")})
            if agent.reward_scale is not None:
                agent.reward_scale.load(run.state)
        for step in run:
            row = update(agent, step, run, opt, params, max_norm)
            if sched is not None:
                sched.step()
            if not brainlike:
                episodes.append(row)
            run.record(row)
    return run.result()


def _loss(logits: Tensor, values: Tensor, b: _Batch, rows: slice, adv: Tensor, ret: Tensor,
          hp: dict[str, Any], clip: float | None) -> tuple[Tensor, dict[str, float]]:
    """The update's loss on trials ``rows``: the policy term (A2C's ``log pi A``, or PPO's clipped
    surrogate when ``clip`` is given), the value error and the entropy bonus."""
    mask, a = b.mask[rows], adv[rows]
    logp = torch.log_softmax(logits, -1).gather(-1, b.actions[rows, :, None])[..., 0]
    if clip is None:
        gain = logp * a
    else:
        ratio = torch.exp(logp - b.logp[rows])
        gain = torch.minimum(ratio * a, ratio.clamp(1.0 - clip, 1.0 + clip) * a)
    policy = -_masked_mean(gain, mask)
    value = _masked_mean((values - ret[rows]) ** 2, mask)
    entropy = _masked_mean(_entropy(logits), mask)
    loss = policy + hp["value_coef"] * value - hp["entropy_coef"] * entropy
    return loss, {"policy_loss": policy.item(), "value_loss": value.item(),
                  "entropy": entropy.item()}


def _step(run: Session, opt: torch.optim.Optimizer, params: list[Tensor], loss: Tensor,
          max_norm: float) -> float:
    run.check_loss(loss)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    run.check_gradient(norm)
    opt.step()
    run.check_parameters()
    return norm




def train_a2c(
    model: nn.Module,
    task: Any,
    *,
    steps: int = 2000,
    batch_size: int = 64,
    lr: float = 1e-3,
    schedule: str = "constant",
    gamma: float = 0.99,
    gae_lambda: float = 1.0,
    value_coef: float = 0.5,
    entropy_coef: float = 0.0,
    value_network: str = "shared",
    grad_clip: float | None = 1.0,
    n_steps: int | None = None,
    normalize_rewards: bool = False,
    eval_every: int = 50,
    eval_trials: int = 500,
    criterion: float | None = None,
    min_answered: float = 0.99,
    seed: int = 0,
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (),
    out: str | Path | None = None,
    resume: bool = True,
    progress: bool = False,
) -> TrainResult:
    """Train a recurrent policy by reward with the actor-critic of Song, Yang & Wang (2017).

    One update plays ``batch_size`` trials with actions sampled from the policy and takes one
    Adam step on ``-mean(log pi(a_t) A_t) + value_coef mean((V_t - R_t)^2) - entropy_coef
    mean(H)``; ``gamma = gae_lambda = 1`` (default) is REINFORCE with a learned baseline (the
    paper's), ``gae_lambda < 1`` A2C with generalized advantage estimation. See the module
    docstring of ``brainlike.training._rl`` for how trials are played.

    Parameters
    ----------
    model : RecurrentModel
        The policy: any recurrent model of :mod:`brainlike.models` (``RateRNN`` with Dale's law
        included) whose ``n_output`` is the number of actions (the task's outputs) and whose
        ``n_input``, ``dt`` are the task's.
    task : Task or gymnasium.vector.VectorEnv
        A class task of :mod:`brainlike.tasks` (played by the rules of
        :meth:`~brainlike.tasks.Task.as_vector_env`), or a Gymnasium vector environment with
        discrete actions and same-step autoreset (its episodes then run on across updates; a
        resumed run starts them afresh).
    steps : int
        Updates (each plays ``batch_size`` trials, or ``n_steps`` steps of every environment).
    batch_size : int
        Trials per update (for an environment: its ``num_envs``).
    lr : float
        Adam's learning rate.
    schedule : {"constant", "linear", "cosine"}
        The learning rate over the ``steps`` updates: constant, falling linearly to 0 (RL Zoo's
        ``lin_`` schedules for PPO), or cosine-annealed, as in :func:`brainlike.training.train`.
        A run with a schedule cannot be continued with a larger ``steps``.
    gamma, gae_lambda : float
        Discount and GAE lambda in [0, 1] (see the module docstring).
    value_coef, entropy_coef : float
        Weights of the value error and of the entropy bonus.
    value_network : {"shared", "separate"}
        A linear value head on the policy's activity, or Song et al. (2017)'s separate GRU value
        network reading the policy's activity (not differentiated into the policy) and previous
        action. On an external environment the value network keeps a recurrent state of its
        own, carried across updates and reset where an episode begins, like the policy's (as
        sb3-contrib ``RecurrentPPO``'s critic LSTM).
    grad_clip : float or None
        Clip the global gradient norm.
    n_steps : int, optional
        Steps per environment and update for closed-loop tasks (default: the trial's length)
        and external environments (required).
    normalize_rewards : bool
        Divide the rewards by a running standard deviation of the discounted return before the
        advantages (the reward part of Stable-Baselines3's ``VecNormalize``): for environments
        that pay often and much (CartPole's 1 per step), whose value targets would otherwise
        be ~100 and swamp the policy's gradient. Logged rewards and returns stay unscaled.
    eval_every, eval_trials : int
        Updates between evaluations (and checkpoints) and trials played per evaluation (with
        actions sampled from the policy, as Song et al. 2017 validated). An evaluation logs
        ``reward`` (mean per trial), ``accuracy`` (fraction correct), ``answered`` (a choice
        was made), ``correct_of_answered``, ``aborted`` and ``episode_steps``; for an external
        environment ``episode_return``, the mean return of the training episodes that ended
        since the last evaluation.
    criterion : float, optional
        Song et al. (2017)'s stopping rule: stop when ``correct_of_answered >= criterion`` and
        ``answered >= min_answered``.
    min_answered : float
        The rule's fraction of trials answered (0.99).
    seed : int
        Seed of trials, noise, actions and the critic's initialization.
    callbacks, out, resume, progress
        As in :func:`brainlike.training.train` (run directory, checkpoints with the critic's
        weights, bitwise resume, NaN guard).

    Returns
    -------
    TrainResult
        ``history`` holds per update ``loss``, ``policy_loss``, ``value_loss``, ``entropy``,
        ``grad_norm``, ``lr``, ``env_steps`` (steps played) and the played batch's
        ``rollout_reward``, ``rollout_accuracy``, ``rollout_answered``, ...; the evaluation
        columns on evaluation updates.
    References
    ----------
    Song, H. F., Yang, G. R. & Wang, X.-J. (2017). Reward-based training of recurrent neural
    networks for cognitive and value-based tasks. eLife 6, e21492. Mnih, V. et al. (2016).
    Asynchronous methods for deep reinforcement learning. ICML.

    Examples
    --------
    >>> from brainlike.models import RateRNN
    >>> from brainlike.tasks import make
    >>> task = make("perceptual_decision", dt=100.0)
    >>> policy = RateRNN(3, 16, 3, dt=100.0, tau=200.0, seed=0)
    >>> result = train_a2c(policy, task, steps=2, batch_size=8, eval_every=2, eval_trials=16)
    >>> result.status, sorted(k for k in result.history if k.startswith("correct"))
    ('max_steps', ['correct_of_answered'])
    """
    owner = "train_a2c"
    hp = _check_common(owner, steps=steps, batch_size=batch_size, eval_every=eval_every,
                       eval_trials=eval_trials, lr=lr, schedule=schedule, gamma=gamma,
                       gae_lambda=gae_lambda, value_coef=value_coef, entropy_coef=entropy_coef,
                       value_network=value_network, grad_clip=grad_clip, criterion=criterion,
                       min_answered=min_answered, n_steps=n_steps,
                       normalize_rewards=normalize_rewards)

    def update(agent: _Agent, step: int, run: Session, opt, params, max_norm) -> dict[str, float]:
        b, outs = agent.collect(step, grad=True)
        logits = torch.cat([o[0] for o in outs])
        values = torch.cat([o[1] for o in outs])
        adv, ret = _advantages(b, hp, agent.reward_scale)
        loss, parts = _loss(logits, values, b, slice(None), adv, ret, hp, None)
        lr_now = opt.param_groups[0]["lr"]
        norm = _step(run, opt, params, loss, max_norm)
        return {"loss": loss.item(), **parts, "grad_norm": norm, "lr": lr_now,
                "env_steps": float(b.mask.sum()), **_prefixed(b.stats)}

    return _run(owner, model, task, hp, {}, seed=seed, out=out, resume=resume,
                progress=progress, callbacks=callbacks, n_chunks=1, update=update)


def train_ppo(
    model: nn.Module,
    task: Any,
    *,
    steps: int = 500,
    batch_size: int = 64,
    lr: float = 3e-4,
    schedule: str = "constant",
    epochs: int = 4,
    n_minibatches: int = 4,
    clip_range: float = 0.2,
    normalize_advantages: bool = True,
    gamma: float = 0.99,
    gae_lambda: float = 0.95,
    value_coef: float = 0.5,
    entropy_coef: float = 0.0,
    value_network: str = "shared",
    grad_clip: float | None = 0.5,
    n_steps: int | None = None,
    normalize_rewards: bool = False,
    eval_every: int = 10,
    eval_trials: int = 500,
    criterion: float | None = None,
    min_answered: float = 0.99,
    seed: int = 0,
    callbacks: Sequence[Callable[[StepInfo], bool | None]] = (),
    out: str | Path | None = None,
    resume: bool = True,
    progress: bool = False,
) -> TrainResult:
    """Train a recurrent policy by reward with proximal policy optimization (recurrent PPO).

    One update plays ``batch_size`` trials (no gradient), computes GAE advantages, then takes
    ``epochs`` passes over ``n_minibatches`` fixed minibatches of whole trials in a shuffled
    order, one Adam step each, on the clipped surrogate ``-mean(min(rho A, clip(rho, 1 -
    clip_range, 1 + clip_range) A))`` plus the value error and the entropy bonus. Each minibatch
    is run again through the network from its first step with the recurrent noise it was played
    with (so ``rho = 1`` exactly before the first step), i.e. BPTT over whole trials.

    Parameters
    ----------
    epochs : int
        Passes over the batch per update.
    n_minibatches : int
        Minibatches of whole trials (of environments, for a closed-loop task) per pass.
    clip_range : float
        PPO's epsilon, in (0, 1).
    normalize_advantages : bool
        Standardize the advantages over the played steps of the batch.
    model, task, steps, batch_size, lr, schedule, gamma, gae_lambda, value_coef
        As in :func:`train_a2c` (the defaults are in the signature).
    entropy_coef, value_network, grad_clip, n_steps, normalize_rewards, eval_every
        As in :func:`train_a2c`.
    eval_trials, criterion, min_answered, seed, callbacks, out, resume, progress
        As in :func:`train_a2c`.

    Returns
    -------
    TrainResult
        As :func:`train_a2c`'s.

    References
    ----------
    Schulman, J. et al. (2017). Proximal policy optimization algorithms. arXiv:1707.06347.

    Examples
    --------
    >>> from brainlike.models import make
    >>> from brainlike.tasks import make as make_task
    >>> task = make_task("two_armed_bandit", n_pulls=10)
    >>> policy = make("gru", n_input=3, n_hidden=16, n_output=3, dt=task.dt, seed=0)
    >>> result = train_ppo(policy, task, steps=2, batch_size=8, eval_every=2, eval_trials=16)
    >>> result.steps, round(float(result.history["env_steps"][0]))
    (2, 80)
    """
    owner = "train_ppo"
    hp = _check_common(owner, steps=steps, batch_size=batch_size, eval_every=eval_every,
                       eval_trials=eval_trials, lr=lr, schedule=schedule, gamma=gamma,
                       gae_lambda=gae_lambda, value_coef=value_coef, entropy_coef=entropy_coef,
                       value_network=value_network, grad_clip=grad_clip, criterion=criterion,
                       min_answered=min_answered, n_steps=n_steps,
                       normalize_rewards=normalize_rewards)
    extra = {
        "epochs": _checks.positive_int("epochs", epochs, owner),
        "n_minibatches": _checks.positive_int("n_minibatches", n_minibatches, owner),
        "clip_range": _checks.in_range("clip_range", clip_range, owner, 0.0, 1.0),
        "normalize_advantages": normalize_advantages,
    }
    if not isinstance(normalize_advantages, bool):
        raise ValueError(f"The 'normalize_advantages' parameter of {owner} must be a bool. "
                         f"Got {normalize_advantages!r} instead.")

    def update(agent: _Agent, step: int, run: Session, opt, params, max_norm) -> dict[str, float]:
        b, _ = agent.collect(step)
        adv, ret = _advantages(b, hp, agent.reward_scale)
        if normalize_advantages:
            played = adv[b.mask > 0]
            if played.numel() > 1:
                adv = (adv - played.mean()) / (played.std() + 1e-8) * b.mask
        lr_now = opt.param_groups[0]["lr"]
        sums: dict[str, float] = {}
        n = 0
        for epoch in range(extra["epochs"]):
            order = torch.randperm(len(b.chunks), generator=_generator(agent.seed, 6, step, epoch))
            for m in order.tolist():
                c = b.chunks[m]
                logits, values = agent.unroll(
                    b.inputs[c], b.starts[c], b.state0[c], b.actions[c],
                    _generator(agent.seed, TRAIN_NOISE, step, m),
                    None if b.critic0 is None else (b.critic0[0][c], b.critic0[1][c]))
                loss, parts = _loss(logits, values, b, c, adv, ret, hp, extra["clip_range"])
                norm = _step(run, opt, params, loss, max_norm)
                for k, v in {"loss": loss.item(), **parts, "grad_norm": norm}.items():
                    sums[k] = sums.get(k, 0.0) + v
                n += 1
        return {**{k: v / n for k, v in sums.items()}, "lr": lr_now,
                "env_steps": float(b.mask.sum()), **_prefixed(b.stats)}

    return _run(owner, model, task, hp, extra, seed=seed, out=out, resume=resume,
                progress=progress, callbacks=callbacks, n_chunks=extra["n_minibatches"],
                update=update)




@dataclass(frozen=True, eq=False)
class PolicyRollout:
    """Trials played by a policy (:func:`rollout`); arrays ``(B, T)`` unless noted.

    Attributes
    ----------
    inputs : ndarray, float32, shape (B, T, I)
        The observations (for a closed-loop task, the fed-back actions and rewards).
    actions : ndarray, int64
        The sampled actions (0 = fixate); meaningless where not ``played``.
    rewards : ndarray, float32
    played : ndarray, bool
        The steps before each trial ended.
    conditions : mapping of str to ndarray (B,)
        The trials' task variables.
    epochs : mapping of str to ndarray (B, 2)
        Epoch boundaries (open-loop tasks; empty otherwise).
    reward, correct, decision, aborted, end : ndarray, shape (B,)
        Per trial: total reward, scored correct, the class chosen (-1: none), broken
        fixation, and the step at which the trial ended (the reaction time's step, in a
        reaction-time task).
    """

    inputs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    played: np.ndarray
    conditions: Mapping[str, np.ndarray]
    epochs: Mapping[str, np.ndarray]
    reward: np.ndarray
    correct: np.ndarray
    decision: np.ndarray
    aborted: np.ndarray
    end: np.ndarray


def rollout(model: nn.Module, task: Any, *, n_trials: int = 500, seed: int = 0,
            conditions: Mapping[str, Any] | None = None) -> PolicyRollout:
    """Play ``n_trials`` trials of a class task with a policy, its actions sampled at every step.

    The same rules and random streams as the evaluations of :func:`train_a2c` and
    :func:`train_ppo` (actions sampled, not argmax, as Song et al. 2017 validated).

    Parameters
    ----------
    model : RecurrentModel
        The policy (outputs = action logits).
    task : Task
        A class task of :mod:`brainlike.tasks`.
    n_trials : int
    seed : int
        Seed of the trials, the recurrent noise and the actions.
    conditions : mapping, optional
        Fix task variables (open-loop tasks), as ``task.generate(conditions=...)``.

    Returns
    -------
    PolicyRollout

    Examples
    --------
    >>> from brainlike.models import RateRNN
    >>> from brainlike.tasks import make
    >>> task = make("perceptual_decision", dt=100.0)
    >>> played = rollout(RateRNN(3, 8, 3, dt=100.0, seed=0), task, n_trials=5)
    >>> played.actions.shape, played.reward.shape
    ((5, 22), (5,))
    """
    owner = "rollout"
    n_trials = _checks.positive_int("n_trials", n_trials, owner)
    seed = _checks.seed("seed", seed, owner)
    _, brainlike = _check_environment(task, owner)
    if not brainlike:
        raise TypeError(f"{owner} needs a brainlike class task, got {task!r}")
    check_model_fits_task(model, task)
    n_steps = int(task.generate(1, seed=0).n_steps) if getattr(task, "feedback", None) else None
    agent = _Agent(model, _ValueHead(model.n_hidden), task, True, seed, n_trials, 1, n_steps)
    was = model.training
    model.eval()
    try:
        b, _ = agent.collect(0, evaluate=True, n=n_trials, conditions=conditions)
    finally:
        model.train(was)
    tr = b.trials
    return PolicyRollout(
        b.inputs.numpy(), b.actions.numpy(), b.rewards.numpy(), b.mask.numpy() > 0,
        tr["conditions"], tr["epochs"], tr["reward"], tr["correct"], tr["decision"],
        tr["aborted"], tr["end"],
    )
