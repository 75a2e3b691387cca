"""Targeted dimensionality reduction (Mante, Sussillo, Shenoy & Newsome 2013)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TDRResult", "targeted_dimensionality_reduction"]


@dataclass(frozen=True)
class TDRResult:
    """Task-variable axes from regression of every unit on the task variables.

    Attributes
    ----------
    names : tuple of str
        The task variables, in the order they were orthogonalized.
    axes : ndarray, shape (k, N)
        Orthonormal axes (QR of the de-noised regression vectors, in ``names`` order, so axis
        ``i`` is the part of variable ``i``'s vector not explained by the earlier ones).
    raw_axes : ndarray, shape (k, N)
        The de-noised regression vectors ``beta_v(t_v^max)`` before orthogonalization.
    coefficients : ndarray, shape (T, N, k)
        Regression coefficients of every unit's (z-scored) rate on the variables at each step.
    t_max : ndarray of int, shape (k,)
        Step at which ``||beta_v(t)||`` is largest, for each variable.
    mean, scale : ndarray, shape (N,)
        Z-scoring applied before projection.
    """

    names: tuple
    axes: np.ndarray
    raw_axes: np.ndarray
    coefficients: np.ndarray
    t_max: np.ndarray
    mean: np.ndarray
    scale: np.ndarray

    def transform(self, activity) -> np.ndarray:
        """Project activity ``(..., N)`` on the axes: ``(..., k)``."""
        return ((np.asarray(activity, dtype=float) - self.mean) / self.scale) @ self.axes.T


def targeted_dimensionality_reduction(activity, variables, *, lengths=None,
                                      n_pcs: int | None = 12, zscore: bool = True) -> TDRResult:
    """Regression axes for task variables (Mante et al. 2013), orthogonalized.

    Each unit's rate is z-scored, then regressed at every time step across trials on the task
    variables plus an intercept: ``r_{i,t}(trial) = sum_v beta_{i,t,v} var_v(trial) + c_{i,t}``.
    The vectors ``beta_v(t)`` (over units) are de-noised by projecting them on the first
    ``n_pcs`` principal components of the (z-scored) activity, the time of largest norm is
    taken for each variable, and the resulting vectors are orthogonalized by QR in the order
    given (e.g. choice, motion, colour, context).

    Parameters
    ----------
    activity : array-like, shape (B, T, N)
    variables : mapping str -> array-like of shape (B,)
        Task variables per trial (e.g. ``{"choice": ..., "motion": ..., "color": ...,
        "context": ...}``); the order of the mapping is the orthogonalization order.
    lengths : array-like of int, shape (B,), optional
        Valid steps per trial; the regression at step ``t`` uses trials still running.
    n_pcs : int or None
        De-noising dimension (``None``: no de-noising).
    zscore : bool
        Z-score each unit first (Mante et al.); the axes then live in z-scored space, which
        :meth:`TDRResult.transform` applies. ``False`` keeps raw rates (only centred).

    Returns
    -------
    TDRResult

    References
    ----------
    Mante, V., Sussillo, D., Shenoy, K. V. & Newsome, W. T. (2013). Context-dependent computation
    by recurrent dynamics in prefrontal cortex. Nature 503, 78-84.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.choice([-1.0, 1.0], 200), rng.normal(size=200)
    >>> dirs = np.linalg.qr(rng.normal(size=(30, 2)))[0].T
    >>> act = (a[:, None] * dirs[0] + b[:, None] * dirs[1])[:, None, :].repeat(5, 1)
    >>> act = act + 0.01 * rng.normal(size=act.shape)
    >>> tdr = targeted_dimensionality_reduction(act, {"a": a, "b": b}, n_pcs=None,
    ...                                         zscore=False)
    >>> bool(abs(tdr.axes[0] @ dirs[0]) > 0.99 and abs(tdr.axes[1] @ dirs[1]) > 0.99)
    True
    """
    a = np.asarray(activity, dtype=float)
    if a.ndim != 3:
        raise ValueError(f"activity must have shape (B, T, N); got {a.shape}")
    b, t, n = a.shape
    if not variables:
        raise ValueError("variables must name at least one task variable")
    names = tuple(variables)
    x = np.column_stack([np.asarray(variables[k], dtype=float) for k in names])
    if x.shape[0] != b:
        raise ValueError(f"each variable must have one value per trial ({b}); got {x.shape[0]}")
    valid = np.ones((b, t), bool) if lengths is None else np.arange(t) < np.asarray(lengths)[:, None]
    flat = a[valid]
    mean, scale = flat.mean(0), flat.std(0)
    scale = np.where(scale > 0, scale, 1.0) if zscore else np.ones(n)
    z = (a - mean) / scale
    design = np.column_stack([x, np.ones(b)])
    coef = np.full((t, n, len(names)), np.nan)
    for s in range(t):
        rows = valid[:, s]
        if rows.sum() <= design.shape[1]:
            continue
        sol, *_ = np.linalg.lstsq(design[rows], z[rows, s], rcond=None)
        coef[s] = sol[: len(names)].T
    if n_pcs is not None:
        zv = z[valid]
        zv = zv - zv.mean(0)
        _, vecs = np.linalg.eigh(zv.T @ zv)  # principal axes of the activity, ascending
        d = vecs[:, ::-1][:, : min(n_pcs, n)].T  # (n_pcs, N)
        coef = np.einsum("mn,tnk->tmk", d.T @ d, coef)
    norms = np.linalg.norm(np.nan_to_num(coef), axis=1)  # (T, k)
    t_max = norms.argmax(0)
    raw = np.stack([coef[t_max[j], :, j] for j in range(len(names))])
    q, r = np.linalg.qr(raw.T)
    axes = (q * np.sign(np.diag(r))).T  # keep each axis pointing along its raw vector
    return TDRResult(names=names, axes=axes, raw_axes=raw, coefficients=coef, t_max=t_max,
                     mean=mean, scale=scale)
