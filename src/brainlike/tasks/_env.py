"""Any class task as a batch of reward-giving environments, stepped together in NumPy.

Reinforcement learning needs a task's *rewards*, not its targets (Yang & Wang 2020, Section 2.2;
Song, Yang & Wang 2017). The rules below turn every trial of a class task into an episode, read
off the trial's own targets, so that any task of the library becomes an environment:

* the observation at step ``t`` is the trial's input at ``t`` (``batch.inputs[b, t]``);
* the action is a class: 0 = fixate, ``k`` = choose output ``k``;
* **breaking fixation** -- any action but 0 at a step whose target is 0 (fixate) -- aborts the
  trial with reward ``r_abort`` (-1, Song et al. 2017's ``R_ABORTED``);
* a **choice** -- an action but 0 where the target is not 0 (the response window: the decision
  epoch, or, in a reaction-time task, the stimulus) -- ends the trial. Its reward is the task's
  own rule where it has one (``task.reward(score, batch)``: post-decision wagering pays
  ``r_sure`` for the sure bet on wager trials, the task's ``r_abort`` for it where it is not
  offered) and otherwise ``r_correct`` (1) when the action is the target, ``r_wrong`` (0) when
  not;
* reaching the trial's last step still fixating ends it: reward ``r_correct`` (scored correct)
  when fixating *was* the answer there (a no-go trial), else ``r_no_response`` (default
  ``r_abort``: Song et al. 2017's ``R_TERMINAL``);
* a **closed-loop** task (one with a ``feedback`` method: the two-armed bandit) pays every step
  at once and feeds the outcome back as the next observation; its trials end at their length.

Trials whose observations do not depend on the actions (every open-loop task) can be played as a
whole: :func:`play` judges a ``(B, T)`` array of actions at once (the first step that ends a trial
ends it; later steps are not played), which is what lets a learner run B trials through its
recurrent loop in one pass and sample the actions afterwards. :class:`VectorTaskEnv` steps the
same rules one step at a time, as a Gymnasium vector environment.

Examples
--------
>>> import numpy as np
>>> from brainlike.tasks import make
>>> task = make("perceptual_decision", dt=100.0)
>>> batch = task.generate(4, seed=0)
>>> episodes = play(task, batch, np.array(batch.targets))      # the oracle's actions
>>> episodes.reward.tolist(), episodes.correct.all()
([1.0, 1.0, 1.0, 1.0], np.True_)
>>> env = task.as_vector_env(3, seed=0)
>>> obs, info = env.reset()
>>> obs.shape
(3, 3)
>>> obs, reward, terminated, truncated, info = env.step(np.array([1, 0, 0]))
>>> reward.tolist(), terminated.tolist()
([-1.0, 0.0, 0.0], [True, False, False])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._core import Task, TaskScore, TrialBatch, _check_positive

__all__ = ["Episodes", "VectorTaskEnv", "as_vector_env", "play"]


def _gymnasium():
    try:
        import gymnasium
    except ImportError as e:  # pragma: no cover - gymnasium is a core dependency
        raise ImportError("VectorTaskEnv needs gymnasium: pip install 'gymnasium>=0.29'") from e
    return gymnasium


@dataclass(frozen=True, eq=False)
class Episodes:
    """What a batch of trials gave when played (:func:`play`).

    Attributes
    ----------
    rewards : ndarray, float32, shape (B, T)
        The reward of every step (0 on steps not played).
    played : ndarray, bool, shape (B, T)
        The steps the episode reached: ``t <= end``.
    end : ndarray, int64, shape (B,)
        The step at which each trial ended.
    reward : ndarray, float64, shape (B,)
        Total reward of each trial.
    decision : ndarray, int64, shape (B,)
        The class chosen in the response window; -1 when the trial ended without a choice
        (aborted, or no response). For a closed-loop task, the last action (-1 for 0).
    aborted : ndarray, bool, shape (B,)
        Fixation was broken.
    correct : ndarray, bool, shape (B,)
        The choice was the target (or fixating to the end was).
    """

    rewards: np.ndarray
    played: np.ndarray
    end: np.ndarray
    reward: np.ndarray
    decision: np.ndarray
    aborted: np.ndarray
    correct: np.ndarray

    @property
    def answered(self) -> np.ndarray:
        """(B,) bool: the trial ended with a choice."""
        return self.decision >= 0


@dataclass(frozen=True)
class Rewards:
    """Reward sizes of the rules (module docstring); Song et al. 2017's by default."""

    correct: float = 1.0
    wrong: float = 0.0
    abort: float = -1.0
    no_response: float | None = None  # None: same as abort

    def __post_init__(self) -> None:
        for name in ("correct", "wrong", "abort", "no_response"):
            v = getattr(self, name)
            if v is None and name == "no_response":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"r_{name} must be a finite number, got {v!r}")
            object.__setattr__(self, name, float(v))


