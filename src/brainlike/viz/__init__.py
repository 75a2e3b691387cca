"""Figures for training and analysis results; each function returns a matplotlib Figure."""

from ._connectivity import connectivity_matrix, weight_distributions
from ._dynamics import fixed_points
from ._feature_use import feature_use_comparison
from ._figures import example_trial, learning_curve, psychometric, trajectories
from ._vision import image_grid, layer_rdms, receptive_field, tuning_curves

__all__ = [
    "connectivity_matrix",
    "example_trial",
    "feature_use_comparison",
    "fixed_points",
    "image_grid",
    "layer_rdms",
    "learning_curve",
    "psychometric",
    "receptive_field",
    "trajectories",
    "tuning_curves",
    "weight_distributions",
]
