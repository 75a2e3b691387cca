"""Constructor arguments described once, in the signature.

A model's ``__init__`` annotates each argument with its type and, through ``typing.Annotated``,
its allowed values::

    tau: Annotated[float, Range(0.0, math.inf, low_open=True)] = 100.0
    activation: Annotated[str, OneOf(("relu", "tanh"))] = "relu"

:func:`checked` validates the arguments of every call from these annotations (messages in the
format of ``brainlike._checks``), and :func:`arguments` hands the same description to whoever
needs it -- ``brainlike.experiments`` derives each model kind's config schema from it, so the
signature is the one place where an argument's name, type, default and range are written.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Argument", "Milliseconds", "OneOf", "Range", "Seed", "Size", "arguments", "checked"]


@dataclass(frozen=True)
class Range:
    """The interval a number must lie in; infinite ends are always open (no inf, no NaN)."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def contains(self, v: float) -> bool:
        lo = v > self.low if (self.low_open or math.isinf(self.low)) else v >= self.low
        hi = v < self.high if (self.high_open or math.isinf(self.high)) else v <= self.high
        return lo and hi

    def describe(self, integer: bool) -> str:
        def fmt(x: float) -> str:
            if math.isinf(x):
                return "inf" if x > 0 else "-inf"
            return str(int(x)) if integer else str(float(x))

        lo = "(" if (self.low_open or math.isinf(self.low)) else "["
        hi = ")" if (self.high_open or math.isinf(self.high)) else "]"
        return f"{lo}{fmt(self.low)}, {fmt(self.high)}{hi}"


@dataclass(frozen=True)
class OneOf:
    """The allowed values of a string argument."""

    choices: tuple[str, ...]


@dataclass(frozen=True)
class Argument:
    """One constructor argument: name, allowed types, default and constraint.

    Attributes
    ----------
    name : str
    types : tuple
        Allowed types: ``bool``, ``int``, ``float``, ``str``, ``type(None)``,
        ``collections.abc.Mapping`` or any class (checked with ``isinstance``).
    default : Any
        ``inspect.Parameter.empty`` when the argument is required.
    range : Range or None
    choices : tuple of str or None
    """

    name: str
    types: tuple
    default: Any
    range: Range | None = None
    choices: tuple[str, ...] | None = None

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    @property
    def optional(self) -> bool:
        """None is allowed."""
        return type(None) in self.types

    def _expected(self) -> str:
        parts = []
        for t in self.types:
            if t is type(None):
                continue
            if t is int:
                parts.append("an int" + (f" in the range {self.range.describe(True)}"
                                         if self.range else ""))
            elif t is float:
                parts.append("a float" + (f" in the range {self.range.describe(False)}"
                                          if self.range else ""))
            elif t is bool:
                parts.append("a bool")
            elif t is str:
                parts.append(f"one of {list(self.choices)}" if self.choices else "a str")
            elif t is Mapping:
                parts.append("a mapping")
            else:
                parts.append(f"a {t.__name__}")
        if self.optional:
            parts.append("None")
        return " or ".join(parts)

    def check(self, value: Any, owner: str) -> None:
        """Raise ``ValueError`` (bad value) or ``TypeError`` (bad type) naming the argument."""
        if self._accepts(value):
            return
        message = (f"The '{self.name}' parameter of {owner} must be {self._expected()}. "
                   f"Got {value!r} instead.")
        right_type = any(_is_type(value, t) for t in self.types)
        raise ValueError(message) if right_type else TypeError(message)

    def _accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        for t in self.types:
            if not _is_type(value, t):
                continue
            if t in (int, float):
                return self.range is None or self.range.contains(float(value))
            if t is str:
                return self.choices is None or value in self.choices
            return True
        return False


def _is_type(value: Any, t: type) -> bool:
    if t is type(None):
        return value is None
    if t is bool:
        return isinstance(value, bool)
    if t is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if t is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    return isinstance(value, t)


def _members(hint: Any) -> tuple[Any, tuple]:
    """``(types, metadata)`` of an annotation: Annotated stripped, unions flattened."""
    meta: tuple = ()
    if typing.get_origin(hint) is typing.Annotated:
        hint, *rest = typing.get_args(hint)
        meta = tuple(rest)
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        members = typing.get_args(hint)
    else:
        members = (hint,)
    out = []
    for m in members:
        o = typing.get_origin(m)
        if o is not None:  # Mapping[str, Any] -> Mapping, etc.
            m = o
        if m is Mapping or (isinstance(m, type) and issubclass(m, Mapping)):
            m = Mapping
        out.append(m)
    return tuple(out), meta


@functools.cache
def arguments(cls: type) -> dict[str, Argument]:
    """The constructor arguments of ``cls`` (except ``self``), in signature order.

    Examples
    --------
    >>> from brainlike.models import RateRNN
    >>> from brainlike.models._params import arguments
    >>> a = arguments(RateRNN)["tau"]
    >>> a.types, a.default, a.range
    ((<class 'float'>,), 100.0, Range(low=0.0, high=inf, low_open=True, high_open=False))
    """
    init = cls.__init__
    hints = typing.get_type_hints(init, include_extras=True)
    out: dict[str, Argument] = {}
    for p in inspect.signature(init).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name not in hints:
            raise TypeError(f"{cls.__name__}.__init__ argument {p.name!r} has no annotation")
        members, meta = _members(hints[p.name])
        rng = next((m for m in meta if isinstance(m, Range)), None)
        one_of = next((m for m in meta if isinstance(m, OneOf)), None)
        out[p.name] = Argument(p.name, members, p.default, rng,
                               None if one_of is None else tuple(one_of.choices))
    return out


def checked(init: Callable) -> Callable:
    """Decorate a model's ``__init__``: check every argument against its annotation first.

    After the per-argument checks, the class's ``_check_together(args)`` (if any) checks
    relations between arguments (e.g. ``dt <= tau``).
    """
    sig = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        try:
            bound = sig.bind(self, *args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{cls.__name__}: {e}; allowed: {list(arguments(cls))}") from None
        bound.apply_defaults()
        values = dict(bound.arguments)
        values.pop("self")
        check_all(cls, values)
        init(self, *args, **kwargs)

    return wrapper


def check_all(cls: type, values: Mapping[str, Any]) -> None:
    """Check the given arguments of ``cls`` (any subset) and their relations."""
    specs = arguments(cls)
    for name, value in values.items():
        if name not in specs:
            raise TypeError(f"{cls.__name__} has no parameter {name!r}; allowed: {list(specs)}")
        specs[name].check(value, cls.__name__)
    together = getattr(cls, "_check_together", None)
    if together is not None:
        together(dict(values))



MAX_UNITS = 2**20  # a dense (N, N) float32 matrix beyond this fits no machine
#: The sizes ``n_input``, ``n_hidden``, ``n_output`` of every model.
Size = typing.Annotated[int, Range(1, MAX_UNITS)]
#: A seed of the initialization: None draws one from torch's global generator.
Seed = typing.Annotated[int | None, Range(0, 2**63 - 1)]
#: A time step or time constant in ms.
Milliseconds = typing.Annotated[float, Range(0.0, math.inf, low_open=True)]
