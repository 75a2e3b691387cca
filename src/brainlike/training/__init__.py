"""Learning algorithms: supervised BPTT with masked losses, regularizers and checkpoints.

>>> from brainlike.training import RatePenalty, WeightPenalty
>>> penalties = [WeightPenalty(l2=1e-4), RatePenalty(l2=1e-4)]
"""

from ._checkpoint import load_model_state
from ._constraints import AnchorPenalty, SparsityPenalty
from ._continual import EWC, SI, Consolidation, SequentialResult, fisher_information, train_sequential
from ._ensemble import ensemble_leaky_loop, train_ensemble
from ._loop import train
from ._losses import masked_cross_entropy, masked_mse, task_loss
from ._regularizers import RatePenalty, WeightPenalty
from ._session import (
    Evaluation,
    RunDirectoryError,
    StepInfo,
    TrainingDivergedError,
    TrainResult,
    evaluate,
)
from ._unsupervised import HEBBIAN_RULES, train_hebbian

__all__ = [
    "EWC",
    "HEBBIAN_RULES",
    "SI",
    "AnchorPenalty",
    "Consolidation",
    "Evaluation",
    "RatePenalty",
    "RunDirectoryError",
    "SequentialResult",
    "SparsityPenalty",
    "StepInfo",
    "TrainResult",
    "TrainingDivergedError",
    "WeightPenalty",
    "ensemble_leaky_loop",
    "evaluate",
    "fisher_information",
    "load_model_state",
    "masked_cross_entropy",
    "masked_mse",
    "task_loss",
    "train",
    "train_ensemble",
    "train_hebbian",
    "train_sequential",
]
