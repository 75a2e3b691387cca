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
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._core import Task, TaskScore, TrialBatch, Variable, _check_positive, last_step_choice

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


class NeuroGymTask(Task):
    """A NeuroGym environment's trials as a brainlike :class:`Task`.

    Inputs are the environment's observations (channel names from its
    observation space's ``name`` spec), targets its ground-truth actions
    (``target_kind="class"``; only Discrete action spaces). The mask is 1 on
    every valid step (NeuroGym trains on all steps) and 0 on padding. Epochs
    are the environment's periods (``start_ind``/``end_ind``; they need not
    tile the trial). Conditions are the numeric scalars of the trial info
    (``ground_truth``, ``coh``, ...; NaN where a trial lacks one).

    Score: the argmax of the outputs at each trial's last valid step (class 0
    = no response, -1) must equal the target at that step.

    Seeding: ``generate`` draws one integer from ``seed`` and calls the
    environment's ``seed()`` with it (``reset(seed=)`` does not seed
    NeuroGym's task RNG), so the same seed gives the same batch.
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
        self.epoch_names = tuple(self.env.timing)
        probe = self._trials(np.random.SeedSequence(0), 4)
        keys: list[str] = []
        for info, _, _, _ in probe:
            keys += [k for k, v in info.items() if _scalar(v) is not None and k not in keys]
        self.variables = tuple(Variable(k, f"NeuroGym trial info {k!r}", derived=True) for k in keys)
        self._params = {"env_id": env_id, **self.env_kwargs}

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.env_kwargs.items())
        return f"from_neurogym({self.env_id!r}{args})"

    def _trials(self, seed: Any, n: int) -> list[tuple[dict, np.ndarray, np.ndarray, dict]]:
        rng = np.random.default_rng(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.env.seed(int(rng.integers(2**31 - 1)))
            out = []
            for _ in range(n):
                info = self.env.new_trial()
                ob = np.array(self.env.ob, dtype=np.float32)
                gt = np.array(self.env.gt)
                if gt.ndim != 1:
                    raise ValueError(f"{self.env_id}: ground truth must be one label per step")
                periods = {
                    p: (int(self.env.start_ind[p]), int(self.env.end_ind[p])) for p in self.epoch_names
                }
                out.append((dict(info), ob, gt.astype(np.int64), periods))
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
        lengths = np.array([len(gt) for _, _, gt, _ in trials], dtype=np.int64)
        t_max = int(lengths.max())
        x = np.zeros((n, t_max, self.n_inputs), dtype=np.float32)
        y = np.zeros((n, t_max), dtype=np.int64)
        for i, (_, ob, gt, _) in enumerate(trials):
            x[i, : len(gt)] = ob
            y[i, : len(gt)] = gt
        mask = (np.arange(t_max) < lengths[:, None]).astype(np.float32)
        def column(key: str) -> np.ndarray:
            vals = [_scalar(info.get(key)) for info, *_ in trials]
            return np.array([np.nan if v is None else v for v in vals])

        conds = {v.name: column(v.name) for v in self.variables}
        epochs = {
            p: np.array([per[p] for *_, per in trials], dtype=np.int64).reshape(n, 2)
            for p in self.epoch_names
        }
        return TrialBatch(
            inputs=x, targets=y, mask=mask, lengths=lengths, conditions=conds, epochs=epochs,
            dt=self.dt, input_names=self.input_names, output_names=self.output_names,
            target_kind="class", task=self.name,
        )  # fmt: skip

    def score(self, outputs: Any, batch: TrialBatch) -> TaskScore:
        """Correct when the last-step argmax equals the target at that step."""
        out = self._check_outputs(outputs, batch)
        decision = last_step_choice(out, batch.lengths)
        want = batch.targets[np.arange(batch.batch_size), batch.lengths - 1]
        return TaskScore(decision=decision, correct=np.where(decision == -1, 0, decision) == want)
