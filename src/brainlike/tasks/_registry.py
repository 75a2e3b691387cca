"""The task registry: a fixed name -> class table built at import (no run-time appends)."""

from __future__ import annotations

import difflib
import inspect
from typing import Any

from ._core import Task
from ._images import IMAGE_TASKS, ImageTask
from ._shapes import GeneratedShapes
from .context_decision import ContextDecision
from .delayed_match_to_category import DelayedMatchToCategory
from .delayed_match_to_sample import DelayedMatchToSample
from .field_tasks import FIELD_TASKS
from .memory_report import MemoryReport
from .parametric_working_memory import ParametricWorkingMemory
from .pattern_completion import PatternCompletion
from .perceptual_decision import PerceptualDecision
from .periodic import SumOfSines, TriangleWave
from .reaction_time import PerceptualDecisionRT
from .yang19 import YANG19_TASKS

__all__ = ["describe", "make", "names", "task_of"]

_TASKS: dict[str, type[Task] | type[ImageTask] | type[GeneratedShapes]] = {
    cls.name: cls
    for cls in (
        PerceptualDecision,
        ContextDecision,
        ParametricWorkingMemory,
        DelayedMatchToSample,
        DelayedMatchToCategory,
        MemoryReport,
        PatternCompletion,
        *FIELD_TASKS,
        *YANG19_TASKS,
        PerceptualDecisionRT,
        SumOfSines,
        TriangleWave,
    )
}
# Image classification tasks (no time axis; batches are ImageBatch): ``kind == "image"``.
_TASKS.update({cls.name: cls for cls in IMAGE_TASKS})
_TASKS[GeneratedShapes.name] = GeneratedShapes
_KINDS = ("trial", "image")


def _kind(cls: type) -> str:
    return "image" if getattr(cls, "kind", None) == "image" else "trial"


def names(kind: str | None = None) -> list[str]:
    """Sorted names of the registered tasks.

    Parameters
    ----------
    kind : {"trial", "image"}, optional
        Only trial-structured tasks (batches ``(B, T, I)``, :class:`TrialBatch`) or only image
        classification tasks (batches ``(B, C, H, W)``, ``ImageBatch``); all when None.
    """
    if kind is not None and kind not in _KINDS:
        raise ValueError(
            f"The 'kind' parameter of names must be one of {list(_KINDS)}. Got {kind!r} instead."
        )
    return sorted(n for n, cls in _TASKS.items() if kind is None or _kind(cls) == kind)


def describe() -> list[dict[str, str]]:
    """One dict per task (sorted by name): ``name``, ``description``, ``citation``, ``kind``."""
    return [
        {"name": n, "description": _TASKS[n].description, "citation": _TASKS[n].citation,
         "kind": _kind(_TASKS[n])}
        for n in names()
    ]


def _did_you_mean(name: Any) -> str:
    """``" (did you mean 'x'?)"`` for the registered name closest to a mistyped one."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(_TASKS), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _parameters(cls: type) -> list[str]:
    sig = inspect.signature(cls.__init__)
    return [p for p in sig.parameters if p != "self"]


def make(name: str, **params: Any) -> Task | ImageTask:
    """Build a registered task.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    **params
        Constructor parameters of that task (``dt`` in ms, ``sigma``,
        ``timing``, ...); ``task.params`` lists them all.

    Raises
    ------
    ValueError
        Unknown task name (the message lists the valid names) or unknown
        parameter (the message lists the allowed ones).

    Examples
    --------
    >>> from brainlike.tasks import make
    >>> make("perceptual_decision", dt=20.0).dt
    20.0
    """
    if not isinstance(name, str) or name not in _TASKS:
        raise ValueError(f"unknown task {name!r}{_did_you_mean(name)}; valid names are {names()}")
    cls = _TASKS[name]
    allowed = _parameters(cls)
    for key in params:
        if key not in allowed:
            raise ValueError(f"task {name!r} has no parameter {key!r}; allowed: {allowed}")
    return cls(**params)


def task_of(name_or_task: Any, params: dict[str, Any]) -> Task:
    """``make(name, **params)`` for a name; a task object as it is (then ``params`` must be
    empty). Shared by the environment adapters."""
    if isinstance(name_or_task, str):
        return make(name_or_task, **params)
    if params:
        raise TypeError(f"task parameters {sorted(params)} need a task name, not a Task object")
    return name_or_task
