"""Dynamical similarity analysis (Ostrow et al. 2023): delay-embedded DMD, Procrustes over vector fields.

A re-implementation from the paper's equations (not the ``dsa-metric`` package's code): NumPy/SciPy
in float64, with the similarity transform found by batched Riemannian gradient ascent from many
starts (including an ordered-Schur-basis alignment) instead of Adam from two starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DSAResult", "DelayDMD", "delay_dmd", "delay_embed", "dsa", "procrustes_vector_fields"]

SCORES = ("angular", "euclidean", "wasserstein")


def _trials(data: Any, name: str) -> np.ndarray:
    """(K, T, N) float64 from an array (T, N) / (K, T, N) or a Recording (trial, time, unit)."""
    raw = getattr(data, "data", data)
    x = np.array(raw, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(
            f"{name} must have shape (n_time, n_features) or (n_trials, n_time, n_features); got "
            f"{np.shape(raw)}"
        )
    if not np.isfinite(x).all():
        raise ValueError(
            f"{name} must be finite (a Recording's NaN after a trial's end included): cut the trials "
            "to a common length first"
        )
    return x


def _int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}; got {value!r}")
    return int(value)


def delay_embed(data: Any, n_delays: int, delay_interval: int = 1) -> np.ndarray:
    """Delay embedding (Hankel matrix) of each trial.

    Row ``t`` of trial ``k`` is ``[x_k(t), x_k(t - τ), ..., x_k(t - (d-1)τ)]`` for
    ``t = (d-1)τ, ..., T-1`` (``d = n_delays``, ``τ = delay_interval``): current state first.

    Parameters
    ----------
    data : array (T, N) or (K, T, N), or a Recording
    n_delays, delay_interval : int

    Returns
    -------
    ndarray, shape (K, T - (d-1)τ, N·d)

    Examples
    --------
    >>> delay_embed(np.arange(4.0)[:, None], 2)[0].tolist()
    [[1.0, 0.0], [2.0, 1.0], [3.0, 2.0]]
    """
    x = _trials(data, "data")
    d = _int("n_delays", n_delays, 1)
    tau = _int("delay_interval", delay_interval, 1)
    k, t, n = x.shape
    t_out = t - (d - 1) * tau
    if t_out < 2:
        raise ValueError(
            f"n_delays={d} with delay_interval={tau} needs more than {(d - 1) * tau + 1} time steps; "
            f"the data have {t}"
        )
    out = np.empty((k, t_out, n * d))
    for j in range(d):
        start = (d - 1 - j) * tau
        out[:, :, j * n:(j + 1) * n] = x[:, start:start + t_out]
    return out


@dataclass(frozen=True)
class DelayDMD:
    """A linear model of delay-embedded dynamics in its eigen-time-delay coordinates (HAVOK DMD).

    Attributes
    ----------
    A : ndarray, shape (rank, rank)
        ``v(t+1) ≈ A v(t)`` for the first ``rank`` eigen-time-delay coordinates ``v`` (left
        singular vectors of the Hankel matrix): the operator DSA compares.
    singular_values : ndarray, shape (min(n_rows, N·d),)
        Of the Hankel matrix, all of them.
    rank, n_delays, delay_interval : int
    ridge : float
    """

    A: np.ndarray
    singular_values: np.ndarray
    rank: int
    n_delays: int
    delay_interval: int
    ridge: float

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of ``A`` (complex), sorted by decreasing modulus."""
        ev = np.linalg.eigvals(self.A)
        return ev[np.argsort(-np.abs(ev), kind="stable")]

    @property
    def explained_variance(self) -> float:
        """Fraction of the Hankel matrix's squared norm in the ``rank`` kept coordinates."""
        s2 = self.singular_values**2
        return float(s2[: self.rank].sum() / s2.sum())


