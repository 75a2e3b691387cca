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
from ._canonical import DivisiveNormalization, FeatureGain, PCInference, PredictiveCoding, apply_gain
from ._convnet import CONVNET_PRESETS, ConvNet, ConvNetOutput
from ._hooks import capture_layers, layer_activations

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
    # vision and canonical computations
    "CONVNET_PRESETS",
    "ConvNet",
    "ConvNetOutput",
    "DivisiveNormalization",
    "FeatureGain",
    "PCInference",
    "PredictiveCoding",
    "apply_gain",
    "capture_layers",
    "layer_activations",
]
