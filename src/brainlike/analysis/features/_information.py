"""Gaussian-copula mutual information (Ince et al. 2017) and which stimulus features a system uses."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy.special import ndtri, psi
from scipy.stats import rankdata

__all__ = [
    "FeatureUse",
    "ObserverComparison",
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


@functools.lru_cache(maxsize=4096)
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


# ------------------------------------------------------------------ vectorized permutation MI
_CHUNK = 64  # permutations per one-hot block of the discrete MI


def _normalized_rows(targets: np.ndarray) -> np.ndarray:
    t = targets - targets.mean(axis=1, keepdims=True)
    return t / np.sqrt(np.einsum("ij,ij->i", t, t))[:, None]


def _mi_continuous_sets(x: np.ndarray, t: np.ndarray, sets: list[list[int]]) -> np.ndarray:
    """Bias-corrected MI (bits) between the copula-normal columns ``sets[k]`` of ``x (n, F)``,
    jointly, and each row of ``t (P, n)`` (copula-normal targets, rows centred and of unit norm:
    :func:`_normalized_rows`); ``(P, len(sets))``. :func:`gaussian_mi` for every row and set.

    ``I = -½ log(1 - R²) - b(n, d) - b(n, 1) + b(n, d + 1)``, with ``R²`` the squared multiple
    correlation of a target on the set (the ratio of determinants in :func:`gaussian_mi`).
    """
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    bases = [np.linalg.qr(xc[:, cols])[0] for cols in sets]
    proj = np.square(t @ np.hstack(bases))  # one product for every set
    out = np.empty((t.shape[0], len(sets)))
    start = 0
    for k, cols in enumerate(sets):
        d = len(cols)
        r2 = np.minimum(proj[:, start:start + d].sum(axis=1), 1.0 - 1e-15)
        out[:, k] = (-0.5 * np.log1p(-r2) - _bias(n, d) - _bias(n, 1) + _bias(n, d + 1)) / _LN2
        start += d
    return out


def _mi_continuous(x: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """MI (bits) between copula-normal ``x (n, d)``, jointly, and each row of ``targets (P, n)``
    (copula-normal): :func:`gaussian_mi` for every row at once, ``(P,)``."""
    return _mi_continuous_sets(x, _normalized_rows(targets), [list(range(x.shape[1]))])[:, 0]


def _mi_discrete_sets(x: np.ndarray, labels: np.ndarray, sets: list[list[int]]) -> np.ndarray:
    """Bias-corrected MI (bits) between the Gaussian columns ``sets[k]`` of ``x (n, F)``, jointly,
    and each row of class ``labels (P, n)`` (ints 0..C-1 with the same counts in every row, e.g.
    permutations of one labelling), ``(P, len(sets))``: :func:`_mi_gaussian_discrete` for every
    row and set. ``I = H(X) - Σ_c p(c) H(X | c)``; the class-conditional sums of every column and
    of the products within each set come from one product with the rows' one-hot coding."""
    n = x.shape[0]
    n_classes = int(labels.max()) + 1
    counts = np.bincount(labels[0], minlength=n_classes).astype(np.float64)
    dmax = max(len(cols) for cols in sets)
    if counts.min() <= dmax + 1:
        k = int(np.argmin(counts))
        raise ValueError(
            f"each value of a discrete variable needs > {dmax + 1} samples; value {k} has "
            f"{int(counts[k])}"
        )
    columns, where = [x], []
    offset = x.shape[1]
    for cols in sets:
        sub = x[:, cols]
        columns.append((sub[:, :, None] * sub[:, None, :]).reshape(n, -1))
        where.append(offset)
        offset += len(cols) ** 2
    design = np.hstack(columns)  # (n, F + Σ d²)
    h = np.array([_logdet_half(np.cov(x[:, cols], rowvar=False).reshape(len(cols), len(cols)))
                  - _bias(n, len(cols)) for cols in sets])
    bias_c = np.array([[_bias(int(c), len(cols)) for c in counts] for cols in sets])  # (S, C)
    out = np.empty((labels.shape[0], len(sets)))
    eye = np.arange(n_classes)
    for start in range(0, labels.shape[0], _CHUNK):
        onehot = (labels[start:start + _CHUNK, None, :] == eye[None, :, None]).astype(np.float64)
        sums = onehot @ design  # (p, C, F + Σ d²)
        for k, cols in enumerate(sets):
            d = len(cols)
            s1 = sums[..., cols]
            s2 = sums[..., where[k]:where[k] + d * d].reshape(*sums.shape[:2], d, d)
            cov = (s2 - s1[..., :, None] * s1[..., None, :] / counts[None, :, None, None]) / (
                counts[None, :, None, None] - 1
            )
            try:
                half = np.log(np.diagonal(np.linalg.cholesky(cov), axis1=-2, axis2=-1)).sum(-1)
            except np.linalg.LinAlgError:
                raise ValueError(
                    "the covariance is singular: a variable is constant within a class"
                ) from None
            cond = ((half - bias_c[k][None]) * counts[None] / n).sum(axis=1)
            out[start:start + _CHUNK, k] = (h[k] - cond) / _LN2
    return out


