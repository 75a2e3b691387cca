"""Any NeuroGym environment as a brainlike task: trial-aligned, padded, seeded batches.

NeuroGym's own ``Dataset`` concatenates trials and cuts fixed windows across
trial boundaries, and cannot be seeded (neurogym#282). :func:`from_neurogym`
instead generates whole trials with the environment's ``new_trial()``, pads
them to the longest one with a loss mask, records the trial-info scalars as
conditions and seeds the environment's own RNG (``env.seed``) from the batch's
seed. Needs the optional ``neurogym`` package (``pip install brainlike[neurogym]``).
"""

from __future__ import annotations

import numbers
import warnings
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._core import Task, TaskScore, TrialBatch, Variable, _check_positive

__all__ = ["NeuroGymTask", "from_neurogym"]


def from_neurogym(env_id: str, **kwargs: Any) -> NeuroGymTask:
    """Wrap a NeuroGym environment (by id, e.g. ``"GoNogo-v0"``) as a brainlike task.

    Parameters
    ----------
    env_id : str
        A NeuroGym id (``neurogym.all_envs()``), including collections such as
        ``"yang19.go-v0"``.
    **kwargs
        Passed to ``neurogym.make`` (e.g. ``dt=20``, ``timing={...}``).

    Returns
    -------
    NeuroGymTask
        ``generate(B, seed=...)`` gives a :class:`TrialBatch` of B whole trials.

    Examples
    --------
    >>> from brainlike.tasks import from_neurogym
    >>> task = from_neurogym("PerceptualDecisionMaking-v0", dt=100)
    >>> batch = task.generate(4, seed=0)
    >>> batch.inputs.shape, batch.target_kind, "coh" in batch.conditions
    ((4, 22, 3), 'class', True)
    """
    return NeuroGymTask(env_id, **kwargs)


def _channel_names(space: Any, size: int, prefix: str) -> tuple[str, ...]:
    names = [f"{prefix}_{k}" for k in range(size)]
    spec = getattr(space, "name", None)
    if isinstance(spec, Mapping):
        for key, idx in spec.items():
            idx = [idx] if isinstance(idx, numbers.Integral) else list(idx)
            for j, i in enumerate(idx):
                if 0 <= int(i) < size:
                    names[int(i)] = str(key) if len(idx) == 1 else f"{key}_{j}"
    if len(set(names)) != size:  # pragma: no cover - malformed name spec
        names = [f"{prefix}_{k}" for k in range(size)]
    return tuple(names)


def _scalar(v: Any) -> float | None:
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (numbers.Real, np.integer, np.floating)):
        return float(v)
    return None


def _scores(env: Any) -> bool:
    """Whether the environment's ``_step`` sets ``self.performance`` (has a scoring rule)."""
    code = getattr(type(env)._step, "__code__", None)
    return code is None or "performance" in code.co_names


