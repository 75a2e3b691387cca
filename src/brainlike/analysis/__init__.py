"""Analyses that open the black box: behaviour and population activity.

Each analysis is a pure function of arrays returning a frozen dataclass.
"""

from ._behavior import PsychometricFit, fit_psychometric
from ._population import TrajectoryPCA, trajectory_pca, trial_average

__all__ = [
    "PsychometricFit",
    "TrajectoryPCA",
    "fit_psychometric",
    "trajectory_pca",
    "trial_average",
]
