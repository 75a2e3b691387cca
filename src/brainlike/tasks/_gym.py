"""Any task as a ``gymnasium.Env``: trial after trial, reward by the task's own score.

Examples
--------
>>> from brainlike.tasks import as_gym_env
>>> env = as_gym_env("perceptual_decision", dt=100.0)
>>> obs, info = env.reset(seed=0)
>>> obs.shape, int(env.action_space.n), env.metadata["input_names"][0]
((3,), 3, 'fixation')
>>> total = 0.0
>>> for _ in range(44):                     # two trials of 22 steps, played by the oracle
...     obs, reward, terminated, truncated, info = env.step(env.oracle_action())
...     total += reward
>>> total
2.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._core import Task, TrialBatch, _check_positive
from ._registry import task_of
from .yang19 import PREFERRED, Yang19Task, bump

__all__ = ["TaskEnv", "as_gym_env"]


def _gymnasium():
    try:
        import gymnasium
    except ImportError as e:  # pragma: no cover - gymnasium is a core dependency
        raise ImportError("as_gym_env needs gymnasium: pip install 'gymnasium>=0.29'") from e
    return gymnasium


def as_gym_env(name_or_task: str | Task, *, max_trials: int | None = None, **params: Any) -> TaskEnv:
    """Wrap a task as a :class:`gymnasium.Env` (see :class:`TaskEnv`).

    Parameters
    ----------
    name_or_task : str or Task
        A registered name (built with ``make(name, **params)``) or a task object.
    max_trials : int, optional
        Truncate the episode after this many trials (default: never; the
        episode runs trial after trial, like NeuroGym's).
    **params
        Task parameters, with a name only.
    """
    return TaskEnv(task_of(name_or_task, params), max_trials=max_trials)


def _env_base():
    return _gymnasium().Env


class TaskEnv(_env_base()):
    """A brainlike task as a Gymnasium environment.

    One step is one time step of ``task.dt`` ms. The observation is the
    trial's input vector at that step (``metadata["input_names"]`` names the
    channels); trials follow one another without end (or until
    ``max_trials``, which truncates). The observation space is a Box of
    ±(10 + 10·noise SD), which inputs never reach in practice (they are clipped
    to it). Every random draw comes from
    ``reset(seed=...)``: each trial is ``task.generate(1, seed=self.np_random)``.

    Actions: for class tasks ``Discrete(n_outputs)`` (0 = fixate, k = class
    k); for the Yang et al. 2019 tasks ``Discrete(33)`` (0 = fixate, k = saccade
    to the direction of ring unit k − 1); for other value tasks a
    ``Box(-1, 1, (n_outputs,))`` value. The actions of a trial are turned into
    an output trace and scored by ``task.score`` when the trial ends: reward 1
    on the trial's last step if correct, else 0 (0 on all other steps), or
    the task's own ``reward(score, batch)`` where it defines one (post-decision
    wagering: the sure bet). A task with ``env_feedback`` (the two-armed
    bandit) runs closed loop: every step's action is paid at once and fed
    back as the next observation.
    ``info`` carries ``trial`` (index), ``t`` (step in the trial),
    ``new_trial`` (the step ended a trial), and at a trial's end ``correct``,
    ``decision`` and the trial's ``conditions``.
    """

    def __init__(self, task: Task, *, max_trials: int | None = None) -> None:
        spaces = _gymnasium().spaces
        if not all(hasattr(task, a) for a in ("generate", "score", "n_inputs", "input_names")):
            raise TypeError(f"task must be a brainlike Task, got {task!r}")
        self.task = task
        self.max_trials = None if max_trials is None else _check_positive(
            "max_trials", max_trials, integer=True
        )
        self.metadata = {
            "render_modes": [],
            "task": task.name,
            "input_names": tuple(task.input_names),
            "output_names": tuple(task.output_names),
            "dt": task.dt,
            "paper": getattr(task, "citation", ""),
        }
        # Gymnasium wants finite bounds; inputs are O(1) plus Gaussian noise, so
        # +-(10 + 10 noise SD) is never reached in practice (observations are clipped to it).
        self._bound = float(10.0 + 10.0 * getattr(task, "noise_std", 0.0))
        self.observation_space = spaces.Box(-self._bound, self._bound, (task.n_inputs,), np.float32)
        if task.target_kind == "class" or isinstance(task, Yang19Task):
            self.action_space = spaces.Discrete(task.n_outputs)
        else:
            self.action_space = spaces.Box(-1.0, 1.0, (task.n_outputs,), np.float32)
        self._batch: TrialBatch | None = None

    # ---- helpers
    def _action_output(self, action: Any) -> np.ndarray:
        n = self.task.n_outputs
        if isinstance(self.task, Yang19Task):
            out = np.full(n, 0.05)
            if int(action) == 0:
                out[0] = 0.8
            else:
                out[1:] += bump(np.array([PREFERRED[int(action) - 1]]))[0]
            return out
        if self.task.target_kind == "class":
            return np.eye(n)[int(action)]
        return np.asarray(action, dtype=np.float64).reshape(n)

    def _new_trial(self) -> None:
        self._batch = self.task.generate(1, seed=self.np_random)
        self._t = 0
        self._outputs = np.zeros((self._batch.n_steps, self.task.n_outputs))

    def _obs(self) -> np.ndarray:
        return np.clip(self._batch.inputs[0, self._t], -self._bound, self._bound).astype(np.float32)

    def oracle_action(self) -> Any:
        """The action the task's targets ask for at the current step (a perfect policy)."""
        y = self._batch.targets[0, self._t]
        if self.task.target_kind == "class":
            return int(y)
        if isinstance(self.task, Yang19Task):
            if y[0] > 0.5:
                return 0
            ang = np.arctan2(y[1:] @ np.sin(PREFERRED), y[1:] @ np.cos(PREFERRED))
            d = np.abs(np.mod(PREFERRED - ang + math.pi, 2 * math.pi) - math.pi)
            return int(1 + np.argmin(d))
        return np.clip(np.asarray(y, dtype=np.float32), -1, 1)

    # ---- gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._trial = 0
        self._new_trial()
        return self._obs(), {"trial": 0, "t": 0, "new_trial": False}

    def step(self, action: Any):
        if self._batch is None:
            raise RuntimeError("call reset() before step()")
        self._outputs[self._t] = self._action_output(action)
        info: dict[str, Any] = {"trial": self._trial, "t": self._t, "new_trial": False}
        reward = 0.0
        truncated = False
        feedback = getattr(self.task, "env_feedback", None)
        patch = None
        if feedback is not None:  # closed loop (bandit): the pull is paid and fed back
            reward, patch = feedback(self.np_random, self._batch, int(action))
        if self._t == self._batch.lengths[0] - 1:
            score = self.task.score(self._outputs[None], self._batch)
            rule = getattr(self.task, "reward", None)
            if feedback is None:
                reward = float(rule(score, self._batch)[0]) if rule else float(score.correct[0])
            info.update(
                new_trial=True,
                correct=bool(score.correct[0]),
                decision=int(score.decision[0]),
                conditions={k: v[0].item() for k, v in self._batch.conditions.items()},
            )
            self._trial += 1
            truncated = self.max_trials is not None and self._trial >= self.max_trials
            self._new_trial()
        else:
            self._t += 1
            if patch is not None:
                inputs = np.array(self._batch.inputs)
                inputs[0, self._t] = patch
                self._batch = TrialBatch(**{**self._batch.__dict__, "inputs": inputs})
        return self._obs(), reward, False, truncated, info