def _mi_discrete(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """MI (bits) between Gaussian ``x (n, d)``, jointly, and each row of class ``labels (P, n)``:
    :func:`_mi_gaussian_discrete` for every row at once, ``(P,)``."""
    return _mi_discrete_sets(x, labels, [list(range(x.shape[1]))])[:, 0]


def _kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class FeatureUse:
    """Which stimulus features (factors) each responder's responses depend on.

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
    kernel : ndarray, shape (n_responders, n_features)
        Reverse-correlation kernel: the Pearson correlation of each feature with the responses
        (point-biserial for binary choices, coded 0/1 by sorted value; NaN for discrete
        responses with more than two values). For a linear observer ``r = Σ w_j f_j + noise``
        with independent features it is ``w_j sd(f_j) / sd(r)``; for binary choices it is the
        classification image ``mean(f | 1) - mean(f | 0)`` times ``sqrt(p (1 - p)) / sd(f)``.
    groups : Mapping[str, tuple of str]
        Named sets of features (e.g. ``"shape"``, ``"texture"``); empty if none were given.
    group_mi : ndarray, shape (n_responders, n_groups)
        Multivariate Gaussian-copula MI (bits) between each group's features, jointly, and the
        responses.
    group_p_value : ndarray, shape (n_responders, n_groups)
        Permutation p-values (the same permutations), corrected across groups by the maximum
        statistic.
    responses : Mapping[str, ndarray]
        Each responder's responses ``(n_trials,)``, for :meth:`compare`.
    discrete : Mapping[str, bool]
    """

    features: tuple[str, ...]
    responders: tuple[str, ...]
    mi: np.ndarray
    p_value: np.ndarray
    uses: np.ndarray
    similarity: np.ndarray
    alpha: float
    n_permutations: int
    kernel: np.ndarray
    groups: Mapping[str, tuple[str, ...]]
    group_mi: np.ndarray
    group_p_value: np.ndarray
    responses: Mapping[str, np.ndarray]
    discrete: Mapping[str, bool]
    seed: int = 0

    def _index(self, responder: str) -> int:
        if responder not in self.responders:
            raise ValueError(
                f"unknown responder {responder!r}; the responders are {list(self.responders)}"
            )
        return self.responders.index(responder)

    def used(self, responder: str) -> list[str]:
        """Names of the features ``responder`` uses."""
        i = self._index(responder)
        return [f for f, u in zip(self.features, self.uses[i]) if u]

    def shared(self) -> list[str]:
        """Features every responder uses."""
        return [f for f, u in zip(self.features, self.uses.all(axis=0)) if u]

    def group_share(self, responder: str) -> dict[str, float]:
        """Each group's share of ``responder``'s summed group MI (the relative reliance on,
        e.g., shape versus texture); NaN where the responder carries no information."""
        g = np.maximum(self.group_mi[self._index(responder)], 0.0)
        total = g.sum()
        return {k: float(v / total) if total > 0 else math.nan for k, v in zip(self.groups, g)}

    def compare(self, a: str, b: str) -> ObserverComparison:
        """Compare the feature use of responders ``a`` and ``b`` (see :class:`ObserverComparison`)."""
        i, j = self._index(a), self._index(b)
        ra, rb = self.responses[a], self.responses[b]
        da, db = self.discrete[a], self.discrete[b]
        used = self.uses[[i, j]]
        union = used.any(axis=0).sum()
        # MI between the two responders' responses: Gaussian copula where one is continuous,
        # the plug-in estimate of two discrete ones.
        rng = np.random.default_rng(self.seed)
        perms = rng.permuted(np.tile(np.arange(ra.size), (self.n_permutations, 1)), axis=1)
        if da and db:
            mi_ab, null = _plugin_mi(ra, rb), np.array([_plugin_mi(ra, rb[p]) for p in perms])
        else:
            cont, other, disc = (ra, rb, db) if not da else (rb, ra, da)
            c = copula_normalize(cont)
            if disc:
                lab = np.unique(other, return_inverse=True)[1]
                both = _mi_discrete(c, np.vstack([lab[None], lab[perms]]))
            else:
                o = copula_normalize(other)[:, 0]
                both = _mi_continuous(c, np.vstack([o[None], o[perms]]))
            mi_ab, null = float(both[0]), both[1:]
        return ObserverComparison(
            observers=(a, b),
            features=self.features,
            kernels=self.kernel[[i, j]],
            mi=self.mi[[i, j]],
            uses=used,
            groups=self.groups,
            group_mi=self.group_mi[[i, j]],
            kernel_similarity=_cosine(self.kernel[i], self.kernel[j]),
            mi_similarity=float(self.similarity[i, j]),
            overlap=float(used.all(axis=0).sum() / union) if union else math.nan,
            shared=tuple(f for f, u in zip(self.features, used.all(axis=0)) if u),
            tau=_kendall_tau(ra, rb),
            response_mi=float(mi_ab),
            response_p_value=float((1 + (null >= mi_ab).sum()) / (1 + null.size)),
            n_trials=int(ra.size),
        )


def _cosine(u: np.ndarray, v: np.ndarray) -> float:
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    return float(u @ v / (nu * nv)) if nu > 0 and nv > 0 else math.nan


def _plugin_mi(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in MI (bits) of two discrete variables from their joint histogram."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    joint = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(joint, (ia, ib), 1.0)
    p = joint / joint.sum()
    outer = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log2(p[nz] / outer[nz])).sum())


