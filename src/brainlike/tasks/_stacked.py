"""The batches of E seeds as one batch of E x B trials (issue 19: ensembles).

Member k's batch is ``task.generate(B, seed=seeds[k])``. Its draws (conditions, epoch lengths,
input noise) come from its own generator, in the order ``generate`` draws them; everything else
(the frame, the task's ``fill``, the padding, the checks) runs once for all E x B trials. The
result holds member k's batch, bit for bit, in trials ``k*B`` to ``(k+1)*B``.

That takes two facts about a task, checked here or by the tests:

- ``fill`` does not draw from ``trials.rng`` (a task whose ``fill`` does is recognized at its
  first attempt and generated member by member from then on);
- ``fill`` writes each trial from that trial's own conditions and epochs (true of every
  registered task: ``tests/tasks/test_stacked_generation.py`` compares all of them).

When the members' longest trials differ (variable epochs), each member's batch would be padded
to its own length: the stacked batch is then not made (``None``) and the caller generates member
by member.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._core import Task, TrialBatch


class _RngUsed(Exception):
    """Raised when a task's ``fill`` reaches for ``trials.rng`` in a stacked batch."""


class _NoRng:
    def __getattr__(self, name: str) -> Any:
        raise _RngUsed(name)


def generate_stacked(task: Any, batch_size: int, seeds: Sequence[Any]) -> TrialBatch | None:
    """``task.generate(batch_size, seed=s)`` for every ``s`` in ``seeds``, concatenated along
    the trials (``E * batch_size`` of them), or None where that cannot be done in one batch."""
    if (not isinstance(task, Task) or type(task).generate is not Task.generate
            or task.__dict__.get("_fill_draws")):
        return None
    n = batch_size
    rngs = [np.random.default_rng(s) for s in seeds]
    draws = [task._draw(rng, n, {}) for rng in rngs]
    names = task.epoch_names
    conds = {k: np.concatenate([c[k] for c, _ in draws]) for k in draws[0][0]}
    if draws[0][1] is None:  # the task's fixed epochs: every trial alike, nothing drawn
        steps = None
    else:
        longest = {int(sum(np.asarray(steps[e], dtype=np.int64) for e in names).max())
                   for _, steps in draws} if names else {0}
        if len(longest) != 1:
            return None
        steps = {e: np.concatenate([np.asarray(s[e]) for _, s in draws]) for e in names}
    trials, layout = task._frame(n * len(rngs), steps, _NoRng())
    try:
        task.fill(trials, conds)
    except _RngUsed:
        task.__dict__["_fill_draws"] = True
        return None
    return task._finish(trials, layout, conds, rngs, True)