def _copy(state: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of an environment's attributes, its dicts (trial, periods) copied too."""
    return {k: dict(v) if isinstance(v, dict) else v for k, v in state.items()}


class NeuroGymTask(Task):
    """A NeuroGym environment's trials as a brainlike :class:`Task`.

    Inputs are the environment's observations (channel names from its
    observation space's ``name`` spec), targets its ground-truth actions
    (``target_kind="class"``; only Discrete action spaces). The mask is 1 on
    every valid step (NeuroGym trains on all steps) and 0 on padding. Epochs
    are the environment's periods (``start_ind``/``end_ind``), including those
    that ``env.timing`` does not list (ReadySetGo's ``production``); they need
    not tile the trial, and a period a trial lacks is ``[0, 0)``. Conditions
    are the numeric scalars of the trial info (``ground_truth``, ``coh``, ...;
    NaN where a trial lacks one).

    Score: NeuroGym's own rule, ``info['performance']`` (see
    :meth:`performance`): the action at each step is the argmax of the
    outputs (0 = fixate), and the environment's ``_step`` decides when the
    trial ends and whether it was correct; typically the first non-fixation
    action in the decision period ends the trial and must equal the target
    there, and a network that never responds is wrong. Two additions: a
    trial whose targets never ask for a response (a no-go trial) is correct
    when the network does not end it by responding, which NeuroGym does not
    score as correct (neurogym#22); and an environment whose ``_step`` never
    scores (ToneDetection: "just output the final choice") is scored at the
    last step, the argmax against the target there. ``decision`` is the
    action that ended the trial (-1 when no action did, or it was 0).

    Seeding: ``generate`` draws one integer from ``seed`` and calls the
    environment's ``seed()`` with it (``reset(seed=)`` does not seed
    NeuroGym's task RNG), so the same seed gives the same batch. Collections
    that schedule several environments (``yang19.*-v0``: one per stimulus
    modality) are driven at their top, as ``env.step`` does, so the trials
    come from every scheduled environment.
    """

    target_kind = "class"

    def __init__(self, env_id: str, **kwargs: Any) -> None:
        try:
            import neurogym
        except ImportError as e:
            raise ImportError(
                "from_neurogym needs the neurogym package: pip install 'brainlike[neurogym]'"
            ) from e
        if not isinstance(env_id, str):
            raise TypeError(f"env_id must be a NeuroGym id string, got {env_id!r}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # neurogym/gymnasium emit metadata warnings at make
            try:
                env = neurogym.make(env_id, **kwargs)
            except Exception as e:  # gymnasium raises several types for unknown ids
                raise ValueError(f"neurogym.make({env_id!r}) failed: {e}") from e
        self.env = env.unwrapped
        # The trial-level top (a ScheduleEnvs wrapper for collections): env.step starts every
        # trial with _top.new_trial(), and the trial then lives in _top.unwrapped.
        self._top = getattr(self.env, "_top", self.env)
        subs = getattr(self._top, "envs", None)
        self._trial_envs = [e.unwrapped for e in subs] if subs else [self.env]
        n_act = getattr(self.env.action_space, "n", None)
        if n_act is None:
            raise ValueError(
                f"{env_id} has a {type(self.env.action_space).__name__} action space; "
                "from_neurogym supports Discrete action spaces only"
            )
        super().__init__(dt=float(self.env.dt))
        self.env_id, self.env_kwargs = env_id, dict(kwargs)
        self.name = f"neurogym:{env_id}"  # type: ignore[misc]
        self.description = type(self.env).__doc__ or ""  # type: ignore[misc]
        meta = getattr(self.env, "metadata", {}) or {}
        self.citation = str(meta.get("paper_name", "") or "")  # type: ignore[misc]
        n_in = int(self.env.observation_space.shape[0])
        self.input_names = _channel_names(self.env.observation_space, n_in, "obs")
        self.output_names = _channel_names(self.env.action_space, int(n_act), "action")
        self._states: weakref.WeakKeyDictionary[TrialBatch, list] = weakref.WeakKeyDictionary()
        self._scored = all(_scores(e) for e in self._trial_envs)
        probe = self._trials(np.random.SeedSequence(0), 16)
        periods: list[str] = []
        for *_, per, _ in probe:
            periods += [p for p in per if p not in periods]
        self.epoch_names = tuple(periods)  # in the order the first trials add them
        keys: list[str] = []
        for info, *_ in probe:
            keys += [k for k, v in info.items() if _scalar(v) is not None and k not in keys]
        self.variables = tuple(Variable(k, f"NeuroGym trial info {k!r}", derived=True) for k in keys)
        self._params = {"env_id": env_id, **self.env_kwargs}

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.env_kwargs.items())
        return f"from_neurogym({self.env_id!r}{args})"

    def _trials(self, seed: Any, n: int) -> list[tuple[dict, np.ndarray, np.ndarray, dict, tuple]]:
        """``n`` trials: (info, ob, gt, periods, (env, state)), the state right after new_trial."""
        rng = np.random.default_rng(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._top.seed(int(rng.integers(2**31 - 1)))
            out = []
            for _ in range(n):
                for e in self._trial_envs:
                    # The periods this trial adds, told apart from those earlier trials left
                    # (start_t/end_t, which _step reads, stay as NeuroGym leaves them).
                    e.start_ind, e.end_ind = {}, {}
                info = self._top.new_trial()
                env = self._top.unwrapped
                if getattr(env, "ob", None) is None or getattr(env, "gt", None) is None:
                    raise ValueError(
                        f"{self.env_id}: from_neurogym needs trials with observations and ground "
                        "truth (env.ob, env.gt); this environment's new_trial() builds none"
                    )
                ob = np.array(env.ob, dtype=np.float32)
                gt = np.array(env.gt)
                if gt.ndim != 1:
                    raise ValueError(f"{self.env_id}: ground truth must be one label per step")
                periods = {p: (int(env.start_ind[p]), int(env.end_ind[p])) for p in env.start_ind}
                out.append((dict(info), ob, gt.astype(np.int64), periods, (env, _copy(vars(env)))))
        return out

    def generate(
        self,
        batch_size: int,
        *,
        seed: Any = None,
        conditions: Mapping[str, Any] | None = None,
        noise: bool = True,
    ) -> TrialBatch:
        """B whole trials from the environment, padded to the longest.

        ``conditions`` cannot be fixed (NeuroGym draws them inside
        ``new_trial``), and ``noise=False`` is not available; both raise.
        """
        n = _check_positive("batch_size", batch_size, integer=True)
        if conditions:
            raise ValueError(f"{self.name}: conditions cannot be fixed for a NeuroGym environment")
        if not noise:
            raise ValueError(f"{self.name}: noise=False is not available for a NeuroGym environment")
        trials = self._trials(seed, n)
        lengths = np.array([len(gt) for _, _, gt, _, _ in trials], dtype=np.int64)
        t_max = int(lengths.max())
        x = np.zeros((n, t_max, self.n_inputs), dtype=np.float32)
        y = np.zeros((n, t_max), dtype=np.int64)
        for i, (_, ob, gt, _, _) in enumerate(trials):
            x[i, : len(gt)] = ob
            y[i, : len(gt)] = gt
        mask = (np.arange(t_max) < lengths[:, None]).astype(np.float32)

        def column(key: str) -> np.ndarray:
            vals = [_scalar(info.get(key)) for info, *_ in trials]
            return np.array([np.nan if v is None else v for v in vals])

        conds = {v.name: column(v.name) for v in self.variables}
        epochs = {
            p: np.array([per.get(p, (0, 0)) for *_, per, _ in trials], dtype=np.int64).reshape(n, 2)
            for p in self.epoch_names
        }
        batch = TrialBatch(
            inputs=x, targets=y, mask=mask, lengths=lengths, conditions=conds, epochs=epochs,
            dt=self.dt, input_names=self.input_names, output_names=self.output_names,
            target_kind="class", task=self.name,
        )  # fmt: skip
        self._states[batch] = [state for *_, state in trials]
        return batch

    def performance(self, outputs: Any, batch: TrialBatch) -> np.ndarray:
        """NeuroGym's ``info['performance']`` of each trial, shape (B,).

        The network's action at each step is the argmax of ``outputs`` (B, T, n_outputs).
        Each trial's environment is put back in the state ``new_trial`` left it in, and the
        actions are fed to its ``_step`` one by one, as ``env.step`` does, until the
        environment ends the trial (``info['new_trial']``: in most environments the first
        non-fixation action in the decision period) or the trial's last step; the
        environment's ``performance`` then is the trial's score (1 correct, 0 not; some
        environments give fractions, e.g. PostDecisionWager's sure bet). The environment's
        own state is restored afterwards. Wrappers that change ``step`` are not replayed.

        Differences from NeuroGym, on purpose:

        * A trial whose targets are 0 (fixate) on every step, a no-go trial, scores 1 when
          no response ended it. NeuroGym scores it 0: ``env.step`` resets the performance
          after starting a trial, erasing the 1 that GoNogo's and DelayPairedAssociation's
          ``_new_trial`` set (neurogym#22), and the ``yang19.dms``-family rule has no way to
          score a withheld response as correct.
        * An environment whose ``_step`` never sets a performance (ToneDetection) is scored
          at the last step: 1 when the argmax there equals the target there.

        Raises
        ------
        ValueError
            When ``batch`` is not one this task generated (the environment states are kept
            with the batches ``generate`` returned, for as long as the batch exists).
        """
        return self._replay(outputs, batch)[0]

    def score(self, outputs: Any, batch: TrialBatch) -> TaskScore:
        """Correct when the trial's :meth:`performance` is 1."""
        perf, decision = self._replay(outputs, batch)
        return TaskScore(decision=decision, correct=perf >= 1.0)

    def _replay(self, outputs: Any, batch: TrialBatch) -> tuple[np.ndarray, np.ndarray]:
        out = self._check_outputs(outputs, batch)
        rows = np.arange(batch.batch_size)
        if not self._scored:  # the environment has no rule: the last step's argmax
            last = out[rows, batch.lengths - 1].argmax(-1)
            want = batch.targets[rows, batch.lengths - 1]
            return (last == want).astype(np.float64), np.where(last == 0, -1, last)
        states = self._states.get(batch)
        if states is None:
            raise ValueError(
                f"{self.name}: batch was not generated by this task; NeuroGym's rule replays "
                "each trial in its environment's state, which is kept only with the batches "
                "this task's generate() returned"
            )
        actions = out.argmax(-1)
        perf = np.zeros(batch.batch_size)
        decision = np.full(batch.batch_size, -1, dtype=np.int64)
        saved = {id(env): (env, _copy(vars(env))) for env, _ in states}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rng = np.random.RandomState(0)  # the environments' draws while scoring
                for i, (env, state) in enumerate(states):
                    n = batch.lengths[i]
                    perf[i], decision[i] = _replay(env, {**state, "rng": rng}, actions[i, :n])
                    if decision[i] == -1 and not batch.targets[i, :n].any():
                        perf[i] = 1.0  # a no-go trial, withheld
        finally:  # the environments as they were
            for env, attributes in saved.values():
                vars(env).clear()
                vars(env).update(attributes)
        return perf, decision


def _replay(env: Any, state: dict[str, Any], actions: np.ndarray) -> tuple[float, int]:
    """Feed ``actions`` to ``env._step`` from ``state``, as ``TrialEnv.step`` does.

    Returns the environment's performance when it ends the trial (or at its last step) and
    the action that ended it (-1 if none did, or it was 0).
    """
    vars(env).update(_copy(state))
    env.t = env.t_ind = env.performance = 0  # as env.step leaves them after new_trial
    for a in actions.tolist():
        info = env._step(int(a))[4]
        env.t += env.dt
        env.t_ind += 1
        if info.get("new_trial", False):
            return float(env.performance), int(a) if a != 0 else -1
        if env.t + env.dt > env.tmax:
            break
    return float(env.performance), -1

