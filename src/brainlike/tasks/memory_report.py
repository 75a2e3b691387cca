"""The Primer's memory task (Yang & Wang 2020, Figure 8; nn-brain LSTMVisualization).

Examples
--------
>>> import numpy as np
>>> from brainlike.tasks import make
>>> task = make("memory_report")
>>> batch = task.generate(4, seed=0)
>>> c = batch.conditions
>>> rows = np.arange(4)
>>> bool(np.allclose(batch.targets[rows, c["t_report"], 0], c["stored_value"]))
True
>>> task.score(batch.targets, batch).accuracy
1.0
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ._core import Task, TaskScore, TrialBatch, Trials, Variable, _check_positive, pick

__all__ = ["MemoryReport"]


class MemoryReport(Task):
    """Store the stimulus value at the memorize pulse; report it at the report pulse.

    The task is defined in steps, as in the Primer's notebook: a trial lasts
    ``L`` steps, L uniform on ``[min_steps, max_steps]`` (default 5..19, the
    notebook's ``randint(5, 20)``), drawn per trial. ``dt`` (default 20 ms)
    only labels time.

    Inputs ``stimulus, memorize, report``: ``stimulus`` is U(−1, 1) i.i.d. at
    every step; ``memorize`` is a one-step pulse at ``t_memorize`` uniform on
    ``[0, L//2)``; ``report`` a one-step pulse at ``t_report`` uniform on
    ``[L//2, L−1)``. No other input noise (no ``sigma``).

    Output ``value`` (``target_kind="value"``, MSE): the stimulus at the
    memorize step, at the report step; 0 elsewhere. Mask 1 on valid steps
    (the notebook's MSE covers all steps).

    Epochs ``pre`` (t_memorize steps, may be empty), ``memorize`` (1),
    ``hold`` (may be empty), ``report`` (1), ``post`` (>= 1).

    Conditions: ``stored_value``, ``t_memorize``, ``t_report`` (steps) and
    ``trial_length`` (L). Fixing ``t_memorize`` or ``t_report`` requires fixing
    ``trial_length``; fixed values must satisfy ``0 <= t_memorize < t_report
    <= L − 2``.

    Score: correct when ``|output − stored_value| < tolerance`` at the report
    step; ``decision`` is −1 (no discrete choice) and ``error`` holds the
    absolute error.

    Parameters
    ----------
    dt : float
        Step in ms (default 20); labels time only.
    min_steps, max_steps : int
        Inclusive range of trial lengths (3 <= min_steps <= max_steps).
    tolerance : float
        Scoring tolerance on the reported value (default 0.1).

    References
    ----------
    Yang & Wang (2020) Neuron 107:1048, Figure 8; Hochreiter & Schmidhuber
    (1997) Neural Comput 9:1735.
    """

    name: ClassVar[str] = "memory_report"
    description: ClassVar[str] = "Store a value at a memorize cue and report it at a report cue"
    citation: ClassVar[str] = "Yang & Wang 2020 Neuron, Fig. 8 (nn-brain LSTMVisualization)"
    epoch_names = ("pre", "memorize", "hold", "report", "post")
    input_names = ("stimulus", "memorize", "report")
    output_names = ("value",)
    target_kind = "value"

    def __init__(
        self,
        *,
        dt: float = 20.0,
        min_steps: int = 5,
        max_steps: int = 19,
        tolerance: float = 0.1,
    ) -> None:
        super().__init__(dt=dt)
        lo = _check_positive("min_steps", min_steps, integer=True)
        hi = _check_positive("max_steps", max_steps, integer=True)
        if lo < 3:
            raise ValueError(f"min_steps must be >= 3 (memorize, report, one step after), got {lo}")
        if hi < lo:
            raise ValueError(f"max_steps must be >= min_steps={lo}, got {hi}")
        self.min_steps, self.max_steps = lo, hi
        self.tolerance = _check_positive("tolerance", tolerance)
        self.variables = (
            Variable("stored_value", "stimulus value at the memorize step", low=-1.0, high=1.0),
            Variable("t_memorize", "step of the memorize pulse", integer=True, low=0, high=hi),
            Variable("t_report", "step of the report pulse", integer=True, low=1, high=hi),
            Variable("trial_length", "trial length L (steps)", integer=True, low=lo, high=hi),
        )
        self._params.update(min_steps=lo, max_steps=hi, tolerance=self.tolerance)

    @property
    def ceiling(self) -> float:
        """1.0: the target is a deterministic function of the inputs."""
        return 1.0

    def sample_conditions(self, rng, n, fixed):
        if ("t_memorize" in fixed or "t_report" in fixed) and "trial_length" not in fixed:
            raise ValueError("conditions fixing 't_memorize' or 't_report' must also fix 'trial_length'")
        length = pick(fixed, "trial_length", rng.integers(self.min_steps, self.max_steps + 1, size=n))
        half = length // 2
        u_mem, u_rep = rng.random(n), rng.random(n)
        t_mem = pick(fixed, "t_memorize", np.floor(u_mem * half).astype(np.int64))
        t_rep = pick(fixed, "t_report", half + np.floor(u_rep * (length - 1 - half)).astype(np.int64))
        bad = ~((t_mem >= 0) & (t_mem < t_rep) & (t_rep <= length - 2))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                "conditions need 0 <= t_memorize < t_report <= trial_length - 2; trial "
                f"{i} has t_memorize={t_mem[i]}, t_report={t_rep[i]}, trial_length={length[i]}"
            )
        stored = pick(fixed, "stored_value", rng.uniform(-1.0, 1.0, size=n))
        return {"stored_value": stored, "t_memorize": t_mem, "t_report": t_rep, "trial_length": length}

    def epoch_steps(self, rng, n, conditions):
        t_mem, t_rep = conditions["t_memorize"], conditions["t_report"]
        return {
            "pre": t_mem,
            "memorize": np.ones(n, dtype=np.int64),
            "hold": t_rep - t_mem - 1,
            "report": np.ones(n, dtype=np.int64),
            "post": conditions["trial_length"] - t_rep - 1,
        }

    def fill(self, trials: Trials, conditions) -> None:
        stream = trials.rng.uniform(-1.0, 1.0, size=(trials.n, trials.n_steps))
        rows = np.arange(trials.n)
        stream[rows, conditions["t_memorize"]] = conditions["stored_value"]
        trials.inputs[..., trials.input_index["stimulus"]] = stream
        trials.set_input("memorize", 1.0, "memorize")
        trials.set_input("report", 1.0, "report")
        trials.set_target(conditions["stored_value"], "report", output="value")

    def score(self, outputs, batch: TrialBatch) -> TaskScore:
        """Correct when ``|output − stored_value| < tolerance`` at the report step.

        ``outputs``: (B, T, 1) array-like or tensor, (batch, time, feature).
        """
        out = self._check_outputs(outputs, batch)
        c = batch.conditions
        reported = out[np.arange(batch.batch_size), c["t_report"], 0]
        error = np.abs(reported - c["stored_value"])
        return TaskScore(
            decision=np.full(batch.batch_size, -1, dtype=np.int64),
            correct=error < self.tolerance,
            error=error,
        )
