"""Learning algorithms: supervised BPTT with masked losses, regularizers and checkpoints.

>>> from brainlike.training import RatePenalty, WeightPenalty
>>> penalties = [WeightPenalty(l2=1e-4), RatePenalty(l2=1e-4)]
"""

from ._checkpoint import load_model_state
from ._constraints import AnchorPenalty, SparsityPenalty
from ._ensemble import ensemble_leaky_loop, train_ensemble
from ._firing_rate import FiringRatePenalty, firing_rates_hz
from ._loggers import TensorBoardLogger, WandbLogger
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
    "FiringRatePenalty",
    "RatePenalty",
    "RunDirectoryError",
    "SparsityPenalty",
    "StepInfo",
    "TensorBoardLogger",
    "TrainResult",
    "TrainingDivergedError",
    "WandbLogger",
    "WeightPenalty",
    "ensemble_leaky_loop",
    "evaluate",
    "firing_rates_hz",
    "load_model_state",
    "masked_cross_entropy",
    "masked_mse",
    "task_loss",
    "train",
    "train_ensemble",
]
