"""Network architectures: continuous-time rate RNNs and feedforward networks.

All recurrent models take inputs ``(batch, time, feature)`` and return
``(outputs, activity, final_state)``; ``dt`` and ``tau`` are in ms.
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
from ._mlp import MLP, MLPOutput
from ._rate_rnn import EffectiveWeights, RateRNN, RNNOutput

__all__ = [
    "ACTIVATIONS",
    "MLP",
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
    "SparseMask",
    "build_connectivity",
]
