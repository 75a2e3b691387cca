"""Analyses that open the black box (Yang & Wang 2020, Section 4).

Each analysis is a pure function of arrays returning a frozen dataclass. The subpackages
:mod:`~brainlike.analysis.connectivity`, :mod:`~brainlike.analysis.dynamics`,
:mod:`~brainlike.analysis.multitask` and :mod:`~brainlike.analysis.similarity` re-export their
public names here.
"""

from . import connectivity, dynamics, features, multitask, similarity
from ._behavior import (
    ChronometricCurve,
    ConditionAccuracy,
    DegenerateFitWarning,
    GroupedPsychometricFit,
    PsychometricFit,
    accuracy_by_condition,
    chronometric,
    fit_psychometric,
    fit_psychometric_by_group,
)
from ._decoding import (
    TemporalDecoding,
    TemporalGeneralization,
    cross_temporal_generalization,
    decode_over_time,
)
from ._population import TrajectoryPCA, trajectory_pca, trial_average
from ._spikes import (
    PSTH,
    SpikeStatistics,
    fano_factor,
    isi_cv,
    population_rates,
    psth,
    spike_statistics,
    unit_rates,
)
from .connectivity import *  # noqa: F403
from .dynamics import *  # noqa: F403
from .features import *  # noqa: F403
from .multitask import *  # noqa: F403
from .similarity import *  # noqa: F403

__all__ = [
    "ChronometricCurve",
    "ConditionAccuracy",
    "DegenerateFitWarning",
    "GroupedPsychometricFit",
    "PSTH",
    "PsychometricFit",
    "SpikeStatistics",
    "TemporalDecoding",
    "TemporalGeneralization",
    "TrajectoryPCA",
    "accuracy_by_condition",
    "chronometric",
    "cross_temporal_generalization",
    "decode_over_time",
    "fano_factor",
    "fit_psychometric",
    "fit_psychometric_by_group",
    "isi_cv",
    "population_rates",
    "psth",
    "spike_statistics",
    "trajectory_pca",
    "trial_average",
    "unit_rates",
    *connectivity.__all__,
    *dynamics.__all__,
    *similarity.__all__,
    *features.__all__,
    *multitask.__all__,
]