def delay_dmd(
    data: Any,
    *,
    n_delays: int = 1,
    delay_interval: int = 1,
    rank: int | None = None,
    rank_explained_variance: float | None = None,
    ridge: float = 0.0,
) -> DelayDMD:
    """Fit HAVOK-style DMD: delay embedding, SVD, then a least-squares linear map on the modes.

    With the Hankel matrix ``H`` (all trials' rows stacked) and its SVD ``H = V S Uᵀ``, the rows of
    ``V`` (truncated to ``rank`` columns) are the eigen-time-delay coordinates ``v(t)``; ``A``
    solves ``min Σ_t |v(t+1) - A v(t)|² + ridge·|A|²`` over consecutive steps within each trial
    (Brunton et al. 2017; Ostrow et al. 2023, Eq. 1-2). Because ``V`` has orthonormal columns, an
    invertible linear map of the data that keeps the span of the kept modes changes ``A`` only by
    an orthogonal similarity -- the invariance DSA rests on.

    Parameters
    ----------
    data : array (T, N) or (K, T, N), or a Recording (trial, time, unit)
    n_delays, delay_interval : int
        Delay embedding (``n_delays = 1``: none).
    rank : int, optional
        Number of modes kept; default all (``min(rows, N·n_delays)``).
    rank_explained_variance : float in (0, 1], optional
        Instead of ``rank``: the fewest modes whose squared singular values reach this fraction.
    ridge : float
        Ridge penalty ``λ`` of the regression (``dsa-metric``'s ``lamb``).

    Returns
    -------
    DelayDMD

    Examples
    --------
    >>> t = np.arange(200) * 0.1
    >>> x = np.stack([np.cos(t), np.sin(t)], axis=1)            # rotation by 0.1 rad per step
    >>> fit = delay_dmd(x, rank=2)
    >>> np.round(np.abs(np.angle(fit.eigenvalues)), 4).tolist()
    [0.1, 0.1]
    """
    h = delay_embed(data, n_delays, delay_interval)
    k, t, m = h.shape
    if rank is not None and rank_explained_variance is not None:
        raise ValueError("give rank or rank_explained_variance, not both")
    if isinstance(ridge, bool) or not np.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge must be a finite number >= 0; got {ridge!r}")
    v, s, _ = np.linalg.svd(h.reshape(k * t, m), full_matrices=False)
    n_modes = s.size
    if rank is not None:
        r = _int("rank", rank, 1)
        if r > n_modes:
            raise ValueError(f"rank must be <= {n_modes} (the Hankel matrix's rank bound); got {r}")
    elif rank_explained_variance is not None:
        f = rank_explained_variance
        if isinstance(f, bool) or not 0 < f <= 1:
            raise ValueError(f"rank_explained_variance must be in (0, 1]; got {f!r}")
        cum = np.cumsum(s**2) / np.sum(s**2)
        r = int(min(np.searchsorted(cum, f - 1e-12) + 1, n_modes))
    else:
        r = n_modes
    if s[r - 1] <= s[0] * 1e-12:
        raise ValueError(
            f"the data have fewer than rank={r} independent delay coordinates (singular value "
            f"{s[r - 1]:.3g} vs largest {s[0]:.3g}); lower rank"
        )
    v = v[:, :r].reshape(k, t, r)
    past = v[:, :-1].reshape(-1, r)
    future = v[:, 1:].reshape(-1, r)
    gram = past.T @ past + ridge * np.eye(r)
    a = np.linalg.solve(gram, past.T @ future).T
    return DelayDMD(a, s, r, int(n_delays), int(delay_interval), float(ridge))


def _schur_basis(a: np.ndarray) -> np.ndarray:
    """An orthonormal basis that orders ``a``'s invariant subspaces by eigenvalue, made canonical
    up to what an orthogonal similarity preserves, so that for ``b = Qᵀ a Q`` (distinct
    eigenvalues) ``basis(a) = Q basis(b)`` up to the sign of the whole: the QR of the real
    eigenvector matrix, each eigenvector's phase fixed by ``uᵀu > 0`` (complex ones) and its sign
    by its overlap with the eigenvectors already fixed."""
    lam, vec = np.linalg.eig(a)
    keep = np.flatnonzero(lam.imag >= -1e-12 * max(1.0, np.abs(lam).max()))
    keep = keep[np.lexsort((-lam[keep].imag, -lam[keep].real))]
    fixed: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for i in keep:
        u = vec[:, i] / np.linalg.norm(vec[:, i])
        complex_pair = abs(lam[i].imag) > 1e-12 * max(1.0, abs(lam[i]))
        if complex_pair:
            u = u * np.exp(-0.5j * np.angle(u @ u))
        else:
            u = u.real.astype(complex)
        if fixed:
            overlaps = np.array([np.vdot(f, u) for f in fixed])
            k = int(np.argmax(np.abs(overlaps.real)))
            if overlaps[k].real < 0:
                u = -u
        fixed.append(u)
        cols += [u.real, u.imag] if complex_pair else [u.real]
    q, r = np.linalg.qr(np.stack(cols[: a.shape[0]], axis=1))
    return q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))


