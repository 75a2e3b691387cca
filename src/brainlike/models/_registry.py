"""The model registry: a fixed kind -> class table built at import (no run-time appends).

Adding a model kind is one entry here plus its class (a :class:`RecurrentModel` whose
``__init__`` is annotated and decorated with ``@checked``); the run config's ``model:`` section
derives the kind's fields from that signature (``brainlike.experiments``), and the conformance
suite (``tests/models/test_models_conformance.py``) runs it through the protocol's checks.
"""

from __future__ import annotations

from typing import Any

from ._gated import GRU, LSTM
from ._params import Argument
from ._params import arguments as _arguments
from ._protocol import RecurrentModel
from ._rate_rnn import RateRNN

__all__ = ["arguments", "kind_of", "make", "model_class", "names"]

_MODELS: dict[str, type[RecurrentModel]] = {
    "rate": RateRNN,
    "lstm": LSTM,
    "gru": GRU,
}


def names() -> list[str]:
    """Sorted kinds of the registered recurrent models."""
    return sorted(_MODELS)


def model_class(kind: str) -> type[RecurrentModel]:
    """The class registered as ``kind``; the error lists the valid kinds."""
    if not isinstance(kind, str) or kind not in _MODELS:
        raise ValueError(f"unknown model kind {kind!r}; valid kinds are {names()}")
    return _MODELS[kind]


def kind_of(model: Any) -> str:
    """The registered kind of a model instance (``"rate"`` for a :class:`RateRNN`)."""
    for kind, cls in _MODELS.items():
        if type(model) is cls:
            return kind
    raise ValueError(f"{type(model).__name__} is not a registered model kind; "
                     f"registered: {[c.__name__ for c in _MODELS.values()]}")


def arguments(kind: str) -> dict[str, Argument]:
    """The constructor arguments of ``kind`` (name, types, default, range), in signature order.

    Examples
    --------
    >>> from brainlike.models import arguments
    >>> list(arguments("lstm"))
    ['n_input', 'n_hidden', 'n_output', 'dt', 'forget_bias', 'train_initial_state', 'seed']
    """
    return dict(_arguments(model_class(kind)))


def make(kind: str, n_input: int, n_hidden: int, n_output: int, **params: Any) -> RecurrentModel:
    """Build a registered recurrent model.

    Parameters
    ----------
    kind : str
        One of :func:`names`: ``"rate"`` (:class:`RateRNN`), ``"lstm"`` (:class:`LSTM`),
        ``"gru"`` (:class:`GRU`).
    n_input, n_hidden, n_output : int
        Sizes of the inputs, the activity and the outputs.
    **params
        The kind's other constructor arguments (``dt`` in ms, ``seed``, ...); ``make(kind,
        **model.config())`` rebuilds a model's architecture.

    Raises
    ------
    ValueError
        Unknown kind (the message lists the valid kinds), unknown parameter (the message lists
        the allowed ones), or a bad value (the message names the parameter).

    Examples
    --------
    >>> from brainlike.models import make
    >>> lstm = make("lstm", n_input=3, n_hidden=16, n_output=1, seed=0)
    >>> type(lstm).__name__, lstm.state_size
    ('LSTM', 32)
    >>> same = make("lstm", **lstm.config())
    >>> same.config() == lstm.config()
    True
    """
    cls = model_class(kind)
    allowed = list(_arguments(cls))
    for key in params:
        if key not in allowed:
            raise ValueError(f"model kind {kind!r} has no parameter {key!r}; allowed: {allowed}")
    return cls(n_input, n_hidden, n_output, **params)
