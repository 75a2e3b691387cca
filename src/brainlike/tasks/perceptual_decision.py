"""Random-dot motion two-alternative forced choice (perceptual decision making).

Examples
--------
>>> from brainlike.tasks import make
>>> task = make("perceptual_decision")
>>> batch = task.generate(4, seed=0)
>>> batch.inputs.shape, batch.targets.shape
((4, 22, 3), (4, 22))
>>> round(task.ceiling, 3)
0.896
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ._core import Task, Trials, Variable, check_values, integrator_ceiling, pick

__all__ = ["PerceptualDecision"]


class PerceptualDecision(Task):
    """Random-dot motion 2AFC after NeuroGym's ``PerceptualDecisionMaking-v0``
    (dim_ring=2); with ``go_cue=False`` identical to it in distribution.

    Epochs ``fixation`` (100 ms), ``stimulus`` (2000 ms), ``delay`` (0 ms),
    ``decision`` (100 ms); NeuroGym defaults, dt=100 ms gives 22 steps.

    Inputs ``fixation, stim_left, stim_right``. During ``stimulus`` the channel of the
    correct choice is ``0.5 + coh/200`` and the other ``0.5 - coh/200``
    (NeuroGym's ``cos(θ - θ_gt)·coh/200 + 0.5``), plus Gaussian noise of std
    ``sigma / sqrt(dt)`` (dt in ms, NeuroGym's scaling; 0.1 at the defaults)
    on the two stimulus channels, stimulus epoch only. Stimulus channels are 0
    elsewhere. By default the fixation input is 1 in every epoch but
    ``decision``: its offset is the go cue (Roitman & Shadlen 2002). NeuroGym
    2.3 sets it during the fixation epoch only, so the network must time its
    response; ``go_cue=False`` reproduces that. Stimulus channels, timing,
    coherences and labels are identical in distribution either way.

    Outputs are 3 classes ``fixate, choice_1, choice_2``: target 0 before the
    decision epoch and the ground-truth choice (1 = left, 2 = right) during it.
    The mask is 1 on every valid step (NeuroGym trains on all steps).

    Conditions: ``coherence`` (unsigned, %), ``ground_truth`` (1 or 2),
    ``signed_coherence`` (derived: + for choice 2, − for choice 1).
    Score: argmax at the last valid step equals ``ground_truth``.

    Parameters
    ----------
    dt : float
        Step in ms (default 100, as NeuroGym).
    sigma : float
        Noise scale; per-step std is ``sigma / sqrt(dt)``.
    coherences : sequence of float
        Coherences (%) drawn uniformly per trial.
    timing : mapping, optional
        Epoch -> duration (ms number or distribution) overrides.
    go_cue : bool
        Keep the fixation input on until the decision epoch (default), or only
        during the fixation epoch (NeuroGym's convention).

    References
    ----------
    Britten et al. (1992) J Neurosci 12:4745; Roitman & Shadlen (2002)
    J Neurosci 22:9475; Yang & Wang (2020) Neuron 107:1048.
    """

    name: ClassVar[str] = "perceptual_decision"
    description: ClassVar[str] = "Random-dot motion 2AFC: integrate noisy evidence, report the side"
    citation: ClassVar[str] = (
        "Britten et al. 1992 J Neurosci; Roitman & Shadlen 2002 J Neurosci "
        "(NeuroGym PerceptualDecisionMaking-v0)"
    )
    epoch_names = ("fixation", "stimulus", "delay", "decision")
    default_timing: ClassVar[Mapping[str, Any]] = {
        "fixation": 100.0,
        "stimulus": 2000.0,
        "delay": 0.0,
        "decision": 100.0,
    }
    input_names = ("fixation", "stim_left", "stim_right")
    output_names = ("fixate", "choice_1", "choice_2")
    target_kind = "class"
    signed_stimuli = ("signed_coherence",)
    noise_channels = ("stim_left", "stim_right")
    noise_epochs = ("stimulus",)
    variables = (
        Variable("coherence", "unsigned motion coherence (%)", low=0.0, high=100.0),
        Variable("ground_truth", "correct choice: 1 left, 2 right", integer=True, values=(1, 2)),
        Variable("signed_coherence", "coherence, + toward choice 2 (%)", derived=True),
    )

    def __init__(
        self,
        *,
        dt: float = 100.0,
        sigma: float = 1.0,
        coherences: Any = (0.0, 6.4, 12.8, 25.6, 51.2),
        timing: Mapping[str, Any] | None = None,
        go_cue: bool = True,
    ) -> None:
        super().__init__(dt=dt, sigma=sigma, timing=timing)
        self.coherences = check_values("coherences", coherences, low=0.0, high=100.0)
        if not isinstance(go_cue, bool):
            raise TypeError(f"go_cue must be a bool; got {go_cue!r}")
        self.go_cue = go_cue
        self._params.update(sigma=self.sigma, coherences=list(self.coherences), go_cue=go_cue)

    @property
    def ceiling(self) -> float:
        """Ideal observer summing (right − left) over the stimulus epoch.

        ``P(correct | coh) = Φ(coh/100 · sqrt(k) / (sqrt(2) · sigma/sqrt(dt)))``
        for k stimulus steps, averaged over coherences (≈0.896 at the defaults).
        """
        return integrator_ceiling(self.coherences, self.noise_std, self.timing["stimulus"], self.dt)

    def sample_conditions(self, rng, n, fixed):
        coh = np.asarray(self.coherences)[rng.integers(len(self.coherences), size=n)]
        gt = rng.integers(1, 3, size=n)
        coh, gt = pick(fixed, "coherence", coh), pick(fixed, "ground_truth", gt)
        return {
            "coherence": coh,
            "ground_truth": gt,
            "signed_coherence": np.where(gt == 2, coh, -coh),
        }

    def fill(self, trials: Trials, conditions) -> None:
        fixating = ("fixation", "stimulus", "delay") if self.go_cue else ("fixation",)
        trials.set_input("fixation", 1.0, *fixating)
        half = conditions["signed_coherence"] / 200.0
        trials.set_input("stim_left", 0.5 - half, "stimulus")
        trials.set_input("stim_right", 0.5 + half, "stimulus")
        trials.set_target(conditions["ground_truth"], "decision")
