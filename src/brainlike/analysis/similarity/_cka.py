"""Centred kernel alignment (Kornblith et al. 2019) and its minibatch form (Nguyen et al. 2021).

Follows the reference code (google-research ``representation_similarity/Demo.ipynb``):
``cka = <K~, L~>_F / (|K~|_F |L~|_F)`` with ``K~`` the centred (biased) or U-centred (debiased,
Székely & Rizzo 2014) Gram matrix; the HSIC normalizers cancel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

KERNELS = ("linear", "rbf")


def _check_pair(X, Y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(X, dtype=float)
    y = np.asarray(Y, dtype=float)
    for name, a in (("X", x), ("Y", y)):
        if a.ndim != 2:
            raise ValueError(f"{name} must have shape (n_samples, n_features); got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or inf")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and Y must have the same number of samples (rows); got {x.shape[0]} and {y.shape[0]}"
        )
    return x, y


def gram_linear(X) -> np.ndarray:
    """Linear kernel ``X X^T``, shape (n_samples, n_samples)."""
    x = np.asarray(X, dtype=float)
    return x @ x.T


def gram_rbf(X, threshold: float = 1.0) -> np.ndarray:
    """RBF kernel ``exp(-d² / (2 · threshold² · median(d²)))``, shape (n_samples, n_samples).

    The bandwidth is ``threshold`` times the median distance; as in the reference code the
    median is over the full squared-distance matrix, diagonal zeros included.
    """
    x = np.asarray(X, dtype=float)
    g = x @ x.T
    sq = np.diag(g)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * g, 0.0)
    med = np.median(d2)
    if med == 0:
        raise ValueError("rbf bandwidth is zero: the median squared distance between samples is 0")
    return np.exp(-d2 / (2.0 * threshold**2 * med))


def center_gram(gram, unbiased: bool = False) -> np.ndarray:
    """Centre a symmetric Gram matrix (``H K H``), or U-centre it when ``unbiased``.

    U-centering (zero diagonal, column sums over ``n - 2``, correction over ``2(n - 1)``) makes
    ``<K~, L~> / (n(n - 3))`` the unbiased HSIC estimator; it needs ``n >= 4``.
    """
    g = np.array(gram, dtype=float)
    n = g.shape[0]
    if g.ndim != 2 or g.shape[1] != n:
        raise ValueError(f"gram must be square; got {g.shape}")
    if unbiased:
        if n < 4:
            raise ValueError(f"debiased CKA needs at least 4 samples; got {n}")
        np.fill_diagonal(g, 0.0)
        means = g.sum(axis=0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        g -= means[:, None]
        g -= means[None, :]
        np.fill_diagonal(g, 0.0)
    else:
        means = g.mean(axis=0)
        means -= means.mean() / 2
        g -= means[:, None]
        g -= means[None, :]
    return g


def _ratio(xy: float, xx: float, yy: float) -> float:
    if xx <= 0 or yy <= 0:
        raise ValueError(
            "CKA is undefined: a representation has zero (or, debiased, non-positive) HSIC with "
            f"itself ({xx:.3g}, {yy:.3g}); it is constant across samples or n is too small"
        )
    return float(xy / np.sqrt(xx * yy))


def _debiased_dot(xty, sx, sy, nx, ny, n):
    return xty - n / (n - 2.0) * sx.dot(sy) + nx * ny / ((n - 1) * (n - 2))


def _feature_space_linear_cka(x: np.ndarray, y: np.ndarray, debiased: bool) -> float:
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    xy = np.linalg.norm(x.T @ y) ** 2
    xx = np.linalg.norm(x.T @ x) ** 2
    yy = np.linalg.norm(y.T @ y) ** 2
    if debiased:
        n = x.shape[0]
        if n < 4:
            raise ValueError(f"debiased CKA needs at least 4 samples; got {n}")
        sx, sy = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
        nx, ny = sx.sum(), sy.sum()
        xy = _debiased_dot(xy, sx, sy, nx, ny, n)
        xx = _debiased_dot(xx, sx, sx, nx, nx, n)
        yy = _debiased_dot(yy, sy, sy, ny, ny, n)
    return _ratio(xy, xx, yy)


def cka(X, Y, kernel: str = "linear", debiased: bool = False, *, threshold: float = 1.0) -> float:
    """Centred kernel alignment between two representations of the same samples.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features_x)
    Y : array-like, shape (n_samples, n_features_y)
        Rows are the same samples (stimuli, conditions, or time points) in both.
    kernel : {"linear", "rbf"}
    debiased : bool
        Use the unbiased HSIC estimator (U-centering); removes the upward bias of CKA at small
        ``n`` (can then be slightly negative).
    threshold : float
        RBF bandwidth as a multiple of the median inter-sample distance.

    Returns
    -------
    float
        Linear CKA equals ``|Y^T X|_F^2 / (|X^T X|_F |Y^T Y|_F)`` for centred X, Y; it is the
        form computed when ``n_samples > n_features`` (no n × n Gram matrix is built).
        netrep's ``LinearCKA`` metric is ``arccos`` of the biased linear value.

    References
    ----------
    Kornblith, Norouzi, Lee & Hinton (2019), ICML, "Similarity of neural network representations
    revisited".

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 8))
    >>> Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(8, 8)))
    >>> round(cka(X, 3.0 * X @ Q), 12)
    1.0
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
    x, y = _check_pair(X, Y)
    n = x.shape[0]
    if kernel == "linear" and n > max(x.shape[1], y.shape[1]):
        return _feature_space_linear_cka(x, y, debiased)
    if kernel == "linear":
        kx, ky = gram_linear(x), gram_linear(y)
    else:
        kx, ky = gram_rbf(x, threshold), gram_rbf(y, threshold)
    kx, ky = center_gram(kx, debiased), center_gram(ky, debiased)
    return _ratio(np.vdot(kx, ky), np.vdot(kx, kx), np.vdot(ky, ky))


