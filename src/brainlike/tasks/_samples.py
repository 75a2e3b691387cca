"""Examples of a data matrix as a task: the learning problem of unsupervised learning.

The target of every example is the example itself (reconstruction), so the trainers of
:mod:`brainlike.training` -- the Hebbian rules (:func:`brainlike.training.train_hebbian`) and
backpropagation for autoencoders (:func:`brainlike.training.train`) -- draw batches, log losses and
evaluate held-out examples exactly as they do for a cognitive task. A batch has no time axis: an
:class:`SampleBatch` holds ``(B, D)`` inputs and targets.

Examples
--------
>>> from brainlike.tasks import Samples
>>> task = Samples.planted([4.0, 2.0, 1.0, 0.1], n_examples=500, seed=0)
>>> task.n_inputs, task.n_outputs, task.target_kind, task.axes.shape
(4, 4, 'value', (4, 4))
>>> batch = task.generate(8, seed=1)
>>> batch.inputs.shape, bool((batch.inputs == batch.targets).all())
((8, 4), True)
>>> task.score(batch.targets, batch).accuracy        # a perfect reconstruction
1.0
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ._core import TaskScore, _readonly
from ._images import _SPLITS

__all__ = ["SampleBatch", "Samples"]


@dataclass(frozen=True, eq=False, repr=False)
class SampleBatch:
    """A batch of examples without a time axis; the target is the example.

    Attributes
    ----------
    inputs, targets : ndarray, float32, shape (B, D)
        Equal arrays (reconstruction).
    mask : ndarray, float32, shape (B,)
        Loss weight of each example (1).
    conditions : Mapping[str, ndarray]
        ``index``: each example's row in its split, ``(B,)``.
    input_names, output_names : tuple of str
    task : str
    target_kind : str
        Always ``"value"`` (mean squared error).
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    conditions: Mapping[str, np.ndarray]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    task: str = ""
    target_kind: str = "value"

    def __post_init__(self) -> None:
        x = self.inputs
        if x.ndim != 2 or x.dtype != np.float32:
            raise ValueError(f"inputs must be float32 (B, D), got {x.dtype} {x.shape}")
        if self.targets.shape != x.shape or self.targets.dtype != np.float32:
            raise ValueError(f"targets must be float32 {x.shape}, got {self.targets.dtype} "
                             f"{self.targets.shape}")
        if self.mask.shape != x.shape[:1] or self.mask.dtype != np.float32:
            raise ValueError(f"mask must be float32 ({x.shape[0]},), got {self.mask.dtype} "
                             f"{self.mask.shape}")
        for name in ("inputs", "targets", "mask"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))
        object.__setattr__(self, "conditions", MappingProxyType(
            {k: _readonly(np.asarray(v)) for k, v in self.conditions.items()}))

    @property
    def batch_size(self) -> int:
        return int(self.inputs.shape[0])

    def __repr__(self) -> str:
        dim = self.inputs.shape[1]
        return f"SampleBatch(task={self.task!r}, batch_size={self.batch_size}, dim={dim})"


