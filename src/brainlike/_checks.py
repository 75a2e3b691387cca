"""Argument checks shared by the public API; messages name the argument, expected and actual."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

FLOAT32_MAX = 3.4028234663852886e38  # the largest float32: a bigger factor overflows the weights
SEED_BOUND = 2**63  # seeds are int64 (torch.Generator.manual_seed, NumPy's int64 arrays)


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
        top = "3.4e+38 (the float32 maximum)" if high == FLOAT32_MAX else high
        raise ValueError(
            f"The '{name}' parameter of {owner} must be a float in the range "
            f"{lo}{low}, {top}{hi}. Got {value!r} instead."
        )
    return float(value)


def one_of(name: str, value: Any, owner: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be one of {list(allowed)}. Got {value!r} instead."
        )
    return value



def seed(name: str, value: Any, owner: str) -> int:
    """A seed: an int (not a bool, not a string) in ``[0, 2**63)``."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not 0 <= value < SEED_BOUND):
        raise ValueError(
            f"The '{name}' parameter of {owner} must be an int in [0, 2**63). Got {value!r} instead."
        )
    return int(value)


def device(name: str, value: Any, owner: str) -> Any:
    """A torch device (a ``torch.device`` or a string such as ``"cpu"``, ``"cuda:0"``) that
    exists on this machine; returns the ``torch.device``."""
    import torch

    if isinstance(value, torch.device):
        dev = value
    elif isinstance(value, str):
        try:
            dev = torch.device(value)
        except RuntimeError:
            dev = None
    else:
        dev = None
    if dev is None:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be a torch.device or a device string such "
            f"as 'cpu' or 'cuda:0'. Got {value!r} instead."
        )
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (dev.index is not None and dev.index >= count):
            raise ValueError(
                f"The '{name}' parameter of {owner} is {value!r}, but this machine has "
                f"{count} CUDA device(s) (torch.cuda.is_available() is "
                f"{torch.cuda.is_available()}); use 'cpu'."
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"The '{name}' parameter of {owner} is {value!r}, but MPS is not available on this "
            "machine; use 'cpu'."
        )
    return dev
