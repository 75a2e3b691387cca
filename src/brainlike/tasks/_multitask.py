"""Several tasks behind one object (Yang et al. 2019's training), and sequential schedules.

Examples
--------
>>> from brainlike.tasks import MultiTask, Sequential
>>> mt = MultiTask(["yang19.go", "yang19.dm1"], probabilities=[1, 3])
>>> mt.probabilities
{'yang19.go': 0.25, 'yang19.dm1': 0.75}
>>> batch = mt.generate(8, seed=0)          # one task per batch
>>> batch.task in mt.tasks
True
>>> mt.score(batch.targets, batch).accuracy
1.0
>>> plan = Sequential([(["yang19.go"], 100), (["yang19.dm1", "yang19.dm2"], 200)])
>>> plan.total_steps, plan.task_at(150).name
(300, 'yang19.dm1+yang19.dm2')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._core import Task, TaskScore, TrialBatch, _check_positive
from ._registry import make

__all__ = ["Block", "MultiTask", "Sequential"]


_SHARED = ("n_inputs", "n_outputs", "dt", "target_kind")


def _check_shared(first: Any, t: Any, what: str) -> None:
    """Tasks trained by one network must share sizes, time step and target kind."""
    for attr in _SHARED:
        a, b = getattr(first, attr, None), getattr(t, attr, None)
        if a != b:
            raise ValueError(
                f"{what} must share {attr}: {first.name!r} has {a!r}, {t.name!r} has {b!r}"
            )


def _as_task(t: Any) -> Task:
    if isinstance(t, str):
        return make(t)
    if isinstance(t, MultiTask):
        raise TypeError("MultiTask cannot nest another MultiTask; pass its tasks instead")
    if not all(hasattr(t, a) for a in ("generate", "score", "n_inputs", "n_outputs", "name")):
        raise TypeError(f"tasks must be task names or Task objects, got {t!r}")
    return t


class MultiTask:
    """One network, several tasks: each batch comes from one task drawn at random.

    Behaves like a :class:`Task` (``n_inputs``, ``n_outputs``, ``dt``,
    ``target_kind``, ``name``, ``params``, ``ceiling``, ``generate``,
    ``score``), so trainers take it in place of one. As in Yang et al. 2019
    each call to :meth:`generate` draws **one** task (with ``probabilities``)
    and returns a batch of that task only; ``batch.task`` names it and
    :meth:`score` dispatches on it. Evaluate each task on its own through
    ``.tasks``.

    Parameters
    ----------
    tasks : sequence of str or Task
        Registered names or task objects; all must have the same
        ``n_inputs``, ``n_outputs``, ``dt`` and ``target_kind`` (for instance
        the ``yang19.*`` tasks, which share rule inputs) and distinct names.
    probabilities : sequence or mapping of float, optional
        Relative sampling weights (normalized), one per task or a mapping
        name -> weight; default uniform. A mapping need not list every task: as in
        Yang et al.'s ``rule_prob_map`` (``rule_prob_map.get(rule, 1.)``), a task it
        leaves out has weight 1, so ``{"yang19.ctxdm1": 5, "yang19.ctxdm2": 5}`` is the
        paper model's mix. A task is left out of training only by an explicit weight 0.

    Attributes
    ----------
    tasks : dict of str to Task
        In the given order.
    probabilities : dict of str to float
        Normalized; sums to 1.

    References
    ----------
    Yang et al. (2019) Nat Neurosci 22:297 (``train.py``: one rule per step).
    """

    ceiling = None

    def __init__(self, tasks: Sequence[Any], probabilities: Any = None) -> None:
        if isinstance(tasks, (str, bytes)) or not isinstance(tasks, Sequence) or not tasks:
            raise TypeError(f"tasks must be a non-empty sequence of names or Tasks, got {tasks!r}")
        objs = [_as_task(t) for t in tasks]
        self.tasks: dict[str, Task] = {}
        for t in objs:
            if t.name in self.tasks:
                raise ValueError(f"tasks must have distinct names; {t.name!r} appears twice")
            self.tasks[t.name] = t
        first = objs[0]
        for t in objs[1:]:
            _check_shared(first, t, "tasks")
        names = list(self.tasks)
        if probabilities is None:
            w = np.ones(len(names))
        elif isinstance(probabilities, Mapping):
            unknown = sorted(set(probabilities) - set(names))
            if unknown:
                raise ValueError(f"probabilities name unknown task(s) {unknown}; tasks are {names}")
            w = np.array([float(probabilities.get(n, 1.0)) for n in names])
        else:
            w = np.asarray(probabilities, dtype=np.float64)
            if w.shape != (len(names),):
                raise ValueError(
                    f"probabilities must have one weight per task ({len(names)}), got {w.shape}"
                )
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"probabilities must be finite, >= 0 and not all 0, got {w.tolist()}")
        w = w / w.sum()
        self.probabilities: dict[str, float] = {n: float(p) for n, p in zip(names, w)}
        self.input_names = first.input_names
        self.output_names = first.output_names

    @property
    def name(self) -> str:
        return "+".join(self.tasks)

    @property
    def n_inputs(self) -> int:
        return next(iter(self.tasks.values())).n_inputs

    @property
    def n_outputs(self) -> int:
        return next(iter(self.tasks.values())).n_outputs

    @property
    def dt(self) -> float | None:
        """The tasks' step in ms (None for tasks without a time axis: images, samples)."""
        return getattr(next(iter(self.tasks.values())), "dt", None)

    @property
    def target_kind(self) -> str:
        return next(iter(self.tasks.values())).target_kind

    @property
    def params(self) -> dict[str, Any]:
        """JSON-serializable; :meth:`from_params` rebuilds (registered tasks only)."""
        return {
            "tasks": {n: t.params for n, t in self.tasks.items()},
            "probabilities": dict(self.probabilities),
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MultiTask:
        """Rebuild from :attr:`params` (tasks by registered name)."""
        tasks = [make(n, **p) for n, p in params["tasks"].items()]
        return cls(tasks, probabilities=params.get("probabilities"))

    def __repr__(self) -> str:
        probs = ", ".join(f"{n!r}: {p:.3g}" for n, p in self.probabilities.items())
        return f"MultiTask({list(self.tasks)}, probabilities={{{probs}}})"

    def generate(
        self,
        batch_size: int,
        *,
        seed: Any = None,
        conditions: Mapping[str, Any] | None = None,
        task: str | None = None,
        noise: bool = True,
    ) -> TrialBatch:
        """A batch of one task: ``task`` if given, else one drawn with ``probabilities``.

        ``seed`` drives the draw and the batch (a Generator is advanced in
        place). ``conditions`` requires ``task`` (variables differ between
        tasks). Returns that task's :class:`TrialBatch`; ``batch.task`` names it.
        """
        rng = np.random.default_rng(seed)
        names = list(self.tasks)
        if task is None:
            if conditions is not None:
                raise ValueError("conditions require task=<name>: task variables differ between tasks")
            task = names[int(rng.choice(len(names), p=list(self.probabilities.values())))]
        elif task not in self.tasks:
            raise ValueError(f"unknown task {task!r}; this MultiTask has {names}")
        return self.tasks[task].generate(batch_size, seed=rng, conditions=conditions, noise=noise)

    def score(self, outputs: Any, batch: TrialBatch) -> TaskScore:
        """Score by the rule of the task that made the batch (``batch.task``)."""
        if batch.task not in self.tasks:
            raise ValueError(
                f"batch.task {batch.task!r} is not one of this MultiTask's {list(self.tasks)}"
            )
        return self.tasks[batch.task].score(outputs, batch)


@dataclass(frozen=True)
class Block:
    """One block of a :class:`Sequential` schedule: train ``task`` for ``steps`` steps."""

    task: MultiTask
    steps: int


class Sequential:
    """Blocks of tasks trained in order (continual learning), with step counts.

    Parameters
    ----------
    blocks : sequence of (tasks, steps)
        ``tasks`` is a name, a Task, a sequence of them, or a
        :class:`MultiTask`; ``steps`` (int > 0) is the block's number of
        optimization steps. The paper's continual-learning experiment
        (``train_seq``) is e.g. ``[(["yang19.go"], n), (["yang19.dlygo"], n),
        (["yang19.dm1", "yang19.dm2"], n), ...]``.

    Notes
    -----
    :func:`brainlike.training.train_sequential` trains a network on the blocks in order and
    evaluates every task seen so far after each block.

    Attributes
    ----------
    blocks : tuple of Block
    total_steps : int
    tasks : dict of str to Task
        Every task of every block, in the order they are first trained, for evaluation on all
        of them. A task may come back in a later block (rehearsal) but a name always means the
        same task.
    ends : tuple of int
        The step count at the end of each block.
    n_inputs : int
        That of every task (all blocks must share it, as one network trains on them all); so
        are ``n_outputs`` (int), ``dt`` (float, ms), ``target_kind`` (str), ``input_names``
        and ``output_names`` (tuple of str).
    name : str
        The blocks' names joined by ``" > "``.
    params : dict
        JSON-serializable: each block's tasks' parameters and steps.
    """

    ceiling = None

    def __init__(self, blocks: Sequence[Any]) -> None:
        if isinstance(blocks, (str, bytes)) or not isinstance(blocks, Sequence) or not blocks:
            raise TypeError(f"blocks must be a non-empty sequence of (tasks, steps), got {blocks!r}")
        out = []
        for i, b in enumerate(blocks):
            if not (isinstance(b, Sequence) and len(b) == 2):
                raise TypeError(f"blocks[{i}] must be a (tasks, steps) pair, got {b!r}")
            tasks, steps = b
            steps = _check_positive(f"blocks[{i}] steps", steps, integer=True)
            if not isinstance(tasks, MultiTask):
                one = isinstance(tasks, (str, Task)) or hasattr(tasks, "generate")
                tasks = MultiTask([tasks] if one else list(tasks))
            out.append(Block(tasks, steps))
        self.blocks: tuple[Block, ...] = tuple(out)
        self.tasks: dict[str, Task] = {}
        first = next(iter(self.blocks[0].task.tasks.values()))
        for i, b in enumerate(self.blocks):
            for name, t in b.task.tasks.items():
                _check_shared(first, t, "the tasks of all blocks")
                seen = self.tasks.get(name)
                if seen is not None and seen is not t and (
                        type(seen) is not type(t) or seen.params != t.params):
                    raise ValueError(
                        f"blocks[{i}] has a task named {name!r} that differs from the earlier "
                        f"task of that name ({seen.params} vs {t.params}); give them distinct names"
                    )
                self.tasks.setdefault(name, t)
        self._ends = np.cumsum([b.steps for b in self.blocks])

    @property
    def ends(self) -> tuple[int, ...]:
        return tuple(int(e) for e in self._ends)

    @property
    def name(self) -> str:
        return " > ".join(b.task.name for b in self.blocks)

    @property
    def params(self) -> dict[str, Any]:
        return {"blocks": [{"tasks": b.task.params, "steps": b.steps} for b in self.blocks]}

    @property
    def n_inputs(self) -> int:
        return self.blocks[0].task.n_inputs

    @property
    def n_outputs(self) -> int:
        return self.blocks[0].task.n_outputs

    @property
    def dt(self) -> float | None:
        return self.blocks[0].task.dt

    @property
    def target_kind(self) -> str:
        return self.blocks[0].task.target_kind

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.blocks[0].task.input_names

    @property
    def output_names(self) -> tuple[str, ...]:
        return self.blocks[0].task.output_names

    @property
    def total_steps(self) -> int:
        return int(self._ends[-1])

    def block_at(self, step: int) -> int:
        """Index of the block that step ``step`` (0-based) belongs to."""
        step = _check_positive("step", step, integer=True, allow_zero=True)
        if step >= self.total_steps:
            raise ValueError(f"step must be < total_steps={self.total_steps}, got {step}")
        return int(np.searchsorted(self._ends, step, side="right"))

    def task_at(self, step: int) -> MultiTask:
        """The (multi-)task to train at step ``step``."""
        return self.blocks[self.block_at(step)].task

    def __repr__(self) -> str:
        inner = ", ".join(f"({list(b.task.tasks)}, {b.steps})" for b in self.blocks)
        return f"Sequential([{inner}])"
