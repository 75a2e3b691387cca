"""Gaussian-copula mutual information (Ince et al. 2017) and which stimulus features a system uses."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri, psi
from scipy.stats import rankdata

__all__ = [
    "FeatureUse",
    "copula_normalize",
    "feature_use",
    "gaussian_mi",
    "mutual_information",
]

_LN2 = math.log(2.0)


def _as_2d(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 3:
        raise ValueError(
            f"{name} must have shape (n_samples,) or (n_samples, n_dims) with n_samples >= 3; "
            f"got {np.shape(x)}"
        )
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite")
    return a


def copula_normalize(x: Any) -> np.ndarray:
    """Copula normalization: each column's ranks mapped to a standard normal, shape (n, d).

    ``Φ⁻¹(rank / (n + 1))`` with ties given their average rank; invariant to any strictly
    increasing transform of a column (Ince et al. 2017, "copnorm").
    """
    a = _as_2d(x, "x")
    return ndtri(rankdata(a, axis=0) / (a.shape[0] + 1.0))


def _logdet_half(c: np.ndarray) -> float:
    """½ log det C through a Cholesky factor (= Σ log diag(L))."""
    try:
        return float(np.log(np.diag(np.linalg.cholesky(c))).sum())
    except np.linalg.LinAlgError:
        raise ValueError("the covariance is singular: a variable is constant or an exact copy") from None


def _bias(n: int, d: int) -> float:
    """Ince et al.'s analytic bias of the Gaussian entropy estimate (in nats)."""
    dterm = (_LN2 - math.log(n - 1.0)) / 2.0
    return d * dterm + float(psi((n - np.arange(1, d + 1)) / 2.0).sum() / 2.0)


def gaussian_mi(x: Any, y: Any, *, biascorrect: bool = True) -> float:
    """Mutual information (bits) between jointly Gaussian variables ``x (n, dx)`` and ``y (n, dy)``.

    ``I = ½ log(det Σx det Σy / det Σxy) / ln 2`` from the sample covariances, with the
    analytic bias correction of Ince et al. (2017) (their ``mi_gg``).
    """
    a, b = _as_2d(x, "x"), _as_2d(y, "y")
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples; got {a.shape[0]} and {b.shape[0]}"
        )
    n, dx, dy = a.shape[0], a.shape[1], b.shape[1]
    xy = np.hstack([a, b])
    c = np.cov(xy, rowvar=False).reshape(dx + dy, dx + dy)
    hx, hy, hxy = _logdet_half(c[:dx, :dx]), _logdet_half(c[dx:, dx:]), _logdet_half(c)
    if biascorrect:
        hx, hy, hxy = hx - _bias(n, dx), hy - _bias(n, dy), hxy - _bias(n, dx + dy)
    return (hx + hy - hxy) / _LN2


def _mi_gaussian_discrete(x: np.ndarray, labels: np.ndarray, biascorrect: bool) -> float:
    """I(X; Y) for Gaussian X and discrete Y: H(X) − Σ_y p(y) H(X | y) (Ince's ``mi_model_gd``)."""
    n, d = x.shape
    classes, inverse = np.unique(labels, return_inverse=True)
    if classes.size < 2:
        raise ValueError("a discrete variable must take at least 2 values")
    h = _logdet_half(np.cov(x, rowvar=False).reshape(d, d))
    if biascorrect:
        h -= _bias(n, d)
    cond = 0.0
    for k in range(classes.size):
        xk = x[inverse == k]
        if xk.shape[0] <= d + 1:
            raise ValueError(
                f"each value of a discrete variable needs > {d + 1} samples; "
                f"value {classes[k]!r} has {xk.shape[0]}"
            )
        hk = _logdet_half(np.cov(xk, rowvar=False).reshape(d, d))
        if biascorrect:
            hk -= _bias(xk.shape[0], d)
        cond += xk.shape[0] / n * hk
    return (h - cond) / _LN2


def mutual_information(x: Any, y: Any, *, discrete: bool = False, biascorrect: bool = True) -> float:
    """Gaussian-copula mutual information (bits) between ``x`` and ``y`` (Ince et al. 2017).

    Each variable is copula-normalized (:func:`copula_normalize`) and the MI of the resulting
    Gaussians is computed in closed form: a lower bound on the true MI that is exact for
    Gaussian dependence, robust, and unchanged by monotone transforms of either variable.

    Parameters
    ----------
    x : array, shape (n,) or (n, dx)
        Continuous variable(s), e.g. stimulus features.
    y : array, shape (n,) or (n, dy)
        Continuous responses, or class labels with ``discrete=True`` (then ``x`` is modelled as
        Gaussian within each class).
    discrete : bool
    biascorrect : bool
        Apply the analytic bias correction (default, as Ince et al.).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(20000); y = 0.6 * x + 0.8 * rng.standard_normal(20000)
    >>> exact = -0.5 * np.log2(1 - 0.6**2)
    >>> bool(abs(mutual_information(np.exp(x), y) - exact) < 0.01)  # any monotone transform of x
    True
    """
    cx = copula_normalize(x)
    if discrete:
        lab = np.asarray(y)
        if lab.shape != (cx.shape[0],):
            raise ValueError(f"discrete y must have shape (n,) = ({cx.shape[0]},); got {lab.shape}")
        return _mi_gaussian_discrete(cx, lab, biascorrect)
    return gaussian_mi(cx, copula_normalize(y), biascorrect=biascorrect)