@dataclass(frozen=True)
class ObserverComparison:
    """Do two observers use the same features? (the overview seed's question, Daube et al. 2021)

    Attributes
    ----------
    observers : (str, str)
    features : tuple of str
    kernels, mi : ndarray, shape (2, n_features)
        Each observer's reverse-correlation kernel and MI profile (rows in ``observers`` order).
    uses : ndarray of bool, shape (2, n_features)
    groups : Mapping[str, tuple of str]
    group_mi : ndarray, shape (2, n_groups)
    kernel_similarity : float
        Cosine similarity of the two kernels (signed: 1 the same features in the same
        direction, -1 opposite).
    mi_similarity : float
        Cosine similarity of the MI profiles.
    overlap : float
        Jaccard index of the used features, ``|A ∩ B| / |A ∪ B|`` (NaN when neither uses any).
    shared : tuple of str
        Features both use.
    tau : float
        Kendall's τ-b between the two observers' responses, trial by trial: how well each
        predicts the other (the measure of Daube et al.'s forward models).
    response_mi : float
        MI (bits) between the two observers' responses (Gaussian copula; plug-in for two
        discrete ones).
    response_p_value : float
        Its permutation p-value.
    n_trials : int
    """

    observers: tuple[str, str]
    features: tuple[str, ...]
    kernels: np.ndarray
    mi: np.ndarray
    uses: np.ndarray
    groups: Mapping[str, tuple[str, ...]]
    group_mi: np.ndarray
    kernel_similarity: float
    mi_similarity: float
    overlap: float
    shared: tuple[str, ...]
    tau: float
    response_mi: float
    response_p_value: float
    n_trials: int

    def summary(self) -> dict[str, Any]:
        """The scalar results as a JSON-able dict."""
        return {
            "observers": list(self.observers),
            "kernel_similarity": self.kernel_similarity,
            "mi_similarity": self.mi_similarity,
            "overlap": self.overlap,
            "shared": list(self.shared),
            "tau": self.tau,
            "response_mi": self.response_mi,
            "response_p_value": self.response_p_value,
            "n_trials": self.n_trials,
        }


