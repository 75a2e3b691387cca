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
from ._perturb import (
    PerturbationEffect,
    add_noise,
    inactivate,
    lesion_connections,
    lesion_units,
    simulate_clamped,
)
from ._tdr import TDRResult, targeted_dimensionality_reduction

__all__ = [
    "FixedPointResult",
    "LineAttractor",
    "PerturbationEffect",
    "TDRResult",
    "add_noise",
    "find_fixed_points",
    "inactivate",
    "lesion_connections",
    "lesion_units",
    "line_attractor",
    "model_step_fn",
    "sample_states",
    "simulate_clamped",
    "targeted_dimensionality_reduction",
    "unique_points",
]
