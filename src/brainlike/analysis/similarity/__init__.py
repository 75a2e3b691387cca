"""Model-to-brain comparison: RSA, CKA, shape metrics, regression predictivity, DSA."""

from ._cka import center_gram, cka, cka_matrix, cka_minibatch, gram_linear, gram_rbf
from ._dsa import DelayDMD, DSAResult, delay_dmd, delay_embed, dsa, procrustes_vector_fields
from ._inference import BootstrapResult, NoiseCeiling, bootstrap_compare, noise_ceiling
from ._predictivity import (
    LayerMapping,
    Predictivity,
    layer_mapping,
    predictivity,
    split_half_consistency,
)
from ._rdm import RDM, compare_rdms, rdm
from ._shape import LinearMetric, ShapeAlignment, fit_shape_alignment, partial_whitening, shape_distance

__all__ = [
    "RDM",
    "BootstrapResult",
    "DSAResult",
    "DelayDMD",
    "LayerMapping",
    "LinearMetric",
    "NoiseCeiling",
    "Predictivity",
    "ShapeAlignment",
    "bootstrap_compare",
    "center_gram",
    "cka",
    "cka_matrix",
    "cka_minibatch",
    "compare_rdms",
    "delay_dmd",
    "delay_embed",
    "dsa",
    "fit_shape_alignment",
    "gram_linear",
    "gram_rbf",
    "layer_mapping",
    "noise_ceiling",
    "partial_whitening",
    "predictivity",
    "procrustes_vector_fields",
    "rdm",
    "shape_distance",
    "split_half_consistency",
]
