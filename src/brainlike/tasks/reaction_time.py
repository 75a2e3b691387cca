"""Random-dot motion, reaction-time version: answer whenever ready (Roitman & Shadlen 2002).

Examples
--------
>>> from brainlike.tasks import make
>>> task = make("perceptual_decision_rt")
>>> batch = task.generate(4, seed=0)
>>> batch.inputs.shape, [int(s) for s in batch.epochs["stimulus"][0]]
((4, 137, 3), [37, 137])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ._core import Task, Trials, check_values, integrator_ceiling
from .perceptual_decision import PerceptualDecision

__all__ = ["PerceptualDecisionRT"]


class PerceptualDecisionRT(Task):
    """Random-dot motion 2AFC in which the choice may come at any time during the stimulus.

    Song, Yang & Wang 2017's ``rdm_rt``: epochs ``fixation`` (750 ms) and ``stimulus`` (2000 ms;
    dt 20 ms by default). The fixation input is on during ``fixation`` only; its offset, with
    the stimulus onset, is the go signal. During ``stimulus`` the channel of the correct choice
    is ``0.5 + coh/200`` and the other ``0.5 - coh/200``, each with Gaussian noise of std
    ``sigma / sqrt(dt)`` (NeuroGym's scaling, as :class:`PerceptualDecision`). Outputs ``fixate,
    choice_1, choice_2``: target 0 during ``fixation`` and the correct choice throughout
    ``stimulus``, so that as an environment (:meth:`~brainlike.tasks.Task.as_vector_env`) a
    choice during the stimulus ends the trial -- its step is the reaction time -- and a choice
    during fixation aborts it.

    Conditions ``coherence`` (%), ``ground_truth`` (1 left, 2 right), ``signed_coherence``
    (derived). Score (supervised): argmax at the last step equals ``ground_truth``. Coherences
    {0, 3.2, 6.4, 12.8, 25.6, 51.2} (Song et al. 2017).

    References
    ----------
    Roitman, J. D. & Shadlen, M. N. (2002). J Neurosci 22, 9475. Song, H. F., Yang, G. R. &
    Wang, X.-J. (2017). Reward-based training of recurrent neural networks for cognitive and
    value-based tasks. eLife 6, e21492.
    """

    name: ClassVar[str] = "perceptual_decision_rt"
    description: ClassVar[str] = "Random-dot motion, reaction time: choose whenever ready"
    citation: ClassVar[str] = "Roitman & Shadlen 2002 J Neurosci; Song, Yang & Wang 2017 eLife"
    epoch_names = ("fixation", "stimulus")
    default_timing: ClassVar[Mapping[str, Any]] = {"fixation": 750.0, "stimulus": 2000.0}
    input_names = ("fixation", "stim_left", "stim_right")
    output_names = ("fixate", "choice_1", "choice_2")
    noise_channels = ("stim_left", "stim_right")
    noise_epochs = ("stimulus",)
    variables = PerceptualDecision.variables

    def __init__(
        self,
        *,
        dt: float = 20.0,
        sigma: float = 1.0,
        coherences: Any = (0.0, 3.2, 6.4, 12.8, 25.6, 51.2),
        timing: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(dt=dt, sigma=sigma, timing=timing)
        self.coherences = check_values("coherences", coherences, low=0.0, high=100.0)
        self._params.update(sigma=self.sigma, coherences=list(self.coherences))

    @property
    def ceiling(self) -> float:
        """Ideal observer summing the whole stimulus (an upper bound for any reaction time)."""
        return integrator_ceiling(self.coherences, self.noise_std, self.timing["stimulus"], self.dt)

    # The same task variables as the fixed-duration task, drawn the same way.
    sample_conditions = PerceptualDecision.sample_conditions

    def fill(self, trials: Trials, conditions) -> None:
        trials.set_input("fixation", 1.0, "fixation")
        half = conditions["signed_coherence"] / 200.0
        trials.set_input("stim_left", 0.5 - half, "stimulus")
        trials.set_input("stim_right", 0.5 + half, "stimulus")
        trials.set_target(conditions["ground_truth"], "stimulus")
