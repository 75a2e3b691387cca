"""Context-dependent decision making (Mante et al. 2013).

Examples
--------
>>> from brainlike.tasks import make
>>> task = make("context_decision")
>>> batch = task.generate(3, seed=0, conditions={"context": 1, "color_coherence": -15.0})
>>> batch.conditions["ground_truth"].tolist()
[1, 1, 1]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ._core import Task, Trials, Variable, check_values, integrator_ceiling, pick
from ._distributions import TruncExp

__all__ = ["ContextDecision"]


class ContextDecision(Task):
    """Context-dependent 2AFC on coloured random dots (Mante et al. 2013).

    Both modalities (motion and colour) carry evidence with independent
    signed coherences; a context cue says which one to report.

    Epochs (defaults, dt=20 ms): ``fixation`` 200, ``context`` 350 (cue only),
    ``stimulus`` 750 (Mante's dots duration), ``delay`` TruncExp(600, 300,
    1500) (Mante's 300–1500 ms delay, NeuroGym's truncated-exponential
    shape), ``decision`` 100 ms.

    Inputs ``fixation, motion_1, motion_2, color_1, color_2, context_motion,
    context_color``. Fixation is 1 until the decision epoch, when it turns off
    (go cue; NeuroGym's ContextDecisionMaking lacks one, neurogym#279). The
    context cue is 1 from the context epoch to the end of the trial. During
    ``stimulus`` each modality encodes its signed coherence ``c`` (+ toward
    choice 2) as NeuroGym does: ``x_1 = 0.5 - c/200``, ``x_2 = 0.5 + c/200``,
    plus Gaussian noise of std ``sigma / sqrt(dt)`` (dt in ms) on the four
    stimulus channels, stimulus epoch only.

    Outputs 3 classes ``fixate, choice_1, choice_2``; target 0 until the
    decision epoch, then ``ground_truth`` = the sign of the attended
    modality's coherence (2 if > 0, 1 if < 0, a fair coin at 0). Mask 1 on
    valid steps.

    Conditions: ``context`` (0 motion, 1 colour), ``motion_coherence`` and
    ``color_coherence`` (signed, %), ``ground_truth`` (derived).
    Score: argmax at the last valid step equals ``ground_truth``.

    Parameters
    ----------
    dt : float
        Step in ms (default 20).
    sigma : float
        Noise scale; per-step std ``sigma / sqrt(dt)``.
    coherences : sequence of float
        Unsigned coherences (%) per modality, each given a random sign
        (NeuroGym: 5, 15, 50).
    timing : mapping, optional
        Epoch -> duration overrides.

    References
    ----------
    Mante, Sussillo, Shenoy & Newsome (2013) Nature 503:78.
    """

    name: ClassVar[str] = "context_decision"
    description: ClassVar[str] = "Report the motion or the colour evidence, as the context cue says"
    citation: ClassVar[str] = "Mante et al. 2013 Nature (NeuroGym ContextDecisionMaking-v0)"
    epoch_names = ("fixation", "context", "stimulus", "delay", "decision")
    default_timing: ClassVar[Mapping[str, Any]] = {
        "fixation": 200.0,
        "context": 350.0,
        "stimulus": 750.0,
        "delay": TruncExp(600.0, 300.0, 1500.0),
        "decision": 100.0,
    }
    input_names = (
        "fixation",
        "motion_1",
        "motion_2",
        "color_1",
        "color_2",
        "context_motion",
        "context_color",
    )
    output_names = ("fixate", "choice_1", "choice_2")
    target_kind = "class"
    signed_stimuli = ("motion_coherence", "color_coherence")
    noise_channels = ("motion_1", "motion_2", "color_1", "color_2")
    noise_epochs = ("stimulus",)
    variables = (
        Variable("context", "attended modality: 0 motion, 1 colour", integer=True, values=(0, 1),
                 labels={0: "motion", 1: "colour"}),
        Variable(
            "motion_coherence", "signed motion coherence, + toward choice 2 (%)", low=-100.0, high=100.0
        ),
        Variable(
            "color_coherence", "signed colour coherence, + toward choice 2 (%)", low=-100.0, high=100.0
        ),
        Variable(
            "ground_truth",
            "correct choice (1 or 2): sign of the attended coherence",
            integer=True,
            derived=True,
        ),
    )

    def __init__(
        self,
        *,
        dt: float = 20.0,
        sigma: float = 1.0,
        coherences: Any = (5.0, 15.0, 50.0),
        timing: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dt=dt, sigma=sigma, timing=timing)
        self.coherences = check_values("coherences", coherences, low=0.0, high=100.0)
        self._params.update(sigma=self.sigma, coherences=list(self.coherences))

    @property
    def ceiling(self) -> float:
        """Ideal observer integrating the attended modality over the stimulus epoch."""
        return integrator_ceiling(self.coherences, self.noise_std, self.timing["stimulus"], self.dt)

    def sample_conditions(self, rng, n, fixed):
        cohs = np.asarray(self.coherences)
        context = rng.integers(0, 2, size=n)
        motion = cohs[rng.integers(len(cohs), size=n)] * rng.choice([-1.0, 1.0], size=n)
        color = cohs[rng.integers(len(cohs), size=n)] * rng.choice([-1.0, 1.0], size=n)
        coin = rng.integers(1, 3, size=n)
        context = pick(fixed, "context", context)
        motion = pick(fixed, "motion_coherence", motion)
        color = pick(fixed, "color_coherence", color)
        attended = np.where(context == 0, motion, color)
        gt = np.where(attended > 0, 2, np.where(attended < 0, 1, coin))
        return {
            "context": context,
            "motion_coherence": motion,
            "color_coherence": color,
            "ground_truth": gt,
        }

    def fill(self, trials: Trials, conditions) -> None:
        trials.set_input("fixation", 1.0, "fixation", "context", "stimulus", "delay")
        cued = ("context", "stimulus", "delay", "decision")
        trials.set_input("context_motion", (conditions["context"] == 0).astype(float), *cued)
        trials.set_input("context_color", (conditions["context"] == 1).astype(float), *cued)
        for modality in ("motion", "color"):
            half = conditions[f"{modality}_coherence"] / 200.0
            trials.set_input(f"{modality}_1", 0.5 - half, "stimulus")
            trials.set_input(f"{modality}_2", 0.5 + half, "stimulus")
        trials.set_target(conditions["ground_truth"], "decision")
