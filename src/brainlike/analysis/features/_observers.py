"""Observers for the feature-use paradigms: simulated, a network, or a person's file of responses.

Three paradigms of the overview seed's study (Daube et al. 2021) are served, each on stimuli
that carry their factor table (a :class:`brainlike.tasks.StimulusSet` or ``ImageBatch``, whose
``conditions`` are the factors and whose ``images`` the rendered stimuli):

* **identification** (``identify``): which identity is this?
* **similarity judgement** (``judge``): which of two stimuli is closer to a reference?
* **reverse correlation** (``rate``, ``evidence``): a rating of how much each random stimulus
  looks like a target identity, or the evidence for one identity over another.

A :class:`SimulatedObserver` decides by a weighted distance in factor space (its weights are
known: the ground truth that feature-use analyses must recover); a :class:`NetworkObserver`
decides by a network's outputs and representation; :func:`load_responses` reads a person's
responses from a CSV file. The responses then go to :func:`brainlike.analysis.feature_use`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["NetworkObserver", "ObserverResponses", "SimulatedObserver", "load_responses"]


_OBSERVER_STREAM = 0x0B5E  # the decision noise's SeedSequence entropy: [stream, seed]


def _table(stimuli: Any) -> Mapping[str, np.ndarray]:
    table = getattr(stimuli, "conditions", stimuli)
    if not isinstance(table, Mapping):
        raise TypeError(
            "stimuli must be a StimulusSet or ImageBatch (with a factor table as conditions) or a "
            f"mapping of factor name to values; got {type(stimuli).__name__}"
        )
    return table


def _images(stimuli: Any) -> np.ndarray:
    for attr in ("images", "inputs"):
        if hasattr(stimuli, attr):
            return np.asarray(getattr(stimuli, attr), dtype=np.float32)
    a = np.asarray(stimuli, dtype=np.float32)
    if a.ndim != 4:
        raise ValueError(f"images must be (n, C, H, W); got shape {a.shape}")
    return a


def _identity(k: Any, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k < n:
        raise ValueError(f"an identity must be an int in [0, {n}); got {k!r}")
    return int(k)


class SimulatedObserver:
    """An observer with known weights on the stimulus factors.

    It perceives the squared distance between two stimuli as ``D² = Σ_f w_f (a_f − b_f)²`` over
    the factors it weights and decides with Gaussian decision noise of standard deviation
    ``noise``. Every paradigm follows from ``D``:

    * ``rate(stimuli, k)``: ``−D²(x, identity_k) + noise · ε``, a similarity rating;
    * ``evidence(stimuli, a, b)``: ``D²(x, b) − D²(x, a) + noise · ε`` — linear in ``x``, with
      kernel ``2 w_f (a_f − b_f)`` on factor ``f``;
    * ``identify(stimuli)``: ``argmin_k D²(x, identity_k) + noise · ε_k``;
    * ``judge(trials)``: 1 if the second option is closer to the reference
      (``D²(second, ref) − D²(first, ref) + noise · ε < 0``), else 0.

    Parameters
    ----------
    weights : mapping of str to float
        Weight of each factor, or of each group of factors named in ``groups`` (every member
        gets the group's weight), e.g. ``{"shape": 1.0, "texture": 0.0}``. Factors left out
        weigh 0.
    identities : sequence of mappings, optional
        Each identity's factor values (``[generator.identity(k) for k in range(K)]``); needed
        by ``rate``, ``evidence`` and ``identify``.
    groups : mapping of str to sequence of str, optional
        E.g. ``ShapeTextureGenerator.groups``.
    noise : float
        Standard deviation of the decision noise (>= 0).
    seed : int
        Seed of the decision noise; every call draws new noise from the observer's generator
        (a stream of its own: the same int seeding the stimuli gives independent draws).

    Examples
    --------
    >>> from brainlike.tasks import ShapeTextureGenerator
    >>> gen = ShapeTextureGenerator(16, seed=0)
    >>> ids = [gen.identity(k) for k in range(gen.n_identities)]
    >>> shape_observer = SimulatedObserver({"shape": 1.0}, identities=ids, groups=gen.groups)
    >>> stim = gen.identification_set(2, seed=0)
    >>> choice = shape_observer.identify(stim)
    >>> float((choice == stim.conditions["shape_identity"]).mean()) > 0.9
    True
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        *,
        identities: Sequence[Mapping[str, float]] | None = None,
        groups: Mapping[str, Sequence[str]] | None = None,
        noise: float = 1.0,
        seed: int = 0,
    ):
        owner = "SimulatedObserver"
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**63:
            raise ValueError(f"The 'seed' parameter of {owner} must be an int in [0, 2**63). "
                             f"Got {seed!r} instead.")
        if not isinstance(weights, Mapping) or not weights:
            raise ValueError(f"The 'weights' parameter of {owner} must be a non-empty mapping of "
                             f"factor (or group) name to weight. Got {weights!r} instead.")
        groups = dict(groups or {})
        expanded: dict[str, float] = {}
        for key, w in weights.items():
            if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0:
                raise ValueError(
                    f"weights[{key!r}] of {owner} must be a finite float >= 0. Got {w!r} instead."
                )
            for f in ([key] if key not in groups else groups[key]):
                expanded[str(f)] = float(w)
        self.weights: Mapping[str, float] = MappingProxyType(expanded)
        if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not noise >= 0:
            raise ValueError(
                f"The 'noise' parameter of {owner} must be a float >= 0. Got {noise!r} instead."
            )
        self.noise = float(noise)
        self.identities = tuple(dict(i) for i in (identities or ()))
        for k, ident in enumerate(self.identities):
            missing = [f for f, w in expanded.items() if w > 0 and f not in ident]
            if missing:
                raise ValueError(f"identities[{k}] lacks the weighted factor(s) {missing}")
        # A stream of its own: not the one np.random.default_rng(seed) gives the stimuli.
        self._rng = np.random.default_rng([_OBSERVER_STREAM, int(seed)])

    def __repr__(self) -> str:
        used = {k: v for k, v in self.weights.items() if v}
        return f"SimulatedObserver(weights={used}, noise={self.noise})"

    def distance2(self, stimuli: Any, point: Any) -> np.ndarray:
        """``D²`` between each stimulus and ``point`` (a mapping of factor values, or a second
        table of the same length), ``(n,)``."""
        table = _table(stimuli)
        other = _table(point)
        n = len(np.atleast_1d(next(iter(table.values())))) if table else 0
        total = np.zeros(n)
        for f, w in self.weights.items():
            if not w:
                continue
            if f not in table:
                raise ValueError(
                    f"the stimuli lack the factor {f!r} the observer weighs; they have {list(table)}"
                )
            x = np.asarray(table[f], dtype=np.float64)
            total = total + w * np.square(x - np.asarray(other[f], dtype=np.float64))
        return total

    def _noise(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.noise * self._rng.standard_normal(shape)

    def _ident(self, k: Any) -> Mapping[str, float]:
        if not self.identities:
            raise ValueError("this paradigm needs the observer's identities (identities=...)")
        return self.identities[_identity(k, len(self.identities))]

    def rate(self, stimuli: Any, target: int) -> np.ndarray:
        """Similarity rating of each stimulus to identity ``target`` (higher: more similar)."""
        d = self.distance2(stimuli, self._ident(target))
        return -d + self._noise(d.shape)

    def evidence(self, stimuli: Any, a: int, b: int) -> np.ndarray:
        """Evidence for identity ``a`` over ``b`` (> 0: looks more like ``a``)."""
        d = self.distance2(stimuli, self._ident(b)) - self.distance2(stimuli, self._ident(a))
        return d + self._noise(d.shape)

    def identify(self, stimuli: Any) -> np.ndarray:
        """The identity (0 .. K-1) each stimulus is judged to be, ``(n,)`` int64."""
        if not self.identities:
            raise ValueError("identify needs the observer's identities (identities=...)")
        d = np.stack([self.distance2(stimuli, i) for i in self.identities], axis=1)
        return np.argmin(d + self._noise(d.shape), axis=1).astype(np.int64)

    def judge(self, trials: Any) -> np.ndarray:
        """For similarity trials (``reference``, ``first``, ``second``): 1 where the second is
        judged closer to the reference, else 0, ``(n,)`` int64."""
        d1 = self.distance2(trials.first, trials.reference)
        d2 = self.distance2(trials.second, trials.reference)
        return ((d2 - d1 + self._noise(d1.shape)) < 0).astype(np.int64)


class NetworkObserver:
    """A trained classifier as an observer of the same paradigms.

    Identity ``k`` is the network's class ``k``; its representation (for similarity judgements)
    is what the model returns as ``activity`` (the last hidden layer of a ``ConvNet`` or of a
    vision transformer), compared by Euclidean distance.

    * ``rate(stimuli, k)``: the log-odds of class ``k``, ``z_k − log Σ_{j≠k} exp z_j``;
    * ``evidence(stimuli, a, b)``: ``z_a − z_b``;
    * ``identify(stimuli)``: ``argmax_k z_k``;
    * ``judge(trials)``: 1 where the second option's representation is closer to the
      reference's, else 0.

    Parameters
    ----------
    model : nn.Module
        Maps images ``(n, C, H, W)`` to an output with ``outputs`` (logits ``(n, K)``) and
        ``activity`` ``(n, N)``, like :class:`brainlike.models.ConvNet`.
    batch_size : int
        Images per forward pass.

    Examples
    --------
    >>> from brainlike.models import ConvNet
    >>> from brainlike.tasks import ShapeTextureGenerator
    >>> gen = ShapeTextureGenerator(16, seed=0)
    >>> observer = NetworkObserver(ConvNet((1, 16, 16), 4, layers="small", seed=0))
    >>> stimuli = gen.reverse_correlation_set(5, seed=0)
    >>> observer.rate(stimuli, 0).shape, observer.identify(stimuli).shape
    ((5,), (5,))
    """

    def __init__(self, model: nn.Module, *, batch_size: int = 1024):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                or batch_size < 1):
            raise ValueError("The 'batch_size' parameter of NetworkObserver must be an int >= 1. "
                             f"Got {batch_size!r} instead.")
        self.model, self.batch_size = model, int(batch_size)

    def _run(self, stimuli: Any) -> tuple[np.ndarray, np.ndarray]:
        x = _images(stimuli)
        outs, acts = [], []
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                for start in range(0, x.shape[0], self.batch_size):
                    out = self.model(torch.tensor(x[start:start + self.batch_size]))
                    outs.append(out.outputs.double().numpy())
                    acts.append(out.activity.reshape(out.activity.shape[0], -1).double().numpy())
        finally:
            self.model.train(was_training)
        return np.concatenate(outs), np.concatenate(acts)

    def logits(self, stimuli: Any) -> np.ndarray:
        """The network's logits ``(n, K)``."""
        return self._run(stimuli)[0]

    def rate(self, stimuli: Any, target: int) -> np.ndarray:
        """Log-odds of class ``target`` for each stimulus."""
        z = self.logits(stimuli)
        k = _identity(target, z.shape[1])
        others = np.delete(z, k, axis=1)
        m = others.max(axis=1)
        return z[:, k] - (m + np.log(np.exp(others - m[:, None]).sum(axis=1)))

    def evidence(self, stimuli: Any, a: int, b: int) -> np.ndarray:
        """``z_a − z_b``: evidence for class ``a`` over ``b``."""
        z = self.logits(stimuli)
        return z[:, _identity(a, z.shape[1])] - z[:, _identity(b, z.shape[1])]

    def identify(self, stimuli: Any) -> np.ndarray:
        """The class of each stimulus, ``(n,)`` int64."""
        return np.argmax(self.logits(stimuli), axis=1).astype(np.int64)

    def judge(self, trials: Any) -> np.ndarray:
        """1 where the second option's representation is closer to the reference's, else 0."""
        ref, first, second = (self._run(s)[1] for s in (trials.reference, trials.first, trials.second))
        d1 = np.linalg.norm(first - ref, axis=1)
        d2 = np.linalg.norm(second - ref, axis=1)
        return (d2 < d1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class ObserverResponses:
    """A table of trials read from a file: the factors shown and the observer's responses.

    Attributes
    ----------
    factors : Mapping[str, ndarray]
        One float64 column ``(n_trials,)`` per factor.
    responses : ndarray, shape (n_trials,)
    source : str
    """

    factors: Mapping[str, np.ndarray]
    responses: np.ndarray
    source: str


def load_responses(
    path: str | Path,
    *,
    factors: Sequence[str] | Mapping[str, Sequence[str]],
    response: str = "response",
) -> ObserverResponses:
    """Read a person's (or any observer's) responses and the factors of each trial from a CSV file.

    One row per trial; a header row names the columns. Other columns (trial number, reaction
    time, ...) are ignored.

    Parameters
    ----------
    path : str or Path
    factors : sequence of str, or mapping of group name to sequence of str
        The factor columns to read, e.g. ``generator.factor_names`` or ``generator.groups``.
    response : str
        The column holding the responses (a rating, a choice coded as numbers or
        ``true``/``false``).

    Returns
    -------
    ObserverResponses

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file lacks columns (the message lists those missing and those present), a value is
        not a number (the message names the column and the row), or a value is missing.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_responses: {path} is not a file")
    if isinstance(factors, Mapping):
        names = [str(f) for members in factors.values() for f in members]
    elif isinstance(factors, str):
        names = [factors]
    else:
        names = [str(f) for f in factors]
    if not names:
        raise ValueError("load_responses: factors must name at least one column")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ValueError(f"load_responses: {path} is not a readable CSV file ({e})") from None
    have = [str(c) for c in frame.columns]
    missing = [c for c in (*names, response) if c not in have]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing}; it has {have}")
    if len(frame) < 1:
        raise ValueError(f"{path} holds no trials (only a header)")
    columns = {}
    for c in (*names, response):
        raw = frame[c]
        if raw.dtype == bool:
            values = raw.to_numpy(dtype=np.float64)
        else:
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                row = int(bad[0])
                raise ValueError(
                    f"{path}: column {c!r} must hold finite numbers; row {row + 1} (after the "
                    f"header) holds {raw.iloc[row]!r}"
                )
        values.setflags(write=False)
        columns[c] = values
    resp = columns.pop(response)
    return ObserverResponses(MappingProxyType(columns), resp, str(path))
