"""One-shot pattern completion: store patterns seen once in a trial, recall one from half of it
(Miconi et al. 2018, differentiable plasticity).

Examples
--------
>>> import numpy as np
>>> from brainlike.tasks import make
>>> task = make("pattern_completion", n_bits=8, n_patterns=2)
>>> batch = task.generate(3, seed=0)
>>> batch.inputs.shape, batch.epochs["test"][0].tolist()
((3, 14, 8), [12, 14])
>>> task.score(batch.targets, batch).accuracy
1.0
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ._core import Task, TaskScore, TrialBatch, Trials, Variable, _check_positive, pick

__all__ = ["PatternCompletion"]


class PatternCompletion(Task):
    """Memorize random binary patterns within a trial; complete a degraded one at the end.

    Every trial draws ``n_patterns`` new patterns of ``n_bits`` random bits ``±1`` (so nothing
    about them can be learned across trials: they must be stored *within* the trial). In the
    ``study`` epoch the patterns are shown in ``n_presentations`` cycles, each pattern for
    ``show_steps`` steps followed by ``gap_steps`` steps of zeros (Miconi et al. 2018's
    ``simplest.py`` protocol, scaled down: they use 1000 bits, 5 patterns, 2 cycles, 6 and 4
    steps). In the ``test`` epoch (``test_steps``) one of the patterns, ``tested_pattern``,
    is shown with ``round(degrade_fraction * n_bits)`` of its bits, chosen at random, set to 0.
    The task is defined in steps; ``dt`` (default 20 ms) labels time only.

    Inputs ``bit_0 .. bit_{n-1}`` (the pattern, 0 when nothing is shown). Outputs ``bit_0 ..``
    (``target_kind="value"``, MSE): the full tested pattern during ``test``. The loss weights
    are ``output_mask`` = 1 during ``test`` and 0 during ``study`` (what the network outputs
    while it studies is not trained); ``mask`` is 1 on every step.

    Score at the last step: the ``error`` of a trial is the fraction of the zeroed bits whose
    output has the wrong sign (0 counts as wrong), Miconi et al.'s sign-error rate; a trial is
    correct when every zeroed bit is right. Guessing scores ``0.5 ** n_zeroed`` (``1 / 256``
    with the defaults). ``decision`` is -1 (no discrete choice).

    Conditions: ``tested_pattern`` (index of the probed pattern in order of presentation).

    Parameters
    ----------
    dt : float
        Step in ms (default 20); labels time only.
    n_bits : int
        Bits per pattern (>= 2, default 16).
    n_patterns : int
        Patterns per trial (default 3).
    n_presentations : int
        Cycles through the patterns in the study epoch (default 2).
    show_steps, gap_steps, test_steps : int
        Steps each pattern is shown (default 2), of zeros after it (default 1, may be 0), and
        of the test epoch (default 2).
    degrade_fraction : float
        Fraction of the tested pattern's bits set to 0, in (0, 1); at least one bit stays and
        at least one is zeroed (default 0.5).

    References
    ----------
    Miconi, T., Clune, J. & Stanley, K. O. (2018). Differentiable plasticity: training plastic
    neural networks with backpropagation. ICML, PMLR 80, 3559-3568.
    """

    name: ClassVar[str] = "pattern_completion"
    description: ClassVar[str] = ("Store random binary patterns shown once in a trial; complete "
                                  "a half-erased one at the end")
    citation: ClassVar[str] = "Miconi et al. 2018 ICML (differentiable plasticity, simplest.py)"
    epoch_names = ("study", "test")
    target_kind = "value"

    def __init__(
        self,
        *,
        dt: float = 20.0,
        n_bits: int = 16,
        n_patterns: int = 3,
        n_presentations: int = 2,
        show_steps: int = 2,
        gap_steps: int = 1,
        test_steps: int = 2,
        degrade_fraction: float = 0.5,
    ) -> None:
        super().__init__(dt=dt)
        self.n_bits = _check_positive("n_bits", n_bits, integer=True)
        if self.n_bits < 2:
            raise ValueError(f"n_bits must be >= 2 (one kept, one zeroed), got {self.n_bits}")
        self.n_patterns = _check_positive("n_patterns", n_patterns, integer=True)
        self.n_presentations = _check_positive("n_presentations", n_presentations, integer=True)
        self.show_steps = _check_positive("show_steps", show_steps, integer=True)
        self.gap_steps = _check_positive("gap_steps", gap_steps, integer=True, allow_zero=True)
        self.test_steps = _check_positive("test_steps", test_steps, integer=True)
        frac = _check_positive("degrade_fraction", degrade_fraction)
        if not frac < 1.0:
            raise ValueError(f"degrade_fraction must lie in (0, 1), got {frac}")
        self.degrade_fraction = frac
        self.n_zeroed = min(max(round(frac * self.n_bits), 1), self.n_bits - 1)
        self.input_names = tuple(f"bit_{k}" for k in range(self.n_bits))
        self.output_names = self.input_names
        self.variables = (
            Variable("tested_pattern", "index of the tested pattern (order of presentation)",
                     integer=True, values=tuple(range(self.n_patterns))),
        )
        self._params.update(
            n_bits=self.n_bits, n_patterns=self.n_patterns, n_presentations=self.n_presentations,
            show_steps=self.show_steps, gap_steps=self.gap_steps, test_steps=self.test_steps,
            degrade_fraction=self.degrade_fraction,
        )

    @property
    def ceiling(self) -> float:
        """1.0: the tested pattern was shown in full earlier in the trial."""
        return 1.0

    @property
    def study_steps(self) -> int:
        """Length of the study epoch in steps."""
        return self.n_presentations * self.n_patterns * (self.show_steps + self.gap_steps)

    def sample_conditions(self, rng, n, fixed):
        return {"tested_pattern": pick(fixed, "tested_pattern",
                                       rng.integers(self.n_patterns, size=n))}

    def epoch_steps(self, rng, n, conditions):
        return {"study": np.full(n, self.study_steps, dtype=np.int64),
                "test": np.full(n, self.test_steps, dtype=np.int64)}

    def fill(self, trials: Trials, conditions) -> None:
        n, k, bits = trials.n, self.n_patterns, self.n_bits
        patterns = trials.rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(n, k, bits))
        period = self.show_steps + self.gap_steps
        for cycle in range(self.n_presentations):
            for p in range(k):
                start = (cycle * k + p) * period
                trials.inputs[:, start:start + self.show_steps] = patterns[:, p, None]
        rows = np.arange(n)
        tested = patterns[rows, conditions["tested_pattern"]]                     # (n, bits)
        # The zeroed bits: the first n_zeroed of a random permutation per trial.
        zeroed = np.argsort(trials.rng.random((n, bits)), axis=1)[:, : self.n_zeroed]
        cue = tested.copy()
        cue[rows[:, None], zeroed] = 0.0
        test = trials.epoch("test")
        trials.inputs[test] = np.repeat(cue, self.test_steps, axis=0)
        trials.targets[test] = np.repeat(tested, self.test_steps, axis=0)
        trials.output_mask = np.repeat(test[..., None], bits, axis=2).astype(np.float32)

    def score(self, outputs, batch: TrialBatch) -> TaskScore:
        """Sign errors on the zeroed bits at the last step (see the class docstring).

        ``outputs``: (B, T, n_bits) array-like or tensor, (batch, time, feature).
        """
        out = self._check_outputs(outputs, batch)
        last = batch.lengths - 1
        rows = np.arange(batch.batch_size)
        cue, target, y = batch.inputs[rows, last], batch.targets[rows, last], out[rows, last]
        zeroed = cue == 0
        wrong = (np.sign(y) != target) & zeroed
        error = wrong.sum(axis=1) / zeroed.sum(axis=1)
        return TaskScore(decision=np.full(batch.batch_size, -1, dtype=np.int64),
                         correct=error == 0, error=error)
