"""The model registry: a fixed kind -> class table built at import (no run-time appends).

Adding a model kind is one entry here plus its class (a :class:`RecurrentModel` whose
``__init__`` is annotated and decorated with ``@checked``); the run config's ``model:`` section
derives the kind's fields from that signature (``brainlike.experiments``), and the conformance
suite (``tests/models/test_models_conformance.py``) runs it through the protocol's checks.

Feedforward kinds (``ConvNet``) have no recurrent state or time axis, so they are kept in a second
table: ``names("feedforward")`` lists them (``names()`` stays the recurrent kinds the
conformance suite runs), ``make(kind, **params)`` builds them from their own constructor
arguments (a ConvNet's sizes are ``input_shape`` and ``n_classes``, not ``n_input``,
``n_hidden``, ``n_output``), and ``model_class``, ``kind_of`` and ``arguments`` know both tables.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ._convnet import ConvNet
from ._feedback import FeedbackRNN
from ._gated import GRU, LSTM
from ._params import Argument
from ._params import arguments as _arguments
from ._plastic import PlasticRNN
from ._protocol import RecurrentModel
from ._rate_rnn import RateRNN
from ._spiking import SpikingRNN
from ._stsp import STSPRNN
from ._vit import VisionTransformer

__all__ = ["arguments", "kind_of", "make", "model_class", "names"]

_MODELS: dict[str, type[RecurrentModel]] = {
    "rate": RateRNN,
    "lstm": LSTM,
    "gru": GRU,
    "spiking": SpikingRNN,
    "feedback": FeedbackRNN,
    "plastic": PlasticRNN,
    "stsp": STSPRNN,
}
#: Feedforward kinds: no state, no time axis; built by ``make(kind, **params)``.
_FEEDFORWARD: dict[str, type[nn.Module]] = {
    "convnet": ConvNet,
    "vit": VisionTransformer,
}
_FAMILIES = ("recurrent", "feedforward")


def names(family: str = "recurrent") -> list[str]:
    """Sorted kinds of the registered recurrent models (or, ``family="feedforward"``, of the
    feedforward ones: ``["convnet"]``)."""
    if family not in _FAMILIES:
        raise ValueError(
            f"The 'family' parameter of names must be one of {list(_FAMILIES)}. Got {family!r} instead."
        )
    return sorted(_MODELS if family == "recurrent" else _FEEDFORWARD)


def model_class(kind: str) -> type[RecurrentModel] | type[nn.Module]:
    """The class registered as ``kind``; the error lists the valid kinds."""
    if isinstance(kind, str) and kind in _FEEDFORWARD:
        return _FEEDFORWARD[kind]
    if not isinstance(kind, str) or kind not in _MODELS:
        raise ValueError(
            f"unknown model kind {kind!r}; valid kinds are {names()} (recurrent) and "
            f"{names('feedforward')} (feedforward)"
        )
    return _MODELS[kind]


def kind_of(model: Any) -> str:
    """The registered kind of a model instance (``"rate"`` for a :class:`RateRNN`)."""
    for kind, cls in (*_MODELS.items(), *_FEEDFORWARD.items()):
        if type(model) is cls:
            return kind
    registered = [c.__name__ for c in (*_MODELS.values(), *_FEEDFORWARD.values())]
    raise ValueError(f"{type(model).__name__} is not a registered model kind; "
                     f"registered: {registered}")


def arguments(kind: str) -> dict[str, Argument]:
    """The constructor arguments of ``kind`` (name, types, default, range), in signature order.

    Examples
    --------
    >>> from brainlike.models import arguments
    >>> list(arguments("lstm"))
    ['n_input', 'n_hidden', 'n_output', 'dt', 'forget_bias', 'train_initial_state', 'seed']
    """
    return dict(_arguments(model_class(kind)))


def make(
    kind: str,
    n_input: int | None = None,
    n_hidden: int | None = None,
    n_output: int | None = None,
    **params: Any,
) -> RecurrentModel | nn.Module:
    """Build a registered model.

    Parameters
    ----------
    kind : str
        One of :func:`names`: ``"rate"`` (:class:`RateRNN`), ``"lstm"`` (:class:`LSTM`),
        ``"gru"`` (:class:`GRU`), ``"spiking"`` (:class:`SpikingRNN`); or of
        ``names("feedforward")``: ``"convnet"``
        (:class:`ConvNet`, built from its own arguments: ``make("convnet",
        input_shape=(1, 8, 8), n_classes=10, layers="primer")``).
    n_input, n_hidden, n_output : int
        Sizes of the inputs, the activity and the outputs (recurrent kinds; required there).
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
    sizes = {"n_input": n_input, "n_hidden": n_hidden, "n_output": n_output}
    if kind in _FEEDFORWARD:
        given = [k for k, v in sizes.items() if v is not None]
        if given:
            raise ValueError(f"model kind {kind!r} takes no {given}; its arguments are {allowed}")
        return cls(**params)
    missing = [k for k, v in sizes.items() if v is None]
    if missing:
        raise TypeError(f"model kind {kind!r} needs the sizes {missing}")
    return cls(n_input, n_hidden, n_output, **params)
