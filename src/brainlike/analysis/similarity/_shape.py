"""Shape metrics: Procrustes and the partial-whitening family up to CCA (Williams et al. 2021)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCORE_METHODS = ("angular", "euclidean")


def _check(X, Y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    for name, a in (("X", x), ("Y", y)):
        if a.ndim != 2:
            raise ValueError(f"{name} must have shape (n_samples, n_features); got {a.shape}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and Y must have the same number of samples; got {x.shape[0]} and {y.shape[0]}"
        )
    return x, y


def _pad(a: np.ndarray, p: int) -> np.ndarray:
    return a if a.shape[1] == p else np.hstack([a, np.zeros((a.shape[0], p - a.shape[1]))])


def partial_whitening(X, alpha: float, eigval_tol: float = 1e-7) -> np.ndarray:
    """Matrix ``Z`` with ``X Z`` partially whitened: ``d = α + (1 - α) λ^(-1/2)`` on the
    covariance eigenvalues λ (clipped at ``eigval_tol``), rescaled to keep the total variance
    (netrep's ``whiten(preserve_variance=True)``). α = 1: identity; α = 0: full whitening."""
    x = np.asarray(X, dtype=float)
    if alpha > 1 - eigval_tol:
        return np.eye(x.shape[1])
    lam, v = np.linalg.eigh(x.T @ x)
    lam = np.maximum(lam, eigval_tol)
    d = alpha + (1 - alpha) * lam ** -0.5
    new_var = np.sum(alpha**2 * lam + 2 * alpha * (1 - alpha) * lam**0.5 + (1 - alpha) ** 2)
    d *= np.sqrt(lam.sum() / new_var)
    return (v * d) @ v.T


@dataclass(frozen=True)
class ShapeAlignment:
    """Transforms that bring X and Y into one space: ``(X - mean_x) @ Wx``, ``(Y - mean_y) @ Wy``.

    Attributes
    ----------
    Wx : ndarray, shape (n_features_x, p)
    Wy : ndarray, shape (n_features_y, p)
        ``p = max(n_features_x, n_features_y)`` (the narrower side zero-padded).
    mean_x : ndarray, shape (n_features_x,)
    mean_y : ndarray, shape (n_features_y,)
    """

    Wx: np.ndarray
    Wy: np.ndarray
    mean_x: np.ndarray
    mean_y: np.ndarray


def fit_shape_alignment(X, Y, alpha: float = 1.0, center_columns: bool = True) -> ShapeAlignment:
    """Partial whitening of each side, then the orthogonal map maximizing their alignment
    (SVD of ``Xw^T Yw``). α = 1 is Procrustes, α = 0 CCA-like (Williams et al. 2021)."""
    x, y = _check(X, Y)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
    mx = x.mean(axis=0) if center_columns else np.zeros(x.shape[1])
    my = y.mean(axis=0) if center_columns else np.zeros(y.shape[1])
    p = max(x.shape[1], y.shape[1])
    xc, yc = _pad(x - mx, p), _pad(y - my, p)
    zx, zy = partial_whitening(xc, alpha), partial_whitening(yc, alpha)
    u, _, vt = np.linalg.svd((xc @ zx).T @ (yc @ zy))
    wx, wy = zx @ u, zy @ vt.T
    return ShapeAlignment(wx[: x.shape[1]], wy[: y.shape[1]], mx, my)


def shape_distance(X, Y, alignment: ShapeAlignment, score_method: str = "angular") -> float:
    """Distance of X and Y after ``alignment``: ``arccos`` of the normalized inner product
    (angular) or ``|X' - Y'|_F / sqrt(n_samples)`` (euclidean)."""
    if score_method not in SCORE_METHODS:
        raise ValueError(f"score_method must be one of {SCORE_METHODS}; got {score_method!r}")
    x, y = _check(X, Y)
    xa = (x - alignment.mean_x) @ alignment.Wx
    ya = (y - alignment.mean_y) @ alignment.Wy
    if score_method == "euclidean":
        return float(np.linalg.norm(xa - ya) / np.sqrt(x.shape[0]))
    c = np.vdot(xa, ya) / (np.linalg.norm(xa) * np.linalg.norm(ya))
    return float(np.arccos(np.clip(c, -1.0, 1.0)))  # |c| <= 1 up to rounding


class LinearMetric:
    """Generalized shape metric (sklearn estimator contract): fit on training samples, score on
    (possibly held-out) samples.

    Parameters
    ----------
    alpha : float in [0, 1]
        1 = Procrustes (rotations only), 0 = CCA-like (any invertible linear map), between:
        partial whitening.
    center_columns : bool
    score_method : {"angular", "euclidean"}

    Attributes
    ----------
    alignment_ : ShapeAlignment
        Set by :meth:`fit`.

    References
    ----------
    Williams, Kunz, Kornblith & Linderman (2021), NeurIPS, "Generalized shape metrics on neural
    representations".

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 5))
    >>> Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(5, 5)))
    >>> round(LinearMetric(alpha=1.0).fit(X, X @ Q).score(X, X @ Q), 6)
    0.0
    """

    def __init__(self, alpha: float = 1.0, center_columns: bool = True, score_method: str = "angular"):
        self.alpha = alpha
        self.center_columns = center_columns
        self.score_method = score_method

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters (sklearn's estimator contract)."""
        return {"alpha": self.alpha, "center_columns": self.center_columns,
                "score_method": self.score_method}

    def set_params(self, **params) -> LinearMetric:
        """Set constructor parameters by name; return ``self``."""
        for k, v in params.items():
            if k not in self.get_params():
                raise ValueError(f"invalid parameter {k!r} for LinearMetric")
            setattr(self, k, v)
        return self

    def fit(self, X, Y) -> LinearMetric:
        """Fit the alignment of ``X (n, p)`` and ``Y (n, q)`` (same samples); return ``self``."""
        if self.score_method not in SCORE_METHODS:
            raise ValueError(f"score_method must be one of {SCORE_METHODS}; got {self.score_method!r}")
        self.alignment_ = fit_shape_alignment(X, Y, self.alpha, self.center_columns)
        return self

    def transform(self, X, Y) -> tuple[np.ndarray, np.ndarray]:
        """``X`` and ``Y`` centred and mapped into the fitted common space."""
        a = self._fitted()
        x, y = _check(X, Y)
        return (x - a.mean_x) @ a.Wx, (y - a.mean_y) @ a.Wy

    def score(self, X, Y) -> float:
        """The distance (lower = more similar; 0 for identical shapes)."""
        return shape_distance(X, Y, self._fitted(), self.score_method)

    def fit_score(self, X, Y) -> float:
        """Fit on ``X, Y`` and return their distance (:meth:`score`)."""
        return self.fit(X, Y).score(X, Y)

    def _fitted(self) -> ShapeAlignment:
        if not hasattr(self, "alignment_"):
            raise RuntimeError("This LinearMetric is not fitted yet; call fit(X, Y) first")
        return self.alignment_

    def __repr__(self) -> str:
        return (f"LinearMetric(alpha={self.alpha}, center_columns={self.center_columns}, "
                f"score_method={self.score_method!r})")
