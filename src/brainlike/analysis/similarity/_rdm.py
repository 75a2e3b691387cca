"""Representational dissimilarity matrices (RDMs) and their comparison.

Conventions (kept from rsatoolbox 0.3.2 where it has one, so numbers agree):

* An RDM is stored as the **upper triangle** of the (n, n) matrix, row-major, i.e. the order of
  ``np.triu_indices(n, 1)`` and ``scipy.spatial.distance.squareform``.
* ``"squared_euclidean"``, ``"mahalanobis"`` and ``"crossnobis"`` are divided by the number of
  units (rsatoolbox's ``euclidean``/``mahalanobis``/``crossnobis``); ``"euclidean"`` is the plain
  (unsquared, unnormalized) distance of ``scipy.spatial.distance.pdist``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

RDM_METHODS = ("squared_euclidean", "euclidean", "correlation", "cosine", "mahalanobis", "crossnobis")
COMPARE_METHODS = ("cosine", "pearson", "spearman", "rho_a", "tau_a", "whitened_cosine")


@dataclass(frozen=True)
class RDM:
    """A stack of RDMs over the same conditions.

    Attributes
    ----------
    dissimilarities : ndarray, shape (n_rdms, n_conditions * (n_conditions - 1) // 2)
        Upper triangles (order of ``np.triu_indices(n_conditions, 1)``), one row per RDM.
    n_conditions : int
    method : str
        How the dissimilarities were computed (one of ``RDM_METHODS``, or ``"given"``).
    """

    dissimilarities: np.ndarray
    n_conditions: int
    method: str

    def __post_init__(self) -> None:
        d = np.asarray(self.dissimilarities, dtype=float)
        if d.ndim == 1:
            d = d[None]
        n = self.n_conditions
        if d.ndim != 2 or d.shape[1] != n * (n - 1) // 2:
            raise ValueError(
                f"dissimilarities must have shape (n_rdms, {n * (n - 1) // 2}) for n_conditions={n}; "
                f"got {d.shape}"
            )
        d.setflags(write=False)
        object.__setattr__(self, "dissimilarities", d)

    def __len__(self) -> int:
        return self.dissimilarities.shape[0]

    def __getitem__(self, index) -> RDM:
        d = self.dissimilarities[np.atleast_1d(np.arange(len(self))[index])]
        return RDM(d, self.n_conditions, self.method)

    @property
    def matrices(self) -> np.ndarray:
        """The full symmetric matrices, shape (n_rdms, n_conditions, n_conditions)."""
        n = self.n_conditions
        out = np.zeros((len(self), n, n))
        i, j = np.triu_indices(n, 1)
        out[:, i, j] = self.dissimilarities
        out[:, j, i] = self.dissimilarities
        return out

    @classmethod
    def from_matrices(cls, matrices, method: str = "given") -> RDM:
        """Build from (n, n) or (n_rdms, n, n) symmetric matrices (the diagonal is ignored)."""
        m = np.asarray(matrices, dtype=float)
        if m.ndim == 2:
            m = m[None]
        if m.ndim != 3 or m.shape[1] != m.shape[2]:
            raise ValueError(f"matrices must have shape (n, n) or (n_rdms, n, n); got {m.shape}")
        if not np.allclose(m, m.transpose(0, 2, 1), rtol=1e-10, atol=1e-12):
            raise ValueError("matrices must be symmetric")
        i, j = np.triu_indices(m.shape[1], 1)
        return cls(m[:, i, j], m.shape[1], method)

    @classmethod
    def concat(cls, rdms: Sequence[RDM]) -> RDM:
        """Stack RDMs over the same number of conditions into one."""
        rdms = list(rdms)
        if not rdms:
            raise ValueError("concat needs at least one RDM")
        ns = {r.n_conditions for r in rdms}
        if len(ns) != 1:
            raise ValueError(f"all RDMs must have the same n_conditions; got {sorted(ns)}")
        methods = {r.method for r in rdms}
        method = methods.pop() if len(methods) == 1 else "mixed"
        return cls(np.concatenate([r.dissimilarities for r in rdms]), ns.pop(), method)


def _as_2d(X, name: str) -> np.ndarray:
    x = np.asarray(X, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n_conditions, n_units); got {x.shape}")
    if x.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 conditions; got {x.shape[0]}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def _precision(noise, p: int) -> np.ndarray | None:
    if noise is None:
        return None
    prec = np.asarray(noise, dtype=float)
    if prec.ndim == 1:
        prec = np.diag(prec)
    if prec.shape != (p, p):
        raise ValueError(
            f"noise must be a precision matrix of shape ({p}, {p}) or its diagonal ({p},); "
            f"got {np.shape(noise)}"
        )
    return prec


def _sq_dist_from_gram(g: np.ndarray) -> np.ndarray:
    d = np.diag(g)
    i, j = np.triu_indices(g.shape[0], 1)
    return d[i] + d[j] - 2.0 * g[i, j]


def rdm(X, method: str = "squared_euclidean", *, noise=None) -> RDM:
    """Representational dissimilarity matrix of a (conditions × units) response matrix.

    Parameters
    ----------
    X : array-like, shape (n_conditions, n_units), or (n_folds, n_conditions, n_units) for
        ``"crossnobis"`` (condition means estimated independently in each fold, e.g. per run).
    method : {"squared_euclidean", "euclidean", "correlation", "cosine", "mahalanobis", "crossnobis"}
        * ``squared_euclidean``: ``|x_i - x_j|^2 / n_units`` (rsatoolbox's ``euclidean``).
        * ``euclidean``: ``|x_i - x_j|`` (scipy's ``pdist``).
        * ``correlation``: ``1 - pearson(x_i, x_j)`` across units.
        * ``cosine``: ``1 - cos(x_i, x_j)``.
        * ``mahalanobis``: ``(x_i - x_j)^T P (x_i - x_j) / n_units`` with ``P = noise``.
        * ``crossnobis``: leave-one-fold-out ``(x_i - x_j)_train^T P (x_i - x_j)_test / n_units``,
          the training estimate the mean of the other folds, averaged over folds. Unbiased, so
          it can be negative (rsatoolbox's ``crossnobis`` with a ``cv_descriptor``).
    noise : array-like, shape (n_units, n_units) or (n_units,), optional
        Noise **precision** (inverse covariance) for ``mahalanobis``/``crossnobis``; default
        identity.

    Returns
    -------
    RDM
        One RDM (``len == 1``); stack several with :meth:`RDM.concat`.

    References
    ----------
    Kriegeskorte, Mur & Bandettini (2008), Front. Syst. Neurosci. 2:4; Walther et al. (2016),
    NeuroImage 137:188 (crossnobis).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    >>> rdm(X, "euclidean").dissimilarities
    array([[ 5., 10.,  5.]])
    >>> rdm(X, "squared_euclidean").dissimilarities   # /n_units, as rsatoolbox
    array([[12.5, 50. , 12.5]])
    """
    if method not in RDM_METHODS:
        raise ValueError(f"method must be one of {RDM_METHODS}; got {method!r}")
    if method == "crossnobis":
        x = np.asarray(X, dtype=float)
        if x.ndim != 3 or x.shape[0] < 2:
            raise ValueError(
                "crossnobis needs X of shape (n_folds >= 2, n_conditions, n_units); "
                f"got {x.shape}"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError("X contains NaN or inf")
        k, n, p = x.shape
        prec = _precision(noise, p)
        total = x.sum(axis=0)
        acc = np.zeros(n * (n - 1) // 2)
        i, j = np.triu_indices(n, 1)
        for f in range(k):
            test = x[f]
            train = (total - test) / (k - 1)
            kern = (train @ prec if prec is not None else train) @ test.T
            dg = np.diag(kern)
            acc += dg[i] + dg[j] - kern[i, j] - kern[j, i]
        return RDM(acc / (k * p), n, method)

    x = _as_2d(X, "X")
    n, p = x.shape
    if method in ("squared_euclidean", "euclidean", "mahalanobis"):
        xc = x - x.mean(axis=0)  # distances are translation invariant; centring limits cancellation
        if method == "mahalanobis":
            prec = _precision(noise, p)
            g = xc @ (prec if prec is not None else np.eye(p)) @ xc.T
        else:
            if noise is not None:
                raise ValueError(f"noise is only used by mahalanobis/crossnobis, not {method!r}")
            g = xc @ xc.T
        d = np.maximum(_sq_dist_from_gram(g), 0.0)  # exact value is >= 0; rounding can dip below
        if method == "euclidean":
            d = np.sqrt(d)
        else:
            d = d / p
        return RDM(d, n, method)
    if noise is not None:
        raise ValueError(f"noise is only used by mahalanobis/crossnobis, not {method!r}")
    xn = x - x.mean(axis=1, keepdims=True) if method == "correlation" else x.copy()
    norms = np.linalg.norm(xn, axis=1, keepdims=True)
    if np.any(norms == 0):
        what = "constant across units" if method == "correlation" else "all zero"
        raise ValueError(f"{method} distance is undefined: a condition's response is {what}")
    xn /= norms
    g = xn @ xn.T
    i, j = np.triu_indices(n, 1)
    return RDM(1.0 - g[i, j], n, method)


# ----------------------------------------------------------------------------- comparison


def _vectors(A, name: str) -> tuple[np.ndarray, int]:
    if isinstance(A, RDM):
        return A.dissimilarities, A.n_conditions
    a = np.asarray(A, dtype=float)
    if a.ndim == 3:
        r = RDM.from_matrices(a)
        return r.dissimilarities, r.n_conditions
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2:
        raise ValueError(
            f"{name} must be an RDM, vectors (k, n_pairs) or matrices (k, n, n); got {a.shape}"
        )
    m = a.shape[1]
    n = round((1 + np.sqrt(1 + 8 * m)) / 2)
    if n * (n - 1) // 2 != m:
        raise ValueError(f"{name} has {m} entries per RDM, not n*(n-1)/2 for any n")
    return a, n


def _ranks(v: np.ndarray) -> np.ndarray:
    return rankdata(v, axis=1)


def _center_normalize(v: np.ndarray, center: bool, name: str) -> np.ndarray:
    v = v - v.mean(axis=1, keepdims=True) if center else v
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    if np.any(norm == 0):
        what = "correlation" if center else "cosine"
        raise ValueError(f"{name}: an RDM is constant, its {what} is undefined")
    return v / norm


def _whiten_rdm(v: np.ndarray, n: int) -> np.ndarray:
    """Double-centred second moment -½·H D H as a flat (k, n*n) vector (the WUC's space)."""
    k = v.shape[0]
    d = np.zeros((k, n, n))
    i, j = np.triu_indices(n, 1)
    d[:, i, j] = v
    d[:, j, i] = v
    g = -0.5 * d
    g = g - g.mean(axis=1, keepdims=True)
    g = g - g.mean(axis=2, keepdims=True)
    return g.reshape(k, n * n)


def _dense_ranks(v: np.ndarray) -> np.ndarray:
    """0-based dense ranks along axis 1 (ties share a rank), as int64."""
    order = np.argsort(v, axis=1, kind="stable")
    s = np.take_along_axis(v, order, axis=1)
    new = np.ones_like(s, dtype=np.int64)
    new[:, 0] = 0
    new[:, 1:] = s[:, 1:] != s[:, :-1]
    dense_sorted = np.cumsum(new, axis=1)
    out = np.empty_like(dense_sorted)
    np.put_along_axis(out, order, dense_sorted, axis=1)
    return out


def _tie_pairs(dense: np.ndarray) -> np.ndarray:
    """Number of tied pairs per row, sum over tie groups of t(t-1)/2."""
    m = dense.shape[1]
    rows = np.arange(dense.shape[0])[:, None] * (m + 1)
    cnt = np.bincount((dense + rows).ravel(), minlength=dense.shape[0] * (m + 1))
    cnt = cnt.reshape(dense.shape[0], m + 1).astype(np.int64)
    return (cnt * (cnt - 1) // 2).sum(axis=1)


def _sort_key_dtype(m: int):
    return np.int16 if m < 2**15 else np.int32 if m < 2**31 else np.int64


def _count_inversions(perm: np.ndarray, block: int = 32) -> np.ndarray:
    """Inversions of each row of ``perm`` (a permutation of 0..m-1 per row), vectorized.

    A grid of ``block × block`` cells over (position, value): pairs in different position
    blocks *and* different value blocks are counted from per-cell counts with 2-D prefix sums;
    pairs sharing a position block or a value block are compared directly (inclusion–exclusion
    for pairs sharing both). O(m·block + (m/block)²) per row, no Python loop over elements.
    """
    r, m = perm.shape
    nb = -(-m // block)
    mp = nb * block
    if mp > m:  # pad with increasing values larger than all: adds no inversions
        perm = np.concatenate([perm, np.broadcast_to(np.arange(m, mp), (r, mp - m))], axis=1)
    kd = _sort_key_dtype(mp)
    perm = perm.astype(kd)
    pos = np.empty_like(perm)
    ar = np.broadcast_to(np.arange(mp, dtype=kd), (r, mp))
    np.put_along_axis(pos, perm.astype(np.intp), ar, axis=1)
    tri = np.triu(np.ones((block, block), dtype=bool), 1)  # j < k within a block
    buf = np.empty((r, nb, block, block), dtype=bool)
    per_row = buf.reshape(r, -1)

    def count() -> np.ndarray:  # per-row popcount; count_nonzero is SIMD only without axis
        return np.fromiter((np.count_nonzero(row) for row in per_row), np.int64, r)

    # pairs in the same position block (j<k, perm_j > perm_k), and among them the same value block
    pb = perm.reshape(r, nb, block)
    np.greater(pb[..., :, None], pb[..., None, :], out=buf)
    buf &= tri
    total = count()
    vblk = pb // block
    buf &= vblk[..., :, None] == vblk[..., None, :]
    total -= count()
    # pairs in the same value block (value order j<k, pos_j > pos_k)
    vb = pos.reshape(r, nb, block)
    np.greater(vb[..., :, None], vb[..., None, :], out=buf)
    buf &= tri
    total += count()
    # pairs in different position and value blocks, from cell counts
    cell = (np.arange(mp) // block)[None, :] * nb + vblk.reshape(r, mp)
    flat = (cell + (np.arange(r) * nb * nb)[:, None]).ravel()
    c = np.bincount(flat, minlength=r * nb * nb).reshape(r, nb, nb).astype(np.int32)
    # above[p, v] = count in position blocks < p and value blocks > v
    gt = np.zeros_like(c)
    gt[:, :, :-1] = np.cumsum(c[:, :, :0:-1], axis=2)[:, :, ::-1]
    above = np.cumsum(gt, axis=1)
    above -= gt
    total += np.einsum("rpv,rpv->r", above, c, dtype=np.int64)
    return total


def _tau_a_pairs(da: np.ndarray, db: np.ndarray, b_order: np.ndarray) -> np.ndarray:
    """Kendall τ_a of paired rows, from dense ranks and each b row's stable sort order."""
    r, m = da.shape
    kd = _sort_key_dtype(m + 1)
    # lexicographic order by (a, b): stable sort by a of the b-sorted sequence (radix for int16)
    a_in_b = np.take_along_axis(da, b_order, axis=1).astype(kd)
    order = np.take_along_axis(b_order, np.argsort(a_in_b, axis=1, kind="stable"), axis=1)
    y = np.take_along_axis(db, order, axis=1)
    xa = np.take_along_axis(da, order, axis=1)
    # strict inversions of y == inversions of its stable ordinal ranks (ties in y never invert)
    oy = np.argsort(y.astype(kd), axis=1, kind="stable")
    perm = np.empty_like(oy)
    np.put_along_axis(perm, oy, np.broadcast_to(np.arange(m), (r, m)), axis=1)
    dis = _count_inversions(perm)
    # pairs tied in both: runs of equal (a, b) in the lexsorted sequence
    start = np.ones((r, m), dtype=bool)
    start[:, 1:] = (xa[:, 1:] != xa[:, :-1]) | (y[:, 1:] != y[:, :-1])
    idx = np.where(start, np.arange(m), 0)
    run_start = np.maximum.accumulate(idx, axis=1)
    ntie = (np.arange(m) - run_start).sum(axis=1)
    n0 = m * (m - 1) // 2
    s = n0 - _tie_pairs(da) - _tie_pairs(db) + ntie - 2 * dis
    return s / n0


def _tau_a_numpy(va: np.ndarray, vb: np.ndarray, chunk: int = 16) -> np.ndarray:
    """τ_a, many-vs-many, pure numpy (block/grid inversion count); the fallback path."""
    da, db = _dense_ranks(va), _dense_ranks(vb)
    b_order = np.argsort(db, axis=1, kind="stable")
    ia, ib = np.meshgrid(np.arange(len(va)), np.arange(len(vb)), indexing="ij")
    ia, ib = ia.ravel(), ib.ravel()
    out = np.empty(ia.size)
    for s in range(0, ia.size, chunk):  # chunks of pairs bound the memory, each is vectorized
        sl = slice(s, s + chunk)
        out[sl] = _tau_a_pairs(da[ia[sl]], db[ib[sl]], b_order[ib[sl]])
    return out.reshape(len(va), len(vb))


def _check_kendall_dis(kernel) -> bool:
    """Whether ``kernel(x, y)`` counts discordant pairs as scipy 1.x's ``_kendall_dis`` does.

    Checked once on small tied data against a brute-force count, so that a changed private scipy
    function makes brainlike fall back to the numpy path instead of returning wrong numbers.
    """
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 40), rng.integers(0, 7, 40)
    order = np.argsort(a, kind="stable")
    x = np.unique(a, return_inverse=True)[1][order].astype(np.intp) + 1
    y = np.unique(b, return_inverse=True)[1][order].astype(np.intp) + 1
    want = int(np.sum((a[:, None] < a[None, :]) & (b[:, None] > b[None, :])))
    try:
        return int(kernel(x, y)) == want
    except Exception:  # any failure of a private function means: do not use it
        return False


_KENDALL_DIS = None  # resolved lazily: scipy's compiled kernel, or False when unusable


def _kendall_dis_kernel():
    """scipy's compiled discordant-pair counter (a Fenwick tree, the kernel of
    ``scipy.stats.kendalltau`` and of rsatoolbox's ``tau-a``), or None when it is unavailable."""
    global _KENDALL_DIS
    if _KENDALL_DIS is None:
        try:
            from scipy.stats._stats import _kendall_dis
        except ImportError:  # pragma: no cover - depends on the scipy version
            _KENDALL_DIS = False
        else:
            _KENDALL_DIS = _kendall_dis if _check_kendall_dis(_kendall_dis) else False
    return _KENDALL_DIS or None


def _sorted_dense_ranks(v: np.ndarray):
    """Per row: an order sorting it, its 1-based dense ranks in that order and in the original
    order (both intp), and the number of distinct values."""
    order = np.argsort(v, axis=1)  # any order: ties are handled through the dense ranks
    s = np.take_along_axis(v, order, axis=1)
    new = np.ones(s.shape, dtype=np.intp)
    new[:, 1:] = s[:, 1:] != s[:, :-1]
    dsorted = np.cumsum(new, axis=1)
    dense = np.empty_like(dsorted)
    np.put_along_axis(dense, order, dsorted, axis=1)
    return order, dsorted, dense, dsorted[:, -1]


def _tau_a_kernel(va: np.ndarray, vb: np.ndarray, kernel, chunk: int = 64) -> np.ndarray:
    """τ_a, many-vs-many, with a compiled discordant-pair counter ``kernel(x, y)`` per pair.

    Everything that depends on one RDM only is done once per RDM, not once per pair: each row of
    A and of B is sorted and dense-ranked once (rsatoolbox sorts both vectors of every pair, twice,
    with a stable sort). A pair then costs one gather and one O(m log k) Fenwick-tree count, where
    the tree is built over whichever of the two RDMs has fewer distinct values (k of them; model
    RDMs with ties make it small). Pairs tied in both are counted by sorting (x, y) keys, only
    for pairs where both RDMs have ties, vectorized over chunks of pairs.
    """
    m = va.shape[1]
    n0 = m * (m - 1) // 2
    oa, sa, da, ka = _sorted_dense_ranks(va)
    ob, sb, db, kb = _sorted_dense_ranks(vb)
    ta, tb = _tie_pairs(da - 1), _tie_pairs(db - 1)
    dis = np.empty((len(va), len(vb)), dtype=np.int64)
    joint = np.zeros_like(dis)
    both: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    for i in range(len(va)):
        for j in range(len(vb)):
            # x: sorted dense ranks of the RDM with more distinct values; y: the other one's
            # dense ranks (>= 1, as the kernel requires) in that order
            x, y = (sa[i], db[j][oa[i]]) if kb[j] <= ka[i] else (sb[j], da[i][ob[j]])
            dis[i, j] = kernel(x, y)
            if ta[i] and tb[j]:
                both.append((i, j, x, y))
    for s in range(0, len(both), chunk):  # pairs tied in both: runs of equal (x, y) keys
        part = both[s : s + chunk]
        key = np.stack([x * (m + 1) + y for _, _, x, y in part])
        key.sort(axis=1)
        start = np.ones(key.shape, dtype=bool)
        start[:, 1:] = key[:, 1:] != key[:, :-1]
        idx = np.where(start, np.arange(m), 0)
        ntie = (np.arange(m) - np.maximum.accumulate(idx, axis=1)).sum(axis=1)
        for (i, j, _, _), t in zip(part, ntie):
            joint[i, j] = t
    return (n0 - ta[:, None] - tb[None, :] + joint - 2 * dis) / n0


def _tau_a(va: np.ndarray, vb: np.ndarray) -> np.ndarray:
    kernel = _kendall_dis_kernel()
    if kernel is None:  # pragma: no cover - only without a usable scipy kernel
        return _tau_a_numpy(va, vb)
    return _tau_a_kernel(va, vb, kernel)


def compare_rdms(A, B, method: str = "cosine") -> np.ndarray:
    """Similarity of every RDM in ``A`` with every RDM in ``B`` (many-vs-many, one call).

    Parameters
    ----------
    A, B : RDM, or array-like of vectors (n_pairs,) / (k, n_pairs), or matrices (k, n, n)
        RDMs over the same conditions (a single (n, n) matrix: ``RDM.from_matrices(M)``).
    method : {"cosine", "pearson", "spearman", "rho_a", "tau_a", "whitened_cosine"}
        * ``cosine``: cosine of the dissimilarity vectors (rsatoolbox's default ``cosine``).
        * ``pearson``: Pearson correlation (rsatoolbox ``corr``).
        * ``spearman``: Pearson correlation of average ranks (``scipy.stats.spearmanr``).
        * ``rho_a``: ``12·Σ(r₁-r̄)(r₂-r̄)/(m³-m)``, Spearman's ρ without tie correction
          (rsatoolbox ``rho-a``).
        * ``tau_a``: Kendall's τ_a = (concordant − discordant)/(m(m-1)/2), no tie correction in
          the denominator (Nili et al. 2014; rsatoolbox ``tau-a``). Each RDM is sorted and
          ranked once; each pair then costs one O(m log k) compiled Fenwick-tree count (scipy's
          ``kendalltau`` kernel; k distinct values), with a vectorized numpy fallback.
        * ``whitened_cosine``: whitened unbiased RDM cosine (WUC; Diedrichsen et al. 2021) for
          i.i.d. pattern noise: the cosine of the double-centred second moments ``-½HDH``
          (rsatoolbox ``cosine_cov`` without ``sigma_k``).

    Returns
    -------
    ndarray, shape (len(A), len(B))

    References
    ----------
    Nili et al. (2014), PLoS Comput. Biol. 10:e1003553; Diedrichsen et al. (2021), NeuroImage
    240:118271.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> compare_rdms(a, [a, a[::-1]], method="tau_a")
    array([[ 1., -1.]])
    """
    if method not in COMPARE_METHODS:
        raise ValueError(f"method must be one of {COMPARE_METHODS}; got {method!r}")
    va, na = _vectors(A, "A")
    vb, nb = _vectors(B, "B")
    if na != nb:
        raise ValueError(f"A and B must have the same number of conditions; got {na} and {nb}")
    if not (np.all(np.isfinite(va)) and np.all(np.isfinite(vb))):
        raise ValueError("RDMs contain NaN or inf")
    return _compare(va, vb, method, na)


def _compare(va: np.ndarray, vb: np.ndarray, method: str, n: int | None) -> np.ndarray:
    """compare_rdms on validated vectors (``n`` is needed by whitened_cosine only)."""
    if method == "cosine":
        return _center_normalize(va, False, method) @ _center_normalize(vb, False, method).T
    if method == "pearson":
        return _center_normalize(va, True, method) @ _center_normalize(vb, True, method).T
    if method == "spearman":
        ra, rb = _center_normalize(_ranks(va), True, method), _center_normalize(_ranks(vb), True, method)
        return ra @ rb.T
    if method == "rho_a":
        m = va.shape[1]
        ra, rb = _ranks(va), _ranks(vb)
        ra = ra - ra.mean(axis=1, keepdims=True)
        rb = rb - rb.mean(axis=1, keepdims=True)
        return 12.0 * (ra @ rb.T) / (m**3 - m)
    if method == "tau_a":
        return _tau_a(va, vb)
    # whitened_cosine
    wa, wb = _whiten_rdm(va, n), _whiten_rdm(vb, n)
    return _center_normalize(wa, False, method) @ _center_normalize(wb, False, method).T
