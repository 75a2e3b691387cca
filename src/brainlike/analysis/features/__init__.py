"""Feature analyses of vision models (Yang & Wang 2020, Section 4; the overview seed's methods).

Tuning curves and selectivity indices, activation maximization (Eq. 31), latent-space search in
a generative model (gradient-free, XDream-like, or by gradient), reverse correlation (STA/STC,
classification images), Gaussian-copula mutual information with a feature-use comparison, and
observers (simulated, a network, a person's responses from a file) for its paradigms.
See ``docs/vision.md``.
"""

from ._information import (
    FeatureUse,
    ObserverComparison,
    copula_normalize,
    feature_use,
    gaussian_mi,
    mutual_information,
)
from ._latent import (
    DigitsVAE,
    LatentSearch,
    genetic_search,
    latent_gradient_search,
    load_digits_vae,
    train_digits_vae,
)
from ._maximize import FeatureVisualization, activation_maximization, fourier_image
from ._observers import NetworkObserver, ObserverResponses, SimulatedObserver, load_responses
from ._revcorr import ClassificationImage, ReverseCorrelation, classification_image, reverse_correlation
from ._tuning import (
    CategoryTuning,
    CircularSelectivity,
    TuningCurve,
    category_tuning,
    circular_selectivity,
    lifetime_sparseness,
    modulation_index,
    tuning_curve,
)

__all__ = [
    "CategoryTuning",
    "CircularSelectivity",
    "ClassificationImage",
    "DigitsVAE",
    "FeatureUse",
    "FeatureVisualization",
    "LatentSearch",
    "NetworkObserver",
    "ObserverComparison",
    "ObserverResponses",
    "ReverseCorrelation",
    "SimulatedObserver",
    "TuningCurve",
    "activation_maximization",
    "category_tuning",
    "circular_selectivity",
    "classification_image",
    "copula_normalize",
    "feature_use",
    "fourier_image",
    "gaussian_mi",
    "genetic_search",
    "latent_gradient_search",
    "lifetime_sparseness",
    "load_digits_vae",
    "load_responses",
    "modulation_index",
    "mutual_information",
    "reverse_correlation",
    "train_digits_vae",
    "tuning_curve",
]
