"""Dynamics and perturbations: fixed points, targeted dimensionality reduction, lesions."""

__all__: list[str] = []