def cka_matrix(representations: Sequence, debiased: bool = False, *, dtype=np.float64) -> np.ndarray:
    """Linear CKA between all pairs of representations of the same samples, in a few GEMMs.

    Each representation's centred (or U-centred) Gram matrix is formed once, flattened and
    normalized; all pairwise alignments are then one matrix product. Cost ``k·n²·p + k²·n²``
    instead of ``k²`` calls of :func:`cka`.

    Parameters
    ----------
    representations : sequence of array-like, each (n_samples, n_features_i)
    debiased : bool
    dtype : numpy dtype
        Working precision (float32 halves memory and time; ~1e-6 agreement).

    Returns
    -------
    ndarray, shape (k, k)
        Symmetric, ones on the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reps = [rng.normal(size=(20, 5)) for _ in range(3)]
    >>> M = cka_matrix(reps)
    >>> bool(np.isclose(M[0, 1], cka(reps[0], reps[1])))
    True
    """
    reps = [np.asarray(r, dtype=dtype) for r in representations]
    if not reps:
        raise ValueError("representations must hold at least one array")
    n = reps[0].shape[0]
    for i, r in enumerate(reps):
        if r.ndim != 2 or r.shape[0] != n:
            raise ValueError(
                f"representations[{i}] must have shape ({n}, n_features); got {r.shape}"
            )
    k = len(reps)
    vecs = np.empty((k, n * n), dtype=dtype)
    for i, r in enumerate(reps):
        rc = r - r.mean(axis=0)
        g = rc @ rc.T  # already doubly centred for the biased estimator
        if debiased:
            g = center_gram(g, unbiased=True).astype(dtype, copy=False)
        norm = np.linalg.norm(g)
        if norm <= 0:
            raise ValueError(f"representations[{i}] is constant across samples; CKA is undefined")
        vecs[i] = g.ravel() / norm
    out = vecs @ vecs.T
    return out.astype(np.float64)


def cka_minibatch(batches: Iterable[tuple], kernel: str = "linear", *, threshold: float = 1.0) -> float:
    """Minibatch CKA: unbiased HSIC averaged over minibatches (Nguyen, Raghu & Kornblith 2021).

    ``CKA = mean_b HSIC₁(K_b, L_b) / sqrt(mean_b HSIC₁(K_b, K_b) · mean_b HSIC₁(L_b, L_b))``,
    a consistent estimator of the full-data (debiased) CKA that needs only one minibatch in
    memory at a time.

    Parameters
    ----------
    batches : iterable of (X_b, Y_b)
        Each pair of shape (n_b, p_x), (n_b, p_y) with the same samples, ``n_b >= 4``.
    kernel : {"linear", "rbf"}

    Returns
    -------
    float

    References
    ----------
    Nguyen, Raghu & Kornblith (2021), ICLR, "Do wide and deep networks learn the same things?"
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")
    xy = xx = yy = 0.0
    count = 0
    for xb, yb in batches:
        x, y = _check_pair(xb, yb)
        n = x.shape[0]
        if n < 4:
            raise ValueError(f"each minibatch needs at least 4 samples; got {n}")
        if kernel == "linear":
            kx, ky = gram_linear(x), gram_linear(y)
        else:
            kx, ky = gram_rbf(x, threshold), gram_rbf(y, threshold)
        kx, ky = center_gram(kx, True), center_gram(ky, True)
        scale = n * (n - 3)
        xy += np.vdot(kx, ky) / scale
        xx += np.vdot(kx, kx) / scale
        yy += np.vdot(ky, ky) / scale
        count += 1
    if count == 0:
        raise ValueError("batches is empty")
    return _ratio(xy, xx, yy)
