"""Decoding task variables over time and cross-temporal generalization (King & Dehaene 2014).

Works on anything shaped ``(trial, time, feature)``: a network's activity, a named trace such as
synaptic efficacy (``model.traced(...)``), or a :class:`~brainlike.recordings.Recording` from an
animal; labels are one value per trial (or a condition name of the Recording).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TemporalDecoding", "TemporalGeneralization", "cross_temporal_generalization",
           "decode_over_time"]


@dataclass(frozen=True)
class TemporalDecoding:
    """Cross-validated decoding score at each time step, with its chance level by permutation.

    Attributes
    ----------
    time : ndarray, shape (n_time,)
        Time of each decoded step (ms for a Recording, else the step index).
    score : ndarray, shape (n_time,)
        Mean test score over the folds (accuracy for the default classifier).
    fold_scores : ndarray, shape (n_folds, n_time)
    null : ndarray, shape (n_permutations, n_time)
        Scores with the labels permuted across trials (one permutation for all steps).
    chance : ndarray, shape (n_time,)
        Mean of ``null`` (NaN without permutations).
    p_value : ndarray, shape (n_time,)
        ``(1 + #{null >= score}) / (1 + n_permutations)`` (NaN without permutations).
    classes : ndarray
        Distinct labels (empty for a regression).
    variable : str
    scoring : str
    """

    time: np.ndarray
    score: np.ndarray
    fold_scores: np.ndarray
    null: np.ndarray
    chance: np.ndarray
    p_value: np.ndarray
    classes: np.ndarray
    variable: str
    scoring: str


@dataclass(frozen=True)
class TemporalGeneralization:
    """Decoders trained at each time and tested at every time (King & Dehaene 2014).

    Attributes
    ----------
    time : ndarray, shape (n_time,)
    score : ndarray, shape (n_time, n_time)
        ``score[i, j]``: trained at ``time[i]``, tested at ``time[j]`` (mean over folds).
    null : ndarray, shape (n_permutations, n_time, n_time)
    chance : ndarray, shape (n_time, n_time)
        Mean of ``null`` (NaN without permutations).
    p_value : ndarray, shape (n_time, n_time)
    classes : ndarray
    variable : str
    scoring : str
    """

    time: np.ndarray
    score: np.ndarray
    null: np.ndarray
    chance: np.ndarray
    p_value: np.ndarray
    classes: np.ndarray
    variable: str
    scoring: str

    @property
    def diagonal(self) -> np.ndarray:
        """Train and test at the same time: the time-resolved decoding score, (n_time,)."""
        return np.diag(self.score).copy()


def _inputs(data: Any, labels: Any, time: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(trial, time, feature) float64, labels (trial,), time (n_time,), variable name."""
    raw = getattr(data, "data", data)
    x = np.asarray(raw.detach().cpu().numpy() if hasattr(raw, "detach") else raw, dtype=np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(
            f"data must have shape (n_trials, n_time, n_features); got {np.shape(raw)}"
        )
    variable = "label"
    if isinstance(labels, str):
        conds = getattr(data, "conditions", None)
        if conds is None or labels not in conds:
            have = sorted(conds) if conds is not None else []
            raise ValueError(f"labels {labels!r} is not a condition of the data; it has {have}")
        variable, labels = labels, conds[labels]
    y = np.asarray(labels)
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape (n_trials,) = ({x.shape[0]},); got {y.shape}")
    if time is None:
        time = getattr(data, "time", None)
    t = np.arange(x.shape[1], dtype=float) if time is None else np.asarray(time, dtype=float)
    if t.shape != (x.shape[1],):
        raise ValueError(f"time must have shape (n_time,) = ({x.shape[1]},); got {t.shape}")
    return x, y, t, variable


def _setup(x, y, estimator, cv, scoring, seed):
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import KFold, StratifiedKFold

    if estimator is None:
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        estimator = make_pipeline(
            StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        )
    if not hasattr(estimator, "fit"):
        raise TypeError(f"estimator must be a scikit-learn estimator; got {type(estimator).__name__}")
    classify = is_classifier(estimator)
    classes = np.unique(y) if classify else np.array([])
    if classify:
        if classes.size < 2:
            raise ValueError(f"labels must hold at least 2 classes; got {classes.tolist()}")
        smallest = np.bincount(np.searchsorted(classes, y)).min()
        if isinstance(cv, (int, np.integer)) and smallest < cv:
            raise ValueError(
                f"cv={cv} folds need at least {cv} trials of every class; the smallest class has "
                f"{smallest}"
            )
    if isinstance(cv, bool) or (isinstance(cv, (int, np.integer)) and cv < 2):
        raise ValueError(f"cv must be an int >= 2 or a scikit-learn splitter; got {cv!r}")
    if isinstance(cv, (int, np.integer)):
        splitter = (StratifiedKFold if classify else KFold)(int(cv), shuffle=True, random_state=seed)
    else:
        splitter = cv
    folds = list(splitter.split(x[:, 0], y))
    if scoring is None:
        scoring = "accuracy" if classify else "r2"
    from sklearn.metrics import get_scorer

    scorer = get_scorer(scoring)
    if not np.isfinite(x).all():
        raise ValueError(
            "data must be finite at every decoded step (a Recording's NaN after a trial's end "
            "included): select steps where every trial runs (time_steps=...) or cut the trials"
        )
    return (lambda: clone(estimator)), folds, scorer, scoring, classes


def _score_at(est, scorer, scoring: str, x_test: np.ndarray, y_test: np.ndarray) -> np.ndarray:
    """Scores of one fitted estimator at every time step of ``x_test`` (m, n_time, F): one
    ``predict`` over all steps for accuracy, one scorer call per step otherwise."""
    m, n, f = x_test.shape
    if scoring == "accuracy":
        pred = est.predict(x_test.reshape(m * n, f)).reshape(m, n)
        return (pred == y_test[:, None]).mean(axis=0)
    return np.array([scorer(est, x_test[:, j], y_test) for j in range(n)])


def _steps(time_steps, n_time: int) -> np.ndarray:
    if time_steps is None:
        return np.arange(n_time)
    idx = np.asarray(time_steps)
    if idx.dtype == bool:
        if idx.shape != (n_time,):
            raise ValueError(f"time_steps as a mask must have shape ({n_time},); got {idx.shape}")
        idx = np.flatnonzero(idx)
    idx = idx.astype(np.int64).reshape(-1)
    if idx.size == 0 or idx.min() < 0 or idx.max() >= n_time:
        raise ValueError(f"time_steps must be step indices in [0, {n_time}); got {time_steps!r}")
    return idx


def _prepare(data, labels, time, time_steps, estimator, cv, scoring, seed):
    """Checked inputs restricted to the decoded steps, the estimator factory and the folds."""
    x, y, t, variable = _inputs(data, labels, time)
    steps = _steps(time_steps, x.shape[1])
    x = x[:, steps]
    make, folds, scorer, scoring, classes = _setup(x, y, estimator, cv, scoring, seed)
    return x, y, t[steps], variable, make, folds, scorer, scoring, classes


def _permutations(y: np.ndarray, n: int, seed: int) -> list[np.ndarray]:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n_permutations must be an int >= 0; got {n!r}")
    rng = np.random.default_rng([seed, 1])
    return [y[rng.permutation(y.size)] for _ in range(int(n))]


def _p_values(score: np.ndarray, null: np.ndarray) -> np.ndarray:
    if null.shape[0] == 0:
        return np.full(score.shape, np.nan)
    return (1.0 + (null >= score - 1e-12).sum(axis=0)) / (1.0 + null.shape[0])


def decode_over_time(
    data: Any,
    labels: Any,
    *,
    estimator: Any = None,
    cv: Any = 5,
    scoring: str | None = None,
    n_permutations: int = 0,
    time_steps: Any = None,
    time: Any = None,
    seed: int = 0,
) -> TemporalDecoding:
    """Decode a task variable from the population at each time step, cross-validated.

    At every step ``t`` an estimator is fit on the training trials' features ``x(t)`` and scored
    on the held-out trials; the folds are the same at every step. Chance is estimated by
    refitting with the labels permuted across trials (the same permutation at every step, so the
    null keeps the data's temporal structure); for ``k`` balanced classes it lies near ``1/k``.

    Parameters
    ----------
    data : array (n_trials, n_time, n_features), or a Recording
        Activity, any named trace (e.g. synaptic efficacy ``x·u`` from ``model.traced``), or a
        :class:`~brainlike.recordings.Recording` of a network or an animal. A torch tensor works
        too. Must be finite at the decoded steps.
    labels : array (n_trials,) or str
        The variable per trial, or the name of a condition of the Recording.
    estimator : scikit-learn estimator, optional
        Default: standardization + shrinkage LDA (``LinearDiscriminantAnalysis(solver="lsqr",
        shrinkage="auto")``), a fast linear classifier. Any classifier or regressor works, e.g.
        ``SVC(kernel="linear")`` (Masse et al. 2019) or ``Ridge()`` for a continuous variable.
    cv : int or scikit-learn splitter
        Folds (stratified and shuffled with ``seed`` for a classifier; plain K-fold for a
        regressor).
    scoring : str, optional
        A scikit-learn scorer name; default ``"accuracy"`` (classifier) or ``"r2"``.
    n_permutations : int
        Label permutations for the chance level and p-values (0: none).
    time_steps : array of int or bool mask, optional
        Steps to decode (default all).
    time : array (n_time,), optional
        Times of the steps (default the Recording's ``time``, else the step index).
    seed : int

    Returns
    -------
    TemporalDecoding

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> x = rng.normal(size=(40, 6, 5))
    >>> x[:, 3:, 0] += 4.0 * y[:, None]          # the label is in the activity from step 3 on
    >>> dec = decode_over_time(x, y, n_permutations=5)
    >>> bool(dec.score[3:].min() > 0.9), bool(dec.score[:3].max() < 0.8)
    (True, True)
    >>> bool(abs(dec.chance.mean() - 0.5) < 0.15), dec.p_value[3:].round(3).tolist()
    (True, [0.167, 0.167, 0.167])
    """
    x, y, t, variable, make, folds, scorer, scoring, classes = _prepare(
        data, labels, time, time_steps, estimator, cv, scoring, seed)

    def run(yy: np.ndarray) -> np.ndarray:
        out = np.empty((len(folds), x.shape[1]))
        for i, (train, test) in enumerate(folds):
            for j in range(x.shape[1]):
                est = make().fit(x[train, j], yy[train])
                out[i, j] = scorer(est, x[test, j], yy[test])
        return out

    fold_scores = run(y)
    score = fold_scores.mean(axis=0)
    perms = _permutations(y, n_permutations, seed)
    null = np.array([run(p).mean(axis=0) for p in perms]).reshape(len(perms), x.shape[1])
    chance = null.mean(axis=0) if len(perms) else np.full(score.shape, np.nan)
    return TemporalDecoding(t, score, fold_scores, null, chance, _p_values(score, null),
                            classes, variable, scoring)


def cross_temporal_generalization(
    data: Any,
    labels: Any,
    *,
    estimator: Any = None,
    cv: Any = 5,
    scoring: str | None = None,
    n_permutations: int = 0,
    time_steps: Any = None,
    time: Any = None,
    seed: int = 0,
) -> TemporalGeneralization:
    """Train a decoder at each time ``t1`` and test it at every time ``t2`` (King & Dehaene 2014).

    A high off-diagonal score means the code at ``t1`` persists at ``t2`` (a stable code, e.g.
    persistent activity); a score high only on the diagonal means a dynamic code. Parameters as
    :func:`decode_over_time`, whose scores are this matrix's diagonal for the same ``cv``,
    ``estimator`` and ``seed``.

    Returns
    -------
    TemporalGeneralization

    References
    ----------
    King & Dehaene (2014) Characterizing the dynamics of mental representations: the temporal
    generalization method. Trends Cogn Sci 18:203.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> x = rng.normal(size=(40, 4, 5))
    >>> x[:, :2, 0] += 3.0 * y[:, None]           # code in unit 0 early ...
    >>> x[:, 2:, 1] += 3.0 * y[:, None]           # ... moves to unit 1 later
    >>> ctg = cross_temporal_generalization(x, y)
    >>> bool(ctg.score[0, 1] > 0.9), bool(ctg.score[0, 3] < 0.7)
    (True, True)
    """
    x, y, t, variable, make, folds, scorer, scoring, classes = _prepare(
        data, labels, time, time_steps, estimator, cv, scoring, seed)
    n = x.shape[1]

    def run(yy: np.ndarray) -> np.ndarray:
        out = np.zeros((n, n))
        for train, test in folds:
            for i in range(n):
                est = make().fit(x[train, i], yy[train])
                out[i] += _score_at(est, scorer, scoring, x[test], yy[test])
        return out / len(folds)

    score = run(y)
    perms = _permutations(y, n_permutations, seed)
    null = np.array([run(p) for p in perms]).reshape(len(perms), n, n)
    chance = null.mean(axis=0) if len(perms) else np.full(score.shape, np.nan)
    return TemporalGeneralization(t, score, null, chance, _p_values(score, null), classes,
                                  variable, scoring)
