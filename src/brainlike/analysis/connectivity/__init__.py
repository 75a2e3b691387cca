"""Connectivity analyses: unit selectivity, weights sorted by selectivity and cell type."""

from ._selectivity import (
    ChoiceWiring,
    Selectivity,
    SortedConnectivity,
    WeightsByType,
    choice_wiring,
    sort_by_selectivity,
    unit_selectivity,
    weights_by_type,
)

__all__ = [
    "ChoiceWiring",
    "Selectivity",
    "SortedConnectivity",
    "WeightsByType",
    "choice_wiring",
    "sort_by_selectivity",
    "unit_selectivity",
    "weights_by_type",
]