class Samples:
    """The rows of a data matrix as a task whose target is the input (unsupervised learning).

    Parameters
    ----------
    data : array-like, shape (n_examples, D)
        Finite numbers, at least two examples.
    name : str
        The task's name (in logs and checkpoints).
    split : {"train", "test"}
        Which part of the rows this task draws: a fixed random ``test_fraction`` of them (seed
        0) is held out, and trainers score :attr:`evaluation_task` (the held-out rows).
    test_fraction : float in (0, 1)
    center : bool
        Subtract the mean of the training rows from every row (PCA's convention; Oja's rule
        finds the top eigenvector of ``E[x x^T]``, which is the top principal component only
        for centred data).
    tolerance : float > 0
        :meth:`score` counts an example as correct when its relative squared reconstruction
        error ``|x_hat - x|^2 / |x|^2`` is at most this.

    Attributes
    ----------
    data : ndarray, float32, shape (n, D)
        This split's rows (centred if ``center``).
    axes : ndarray, shape (D, D) or None
        For :meth:`planted` data: the planted principal axes (columns, by decreasing variance).
    variances : ndarray or None
        For :meth:`planted` data: the planted variances along them.
    """

    kind = "samples"
    target_kind = "value"
    ceiling = None

    def __init__(
        self, data: Any, *, name: str = "samples", split: str = "train",
        test_fraction: float = 0.2, center: bool = True, tolerance: float = 0.1,
    ) -> None:
        owner = "Samples"
        x = np.asarray(data, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
            raise ValueError(f"The 'data' parameter of {owner} must be a (n_examples, D) array "
                             f"with n_examples >= 2. Got shape {x.shape} instead.")
        if not np.isfinite(x).all():
            raise ValueError(f"The 'data' parameter of {owner} must hold finite numbers only.")
        if not isinstance(name, str) or not name:
            raise ValueError(f"The 'name' parameter of {owner} must be a non-empty str. Got "
                             f"{name!r} instead.")
        if split not in _SPLITS:
            raise ValueError(f"The 'split' parameter of {owner} must be one of {list(_SPLITS)}. "
                             f"Got {split!r} instead.")
        for arg, value, high in (("test_fraction", test_fraction, 1.0),
                                 ("tolerance", tolerance, math.inf)):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not ok or not 0.0 < float(value) < high:
                raise ValueError(f"The '{arg}' parameter of {owner} must be a float in the range "
                                 f"(0, {high}). Got {value!r} instead.")
        if not isinstance(center, bool):
            raise TypeError(f"The 'center' parameter of {owner} must be a bool. Got {center!r} instead.")
        n = x.shape[0]
        n_test = min(max(round(test_fraction * n), 1), n - 1)
        test = np.zeros(n, dtype=bool)
        test[np.random.default_rng(0).permutation(n)[:n_test]] = True
        self._all = x
        self._name, self.split = name, split
        self.test_fraction, self.center, self.tolerance = float(test_fraction), center, float(tolerance)
        self._digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]
        mean = x[~test].mean(0) if center else np.zeros(x.shape[1])
        rows = x[test] if split == "test" else x[~test]
        self._data = _readonly((rows - mean).astype(np.float32))
        self.axes: np.ndarray | None = None
        self.variances: np.ndarray | None = None

    @classmethod
    def planted(
        cls, variances: Sequence[float], *, n_examples: int = 2000, seed: int = 0, **kwargs: Any
    ) -> Samples:
        """Gaussian data with planted principal axes: ``x = Q diag(sqrt(variances)) z``.

        ``Q`` is a random orthogonal ``(D, D)`` matrix (seeded), ``z ~ N(0, I)``. The planted axes
        (``Q``'s columns sorted by decreasing variance) and variances are kept on the task
        (:attr:`axes`, :attr:`variances`) to check what a rule learned. ``kwargs`` go to the
        constructor.
        """
        var = np.asarray(variances, dtype=np.float64)
        if var.ndim != 1 or var.size < 1 or not np.isfinite(var).all() or (var < 0).any():
            raise ValueError("The 'variances' parameter of Samples.planted must be a non-empty "
                             f"sequence of finite numbers >= 0. Got {variances!r} instead.")
        if (isinstance(n_examples, bool) or not isinstance(n_examples, numbers.Integral)
                or n_examples < 2):
            raise ValueError("The 'n_examples' parameter of Samples.planted must be an int >= 2. "
                             f"Got {n_examples!r} instead.")
        rng = np.random.default_rng(seed)
        q, r = np.linalg.qr(rng.standard_normal((var.size, var.size)))
        q = q * np.sign(np.diag(r))
        order = np.argsort(-var, kind="stable")
        q, var = q[:, order], var[order]
        x = rng.standard_normal((int(n_examples), var.size)) * np.sqrt(var) @ q.T
        kwargs.setdefault("name", "planted")
        task = cls(x, **kwargs)
        task.axes, task.variances = q, var
        return task

    # ---- protocol
    @property
    def name(self) -> str:
        return self._name

    @property
    def params(self) -> dict[str, Any]:
        """JSON-serializable: the data's size and checksum and the constructor's options."""
        return {"n_examples": int(self._all.shape[0]), "dim": int(self._all.shape[1]),
                "sha256": self._digest, "split": self.split, "test_fraction": self.test_fraction,
                "center": self.center, "tolerance": self.tolerance}

    @property
    def data(self) -> np.ndarray:
        return self._data

    @property
    def n_inputs(self) -> int:
        return int(self._data.shape[1])

    @property
    def n_outputs(self) -> int:
        return self.n_inputs

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(f"x{k}" for k in range(self.n_inputs))

    @property
    def output_names(self) -> tuple[str, ...]:
        return self.input_names

    @property
    def evaluation_task(self) -> Samples:
        """The held-out rows (what trainers score)."""
        if self.split == "test":
            return self
        held = Samples(self._all, name=self._name, split="test", test_fraction=self.test_fraction,
                       center=self.center, tolerance=self.tolerance)
        held.axes, held.variances = self.axes, self.variances
        return held

    def __repr__(self) -> str:
        return (f"Samples(name={self._name!r}, n_examples={self._data.shape[0]}, "
                f"dim={self.n_inputs}, split={self.split!r})")

    def generate(self, batch_size: int, *, seed: Any = None, conditions: Any = None,
                 noise: bool = True) -> SampleBatch:
        """``batch_size`` rows drawn uniformly with replacement (a seed gives the same rows)."""
        if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                or batch_size < 1):
            raise TypeError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if conditions:
            raise ValueError(f"{self._name!r} has no task variables to condition on; got {conditions!r}")
        idx = np.random.default_rng(seed).integers(0, self._data.shape[0], int(batch_size))
        x = self._data[idx]
        return SampleBatch(x, x.copy(), np.ones(idx.size, dtype=np.float32), {"index": idx},
                           self.input_names, self.output_names, self._name)

    def score(self, outputs: Any, batch: SampleBatch) -> TaskScore:
        """Correct when the relative squared reconstruction error is at most ``tolerance``;
        ``error`` holds that relative error, ``decision`` is -1 (no discrete choice)."""
        out = np.asarray(outputs, dtype=np.float64)
        if out.shape != batch.targets.shape:
            raise ValueError(f"outputs must have shape {batch.targets.shape}, got {out.shape}")
        x = batch.targets.astype(np.float64)
        err = ((out - x) ** 2).sum(1) / np.maximum((x**2).sum(1), np.finfo(np.float64).tiny)
        return TaskScore(np.full(len(err), -1), err <= self.tolerance, err)
