"""Network architectures: continuous-time rate RNNs and feedforward networks.

All recurrent models take inputs ``(batch, time, feature)`` and return
``(outputs, activity, final_state)``; ``dt`` and ``tau`` are in ms.
"""

from ._activations import ACTIVATIONS
from ._canonical import DivisiveNormalization, FeatureGain, PCInference, PredictiveCoding, apply_gain
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
from ._convnet import CONVNET_PRESETS, ConvNet, ConvNetOutput
from ._hooks import capture_layers, layer_activations
from ._mlp import MLP, MLPOutput
from ._rate_rnn import EffectiveWeights, RateRNN, RNNOutput

__all__ = [
    "ACTIVATIONS",
    "CONVNET_PRESETS",
    "MLP",
    "Area",
    "Connectivity",
    "ConvNet",
    "ConvNetOutput",
    "Dale",
    "DivisiveNormalization",
    "EffectiveWeights",
    "FeatureGain",
    "FixedPlusTrainable",
    "LowRank",
    "MLPOutput",
    "MultiArea",
    "PCInference",
    "PredictiveCoding",
    "Projection",
    "RNNOutput",
    "RateRNN",
    "SparseMask",
    "apply_gain",
    "build_connectivity",
    "capture_layers",
    "layer_activations",
]
