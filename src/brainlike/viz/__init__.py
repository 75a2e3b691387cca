"""Figures for training and analysis results; each function returns a matplotlib Figure."""

from ._connectivity import connectivity_matrix, weight_distributions
from ._dynamics import fixed_points
from ._figures import example_trial, learning_curve, psychometric, trajectories
from ._spikes import psth_figure, raster, spike_statistics_figure
from ._vision import image_grid, layer_rdms, receptive_field, tuning_curves

__all__ = [
    "connectivity_matrix",
    "example_trial",
    "fixed_points",
    "image_grid",
    "layer_rdms",
    "learning_curve",
    "psth_figure",
    "psychometric",
    "raster",
    "receptive_field",
    "spike_statistics_figure",
    "trajectories",
    "tuning_curves",
    "weight_distributions",
]
