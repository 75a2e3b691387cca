"""Network architectures: rate RNNs, gated RNNs and feedforward networks.

Every recurrent model follows one protocol (:class:`RecurrentModel`): inputs
``(batch, time, feature)`` in, ``RNNOutput(outputs, activity, final_state)`` out, a flat state,
a noise-free one-step map and named traces on request; ``dt`` and ``tau`` are in ms. The
registry (:func:`make`, :func:`names`) builds them by kind.
"""

from ._activations import ACTIVATIONS
from ._autoencoder import Autoencoder, AutoencoderOutput
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
from ._context_gating import ContextGated
from ._convnet import CONVNET_PRESETS, ConvNet, ConvNetOutput
from ._feedback import FeedbackRNN
from ._gated import GRU, LSTM
from ._hooks import capture_layers, layer_activations
from ._mlp import MLP, MLPOutput
from ._nir import from_nir, load_nir, save_nir, to_nir
from ._plastic import PLASTICITY_RULES, PlasticRNN
from ._protocol import EffectiveWeights, RecurrentModel, RNNOutput, Traced, derive_seed
from ._rate_rnn import NOISE_CONVENTIONS, RateRNN
from ._registry import arguments, kind_of, make, model_class, names
from ._spiking import INPUT_ENCODINGS, RESETS, SpikingRNN
from ._stsp import STSPRNN, SYNAPSE_CONFIGS, SYNAPSE_TYPES, synapse_types
from ._surrogates import SURROGATES
from ._transfer import rate_to_spiking
from ._vit import VisionTransformer

__all__ = [
    "ACTIVATIONS",
    "CONVNET_PRESETS",
    "GRU",
    "INPUT_ENCODINGS",
    "LSTM",
    "MLP",
    "NOISE_CONVENTIONS",
    "PLASTICITY_RULES",
    "RESETS",
    "STSPRNN",
    "SURROGATES",
    "SYNAPSE_CONFIGS",
    "SYNAPSE_TYPES",
    "Area",
    "Autoencoder",
    "AutoencoderOutput",
    "Connectivity",
    "ContextGated",
    "ConvNet",
    "ConvNetOutput",
    "Dale",
    "DivisiveNormalization",
    "EffectiveWeights",
    "FeatureGain",
    "FeedbackRNN",
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
    "SpikingRNN",
    "Traced",
    "VisionTransformer",
    "apply_gain",
    "arguments",
    "build_connectivity",
    "capture_layers",
    "derive_seed",
    "from_nir",
    "kind_of",
    "layer_activations",
    "load_nir",
    "make",
    "model_class",
    "names",
    "rate_to_spiking",
    "save_nir",
    "synapse_types",
    "to_nir",
]