def _check_class_task(task: Any, owner: str) -> None:
    if not isinstance(task, Task):
        raise TypeError(f"{owner} needs a brainlike Task, got {task!r}")
    if task.target_kind != "class":
        raise ValueError(
            f"{owner} needs a class task (discrete actions: 0 = fixate, k = choose output k); "
            f"task {task.name!r} has target_kind={task.target_kind!r}"
        )


@dataclass(frozen=True, eq=False)
class _Judged:
    """A batch's arrays with each trial's reward table, ready to be played."""

    inputs: np.ndarray  # (B, T, I)
    targets: np.ndarray  # (B, T)
    lengths: np.ndarray  # (B,)
    if_right: np.ndarray  # (B, O) reward of choosing k when k is the target
    if_wrong: np.ndarray  # (B, O) ... when it is not
    at_end: np.ndarray  # (B,) reward of reaching the last step fixating
    fixate_correct: np.ndarray  # (B,) fixating at the last step is the answer
    conditions: Mapping[str, np.ndarray]


def _judged(task: Task, batch: TrialBatch, rewards: Rewards) -> _Judged:
    b, o = batch.batch_size, task.n_outputs
    last = batch.targets[np.arange(b), batch.lengths - 1]
    rule = getattr(task, "reward", None)
    if_right = np.zeros((b, o))
    if_wrong = np.zeros((b, o))
    for k in range(1, o):
        choice = np.full(b, k, dtype=np.int64)
        if rule is None:
            if_right[:, k], if_wrong[:, k] = rewards.correct, rewards.wrong
        else:  # the task's own rule (e.g. the sure bet of wagering)
            if_right[:, k] = rule(TaskScore(choice, np.ones(b, bool)), batch)
            if_wrong[:, k] = rule(TaskScore(choice, np.zeros(b, bool)), batch)
    fixate_correct = last == 0
    if rule is None:
        paid = np.full(b, rewards.correct)
    else:
        paid = np.asarray(rule(TaskScore(np.full(b, -1), np.ones(b, bool)), batch), np.float64)
    no_response = rewards.abort if rewards.no_response is None else rewards.no_response
    return _Judged(
        batch.inputs, batch.targets, batch.lengths, if_right, if_wrong,
        np.where(fixate_correct, paid, no_response), fixate_correct, batch.conditions,
    )


def _judge(action, target, last, if_right, if_wrong, at_end, fixate_correct, r_abort):
    """The rule of one step, elementwise over any (broadcast) shape.

    ``if_right``/``if_wrong`` are the rewards of the action taken (already gathered).
    Returns ``(end, reward, aborted, chose, correct)``.
    """
    act = action != 0
    aborted = act & (target == 0)
    chose = act & (target != 0)
    timeout = ~act & last
    hit = chose & (action == target)
    reward = np.where(aborted, r_abort, np.where(
        chose, np.where(hit, if_right, if_wrong), np.where(timeout, at_end, 0.0)))
    return aborted | chose | timeout, reward, aborted, chose, hit | (timeout & fixate_correct)