@dataclass(frozen=True)
class FeatureUse:
    """Which stimulus features each responder's responses carry information about.

    Attributes
    ----------
    features : tuple of str
    responders : tuple of str
    mi : ndarray, shape (n_responders, n_features)
        Gaussian-copula MI (bits) between each feature and each responder's responses.
    p_value : ndarray, shape (n_responders, n_features)
        Permutation p-values, corrected across features by the maximum statistic (each
        permutation shuffles the responses once and takes the largest MI over features).
    uses : ndarray of bool, shape (n_responders, n_features)
        ``p_value < alpha``.
    similarity : ndarray, shape (n_responders, n_responders)
        Cosine similarity of the responders' MI profiles (1: the same relative feature use).
    alpha : float
    n_permutations : int
    """

    features: tuple[str, ...]
    responders: tuple[str, ...]
    mi: np.ndarray
    p_value: np.ndarray
    uses: np.ndarray
    similarity: np.ndarray
    alpha: float
    n_permutations: int

    def used(self, responder: str) -> list[str]:
        """Names of the features ``responder`` uses."""
        i = self.responders.index(responder)
        return [f for f, u in zip(self.features, self.uses[i]) if u]

    def shared(self) -> list[str]:
        """Features every responder uses."""
        return [f for f, u in zip(self.features, self.uses.all(axis=0)) if u]


def feature_use(
    features: Mapping[str, Any],
    responses: Mapping[str, Any],
    *,
    discrete: bool | Mapping[str, bool] = False,
    n_permutations: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
) -> FeatureUse:
    """Compare the features two (or more) systems use, from one table of trials.

    Given the value of each stimulus feature on each trial (e.g. the shape and texture
    coefficients of generated faces, or pixels of noise) and each system's response on the same
    trials (a network's output, a person's rating or choice), compute the Gaussian-copula MI
    between every feature and every system's responses and test it by permutation: the
    features a system "uses" are those its responses carry significant information about
    (the logic of Daube et al. 2021 and the overview seed: do the best ANN and humans rely on
    the same features?).

    Parameters
    ----------
    features : mapping of str to array (n_trials,)
        The trial table's feature columns.
    responses : mapping of str to array (n_trials,)
        One response column per responder (``{"model": ..., "human": ...}``).
    discrete : bool or mapping of str to bool
        Whether a responder's responses are discrete (choices) rather than continuous.
    n_permutations : int
    alpha : float
        Family-wise significance level.
    seed : int
        Seed of the permutations.

    Returns
    -------
    FeatureUse

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> f = {"shape": rng.standard_normal(500), "texture": rng.standard_normal(500)}
    >>> r = {"model": f["shape"] + rng.standard_normal(500), "human": f["shape"] > 0}
    >>> fu = feature_use(f, r, discrete={"human": True}, n_permutations=100)
    >>> fu.used("model"), fu.used("human"), fu.shared()
    (['shape'], ['shape'], ['shape'])
    """
    if not isinstance(features, Mapping) or not features:
        raise ValueError("features must be a non-empty mapping of feature name to values (n_trials,)")
    if not isinstance(responses, Mapping) or not responses:
        raise ValueError(
            "responses must be a non-empty mapping of responder name to responses (n_trials,)"
        )
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, int) or n_permutations < 1:
        raise ValueError(
            "The 'n_permutations' parameter of feature_use must be an int >= 1. "
            f"Got {n_permutations!r} instead."
        )
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(
            "The 'alpha' parameter of feature_use must be a float in the range (0, 1). "
            f"Got {alpha!r} instead."
        )
    names = tuple(str(k) for k in features)
    columns = [np.asarray(v) for v in features.values()]
    n = columns[0].shape[0] if columns[0].ndim == 1 else -1
    for name, col in zip(names, columns):
        if col.shape != (n,):
            raise ValueError(f"features[{name!r}] must have shape (n_trials,) = ({n},); got {col.shape}")
    feats = np.hstack([copula_normalize(c) for c in columns])
    who = tuple(str(k) for k in responses)
    kinds = {
        k: (discrete.get(k, False) if isinstance(discrete, Mapping) else bool(discrete)) for k in who
    }
    rng = np.random.default_rng(seed)
    mi = np.zeros((len(who), len(names)))
    pv = np.zeros_like(mi)
    for i, (key, resp) in enumerate(responses.items()):
        r = np.asarray(resp)
        if r.shape != (n,):
            raise ValueError(f"responses[{key!r}] must have shape (n_trials,) = ({n},); got {r.shape}")
        disc = kinds[str(key)]
        target = r if disc else copula_normalize(r)

        def profile(t: np.ndarray, disc: bool = disc) -> np.ndarray:
            if disc:
                return np.array(
                    [_mi_gaussian_discrete(feats[:, [j]], t, True) for j in range(len(names))]
                )
            return np.array([gaussian_mi(feats[:, [j]], t) for j in range(len(names))])

        mi[i] = profile(target)
        null_max = np.array([profile(target[rng.permutation(n)]).max() for _ in range(n_permutations)])
        pv[i] = (1 + (null_max[None, :] >= mi[i][:, None]).sum(axis=1)) / (1 + n_permutations)
    norms = np.linalg.norm(mi, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = (mi @ mi.T) / np.outer(norms, norms)
    return FeatureUse(names, who, mi, pv, pv < alpha, sim, float(alpha), n_permutations)
