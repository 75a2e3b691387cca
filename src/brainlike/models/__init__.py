"""Network architectures: rate RNNs, gated RNNs and feedforward networks.

Every recurrent model follows one protocol (:class:`RecurrentModel`): inputs
``(batch, time, feature)`` in, ``RNNOutput(outputs, activity, final_state)`` out, a flat state,
a noise-free one-step map and named traces on request; ``dt`` and ``tau`` are in ms. The
registry (:func:`make`, :func:`names`) builds them by kind.
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
from ._gated import GRU, LSTM
from ._hooks import capture_layers, layer_activations
from ._mlp import MLP, MLPOutput
from ._plastic import PLASTICITY_RULES, PlasticRNN
from ._protocol import EffectiveWeights, RecurrentModel, RNNOutput, Traced, derive_seed
from ._rate_rnn import NOISE_CONVENTIONS, RateRNN
from ._registry import arguments, kind_of, make, model_class, names
from ._stsp import STSPRNN, SYNAPSE_CONFIGS, SYNAPSE_TYPES, synapse_types

__all__ = [
    "ACTIVATIONS",
    "CONVNET_PRESETS",
    "GRU",
    "LSTM",
    "MLP",
    "NOISE_CONVENTIONS",
    "PLASTICITY_RULES",
    "STSPRNN",
    "SYNAPSE_CONFIGS",
    "SYNAPSE_TYPES",
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
    "PlasticRNN",
    "PredictiveCoding",
    "Projection",
    "RNNOutput",
    "RateRNN",
    "RecurrentModel",
    "SparseMask",
    "Traced",
    "apply_gain",
    "arguments",
    "build_connectivity",
    "capture_layers",
    "derive_seed",
    "kind_of",
    "layer_activations",
    "make",
    "model_class",
    "names",
    "synapse_types",
]
