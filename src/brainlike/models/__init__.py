"""Network architectures: rate RNNs, gated RNNs and feedforward networks.

Every recurrent model follows one protocol (:class:`RecurrentModel`): inputs
``(batch, time, feature)`` in, ``RNNOutput(outputs, activity, final_state)`` out, a flat state,
a noise-free one-step map and named traces on request; ``dt`` and ``tau`` are in ms. The
registry (:func:`make`, :func:`names`) builds them by kind.
"""

from ._activations import ACTIVATIONS
from ._connectivity import (
    Area,
    Connectivity,
    Dale,
    FixedPlusTrainable,
    LowRank,
    MultiArea,
    Projection,
    SparseMask,
    build_connectivity,
)
from ._gated import GRU, LSTM
from ._mlp import MLP, MLPOutput
from ._protocol import EffectiveWeights, RecurrentModel, RNNOutput, Traced, derive_seed
from ._rate_rnn import NOISE_CONVENTIONS, RateRNN
from ._registry import arguments, kind_of, make, model_class, names

__all__ = [
    "ACTIVATIONS",
    "GRU",
    "LSTM",
    "MLP",
    "NOISE_CONVENTIONS",
    "Area",
    "Connectivity",
    "Dale",
    "EffectiveWeights",
    "FixedPlusTrainable",
    "LowRank",
    "MLPOutput",
    "MultiArea",
    "Projection",
    "RNNOutput",
    "RateRNN",
    "RecurrentModel",
    "SparseMask",
    "Traced",
    "arguments",
    "build_connectivity",
    "derive_seed",
    "kind_of",
    "make",
    "model_class",
    "names",
]
