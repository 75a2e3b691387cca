"""Split an image data set into tasks of a few classes each (split-task continual learning).

The standard continual-learning benchmark "split MNIST" (Zenke, Poole & Ganguli 2017) trains one
network on a sequence of two-class tasks (0/1, 2/3, ...). Its two scenarios (van de Ven & Tolias
2019, "Three scenarios for continual learning") differ in what the network is told:

* **task-incremental** (``heads=True``): the task is known, each task has a head of its own --
  here its own output units among the ``n_outputs`` (``output_units``), so that its decisions
  and its loss range over its own classes only;
* **class-incremental** (``heads=False``): every task reads all outputs, and the network must
  tell all classes seen so far apart.

Examples
--------
>>> from brainlike.tasks import make, split_classes
>>> tasks = split_classes(make("digits"), 5)
>>> [t.name for t in tasks][:2], tasks[0].output_units
(['digits[0,1]', 'digits[2,3]'], (0, 1))
>>> batch = tasks[1].generate(6, seed=0)
>>> sorted(set(batch.targets.tolist())) <= [2, 3], batch.task
(True, 'digits[2,3]')
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._core import TaskScore

__all__ = ["ClassSubset", "split_classes"]


def _check_image_task(task: Any, owner: str) -> None:
    need = ("generate", "score", "n_outputs", "name", "params", "data")
    missing = [a for a in need if not hasattr(task, a)]
    if missing:
        raise TypeError(
            f"The 'task' parameter of {owner} must be an image task (e.g. make('digits')); "
            f"{type(task).__name__} has no {missing}"
        )


class ClassSubset:
    """The examples of some classes of an image task, as a task of its own.

    Parameters
    ----------
    task : ImageTask
        E.g. ``make("digits")`` (its split, noise and held-out set are kept).
    classes : sequence of int
        The labels this task draws (distinct, in ``[0, task.n_outputs)``).
    heads : bool
        Task-incremental (True): the task reads only the output units of its classes
        (``output_units``; a head per task); trainers and :meth:`score` set the other logits to
        ``-inf``. Class-incremental (False): it reads every output.

    Attributes
    ----------
    name : str
        ``"<task>[c1,c2,...]"``.
    output_units : tuple of int or None
        ``classes`` with heads, else None.
    n_inputs, n_outputs, image_shape, input_names, output_names, target_kind
        Those of ``task`` (labels keep their values: the outputs are the data set's classes).
    """

    kind = "image"
    target_kind = "class"
    ceiling = None

    def __init__(self, task: Any, classes: Sequence[int], *, heads: bool = True) -> None:
        owner = "ClassSubset"
        _check_image_task(task, owner)
        if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence) or not classes:
            raise ValueError(
                f"The 'classes' parameter of {owner} must be a non-empty sequence of labels. "
                f"Got {classes!r} instead."
            )
        bad = [c for c in classes if isinstance(c, bool) or not isinstance(c, numbers.Integral)
               or not 0 <= c < task.n_outputs]
        if bad:
            raise ValueError(
                f"The 'classes' parameter of {owner} must hold labels in [0, {task.n_outputs}) "
                f"of {task.name!r}. Got {list(classes)!r} instead."
            )
        if len(set(classes)) != len(classes):
            raise ValueError(f"The 'classes' parameter of {owner} must not repeat a label. "
                             f"Got {list(classes)!r} instead.")
        if not isinstance(heads, bool):
            raise TypeError(f"The 'heads' parameter of {owner} must be a bool. Got {heads!r} instead.")
        self.base = task
        self.classes: tuple[int, ...] = tuple(int(c) for c in classes)
        self.heads = heads
        labels = np.asarray(task.data.labels)
        if not np.isin(labels, self.classes).any():
            raise ValueError(f"{task.name!r} has no examples of classes {list(self.classes)}")

    # ---- protocol
    @property
    def name(self) -> str:
        return f"{self.base.name}[{','.join(map(str, self.classes))}]"

    @property
    def params(self) -> dict[str, Any]:
        """JSON-serializable description (the task's name and parameters, classes, heads)."""
        return {"task": self.base.name, "task_params": self.base.params,
                "classes": list(self.classes), "heads": self.heads}

    @property
    def output_units(self) -> tuple[int, ...] | None:
        return self.classes if self.heads else None

    @property
    def n_inputs(self) -> int:
        return self.base.n_inputs

    @property
    def n_outputs(self) -> int:
        return self.base.n_outputs

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.base.image_shape

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.base.input_names

    @property
    def output_names(self) -> tuple[str, ...]:
        return self.base.output_names

    @property
    def evaluation_task(self) -> ClassSubset:
        """The same classes of the task's held-out split (what trainers score)."""
        held = getattr(self.base, "evaluation_task", self.base)
        return self if held is self.base else ClassSubset(held, self.classes, heads=self.heads)

    def __repr__(self) -> str:
        return f"ClassSubset({self.base!r}, {list(self.classes)}, heads={self.heads})"

    def generate(
        self, batch_size: int, *, seed: Any = None, conditions: Mapping[str, Any] | None = None,
        noise: bool = True,
    ) -> Any:
        """``batch_size`` examples of these classes drawn uniformly (see ``ImageTask.generate``);
        ``conditions={"label": ...}`` narrows them to some of the classes."""
        conditions = dict(conditions or {})
        allowed = self.classes
        if "label" in conditions:
            want = np.atleast_1d(np.asarray(conditions.pop("label"))).tolist()
            outside = sorted(set(want) - set(self.classes))
            if outside:
                raise ValueError(f"conditions['label'] must be among the classes {list(self.classes)} "
                                 f"of {self.name!r}; got {outside}")
            allowed = tuple(want)
        batch = self.base.generate(batch_size, seed=seed, conditions={**conditions, "label": allowed},
                                   noise=noise)
        return dataclasses.replace(batch, task=self.name)

    def score(self, outputs: Any, batch: Any) -> TaskScore:
        """Decision = the class of the largest logit, among this task's classes with heads."""
        out = np.asarray(outputs)
        want = (batch.batch_size, self.n_outputs)
        if out.shape != want:
            raise ValueError(f"outputs must have shape (B, n_classes) = {want}, got {out.shape}")
        if self.heads:
            units = np.asarray(self.classes)
            decision = units[np.argmax(out[:, units], axis=-1)]
        else:
            decision = np.argmax(out, axis=-1)
        decision = decision.astype(np.int64)
        return TaskScore(decision, decision == batch.targets)


def split_classes(
    task: Any, groups: int | Sequence[Sequence[int]], *, heads: bool = True
) -> list[ClassSubset]:
    """Split an image task into tasks of a few classes each (split MNIST, split digits).

    Parameters
    ----------
    task : ImageTask
    groups : int or sequence of sequences of int
        The number of tasks (the classes in order, split into that many equal groups), or the
        classes of each task.
    heads : bool
        Task-incremental (a head per task) or class-incremental; see :class:`ClassSubset`.

    Returns
    -------
    list of ClassSubset
    """
    _check_image_task(task, "split_classes")
    if isinstance(groups, numbers.Integral) and not isinstance(groups, bool):
        n = task.n_outputs
        if not 1 <= groups <= n or n % groups:
            raise ValueError(
                f"The 'groups' parameter of split_classes must divide the {n} classes of "
                f"{task.name!r} into equal groups. Got {groups!r} instead."
            )
        size = n // groups
        groups = [list(range(k * size, (k + 1) * size)) for k in range(groups)]
    if isinstance(groups, (str, bytes)) or not isinstance(groups, Sequence) or not groups:
        raise ValueError("The 'groups' parameter of split_classes must be an int or a non-empty "
                         f"sequence of class lists. Got {groups!r} instead.")
    return [ClassSubset(task, g, heads=heads) for g in groups]