def _polar(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    return u @ vt


def _objective(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``tr(Aᵀ C B Cᵀ)`` for each C of a stack (S, n, n)."""
    return np.einsum("ij,sij->s", a, c @ b @ np.swapaxes(c, 1, 2))


def _riemannian_gradient(a: np.ndarray, b: np.ndarray, c: np.ndarray):
    """Gradient of ``tr(Aᵀ C B Cᵀ)`` on O(n) at each C: ``C skew(Cᵀ G)``, ``G = A C Bᵀ + Aᵀ C B``."""
    g = a @ c @ b.T + a.T @ c @ b
    m = np.swapaxes(c, 1, 2) @ g
    sk = 0.5 * (m - np.swapaxes(m, 1, 2))
    return c @ sk, np.linalg.norm(sk, axis=(1, 2))


def _ascend(a: np.ndarray, b: np.ndarray, c: np.ndarray, max_iter: int, tol: float,
            memory: int = 10, patience: int = 50, prune_after: int = 200,
            keep: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Maximize ``f(C) = tr(Aᵀ C B Cᵀ)`` over O(n) from a stack of starts at once.

    Riemannian gradient ascent with Barzilai-Borwein steps and the polar retraction
    ``C ← polar(C + η grad)``; a step is accepted when ``f`` does not fall below the worst of the
    last ``memory`` accepted values (a non-monotone safeguard), else ``η`` is quartered. A start
    stops when its Riemannian gradient norm falls below ``tol``, or when its best ``f`` has
    gained less than ``1e-4·tol²`` (relative) in ``patience`` iterations; after ``prune_after``
    iterations only the ``keep`` best starts go on. Returns each start's best point."""
    n_starts = c.shape[0]
    f = _objective(a, b, c)
    g, gn = _riemannian_gradient(a, b, c)
    eta = np.full(n_starts, 1.0 / max(np.linalg.norm(a, 2) * np.linalg.norm(b, 2), 1e-300))
    hist = np.tile(f[:, None], (1, memory))
    best_c, best_f = c.copy(), f.copy()
    mark_f, mark_it = f.copy(), np.zeros(n_starts, dtype=np.int64)
    active = gn > tol
    for it in range(1, max_iter + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        trial = _polar(c[idx] + eta[idx, None, None] * g[idx])
        f_trial = _objective(a, b, trial)
        ok = f_trial >= hist[idx].min(axis=1)
        eta[idx[~ok]] *= 0.25
        acc = idx[ok]
        if acc.size:
            g_new, gn_new = _riemannian_gradient(a, b, trial[ok])
            step = trial[ok] - c[acc]
            dg = g[acc] - g_new  # change of the gradient of -f
            sy = np.einsum("sij,sij->s", step, dg)
            ss = np.einsum("sij,sij->s", step, step)
            eta[acc] = np.where(sy > 0, ss / np.where(sy > 0, sy, 1.0), 2.0 * eta[acc])
            eta[acc] = np.clip(eta[acc], 1e-10, 1e10)
            c[acc], g[acc], gn[acc], f[acc] = trial[ok], g_new, gn_new, f_trial[ok]
            hist[acc] = np.roll(hist[acc], 1, axis=1)
            hist[acc, 0] = f[acc]
            better = acc[f[acc] > best_f[acc]]
            best_c[better], best_f[better] = c[better], f[better]
            active[acc] &= gn_new > tol
        gained = best_f[idx] - mark_f[idx] > 1e-4 * tol**2 * np.maximum(np.abs(best_f[idx]), 1.0)
        renew = idx[gained]
        mark_f[renew], mark_it[renew] = best_f[renew], it
        active[idx[~gained & (it - mark_it[idx] >= patience)]] = False
        if it == prune_after and n_starts > keep:  # only the most promising starts converge fully
            active[np.argsort(-best_f)[keep:]] = False
    return best_c, best_f


def procrustes_vector_fields(
    A: Any, B: Any, *, n_init: int = 16, seed: int = 0, max_iter: int = 3000, tol: float = 1e-6
) -> tuple[np.ndarray, float]:
    """The orthogonal ``C`` minimizing ``|Â - C B̂ Cᵀ|_F`` for unit-norm ``Â = A/|A|``, ``B̂ = B/|B|``.

    Ostrow et al. (2023)'s Procrustes analysis over vector fields. Equivalent to maximizing
    ``tr(Âᵀ C B̂ Cᵀ)`` over the orthogonal group O(n) (both determinants), a non-convex problem:
    it is solved from several starts -- the alignment of the two matrices' canonically ordered
    Schur bases (with and without a reflection; exact when B is an orthogonal similarity of A
    with distinct eigenvalues), the identity, the identity with two rows swapped (det -1), and
    ``n_init`` random orthogonal matrices -- each by Riemannian gradient ascent with
    Barzilai-Borwein steps (all starts in one batch); the best is kept. The Schur start runs
    first, and when it reaches cosine 1 (the global optimum) the others are skipped.

    Returns
    -------
    C : ndarray, shape (n, n)
        Orthogonal.
    cosine : float
        ``tr(Âᵀ C B̂ Cᵀ)`` at ``C`` (1 when B is an orthogonal similarity of A up to scale).
    """
    n_init = _int("n_init", n_init, 0)
    max_iter = _int("max_iter", max_iter, 1)
    a = np.asarray(A, dtype=np.float64)
    b = np.asarray(B, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or b.shape != a.shape:
        raise ValueError(f"A and B must be square matrices of one shape; got {a.shape} and {b.shape}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        raise ValueError("A and B must not be zero matrices")
    a, b = a / na, b / nb
    n = a.shape[0]
    starts = [np.eye(n)]
    if n > 1:
        qa, qb = _schur_basis(a), _schur_basis(b)
        flip = np.eye(n)
        flip[-1, -1] = -1.0
        swap = np.eye(n)
        swap[[0, 1]] = swap[[1, 0]]
        starts = [qa @ qb.T, qa @ flip @ qb.T, np.eye(n), swap]
    rng = np.random.default_rng(seed)
    for _ in range(n_init if n > 1 else 0):
        q, r = np.linalg.qr(rng.normal(size=(n, n)))
        starts.append(q * np.sign(np.diag(r)))
    first = _ascend(a, b, np.stack(starts[:1]), max_iter, tol)  # the Schur alignment alone
    if first[1][0] > 1.0 - 1e-12 or len(starts) == 1:  # cosine 1: the global optimum
        best_c, best_f = first[0][0], first[1][0]
    else:
        cs, fs = _ascend(a, b, np.stack(starts[1:]), max_iter, tol)
        i = int(np.argmax(fs))
        best_c, best_f = (first[0][0], first[1][0]) if first[1][0] >= fs[i] else (cs[i], fs[i])
    return best_c, float(min(max(best_f, -1.0), 1.0))


@dataclass(frozen=True)
class DSAResult:
    """Dynamical similarity of two systems.

    Attributes
    ----------
    distance : float
        ``angular``: ``arccos tr(Âᵀ C B̂ Cᵀ)`` in [0, π]; ``euclidean``: ``|Â - C B̂ Cᵀ|_F`` in
        [0, 2] (unit-norm operators); ``wasserstein``: mean squared distance between optimally
        matched eigenvalues of the unnormalized operators (the squared 2-Wasserstein distance
        between the eigenvalue sets with equal weights, ``dsa-metric``'s ``"wasserstein"`` score).
    score : str
    C : ndarray or None, shape (rank, rank)
        The orthogonal similarity transform (angular and euclidean).
    dmd_x, dmd_y : DelayDMD
        The two fitted operators.
    """

    distance: float
    score: str
    C: np.ndarray | None
    dmd_x: DelayDMD
    dmd_y: DelayDMD


def _wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.optimize import linear_sum_assignment

    ea, eb = np.linalg.eigvals(a), np.linalg.eigvals(b)
    n = max(ea.size, eb.size)
    ea = np.concatenate([ea, np.zeros(n - ea.size)])
    eb = np.concatenate([eb, np.zeros(n - eb.size)])
    cost = np.abs(ea[:, None] - eb[None, :]) ** 2
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def dsa(
    X: Any,
    Y: Any,
    *,
    n_delays: int = 1,
    delay_interval: int = 1,
    rank: int | None = None,
    rank_explained_variance: float | None = None,
    ridge: float = 0.0,
    score: str = "angular",
    n_init: int = 16,
    seed: int = 0,
) -> DSAResult:
    """Dynamical similarity analysis between two systems (Ostrow et al. 2023).

    Each system's dynamics are summarized by the linear operator ``A`` of a delay-embedded DMD
    (:func:`delay_dmd`); the two operators are compared up to an orthogonal change of basis,
    ``min_C |Â - C B̂ Cᵀ|_F`` (Procrustes over vector fields, :func:`procrustes_vector_fields`),
    reported as an angle (default), a Euclidean distance, or by the Wasserstein distance between
    their eigenvalues (no ``C`` needed). Systems related by an invertible linear map of their
    state have distance ~0; systems with the same state-space geometry but different dynamics
    (a ring attractor and a limit cycle on the same circle) do not.

    Parameters
    ----------
    X, Y : array (T, N) or (K, T, N), Recording (trial, time, unit), or DelayDMD
        The two systems' trajectories (any numbers of units), or operators already fitted. With
        ``"angular"``/``"euclidean"`` both operators must have the same rank.
    n_delays, delay_interval, rank, rank_explained_variance, ridge
        Of :func:`delay_dmd` (for inputs that are data). Pick ``rank`` so that both systems'
        kept modes hold their dynamics; the paper sweeps ``n_delays`` and ``rank``.
    score : {"angular", "euclidean", "wasserstein"}
    n_init, seed : int
        Random starts of the Procrustes optimization, besides its deterministic ones.

    Returns
    -------
    DSAResult

    References
    ----------
    Ostrow, Eisen, Kozachkov & Fiete (2023) Beyond geometry: comparing the temporal structure of
    computation in neural circuits with dynamical similarity analysis. NeurIPS 36.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(300) * 0.1
    >>> x = np.stack([np.cos(t), np.sin(t), 0.9 ** np.arange(300)], axis=1)
    >>> y = x @ rng.normal(size=(3, 3))                          # same system, other coordinates
    >>> round(dsa(x, y, rank=3).distance, 6)
    0.0
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {list(SCORES)}; got {score!r}")
    kw = dict(n_delays=n_delays, delay_interval=delay_interval, rank=rank,
              rank_explained_variance=rank_explained_variance, ridge=ridge)
    fx = X if isinstance(X, DelayDMD) else delay_dmd(X, **kw)
    fy = Y if isinstance(Y, DelayDMD) else delay_dmd(Y, **kw)
    if score == "wasserstein":
        return DSAResult(_wasserstein(fx.A, fy.A), score, None, fx, fy)
    if fx.rank != fy.rank:
        raise ValueError(
            f"the two operators have ranks {fx.rank} and {fy.rank}; angular and euclidean scores need "
            "equal ranks: pass rank=..., or score='wasserstein'"
        )
    c, cosine = procrustes_vector_fields(fx.A, fy.A, n_init=n_init, seed=seed)
    if score == "angular":
        distance = float(np.arccos(cosine))
    else:
        distance = float(np.sqrt(max(2.0 - 2.0 * cosine, 0.0)))
    return DSAResult(distance, score, c, fx, fy)
