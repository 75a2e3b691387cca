"""Learning algorithms: supervised BPTT with masked losses, regularizers and checkpoints.

>>> from brainlike.training import RatePenalty, WeightPenalty
>>> penalties = [WeightPenalty(l2=1e-4), RatePenalty(l2=1e-4)]
"""

from ._checkpoint import load_model_state
from ._constraints import AnchorPenalty, SparsityPenalty
from ._eligibility import train_eprop, train_rflo
from ._ensemble import ensemble_leaky_loop, train_ensemble
from ._feedback_alignment import train_feedback_alignment
from ._force import train_force
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

__all__ = [
    "AnchorPenalty",
    "Evaluation",
    "RatePenalty",
    "RunDirectoryError",
    "SparsityPenalty",
    "StepInfo",
    "TrainResult",
    "TrainingDivergedError",
    "WeightPenalty",
    "ensemble_leaky_loop",
    "evaluate",
    "load_model_state",
    "masked_cross_entropy",
    "masked_mse",
    "task_loss",
    "train",
    "train_ensemble",
    "train_eprop",
    "train_feedback_alignment",
    "train_force",
    "train_rflo",
]
