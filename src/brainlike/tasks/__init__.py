"""Trial-structured neuroscience tasks with vectorized batch generation.

A task is built by name with :func:`make` and produces padded
:class:`TrialBatch` records with (batch, time, feature) arrays, per-trial epoch
boundaries and task variables. Durations are in ms; see ``docs/tasks.md``.

Examples
--------
>>> from brainlike.tasks import make, names
>>> names()[:2]
['context_decision', 'delayed_match_to_category']
>>> task = make("perceptual_decision", dt=100.0)
>>> batch = task.generate(8, seed=1, conditions={"coherence": 51.2})
>>> batch.inputs.shape, task.target_kind
((8, 22, 3), 'class')
>>> import numpy as np
>>> perfect = 10.0 * np.eye(task.n_outputs)[batch.targets]
>>> task.score(perfect, batch).accuracy
1.0
"""

from ._core import Task, TaskScore, TrialBatch, Trials, Variable
from ._distributions import Choice, Duration, Fixed, TruncExp, Uniform
from ._env import Episodes, VectorTaskEnv, as_vector_env, play
from ._gym import TaskEnv, as_gym_env
from ._images import Cifar10, ImageBatch, ImageData, ImageTask, load_cifar10, load_mnist
from ._multitask import Block, MultiTask, Sequential
from ._neurogym import NeuroGymTask, from_neurogym
from ._registry import describe, make, names
from ._samples import SampleBatch, Samples
from ._shapes import GeneratedShapes, ShapeTextureGenerator, SimilarityTrials
from ._stimuli import StimulusSet, gabor, grating, grating_set, pink_noise, white_noise
from ._subsets import ClassSubset, split_classes

__all__ = [
    "Block",
    "Choice",
    "Cifar10",
    "ClassSubset",
    "Duration",
    "Episodes",
    "Fixed",
    "GeneratedShapes",
    "ImageBatch",
    "ImageData",
    "ImageTask",
    "MultiTask",
    "NeuroGymTask",
    "SampleBatch",
    "Samples",
    "Sequential",
    "ShapeTextureGenerator",
    "SimilarityTrials",
    "StimulusSet",
    "Task",
    "TaskEnv",
    "TaskScore",
    "TrialBatch",
    "Trials",
    "TruncExp",
    "Uniform",
    "Variable",
    "VectorTaskEnv",
    "as_gym_env",
    "as_vector_env",
    "describe",
    "from_neurogym",
    "gabor",
    "grating",
    "grating_set",
    "load_cifar10",
    "load_mnist",
    "make",
    "names",
    "pink_noise",
    "play",
    "split_classes",
    "white_noise",
]
