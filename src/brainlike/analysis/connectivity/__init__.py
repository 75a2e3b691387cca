"""Connectivity analyses: unit selectivity, weights sorted by selectivity and cell type."""

__all__: list[str] = []