# ------------------------------------------------------------------ the analysis
def _column(name: str, values: Any, n: int, what: str) -> np.ndarray:
    a = np.asarray(values)
    if a.shape != (n,):
        raise ValueError(f"{what}[{name!r}] must have shape (n_trials,) = ({n},); got {a.shape}")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{what}[{name!r}] must be numeric or boolean; got dtype {a.dtype}")
    if not np.isfinite(a.astype(np.float64)).all():
        raise ValueError(f"{what}[{name!r}] must be finite")
    return a


def _check_groups(groups: Any, names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    if groups is None:
        return {}
    if not isinstance(groups, Mapping):
        raise ValueError(
            f"groups must be a mapping of group name to feature names; got {type(groups).__name__}"
        )
    out = {}
    for g, members in groups.items():
        members = (members,) if isinstance(members, str) else tuple(members)
        present = tuple(m for m in members if m in names)
        missing = [m for m in members if m not in names]
        if missing and not present:
            raise ValueError(f"groups[{g!r}] names no feature of the table (missing {missing})")
        if missing:
            raise ValueError(
                f"groups[{g!r}] names features the table lacks: {missing}; features: {list(names)}"
            )
        out[str(g)] = present
    return out


def feature_use(
    features: Mapping[str, Any],
    responses: Mapping[str, Any],
    *,
    discrete: bool | Mapping[str, bool] = False,
    groups: Mapping[str, Any] | None = None,
    n_permutations: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
) -> FeatureUse:
    """Which features do two (or more) systems use? Kernels and MI from one table of trials.

    Given the value of each stimulus feature on each trial (the shape and texture factors of
    generated stimuli, pixels of noise) and each system's response on the same trials (a
    network's output, a simulated observer's choice, a person's rating from a file), compute
    for every feature and every system the reverse-correlation kernel (the feature's correlation
    with the responses) and the Gaussian-copula MI (Ince et al. 2017), and test the MI by
    permutation: the features a system "uses" are those its responses carry significant
    information about (the logic of Daube et al. 2021, Patterns 2, 100348, and of the overview
    seed: do the best ANN and people rely on the same features?). With ``groups`` the MI of each
    set of features, jointly, is computed and tested too (e.g. all shape factors versus all
    texture factors). :meth:`FeatureUse.compare` compares two systems.

    Parameters
    ----------
    features : mapping of str to array (n_trials,)
        The trial table's feature columns (numeric).
    responses : mapping of str to array (n_trials,)
        One response column per responder (``{"model": ..., "human": ...}``).
    discrete : bool or mapping of str to bool
        Whether a responder's responses are discrete (choices) rather than continuous.
    groups : mapping of str to sequence of str, optional
        Named sets of features, e.g. ``generator.groups`` of
        :class:`brainlike.tasks.ShapeTextureGenerator` (groups naming no feature of the table,
        such as nuisance factors left out of it, are skipped only if they name none at all).
    n_permutations : int
        Permutations of the responses (the same for features, groups and :meth:`compare`).
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
    >>> np.round(fu.kernel[:, 0], 1)  # shape's correlation with the responses
    array([0.7, 0.8])
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
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < float(alpha) < 1.0:
        raise ValueError(
            "The 'alpha' parameter of feature_use must be a float in the range (0, 1). "
            f"Got {alpha!r} instead."
        )
    names = tuple(str(k) for k in features)
    first = np.asarray(next(iter(features.values())))
    n = first.shape[0] if first.ndim == 1 else -1
    columns = [_column(k, v, n, "features").astype(np.float64)
               for k, v in zip(names, features.values())]
    if n < 3:
        raise ValueError(f"feature_use needs at least 3 trials; got {n}")
    raw = np.stack(columns, axis=1)
    constant = [k for k, c in zip(names, columns) if np.ptp(c) == 0]
    if constant:
        raise ValueError(f"features {constant} are constant: they carry no information")
    feats = copula_normalize(raw)
    group_of = _check_groups(groups, names)
    gidx = [[names.index(m) for m in members] for members in group_of.values()]
    who = tuple(str(k) for k in responses)
    kinds = {
        k: bool(discrete.get(k, False) if isinstance(discrete, Mapping) else discrete) for k in who
    }
    rng = np.random.default_rng(seed)
    shape = (len(who), len(names))
    mi, pv, kernel = np.zeros(shape), np.zeros(shape), np.full(shape, np.nan)
    gmi, gpv = np.zeros((len(who), len(gidx))), np.zeros((len(who), len(gidx)))
    kept: dict[str, np.ndarray] = {}
    for i, (key, resp) in enumerate(zip(who, responses.values())):
        r = _column(key, resp, n, "responses")
        kept[key] = r.copy()
        kept[key].setflags(write=False)
        perms = rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1)
        sets = [[j] for j in range(len(names))] + gidx
        if kinds[key]:
            values, target = np.unique(r, return_inverse=True)
            if values.size < 2:
                raise ValueError(f"responses[{key!r}] are discrete but take a single value")
            both = _mi_discrete_sets(feats, np.vstack([target[None], target[perms]]), sets)
            numeric = target.astype(np.float64) if values.size == 2 else None
        else:
            if np.ptp(r) == 0:
                raise ValueError(f"responses[{key!r}] are constant: they carry no information")
            t = copula_normalize(r)[:, 0]
            both = _mi_continuous_sets(feats, _normalized_rows(np.vstack([t[None], t[perms]])), sets)
            numeric = r.astype(np.float64)
        profile, gprof = both[:, :len(names)], both[:, len(names):]  # (1 + P, F), (1 + P, G)
        mi[i] = profile[0]
        null_max = profile[1:].max(axis=1)
        pv[i] = (1 + (null_max[None, :] >= mi[i][:, None]).sum(axis=1)) / (1 + n_permutations)
        if gidx:
            gmi[i] = gprof[0]
            gnull = gprof[1:].max(axis=1)
            gpv[i] = (1 + (gnull[None, :] >= gmi[i][:, None]).sum(axis=1)) / (1 + n_permutations)
        if numeric is not None and numeric.std() > 0:
            z = (raw - raw.mean(0)) / np.where(raw.std(0) > 0, raw.std(0), np.nan)
            kernel[i] = z.T @ (numeric - numeric.mean()) / (n * numeric.std())
    norms = np.linalg.norm(mi, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = (mi @ mi.T) / np.outer(norms, norms)
    return FeatureUse(
        names, who, mi, pv, pv < alpha, sim, float(alpha), n_permutations, kernel,
        MappingProxyType(group_of), gmi, gpv, MappingProxyType(kept), MappingProxyType(kinds),
        int(seed),
    )