def _check_actions(actions: Any, shape: tuple[int, ...], n_actions: int, owner: str) -> np.ndarray:
    a = np.asarray(actions)
    if a.shape != shape:
        raise ValueError(f"actions of {owner} must have shape {shape}, got {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if not np.issubdtype(a.dtype, np.floating) or not np.array_equal(a, np.round(a)):
            raise ValueError(f"actions of {owner} must be integers in [0, {n_actions}), got "
                             f"dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() >= n_actions):
        raise ValueError(f"actions of {owner} must lie in [0, {n_actions}) (0 = fixate), got "
                         f"{a.min()}..{a.max()}")
    return a


def play(task: Task, batch: TrialBatch, actions: Any, *, r_correct: float = 1.0,
         r_wrong: float = 0.0, r_abort: float = -1.0,
         r_no_response: float | None = None) -> Episodes:
    """Play a batch of open-loop trials with given actions (the rules of the module docstring).

    Parameters
    ----------
    task : Task
        A class task without closed-loop feedback.
    batch : TrialBatch
        Trials of ``task``, shape (B, T, ...).
    actions : array of int, shape (B, T)
        The action at every step (0 = fixate); those after a trial's end are ignored.
    r_correct, r_wrong, r_abort, r_no_response : float
        Reward sizes (``r_no_response`` None = ``r_abort``).

    Returns
    -------
    Episodes
    """
    _check_class_task(task, "play")
    if getattr(task, "feedback", None) is not None:
        raise ValueError(f"task {task.name!r} is closed loop (its observations depend on the "
                         "actions): step it with as_vector_env instead of play")
    rewards = Rewards(r_correct, r_wrong, r_abort, r_no_response)
    b, t = batch.batch_size, batch.n_steps
    a = _check_actions(actions, (b, t), task.n_outputs, "play")
    j = _judged(task, batch, rewards)
    steps = np.arange(t)
    end, reward, aborted, chose, correct = _judge(
        a, j.targets, steps == (j.lengths - 1)[:, None],
        np.take_along_axis(j.if_right, a, axis=1), np.take_along_axis(j.if_wrong, a, axis=1),
        j.at_end[:, None], j.fixate_correct[:, None], rewards.abort,
    )
    end &= steps < j.lengths[:, None]
    stop = np.argmax(end, axis=1)  # the first step that ends the trial (one always does)
    rows = np.arange(b)
    played = steps <= stop[:, None]
    per_step = np.where(played & (steps == stop[:, None]), reward, 0.0).astype(np.float32)
    return Episodes(
        rewards=per_step, played=played, end=stop, reward=reward[rows, stop].astype(np.float64),
        decision=np.where(chose[rows, stop], a[rows, stop], -1), aborted=aborted[rows, stop],
        correct=correct[rows, stop],
    )


def as_vector_env(name_or_task: str | Task, n_envs: int, *, seed: Any = None,
                  r_correct: float = 1.0, r_wrong: float = 0.0, r_abort: float = -1.0,
                  r_no_response: float | None = None, **params: Any) -> VectorTaskEnv:
    """A task as ``n_envs`` environments stepped together (:class:`VectorTaskEnv`).

    Parameters
    ----------
    name_or_task : str or Task
        A registered name (built with ``make(name, **params)``) or a task object.
    n_envs : int
        Number of environments B.
    seed : int, sequence of int or None
        Seeds the trials and the feedback; ``reset(seed=...)`` reseeds.
    r_correct, r_wrong, r_abort, r_no_response : float
        Reward sizes (module docstring; ``r_no_response`` None = ``r_abort``).
    """
    from ._registry import task_of

    return VectorTaskEnv(task_of(name_or_task, params), n_envs, seed=seed, rewards=Rewards(
        r_correct, r_wrong, r_abort, r_no_response))


def _autoreset_metadata(gym: Any) -> dict:
    mode = getattr(getattr(gym.vector, "AutoresetMode", None), "SAME_STEP", None)
    return {} if mode is None else {"autoreset_mode": mode}


class VectorTaskEnv(_gymnasium().vector.VectorEnv):
    """``n_envs`` trials of a class task stepped together, as a Gymnasium vector environment.

    Each environment plays trial after trial by the rules of this module (fixation breaks abort,
    a choice ends the trial, the task's own reward rule, closed-loop feedback); an environment
    whose trial ended starts its next trial in the same call (Gymnasium's same-step autoreset):
    the returned observation is the new trial's first, the last one is in
    ``info["final_observation"]`` and the ended trial's outcome (``correct``, ``decision``,
    ``aborted``, ``reward``, ``conditions``) in ``info["final_info"]``, each with its
    ``"_"``-prefixed mask, as ``gymnasium.vector`` does. Nothing is truncated.

    Trials come from ``task.generate`` in blocks of ``n_envs`` (one NumPy call for many trials,
    never a per-trial loop) and are dealt, in order, to the environments whose trial ended. The
    same seed and the same actions give the same episodes.

    Attributes
    ----------
    task : Task
    num_envs : int
    single_observation_space : Box, shape (n_inputs,)
        Bounds ±(10 + 10 noise SD) as :class:`TaskEnv` (never reached in practice; clipped).
    single_action_space : Discrete(n_outputs)
    open_loop : bool
        Observations do not depend on actions (no ``feedback``): whole trials can be played at
        once with :meth:`play`.
    rewards : Rewards
    """

    def __init__(self, task: Task, n_envs: int, *, seed: Any = None,
                 rewards: Rewards | None = None) -> None:
        gym = _gymnasium()
        _check_class_task(task, "as_vector_env")
        n = _check_positive("n_envs", n_envs, integer=True)
        self.task = task
        self.rewards = Rewards() if rewards is None else rewards
        self.open_loop = getattr(task, "feedback", None) is None
        bound = float(10.0 + 10.0 * task.noise_std)
        self._bound = bound
        single_obs = gym.spaces.Box(-bound, bound, (task.n_inputs,), np.float32)
        single_act = gym.spaces.Discrete(task.n_outputs)
        # Set by hand (Gymnasium 0.29's base __init__ takes them; 1.x's takes nothing).
        self.num_envs = n
        self.single_observation_space, self.single_action_space = single_obs, single_act
        self.observation_space = gym.vector.utils.batch_space(single_obs, n)
        self.action_space = gym.vector.utils.batch_space(single_act, n)
        self.is_vector_env = True
        self.closed = False
        self.metadata = {"render_modes": [], "task": task.name, "dt": task.dt,
                         "input_names": tuple(task.input_names),
                         "output_names": tuple(task.output_names), **_autoreset_metadata(gym)}
        self.render_mode = None
        self.spec = None
        self._seed = seed
        self._rngs: tuple[np.random.Generator, np.random.Generator] | None = None
        self._live: dict[str, Any] | None = None

    # ---- whole trials ------------------------------------------------------------------------
    def play(self, batch: TrialBatch, actions: Any) -> Episodes:
        """:func:`play` with this environment's task and rewards."""
        r = self.rewards
        return play(self.task, batch, actions, r_correct=r.correct, r_wrong=r.wrong,
                    r_abort=r.abort, r_no_response=r.no_response)

    # ---- trials dealt to environments --------------------------------------------------------
    def _take(self, k: int) -> _Judged:
        """The next ``k`` trials of the pool, made ``n_envs`` at a time (one generate call)."""
        live = self._live
        while len(live["pool"].lengths) - live["cursor"] < k:
            batch = self.task.generate(self.num_envs, seed=self._rngs[0])
            rest = _rows(live["pool"], slice(live["cursor"], None))
            live["pool"], live["cursor"] = _concat(rest, _judged(self.task, batch, self.rewards)), 0
        c = live["cursor"]
        live["cursor"] = c + k
        return _rows(live["pool"], slice(c, c + k))

    def _deal(self, rows: np.ndarray) -> None:
        """Start the next trials of the pool in environments ``rows`` (array copies only)."""
        live, new = self._live, self._take(len(rows))
        width = new.targets.shape[1]
        if width > live["inputs"].shape[1]:  # grow the per-environment buffers
            grow = width - live["inputs"].shape[1]
            live["inputs"] = np.pad(live["inputs"], ((0, 0), (0, grow), (0, 0)))
            live["targets"] = np.pad(live["targets"], ((0, 0), (0, grow)))
        live["inputs"][rows] = 0.0
        live["targets"][rows] = 0
        live["inputs"][rows, :width] = new.inputs
        live["targets"][rows, :width] = new.targets
        live["length"][rows], live["at_end"][rows] = new.lengths, new.at_end
        live["fixate_correct"][rows] = new.fixate_correct
        live["if_right"][rows], live["if_wrong"][rows] = new.if_right, new.if_wrong
        for key, values in new.conditions.items():
            live["conditions"].setdefault(key, np.zeros(self.num_envs, values.dtype))[rows] = values
        live["t"][rows] = 0
        live["trial"][rows] = live["next_trial"] + np.arange(len(rows))
        live["next_trial"] += len(rows)

    def _obs(self) -> np.ndarray:
        live = self._live
        x = live["inputs"][np.arange(self.num_envs), live["t"]]
        return np.clip(x, -self._bound, self._bound).astype(np.float32)

    @property
    def conditions(self) -> dict[str, np.ndarray]:
        """The task variables of the trial each environment is in, each ``(n_envs,)`` (copies)."""
        if self._live is None:
            raise RuntimeError("call reset() before reading conditions")
        return {k: v.copy() for k, v in self._live["conditions"].items()}

    # ---- gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: Any = None, options: dict | None = None):
        """Start a trial in every environment; ``seed`` (int or sequence) reseeds the trials.

        Returns ``(observations (n_envs, n_inputs), info)``; ``info["trial"]`` numbers the trials.
        """
        if seed is not None or self._rngs is None:
            ss = np.random.SeedSequence(seed if seed is not None else self._seed)
            self._rngs = tuple(np.random.default_rng(s) for s in ss.spawn(2))
        n, o = self.num_envs, self.task.n_outputs
        self._live = {
            "pool": _EMPTY, "cursor": 0,
            "inputs": np.zeros((n, 1, self.task.n_inputs), np.float32),
            "targets": np.zeros((n, 1), np.int64),
            "length": np.zeros(n, np.int64), "t": np.zeros(n, np.int64),
            "if_right": np.zeros((n, o)), "if_wrong": np.zeros((n, o)),
            "at_end": np.zeros(n), "fixate_correct": np.zeros(n, bool),
            "conditions": {}, "trial": np.zeros(n, np.int64), "next_trial": 0,
            "return": np.zeros(n),
        }
        self._deal(np.arange(n))
        return self._obs(), {"trial": self._live["trial"].copy()}

    def step(self, actions: Any):
        """Advance every environment by one step of ``task.dt`` ms.

        Parameters
        ----------
        actions : array of int, shape (n_envs,)
            0 = fixate, k = choose output k.

        Returns
        -------
        observations : ndarray, float32, shape (n_envs, n_inputs)
        rewards : ndarray, float64, shape (n_envs,)
        terminated, truncated : ndarray, bool, shape (n_envs,)
        info : dict
            ``trial`` (the trial each environment is now in) and, where trials ended,
            ``final_observation``/``final_info`` with their masks.
        """
        if self._live is None:
            raise RuntimeError("call reset() before step()")
        live, n = self._live, self.num_envs
        a = _check_actions(actions, (n,), self.task.n_outputs, "VectorTaskEnv.step")
        rows, t = np.arange(n), live["t"]
        last = t == live["length"] - 1
        target = live["targets"][rows, t]
        if self.open_loop:
            end, reward, aborted, chose, correct = _judge(
                a, target, last, live["if_right"][rows, a], live["if_wrong"][rows, a],
                live["at_end"], live["fixate_correct"], self.rewards.abort)
            decision = np.where(chose, a, -1)
        else:  # closed loop: paid at once, the outcome is the next observation
            reward, fed = self.task.feedback(self._rngs[1], live["conditions"], a)
            reward = np.asarray(reward, np.float64)
            grow = ~last
            live["inputs"][rows[grow], t[grow] + 1] = fed[grow]
            end, aborted = last, np.zeros(n, bool)
            decision = np.where(a > 0, a, -1)
            correct = decision == target
        live["return"] += reward
        live["t"] = np.where(end, t, t + 1)
        info: dict[str, Any] = {}
        done = np.flatnonzero(end)
        if done.size:
            final_obs = np.empty(n, dtype=object)
            final_info = np.empty(n, dtype=object)
            obs_now = self._obs()
            for i in done:
                final_obs[i] = obs_now[i]
                final_info[i] = {
                    "trial": int(live["trial"][i]), "correct": bool(correct[i]),
                    "decision": int(decision[i]), "aborted": bool(aborted[i]),
                    "reward": float(live["return"][i]), "steps": int(t[i] + 1),
                    "conditions": {k: v[i].item() for k, v in live["conditions"].items()},
                }
            live["return"][done] = 0.0
            self._deal(done)
            mask = end.copy()
            info.update(final_observation=final_obs, _final_observation=mask,
                        final_info=final_info, _final_info=mask)
            info.update(final_obs=final_obs, _final_obs=mask)  # Gymnasium 1.x names
        info["trial"] = live["trial"].copy()
        return self._obs(), reward.astype(np.float64), end, np.zeros(n, bool), info

    def close(self, **kwargs: Any) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return f"VectorTaskEnv({self.task!r}, n_envs={self.num_envs})"


def _rows(j: _Judged, rows: slice) -> _Judged:
    """Trials ``rows`` of a judged batch (views)."""
    return _Judged(j.inputs[rows], j.targets[rows], j.lengths[rows], j.if_right[rows],
                   j.if_wrong[rows], j.at_end[rows], j.fixate_correct[rows],
                   {k: v[rows] for k, v in j.conditions.items()})


def _concat(a: _Judged, b: _Judged) -> _Judged:
    """Two judged batches as one, padded to the longer trials."""
    if a.lengths.size == 0:
        return b
    width = max(a.targets.shape[1], b.targets.shape[1])

    def pad(x: np.ndarray) -> np.ndarray:
        return np.pad(x, [(0, 0), (0, width - x.shape[1])] + [(0, 0)] * (x.ndim - 2))

    return _Judged(
        np.concatenate([pad(a.inputs), pad(b.inputs)]), np.concatenate([pad(a.targets),
                                                                         pad(b.targets)]),
        *(np.concatenate([getattr(a, f), getattr(b, f)])
          for f in ("lengths", "if_right", "if_wrong", "at_end", "fixate_correct")),
        {k: np.concatenate([a.conditions[k], b.conditions[k]]) for k in b.conditions},
    )


_EMPTY = _Judged(np.zeros((0, 0, 0), np.float32), np.zeros((0, 0), np.int64),
                 np.zeros(0, np.int64), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0),
                 np.zeros(0, bool), {})
