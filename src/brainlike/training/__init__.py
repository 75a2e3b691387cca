"""Learning algorithms: supervised BPTT with masked losses, regularizers and checkpoints.

>>> from brainlike.training import RatePenalty, WeightPenalty
>>> penalties = [WeightPenalty(l2=1e-4), RatePenalty(l2=1e-4)]
"""

from ._checkpoint import load_model_state
from ._constraints import AnchorPenalty, SparsityPenalty
from ._continual import EWC, SI, Consolidation, SequentialResult, fisher_information, train_sequential
from ._contrastive import augment, nt_xent, train_contrastive
from ._eligibility import train_eprop, train_rflo
from ._ensemble import ensemble_leaky_loop, train_ensemble
from ._feedback_alignment import train_feedback_alignment
from ._firing_rate import FiringRatePenalty, firing_rates_hz
from ._force import train_force
from ._loggers import TensorBoardLogger, WandbLogger
from ._loop import train
from ._losses import masked_cross_entropy, masked_mse, task_loss
from ._regularizers import RatePenalty, WeightPenalty
from ._rl import PolicyRollout, gae, rollout, train_a2c, train_ppo
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
    "FiringRatePenalty",
    "PolicyRollout",
    "RatePenalty",
    "RunDirectoryError",
    "SequentialResult",
    "SparsityPenalty",
    "StepInfo",
    "TensorBoardLogger",
    "TrainResult",
    "TrainingDivergedError",
    "WandbLogger",
    "WeightPenalty",
    "augment",
    "ensemble_leaky_loop",
    "evaluate",
    "firing_rates_hz",
    "fisher_information",
    "gae",
    "load_model_state",
    "masked_cross_entropy",
    "masked_mse",
    "nt_xent",
    "rollout",
    "task_loss",
    "train",
    "train_a2c",
    "train_contrastive",
    "train_ensemble",
    "train_eprop",
    "train_feedback_alignment",
    "train_force",
    "train_hebbian",
    "train_ppo",
    "train_rflo",
    "train_sequential",
]
