"""Dynamics and perturbations: fixed points, targeted dimensionality reduction, lesions."""

from ._fixed_points import (
    FixedPointResult,
    LineAttractor,
    find_fixed_points,
    line_attractor,
    model_step_fn,
    sample_states,
    unique_points,
)

__all__ = [
    "FixedPointResult",
    "LineAttractor",
    "find_fixed_points",
    "line_attractor",
    "model_step_fn",
    "sample_states",
    "unique_points",
]
