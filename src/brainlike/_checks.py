"""Argument checks shared by the public API; messages name the argument, expected and actual."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any


def positive_int(name: str, value: Any, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be an int >= 1. Got {value!r} instead."
        )
    return int(value)


def in_range(
    name: str, value: Any, owner: str, low: float, high: float, *,
    low_open: bool = True, high_open: bool = True,
) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(
            f"The '{name}' parameter of {owner} must be a float in the range "
            f"{lo}{low}, {high}{hi}. Got {value!r} instead."
        )
    return float(value)


def one_of(name: str, value: Any, owner: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be one of {list(allowed)}. Got {value!r} instead."
        )
    return value
