"""Figures for training and analysis results; each function returns a matplotlib Figure."""

from ._figures import example_trial, learning_curve, psychometric, trajectories

__all__ = ["example_trial", "learning_curve", "psychometric", "trajectories"]
