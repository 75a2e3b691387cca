"""Figures for training and analysis results; each function returns a matplotlib Figure.

Every function takes ``ax=``: ``None`` draws a new Figure; an Axes (or a sequence of Axes, one
per panel) draws into an existing figure, so panels of several functions combine in one.
"""

from ._connectivity import connectivity_matrix, weight_distributions
from ._dynamics import fixed_points
from ._feature_use import feature_use_comparison
from ._figures import (
    binomial_interval,
    example_trial,
    learning_curve,
    psychometric,
    psychometric_by_group,
    rdm,
    tdr_projection,
    trajectories,
)
from ._multitask import (
    cluster_map,
    decoding,
    dsa_matrix,
    fractional_variance,
    lesion_matrix,
    rule_composition,
    temporal_generalization,
)
from ._spikes import psth_figure, raster, spike_statistics_figure
from ._vision import image_grid, layer_rdms, receptive_field, tuning_curves

__all__ = [
    "binomial_interval",
    "cluster_map",
    "connectivity_matrix",
    "decoding",
    "dsa_matrix",
    "example_trial",
    "feature_use_comparison",
    "fixed_points",
    "fractional_variance",
    "image_grid",
    "layer_rdms",
    "learning_curve",
    "lesion_matrix",
    "psth_figure",
    "psychometric",
    "psychometric_by_group",
    "raster",
    "rdm",
    "receptive_field",
    "rule_composition",
    "spike_statistics_figure",
    "tdr_projection",
    "temporal_generalization",
    "trajectories",
    "tuning_curves",
    "weight_distributions",
]
