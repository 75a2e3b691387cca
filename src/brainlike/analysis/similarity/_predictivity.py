"""Regression predictivity of recorded units from model features (Yamins et al. 2014;
Brain-Score's ``pls``/``ridge`` protocol) with a split-half, Spearman–Brown ceiling.

The ceiling is a reliability: the Spearman–Brown corrected split-half consistency estimates the
correlation between two independent repetitions of the trial-averaged responses, which is on the
scale of r² (the fraction of their variance that is signal). A model that predicts the signal
exactly correlates with the noisy average at r = √reliability, so the ceiled score that gives it 1
is ``r / √ceiling`` (or, squared, the explained variance ``r² / ceiling``). Brain-Score's older
``ceil_score`` divides r by the reliability itself, which gives the generating model
``1 / √reliability > 1`` (1.02–1.55 for reliabilities 0.96–0.41); it is kept as
``brainscore_ceiled_score`` for comparison with published scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

REGRESSIONS = ("pls", "ridge")


@dataclass(frozen=True)
class Predictivity:
    """Cross-validated predictivity of recorded units.

    Attributes
    ----------
    score : float
        Mean over splits of the median over units of held-out Pearson r (Brain-Score's raw score).
    sem : float
        Standard error of ``score`` over splits.
    split_scores : ndarray, shape (n_splits,)
    unit_r : ndarray, shape (n_units,)
        Held-out Pearson r of each unit, averaged over splits.
    ceiling : float or None
        Median over units of the Spearman–Brown corrected split-half consistency (None without
        repetitions).
    unit_ceiling : ndarray, shape (n_units,) or None
    ceiled_score : float or None
        ``score / sqrt(ceiling)``: r against the highest r the noise allows (the ceiling is on
        the r² scale); the model that generated the data scores ≈ 1.
    explained_variance : float or None
        ``score**2 / ceiling`` (Brain-Score's ``explained_variance`` convention since 2026);
        ≈ 1 for the generating model too.
    brainscore_ceiled_score : float or None
        ``score / ceiling``, Brain-Score's ``ceil_score`` convention for correlations (r divided
        by an r²-scale reliability: the generating model scores ``1 / sqrt(ceiling)`` > 1), for
        comparison with scores published under it.

    The three ceiled scores are NaN when the ceiling is <= 0 (the repetitions share no signal).
    """

    score: float
    sem: float
    split_scores: np.ndarray
    unit_r: np.ndarray
    ceiling: float | None
    unit_ceiling: np.ndarray | None
    ceiled_score: float | None
    explained_variance: float | None
    brainscore_ceiled_score: float | None


def _pearson_cols(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    den = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=0) / np.where(den > 0, den, 1.0), 0.0)


def split_half_consistency(repetitions, n_splits: int = 10, seed: int = 0) -> np.ndarray:
    """Spearman–Brown corrected split-half reliability of each unit, shape (n_units,).

    Parameters
    ----------
    repetitions : array-like, shape (n_repetitions, n_conditions, n_units)
        Responses to each condition on repeated presentations (n_repetitions >= 2).

    Returns
    -------
    ndarray, shape (n_units,)
        Mean over ``n_splits`` random halvings of ``2r / (1 + r)``, r the Pearson correlation
        over conditions between the two halves' means.
    """
    reps = np.asarray(repetitions, dtype=float)
    if reps.ndim != 3 or reps.shape[0] < 2:
        raise ValueError(
            f"repetitions must have shape (n_repetitions >= 2, n_conditions, n_units); got {reps.shape}"
        )
    rng = np.random.default_rng(seed)
    k = reps.shape[0]
    out = np.zeros(reps.shape[2])
    for _ in range(n_splits):
        perm = rng.permutation(k)
        r = _pearson_cols(reps[perm[: k // 2]].mean(0), reps[perm[k // 2:]].mean(0))
        out += 2 * r / (1 + r)
    return out / n_splits


def _fit_predict(kind, n_components, alpha, xtr, ytr, xte):
    if kind == "pls":
        from sklearn.cross_decomposition import PLSRegression

        nc = min(n_components, xtr.shape[0] - 1, xtr.shape[1])
        return PLSRegression(n_components=nc, scale=False).fit(xtr, ytr).predict(xte)
    mx, my = xtr.mean(0), ytr.mean(0)
    xc = xtr - mx
    if xc.shape[0] < xc.shape[1]:  # dual form
        w = xc.T @ np.linalg.solve(xc @ xc.T + alpha * np.eye(xc.shape[0]), ytr - my)
    else:
        w = np.linalg.solve(xc.T @ xc + alpha * np.eye(xc.shape[1]), xc.T @ (ytr - my))
    return (xte - mx) @ w + my


def predictivity(
    features,
    responses,
    *,
    regression: str = "pls",
    n_components: int = 25,
    alpha: float = 1.0,
    n_splits: int = 10,
    test_fraction: float = 0.1,
    stratify=None,
    seed: int = 1,
) -> Predictivity:
    """How well a linear map from model features predicts each recorded unit on held-out conditions.

    Parameters
    ----------
    features : array-like, shape (n_conditions, n_features)
        Model activity per condition (e.g. :meth:`Recording.responses` of a model).
    responses : array-like, shape (n_conditions, n_units) or (n_repetitions, n_conditions, n_units)
        Recorded responses; with repetitions, the regression target is their mean and the
        split-half consistency gives the ceiling.
    regression : {"pls", "ridge"}
        PLS with ``n_components`` (Brain-Score: 25, ``scale=False``) or ridge with ``alpha``.
    n_splits, test_fraction, stratify, seed
        ``n_splits`` random splits holding out ``test_fraction`` of the conditions (stratified by
        the labels ``stratify`` when given; Brain-Score: 10 splits of 10 %, by object).

    Returns
    -------
    Predictivity

    References
    ----------
    Yamins et al. (2014), PNAS 111:8619; Schrimpf et al. (2018), bioRxiv 407007 (Brain-Score).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> F = rng.normal(size=(60, 5))
    >>> p = predictivity(F, F @ rng.normal(size=(5, 3)), regression="ridge", alpha=1e-6)
    >>> round(p.score, 6)
    1.0
    """
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    if regression not in REGRESSIONS:
        raise ValueError(f"regression must be one of {REGRESSIONS}; got {regression!r}")
    x = np.asarray(features, dtype=float)
    y = np.asarray(responses, dtype=float)
    reps = None
    if y.ndim == 3:
        reps, y = y, y.mean(axis=0)
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(
            f"features must be (n_conditions, n_features) and responses (n_conditions, n_units); "
            f"got {x.shape} and {y.shape}"
        )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"features and responses must have the same conditions; got {x.shape[0]} and {y.shape[0]}"
        )
    if stratify is None:
        splitter = ShuffleSplit(n_splits=n_splits, test_size=test_fraction, random_state=seed)
        splits = splitter.split(x)
    else:
        splitter = StratifiedShuffleSplit(n_splits=n_splits, test_size=test_fraction, random_state=seed)
        splits = splitter.split(x, np.asarray(stratify))
    per_split, unit_r = [], np.zeros(y.shape[1])
    for tr, te in splits:
        if len(te) < 3:
            raise ValueError(f"each test split needs >= 3 conditions for a correlation; got {len(te)}")
        pred = _fit_predict(regression, n_components, alpha, x[tr], y[tr], x[te])
        r = _pearson_cols(pred, y[te])
        unit_r += r
        per_split.append(np.median(r))
    per_split = np.asarray(per_split)
    score = float(per_split.mean())
    sem = float(per_split.std(ddof=1) / np.sqrt(len(per_split))) if len(per_split) > 1 else 0.0
    ceiling = unit_ceiling = ceiled = ev = brainscore = None
    if reps is not None:
        unit_ceiling = split_half_consistency(reps, seed=seed)
        ceiling = float(np.median(unit_ceiling))
        if ceiling > 0:
            ceiled, ev, brainscore = score / np.sqrt(ceiling), score**2 / ceiling, score / ceiling
        else:  # the repetitions agree no better than chance: nothing to ceil against
            ceiled = ev = brainscore = float("nan")
    unit_r = unit_r / len(per_split)
    return Predictivity(score, sem, per_split, unit_r, ceiling, unit_ceiling, ceiled, ev,
                        brainscore)


@dataclass(frozen=True)
class LayerMapping:
    """Predictivity of every (layer, area) pair.

    Attributes
    ----------
    layers : tuple of str
    areas : tuple of str
    scores : ndarray, shape (n_layers, n_areas)
        ``Predictivity.score`` (raw, unceiled).
    best_layer : dict
        Area -> the layer that predicts it best.
    """

    layers: tuple
    areas: tuple
    scores: np.ndarray
    best_layer: dict


def layer_mapping(layers: Mapping, areas: Mapping, **kwargs) -> LayerMapping:
    """Which layer (or time window) best predicts which recorded area.

    Parameters
    ----------
    layers : mapping name -> features (n_conditions, n_features)
    areas : mapping name -> responses, as :func:`predictivity` takes
    **kwargs
        Passed to :func:`predictivity` (same splits for every pair through ``seed``).
    """
    ln, an = tuple(layers), tuple(areas)
    s = np.array([[predictivity(layers[lay], areas[a], **kwargs).score for a in an] for lay in ln])
    return LayerMapping(ln, an, s, {a: ln[int(np.argmax(s[:, j]))] for j, a in enumerate(an)})
