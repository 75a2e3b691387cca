"""Multi-task analyses (Yang et al. 2019, Nat Neurosci 22:297; the primer's Fig. 5).

Task variance of single units and its fractional form between two tasks, clustering of units by
their task-variance profiles with the number of clusters chosen by silhouette, lesions of unit
groups scored on every task, and compositional rule inputs. See ``docs/multitask.md``.
"""

from ._clustering import UnitClusters, cluster_units
from ._perturb import GroupLesions, RuleComposition, compose_rules, lesion_groups
from ._variance import FractionalVariance, TaskVariance, fractional_task_variance, task_variance

__all__ = [
    "FractionalVariance",
    "GroupLesions",
    "RuleComposition",
    "TaskVariance",
    "UnitClusters",
    "cluster_units",
    "compose_rules",
    "fractional_task_variance",
    "lesion_groups",
    "task_variance",
]
