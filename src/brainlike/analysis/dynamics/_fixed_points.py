"""Fixed and slow points of a recurrent network (Sussillo & Barak 2013; Yang & Wang 2020, Sec. 4).

The finder minimizes ``q(x) = 1/2 ||g(x)||^2`` with ``g(x) = F(x) - x`` for a discrete map ``F``
or ``g(x) = dx/dt`` for a continuous flow, for a batch of starting points at once. Each step is a
Newton step per point (batched Jacobians and LU factorizations) with a batched backtracking line
search on ``q``, and a Levenberg-Marquardt step (per-point damping) where the Jacobian is singular
or no Newton step lowers ``q``. Every point has its own stopping test: it leaves the batch as
soon as ``q < tol_q`` (a fixed point) or ``q`` stops decreasing fast (a slow point, ``q > 0``).
A slow point is labelled a local minimum of ``q`` only where the gradient of ``q`` vanishes
there; most slow points of trained ReLU networks are starts that stalled (``q`` not halving
over ``stall_window`` steps) with a gradient far from 0, often at a kink of ``q``. Newton
converges quadratically, so ``q`` falls from 1e-4 to 1e-20 in two or three steps in float64,
where first-order methods crawl.

Two savings keep the linear algebra small: starts whose states coincide (within ``tol_merge``)
are merged before each step, and when ``fn`` exposes its Jacobian as ``c I + diag(s) W`` (a rate
network, via ``fn.jacobian_parts``) units with ``s = 0`` (ReLU units below threshold) are
eliminated, so the Newton and Levenberg-Marquardt systems have the size of the active set.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..._progress import tqdm

__all__ = [
    "FixedPointResult",
    "LineAttractor",
    "find_fixed_points",
    "line_attractor",
    "model_step_fn",
    "sample_states",
    "unique_points",
]

KINDS = ("discrete", "continuous")


@dataclass(frozen=True)
class FixedPointResult:
    r"""Fixed points (``q < tol_q``) and slow points found from a batch of starting states.

    Arrays are float64 NumPy arrays; ``k`` fixed points, ``m`` slow points, ``n`` starts, ``N``
    state dimensions, ``I`` input dimensions.

    Attributes
    ----------
    points : ndarray, shape (k, N)
        Unique fixed points, sorted by ``q``.
    q : ndarray, shape (k,)
        ``1/2 ||F(x) - x||^2`` (discrete) or ``1/2 ||dx/dt||^2`` (continuous) at each point.
    inputs : ndarray, shape (k, I) or None
        The constant input at each point (``None`` when ``fn`` takes no inputs).
    jacobians : ndarray, shape (k, N, N)
        ``J[j, l] = dF_j / dx_l`` (discrete) or ``d(dx/dt)_j / dx_l`` (continuous).
    eigenvalues : ndarray of complex, shape (k, N)
        Eigenvalues of each Jacobian, sorted by decreasing ``|lambda|`` (discrete) or decreasing
        real part (continuous).
    eigenvectors : ndarray of complex, shape (k, N, N)
        ``eigenvectors[i, :, j]`` belongs to ``eigenvalues[i, j]`` (unit norm).
    is_stable : ndarray of bool, shape (k,)
        All ``|lambda| < 1`` (discrete) or all ``Re(lambda) < 0`` (continuous).
    slow_points : ndarray, shape (m, N)
        Unique points where starts stopped with ``q >= tol_q`` (never listed as fixed points):
        local minima of ``q`` (``slow_is_minimum``) or starts that stalled.
    slow_q : ndarray, shape (m,)
    slow_inputs : ndarray, shape (m, I) or None
    slow_grad : ndarray, shape (m,)
        ``||grad q|| = ||J^T g||`` at each slow point (``g`` the residual ``F(x) - x`` or
        ``dx/dt``, ``J`` its Jacobian).
    slow_is_minimum : ndarray of bool, shape (m,)
        A local minimum of ``q`` (converged): ``||grad q|| <= tol_grad ||g||``, i.e. the
        residual is orthogonal to what any step can change to first order. Otherwise the start
        stalled there: ``q`` stopped halving over ``stall_window`` steps (or no damped step
        lowered it, or ``max_iter`` ran out) while ``q`` still had a slope, e.g. at a kink of a
        ReLU network's ``q``. A stalled point is slow (small ``q``) but not a minimum.
    start_point : ndarray of int, shape (n,)
        For each start, the index in ``points`` it converged to, or -1.
    start_slow : ndarray of int, shape (n,)
        For each start, the index in ``slow_points`` it ended at, or -1.
    final_states : ndarray, shape (n, N)
        Where each start ended, before de-duplication.
    final_q : ndarray, shape (n,)
    n_iter : ndarray of int, shape (n,)
        Optimization steps each start took.
    is_outlier : ndarray of bool, shape (n,)
        Starts that ended farther than ``outlier_distance`` mean start-distances from the
        centroid of the starts (dropped from both lists).
    kind : str
        ``"discrete"`` or ``"continuous"``.
    tol_q : float
    """

    points: np.ndarray
    q: np.ndarray
    inputs: np.ndarray | None
    jacobians: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    is_stable: np.ndarray
    slow_points: np.ndarray
    slow_q: np.ndarray
    slow_inputs: np.ndarray | None
    slow_grad: np.ndarray
    slow_is_minimum: np.ndarray
    start_point: np.ndarray
    start_slow: np.ndarray
    final_states: np.ndarray
    final_q: np.ndarray
    n_iter: np.ndarray
    is_outlier: np.ndarray
    kind: str
    tol_q: float

    def __repr__(self) -> str:
        n_stable, n_min = int(self.is_stable.sum()), int(self.slow_is_minimum.sum())
        return (
            f"FixedPointResult(kind={self.kind!r}, {len(self.points)} fixed points "
            f"({n_stable} stable), {len(self.slow_points)} slow points ({n_min} minima, "
            f"{len(self.slow_points) - n_min} stalled), {len(self.final_q)} starts, "
            f"tol_q={self.tol_q:g})"
        )


def _as_tensor(x, name: str, dtype: torch.dtype) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array; got {type(x).__name__}")
    return x.detach().to(dtype)


def _residual_fn(fn: Callable, kind: str) -> Callable[[Tensor, Tensor | None], Tensor]:
    if kind == "discrete":
        def g(x: Tensor, u: Tensor | None) -> Tensor:
            return (fn(x) if u is None else fn(x, u)) - x
    else:
        def g(x: Tensor, u: Tensor | None) -> Tensor:
            return fn(x) if u is None else fn(x, u)
    return g


def _batched_jacobian(g: Callable, x: Tensor, u: Tensor | None) -> Tensor:
    """``J[b] = dg(x)_b / dx_b``, shape (n, N, N), for a row-wise ``g`` (rows independent)."""
    n, dim = x.shape
    with torch.enable_grad():
        z = x.detach().requires_grad_(True)
        y = g(z, u)
        eye = torch.eye(dim, dtype=y.dtype).unsqueeze(1).expand(dim, n, dim)
        (jac,) = torch.autograd.grad(y, z, eye, is_grads_batched=True)  # (N_out, n, N_in)
    return jac.permute(1, 0, 2)


def _jacobian_fn(fn: Callable, g: Callable, kind: str) -> Callable[[Tensor, Tensor | None], Tensor]:
    """Jacobian of the residual ``g``: ``fn.jacobian`` when ``fn`` has one, else autograd."""
    analytic = getattr(fn, "jacobian", None)
    if analytic is None:
        return lambda x, u: _batched_jacobian(g, x, u)

    def jac(x: Tensor, u: Tensor | None) -> Tensor:
        j = analytic(x) if u is None else analytic(x, u)
        if kind == "discrete":  # a new tensor: fn's (perhaps cached) Jacobian stays as it was
            j = j - torch.eye(j.shape[-1], dtype=j.dtype)
        return j

    return jac


def _parts_fn(fn: Callable, kind: str) -> Callable | None:
    """``(c, s, W)`` with residual Jacobian ``c I + diag(s) W`` when ``fn`` has ``jacobian_parts``.

    ``fn.jacobian_parts(x[, u])`` returns the parts of ``fn``'s own Jacobian; the residual of a
    discrete map subtracts the identity.
    """
    parts = getattr(fn, "jacobian_parts", None)
    if parts is None:
        return None

    def residual_parts(x: Tensor, u: Tensor | None) -> tuple[float, Tensor, Tensor]:
        c, sv, w = parts(x) if u is None else parts(x, u)
        return (c - 1.0 if kind == "discrete" else c), sv, w

    return residual_parts


def _half_sq(r: Tensor) -> Tensor:
    return 0.5 * (r * r).sum(-1)


def unique_points(points, q, *, tol: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Greedy de-duplication: keep the lowest-``q`` point of every group closer than ``tol``.

    Points are taken in order of increasing ``q``; a point is kept unless a kept point lies within
    Euclidean distance ``tol`` (fixed-point-finder's rule). Distances are computed in blocks with
    :func:`torch.cdist`, so ``n`` in the tens of thousands is fine.

    Parameters
    ----------
    points : array-like, shape (n, N)
    q : array-like, shape (n,)
    tol : float

    Returns
    -------
    keep : ndarray of int, shape (k,)
        Indices of the kept points, by increasing ``q``.
    owner : ndarray of int, shape (n,)
        For every point, the position in ``keep`` of the kept point that absorbed it.

    Examples
    --------
    >>> import numpy as np
    >>> keep, owner = unique_points(np.array([[0.0], [0.0005], [1.0]]), np.array([2.0, 1.0, 3.0]))
    >>> keep.tolist(), owner.tolist()
    ([1, 2], [0, 0, 1])
    """
    p = torch.as_tensor(np.asarray(points, dtype=np.float64))
    qq = np.asarray(q, dtype=np.float64)
    n = p.shape[0]
    owner = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return np.zeros(0, dtype=np.int64), owner
    order = np.argsort(qq, kind="stable")
    p = p[torch.as_tensor(order)]
    removed = np.zeros(n, dtype=bool)
    keep: list[int] = []
    block = 1024
    for start in range(0, n, block):
        stop = min(start + block, n)
        close = (torch.cdist(p[start:stop], p) <= tol).numpy()  # (block, n)
        for i in range(start, stop):
            if removed[i]:
                continue
            row = close[i - start]
            owner[order[row & ~removed]] = len(keep)
            removed |= row
            keep.append(i)
    return order[np.asarray(keep, dtype=np.int64)], owner


_ALPHAS = 0.5 ** torch.arange(10, dtype=torch.float64)  # Newton line-search step sizes
_REFINE_STEPS = 2  # float64 iterative-refinement steps after a lower-precision solve


def _lu_solve(a: Tensor, rhs: Tensor, solve_dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Solve ``a y = rhs`` for a batch; factorize in ``solve_dtype``, refine in ``a.dtype``.

    With ``solve_dtype`` below ``a.dtype`` every refinement step shrinks the error by about
    ``eps(solve_dtype) cond(a)``, so two steps bring a float32 factorization to float64 accuracy
    whenever ``cond(a) << 1e7``; otherwise the Newton direction is inexact and the outer iteration
    (which always measures ``q`` in ``a.dtype``) takes more steps. Returns ``(y, usable)``.
    """
    lu, piv, info = torch.linalg.lu_factor_ex(a.to(solve_dtype))
    y = torch.linalg.lu_solve(lu, piv, rhs.to(solve_dtype).unsqueeze(2)).squeeze(2).to(a.dtype)
    if solve_dtype != a.dtype:
        for _ in range(_REFINE_STEPS):
            res = rhs - (a @ y.unsqueeze(2)).squeeze(2)
            y = y + torch.linalg.lu_solve(lu, piv, res.to(solve_dtype).unsqueeze(2)).squeeze(2).to(
                a.dtype)
    usable = (info == 0) & torch.isfinite(y).all(1)
    return y, usable


def _coupled_units(sv: Tensor) -> tuple[Tensor, int]:
    """Per row, the units sorted coupled first (``s != 0``), and the largest coupled count ``K``.

    The first ``K`` entries of every row, ``C``, hold all its coupled units (and, in rows with
    fewer, some decoupled ones, which stay exact: their Jacobian rows are ``c e_j``).
    """
    coupled = sv != 0
    k = int(coupled.sum(1).max()) if sv.shape[0] else 0
    perm = torch.argsort((~coupled).to(torch.int8), dim=1, stable=True)
    return perm, k


def _newton_direction(parts: tuple[float, Tensor, Tensor], r: Tensor,
                      solve_dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """``d = -J^{-1} r`` per row for ``J = c I + diag(s) W``, solving the coupled block only.

    ``parts = (c, s (m, N), W (N, N))`` with ``c != 0`` (a rate network: ``c = -alpha``,
    ``s = alpha f'(z)``). A row with ``s_j = 0`` (a ReLU unit below threshold) decouples:
    ``d_j = -r_j / c``. Eliminating those (``D``) leaves ``J_CC d_C = -r_C - s_C (W d_D)_C`` on
    the first ``K`` units of :func:`_coupled_units`, so the LU costs ``(K / N)^3`` of the full
    one and the ``(m, N, N)`` Jacobians are never formed. Exact in exact arithmetic. Returns
    ``(d, usable)``.
    """
    c, sv, w = parts
    perm, k = _coupled_units(sv)
    perm_c = perm[:, :k]
    d_dec = (-r / c).scatter(1, perm_c, 0.0)  # d_D, zero on C
    if k == 0:
        return d_dec, torch.isfinite(d_dec).all(1)
    rhs = (-r - sv * (d_dec @ w.T)).gather(1, perm_c)
    sub = w[perm_c[:, :, None], perm_c[:, None, :]] * sv.gather(1, perm_c)[:, :, None]
    sub.diagonal(dim1=1, dim2=2).add_(c)
    sol, usable = _lu_solve(sub, rhs, solve_dtype)
    d = d_dec.scatter(1, perm_c, sol)
    return d, usable & torch.isfinite(d).all(1)


def _lm_full(jac: Tensor, r: Tensor):
    """Levenberg-Marquardt steps ``-(J^T J + mu I)^{-1} J^T r`` from full Jacobians.

    Returns ``scale`` (mean diagonal of ``J^T J``, per row) and ``solve(rows, mu) -> (step,
    ok)`` for a subset of the rows.
    """
    jt = jac.transpose(1, 2)
    jtj = jt @ jac
    grad = (jt @ r.unsqueeze(2)).squeeze(2)
    eye = torch.eye(jac.shape[1], dtype=jac.dtype)

    def solve(rows: Tensor, mu: Tensor) -> tuple[Tensor, Tensor]:
        chol, info = torch.linalg.cholesky_ex(jtj[rows] + mu[:, None, None] * eye)
        return -torch.cholesky_solve(grad[rows].unsqueeze(2), chol).squeeze(2), info == 0

    return jtj.diagonal(dim1=1, dim2=2).mean(1).clamp(min=1e-30), solve


def _lm_reduced(parts: tuple[float, Tensor, Tensor], r: Tensor):
    """:func:`_lm_full` for ``J = c I + diag(s) W``, factorizing ``K x K`` systems only.

    Uses ``(J^T J + mu I)^{-1} J^T = J^T (J J^T + mu I)^{-1}``. With ``C`` the first ``K``
    units of :func:`_coupled_units` and ``D`` the rest (rows ``c e_j^T``), ``J J^T + mu I`` has
    the block ``(c^2 + mu) I`` on ``D``; its Schur complement on ``C`` is
    ``G + mu I - c^2 / (c^2 + mu) (G - H)`` with ``G = J_C J_C^T``, ``H = J_CC J_CC^T``.
    """
    c, sv, w = parts
    m, dim = r.shape
    perm, k = _coupled_units(sv)
    perm_c = perm[:, :k]
    rows = torch.arange(m)[:, None]
    jc = w[perm_c] * sv.gather(1, perm_c)[:, :, None]  # J_C: (m, K, N)
    jc[rows, torch.arange(k)[None, :], perm_c] += c
    jcc = jc.gather(2, perm_c[:, None, :].expand(m, k, k))
    gram = jc @ jc.transpose(1, 2)
    gram_cc = jcc @ jcc.transpose(1, 2)
    jr = (jc @ r.unsqueeze(2)).squeeze(2)  # J_C r
    jr_cc = (jcc @ r.gather(1, perm_c).unsqueeze(2)).squeeze(2)  # J_CC r_C
    r_c = r.gather(1, perm_c)
    eye = torch.eye(k, dtype=r.dtype)
    scale = ((jc * jc).sum((1, 2)) + (dim - k) * c * c) / dim

    def solve(sel: Tensor, mu: Tensor) -> tuple[Tensor, Tensor]:
        f = c * c / (c * c + mu)
        schur = gram[sel] + mu[:, None, None] * eye - f[:, None, None] * (gram[sel] - gram_cc[sel])
        chol, info = torch.linalg.cholesky_ex(schur)
        rhs = r_c[sel] - (c / (c * c + mu))[:, None] * (jr[sel] - jr_cc[sel])
        y_c = torch.cholesky_solve(rhs.unsqueeze(2), chol).squeeze(2)
        jty_c = (jc[sel].transpose(1, 2) @ y_c.unsqueeze(2)).squeeze(2)  # J_C^T y_C
        y_d = ((r[sel] - c * jty_c) / (c * c + mu)[:, None]).scatter(1, perm_c[sel], 0.0)
        return -(jty_c + c * y_d), info == 0

    return scale, solve


def _step(g: Callable, jac_fn: Callable, parts_fn: Callable | None, xi: Tensor, ri: Tensor,
          qi: Tensor, ui: Tensor | None, lam: Tensor,
          solve_dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One damped Newton (or Levenberg-Marquardt) step for the rows ``xi``.

    Returns the new states, residuals, ``q`` and which rows are dead (even a heavily damped
    step fails); ``lam`` (per-row LM damping) is updated in place.
    """
    m, dim = xi.shape
    if parts_fn is None:
        jac = jac_fn(xi, ui)
        d, usable = _lu_solve(jac, -ri, solve_dtype)
    else:
        parts = parts_fn(xi, ui)
        d, usable = _newton_direction(parts, ri, solve_dtype)
    d = torch.where(usable[:, None], d, torch.zeros_like(d))
    alphas = _ALPHAS.to(xi.dtype)
    # Backtracking (Armijo), the full step first: rows that accept it skip the shorter ones.
    new_x = xi + d
    new_r = g(new_x, ui)
    new_q = _half_sq(new_r)
    found = torch.isfinite(new_q) & (new_q <= qi * (1 - 2e-4)) & usable
    rest = torch.nonzero(~found & usable).squeeze(1)
    if rest.numel():
        a = alphas[1:, None, None]
        trial = xi[rest].unsqueeze(0) + a * d[rest].unsqueeze(0)  # (A-1, m', N)
        ut = None if ui is None else ui[rest].repeat(len(a), 1)
        rt = g(trial.reshape(-1, dim), ut).reshape(len(a), -1, dim)
        qt = _half_sq(rt)
        armijo = torch.isfinite(qt) & (qt <= qi[rest] * (1 - 2e-4 * alphas[1:, None]))
        ok = armijo.any(0)
        first = armijo.to(torch.int8).argmax(0)
        cols = torch.arange(rest.numel())
        sel = rest[ok]
        new_x[sel], new_r[sel], new_q[sel] = (trial[first, cols][ok], rt[first, cols][ok],
                                              qt[first, cols][ok])
        found[sel] = True
    new_x = torch.where(found[:, None], new_x, xi)
    new_r = torch.where(found[:, None], new_r, ri)
    new_q = torch.where(found, new_q, qi)
    failed = torch.nonzero(~found).squeeze(1)
    dead = torch.zeros(m, dtype=torch.bool)
    if failed.numel():
        # Levenberg-Marquardt fallback (near singular Jacobians and ReLU kinks).
        rf, uf = ri[failed], None if ui is None else ui[failed]
        if parts_fn is None:
            scale, lm_solve = _lm_full(jac[failed], rf)
        else:
            c, sv, w = parts
            scale, lm_solve = _lm_reduced((c, sv[failed], w), rf)
        sel = torch.arange(failed.numel())  # positions in ``failed`` still trying
        for _ in range(8):
            step, chol_ok = lm_solve(sel, lam[failed[sel]] * scale[sel])
            xs = xi[failed[sel]] + step
            rs = g(xs, None if uf is None else uf[sel])
            qs = _half_sq(rs)
            ok = chol_ok & torch.isfinite(qs) & (qs < qi[failed[sel]])
            rows_ok, rows_bad = failed[sel[ok]], failed[sel[~ok]]
            new_x[rows_ok], new_r[rows_ok], new_q[rows_ok] = xs[ok], rs[ok], qs[ok]
            lam[rows_ok] = (lam[rows_ok] / 10).clamp(min=1e-12)
            lam[rows_bad] *= 10
            sel = sel[~ok]
            if sel.numel() == 0 or bool((lam[failed[sel]] > 1e10).all()):
                break
        dead[failed[sel]] = lam[failed[sel]] > 1e10
    return new_x, new_r, new_q, dead


def _merge(x: Tensor, rows: Tensor, tol: float, direction: Tensor) -> tuple[Tensor, Tensor]:
    """Pairs ``(child, parent)`` of ``rows`` whose states lie within ``tol`` of each other.

    Rows are sorted by their projection on a fixed unit ``direction``; two states within
    ``tol`` differ by at most ``tol`` in projection, so they fall in one run of consecutive
    projections with gaps ``<= tol``. Each row of a run merges into the run's first row when
    its state is within ``tol`` of it (Euclidean). ``O(m N + m log m)``; may miss merges (when a
    run holds several distinct clusters), never makes a wrong one.
    """
    m = rows.numel()
    xa = x[rows]
    order = torch.argsort(xa @ direction)
    xs = xa[order]
    ps = xs @ direction
    new_run = torch.ones(m, dtype=torch.bool)
    new_run[1:] = (ps[1:] - ps[:-1]) > tol
    pos = torch.arange(m)
    lead = torch.cummax(torch.where(new_run, pos, 0), 0).values
    close = (lead != pos) & (torch.linalg.vector_norm(xs - xs[lead], dim=1) <= tol)
    return rows[order[close]], rows[order[lead[close]]]


def _newton_solve(
    g: Callable, jac_fn: Callable, parts_fn: Callable | None, x: Tensor, u: Tensor | None, *,
    tol_q: float, max_iter: int,
    stall_window: int, solve_dtype: torch.dtype, chunk_size: int, tol_merge: float | None,
    bar: Any = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Damped Newton on every row of ``x``, Levenberg-Marquardt where Newton fails.

    Per row: the Newton direction ``d = -J^{-1} g`` (a descent direction of ``q`` whenever ``J``
    is invertible, since ``grad q . d = -2 q``), with a batched backtracking line search
    (Armijo); where ``J`` is singular or no step size decreases ``q``, a Levenberg-Marquardt step
    ``-(J^T J + lam s I)^{-1} J^T g`` with a per-row damping ``lam``. A row stops when
    ``q < tol_q``, when ``q`` has not halved over ``stall_window`` steps (a slow point), or
    when even a heavily damped step fails.

    Before every step, running rows whose states (and inputs) coincide within ``tol_merge``
    are merged: one representative goes on, the others end where it ends. A piecewise-linear
    map (ReLU) sends every start of one activation pattern to the same point in one Newton
    step, so after the first step the Jacobians are factorized for the distinct states only.
    Returns ``(x, q, n_iter, representative)``.
    """
    n, dim = x.shape
    x = x.clone()
    r = g(x, u)
    q = _half_sq(r)
    lam = torch.full((n,), 1e-3, dtype=x.dtype)
    n_iter = torch.zeros(n, dtype=torch.int64)
    parent = torch.arange(n)
    q_ref = q.clone()
    active = q >= tol_q
    direction = torch.randn(dim + (0 if u is None else u.shape[1]),
                            generator=torch.Generator().manual_seed(0), dtype=x.dtype)
    direction /= torch.linalg.vector_norm(direction)
    for it in range(max_iter):
        idx = torch.nonzero(active).squeeze(1)
        if tol_merge is not None and idx.numel() > 1:
            feats = x if u is None else torch.cat([x, u], 1)
            child, par = _merge(feats, idx, tol_merge, direction)
            if child.numel():
                parent[child] = par
                active[child] = False
                idx = torch.nonzero(active).squeeze(1)
        m = idx.numel()
        if m == 0:
            break
        out = []
        for s in range(0, m, chunk_size):  # bounds the (rows, N, N) Jacobian buffers
            c = idx[s:s + chunk_size]
            lam_c = lam[c]
            out.append(_step(g, jac_fn, parts_fn, x[c], r[c], q[c], None if u is None else u[c],
                             lam_c, solve_dtype))
            lam[c] = lam_c
        new_x, new_r, new_q, dead = (torch.cat(z) for z in zip(*out))
        x[idx], r[idx], q[idx] = new_x, new_r, new_q
        n_iter[idx] += 1
        done = (new_q < tol_q) | dead
        if (it + 1) % stall_window == 0:
            done |= new_q > 0.5 * q_ref[idx]
            q_ref[idx] = new_q
        active[idx[done]] = False
        if bar is not None:  # starts that finished (converged, stalled or merged)
            bar.update(int((~active).sum()) - bar.n)
            bar.set_postfix(iteration=it + 1)
    while True:  # follow merges to the representative that finished
        root = parent[parent]
        if torch.equal(root, parent):
            break
        parent = root
    return x[parent], q[parent], n_iter[parent], parent



def _check_fn(fn: Callable, jac_fn: Callable, x: Tensor, u: Tensor | None,
              dtype: torch.dtype) -> None:
    """``fn`` (and its ``jacobian``, if any) maps one ``dtype`` state to one ``dtype`` state."""
    fix = (f"pass the dtype fn computes in (e.g. dtype=torch.float32; q then bottoms out near "
           f"1e-14 per unit, so raise tol_q), or build fn in {dtype} "
           f"(model_step_fn(model, inputs, dtype={dtype}))")
    try:
        with torch.no_grad():
            probe = fn(x) if u is None else fn(x, u)
    except (RuntimeError, TypeError) as e:  # torch's mixed-dtype errors, or a model's check
        if "dtype" not in str(e) and "scalar type" not in str(e):
            raise
        raise TypeError(f"fn cannot take {dtype} states ({e}); find_fixed_points runs in "
                        f"dtype={dtype}: {fix}") from None
    dim = x.shape[1]
    if not isinstance(probe, Tensor) or probe.shape != (1, dim):
        got = tuple(probe.shape) if isinstance(probe, Tensor) else type(probe).__name__
        raise ValueError(f"fn must map states (n, {dim}) to (n, {dim}); got {got} for n=1")
    if probe.dtype != dtype:
        raise TypeError(f"fn returned {probe.dtype} states for {dtype} states; "
                        f"find_fixed_points runs in dtype={dtype}: {fix}")
    if getattr(fn, "jacobian", None) is not None:
        jac = jac_fn(x, u)
        if not isinstance(jac, Tensor) or jac.shape != (1, dim, dim) or jac.dtype != dtype:
            got = (f"{jac.dtype} {tuple(jac.shape)}" if isinstance(jac, Tensor)
                   else type(jac).__name__)
            raise TypeError(f"fn.jacobian must give {dtype} (n, {dim}, {dim}) Jacobians for "
                            f"{dtype} states; got {got} for n=1")


def _grad_norm(g: Callable, jac_fn: Callable, parts_fn: Callable | None, points: np.ndarray,
               u: Tensor | None, dtype: torch.dtype, chunk_size: int) -> np.ndarray:
    """``||grad q|| = ||J^T g||`` at each of ``points`` (m, N), shape (m,)."""
    out = np.zeros(len(points))
    with torch.no_grad():
        for s in range(0, len(points), chunk_size):
            x = torch.as_tensor(points[s:s + chunk_size], dtype=dtype)
            uc = None if u is None else u[s:s + chunk_size]
            r = g(x, uc)
            if parts_fn is not None:  # J = c I + diag(s) W: J^T r = c r + W^T (s * r)
                c, sv, w = parts_fn(x, uc)
                grad = c * r + (sv * r) @ w
            else:
                grad = (jac_fn(x, uc).transpose(1, 2) @ r.unsqueeze(2)).squeeze(2)
            out[s:s + chunk_size] = torch.linalg.vector_norm(grad, dim=1).double().numpy()
    return out


def _eig(jacobians: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    k, dim = jacobians.shape[:2]
    if k == 0:
        return np.zeros((0, dim), complex), np.zeros((0, dim, dim), complex)
    vals, vecs = np.linalg.eig(jacobians)
    key = -np.abs(vals) if kind == "discrete" else -vals.real
    order = np.argsort(key, axis=1, kind="stable")
    vals = np.take_along_axis(vals, order, axis=1)
    vecs = np.take_along_axis(vecs, order[:, None, :], axis=2)
    return vals.astype(complex), vecs.astype(complex)


def find_fixed_points(
    fn: Callable[..., Tensor],
    initial_states,
    *,
    inputs=None,
    kind: str = "discrete",
    tol_q: float = 1e-12,
    max_iter: int = 200,
    tol_unique: float = 1e-3,
    outlier_distance: float | None = 10.0,
    max_slow_q: float | None = None,
    stall_window: int = 10,
    tol_grad: float = 1e-6,
    dtype: torch.dtype = torch.float64,
    solve_dtype: torch.dtype | None = None,
    chunk_size: int | None = None,
    tol_merge: float | None = 1e-9,
    progress: bool = False,
) -> FixedPointResult:
    r"""Find the fixed and slow points of a discrete map or a continuous flow.

    Minimizes ``q(x) = 1/2 ||F(x, u) - x||^2`` (``kind="discrete"``) or ``q(x) = 1/2 ||dx/dt||^2``
    (``kind="continuous"``) from every starting state at once with damped Newton steps
    (Levenberg-Marquardt where Newton fails; analytic Jacobians from ``fn.jacobian`` or
    ``fn.jacobian_parts`` when present, else autograd; one damping factor and one stopping test
    per point). A start becomes a **fixed point** when ``q < tol_q``; a start that stops
    improving with ``q >= tol_q`` is a **slow point** (Sussillo & Barak 2013), reported
    separately, never as a fixed point, and labelled a local minimum of ``q`` only where
    ``grad q`` vanishes (``slow_is_minimum``), else stalled. Both lists are de-duplicated
    (greedy, lowest ``q`` first, Euclidean ``tol_unique`` on ``[x, u]``), outliers are dropped,
    and Jacobians, eigenvalues and stability are computed at the unique fixed points.

    Parameters
    ----------
    fn : callable
        ``fn(states (n, N)) -> (n, N)`` or, with ``inputs``, ``fn(states (n, N), inputs (n, I))``:
        the next state (discrete) or ``dx/dt`` (continuous). Rows must not interact (row ``b``
        of the output depends only on row ``b`` of the arguments), and ``fn`` must be made of
        differentiable torch operations. :func:`model_step_fn` builds one from a ``RateRNN``.
    initial_states : Tensor or ndarray, shape (n, N)
        Starting states, e.g. from :func:`sample_states`.
    inputs : Tensor or ndarray, shape (I,) or (n, I), optional
        Constant inputs, the same for all starts or one row per start.
    kind : {"discrete", "continuous"}
    tol_q : float
        ``q`` below which a point is a fixed point (fixed-point-finder's ``tol_q``). The units are
        those of ``fn``: for :meth:`RateRNN.velocity` (per ms) ``q`` is in 1/ms^2.
    max_iter : int
        Optimization steps per start at most.
    tol_unique : float
        Points closer than this are one point.
    outlier_distance : float or None
        Drop end points whose distance to the centroid of the starts exceeds this many times the
        starts' mean distance to it (fixed-point-finder's rule); ``None`` keeps all.
    max_slow_q : float or None
        Slow points with a larger ``q`` are dropped (``None``: keep all that stopped improving).
    stall_window : int
        A start whose ``q`` has not halved over this many steps stops (a slow point).
    tol_grad : float
        A slow point is a local minimum of ``q`` when ``||grad q|| <= tol_grad ||g||``
        (``||J^T g|| / ||g||``, in the units of ``fn``'s Jacobian); at a converged minimum
        this ratio is at round-off level (~1e-10), at stalled starts of trained networks
        it is 1e-3 or more.
    dtype : torch.dtype
        Precision of the optimization (``fn`` must accept it; float64 reaches ``q ~ 1e-25``).
    solve_dtype : torch.dtype, optional
        Precision of the Newton linear solves (default ``dtype``). ``torch.float32`` halves their
        cost for large networks; ``q`` is still evaluated in ``dtype``, and each step then
        shrinks the error by a factor ~``1e-7 cond(J)`` instead of squaring it.
    chunk_size : int, optional
        Starts optimized together; default keeps the Jacobians under ~256 MB.
    tol_merge : float or None
        Running starts whose states (and inputs) come within this Euclidean distance of each
        other are merged before each step: one goes on, the others end where it ends (same
        ``final_states``, ``final_q``, ``n_iter``). A ReLU network's starts with one activation
        pattern coincide after one Newton step, so the solves then run on distinct states only.
        Must be far below ``tol_unique``; ``None`` optimizes every start on its own.
    progress : bool
        Show a progress bar (on stderr) of the starts that have finished.

    Returns
    -------
    FixedPointResult

    References
    ----------
    Sussillo, D. & Barak, O. (2013). Opening the black box: low-dimensional dynamics in
    high-dimensional recurrent neural networks. Neural Comput. 25, 626-649.
    Golub, M. & Sussillo, D. (2018). FixedPointFinder. J. Open Source Softw. 3, 1003.

    Examples
    --------
    A linear network ``x <- W x + b`` has the single fixed point ``(I - W)^{-1} b``:

    >>> import torch
    >>> w = torch.tensor([[0.5, 0.1], [0.0, 0.3]], dtype=torch.float64)
    >>> b = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> res = find_fixed_points(lambda x: x @ w.T + b, torch.randn(16, 2))
    >>> res  # doctest: +ELLIPSIS
    FixedPointResult(kind='discrete', 1 fixed points (1 stable), 0 slow points (0 minima, ...)
    >>> res.points.round(6).tolist()
    [[2.571429, 2.857143]]
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}; got {kind!r}")
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    x0 = _as_tensor(initial_states, "initial_states", dtype)
    if x0.ndim != 2 or x0.shape[0] == 0:
        raise ValueError(
            f"initial_states must have shape (n, N) with n >= 1; got {tuple(x0.shape)}"
        )
    n, dim = x0.shape
    u = None
    if inputs is not None:
        u = _as_tensor(inputs, "inputs", dtype)
        if u.ndim == 1:
            u = u.unsqueeze(0).expand(n, -1)
        if u.ndim != 2 or u.shape[0] != n:
            raise ValueError(
                f"inputs must have shape (I,) or (n, I) with n={n} starts; got {tuple(u.shape)}"
            )
        u = u.contiguous()
    for name, value in (("tol_q", tol_q), ("tol_unique", tol_unique), ("tol_grad", tol_grad)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0; got {value!r}")
    if tol_merge is not None and not 0 <= tol_merge < 1e-2 * tol_unique:
        raise ValueError(f"tol_merge must be None or in [0, 1e-2 * tol_unique) = "
                         f"[0, {1e-2 * tol_unique:g}); got {tol_merge!r}")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise ValueError(f"max_iter must be an int >= 1; got {max_iter!r}")
    g = _residual_fn(fn, kind)
    jac_fn = _jacobian_fn(fn, g, kind)
    _check_fn(fn, jac_fn, x0[:1], None if u is None else u[:1], dtype)

    if chunk_size is None:
        chunk_size = max(1, min(n, 2**25 // (dim * dim)))
    with torch.no_grad(), tqdm(total=n, desc="fixed points", unit="start", disable=not progress,
                               leave=False) as bar:
        x, q, n_iter_t, _ = _newton_solve(
            g, jac_fn, _parts_fn(fn, kind), x0, u, tol_q=tol_q, max_iter=max_iter,
            stall_window=stall_window, solve_dtype=solve_dtype or dtype, chunk_size=chunk_size,
            tol_merge=tol_merge, bar=bar)
    n_iter = n_iter_t.numpy()
    x_np, q_np = x.numpy().astype(np.float64), q.numpy().astype(np.float64)
    u_np = None if u is None else u.numpy().astype(np.float64)

    finite = np.isfinite(q_np) & np.isfinite(x_np).all(1)
    outlier = ~finite
    if outlier_distance is not None:
        x0n = x0.numpy().astype(np.float64)
        centroid = x0n.mean(0)
        typical = np.linalg.norm(x0n - centroid, axis=1).mean()
        if typical > 0:
            with np.errstate(invalid="ignore"):
                outlier |= np.linalg.norm(x_np - centroid, axis=1) / typical > outlier_distance

    def dedup(mask: np.ndarray):
        sel = np.flatnonzero(mask)
        feats = x_np[sel] if u_np is None else np.hstack([x_np[sel], u_np[sel]])
        keep, owner = unique_points(feats, q_np[sel], tol=tol_unique)
        assign = np.full(n, -1, dtype=np.int64)
        assign[sel] = owner
        return sel[keep], assign

    fixed_sel, start_point = dedup(~outlier & (q_np < tol_q))
    slow_mask = ~outlier & (q_np >= tol_q)
    if max_slow_q is not None:
        slow_mask &= q_np <= max_slow_q
    slow_sel, start_slow = dedup(slow_mask)
    slow_grad = _grad_norm(g, jac_fn, _parts_fn(fn, kind), x_np[slow_sel],
                           None if u is None else u[torch.as_tensor(slow_sel)], dtype, chunk_size)
    slow_is_minimum = slow_grad <= tol_grad * np.sqrt(2 * q_np[slow_sel])

    points = x_np[fixed_sel]
    if len(points):
        pts = torch.as_tensor(points, dtype=dtype)
        up = None if u is None else u[torch.as_tensor(fixed_sel)]
        jac = jac_fn(pts, up).detach()
        if kind == "discrete":
            jac = jac + torch.eye(dim, dtype=dtype)
        jacobians = jac.numpy().astype(np.float64)
    else:
        jacobians = np.zeros((0, dim, dim))
    vals, vecs = _eig(jacobians, kind)
    if kind == "discrete":
        stable = (np.abs(vals) < 1).all(1)
    else:
        stable = (vals.real < 0).all(1)
    return FixedPointResult(
        points=points,
        q=q_np[fixed_sel],
        inputs=None if u_np is None else u_np[fixed_sel],
        jacobians=jacobians,
        eigenvalues=vals,
        eigenvectors=vecs,
        is_stable=stable,
        slow_points=x_np[slow_sel],
        slow_q=q_np[slow_sel],
        slow_inputs=None if u_np is None else u_np[slow_sel],
        slow_grad=slow_grad,
        slow_is_minimum=slow_is_minimum,
        start_point=start_point,
        start_slow=start_slow,
        final_states=x_np,
        final_q=q_np,
        n_iter=n_iter,
        is_outlier=outlier,
        kind=kind,
        tol_q=float(tol_q),
    )


def model_step_fn(model, inputs=None, *, kind: str = "discrete",
                  dtype: torch.dtype = torch.float64) -> Callable[..., Tensor]:
    r"""A recurrent model's noise-free dynamics, on its flat state, for :func:`find_fixed_points`.

    Works on a copy of ``model`` converted to ``dtype`` (the model itself is left untouched).
    The states are the model's flat states ``(n, S)`` (``S = model.state_size``: the rates of a
    rate network, ``(h, c)`` of an LSTM), the map is ``model.step``. A model that gives its
    Jacobian analytically (``jacobian_parts``: :class:`~brainlike.models.RateRNN`, ``c I +
    diag(s) W``) hands it on, so the finder eliminates inactive ReLU units; for every other model
    :func:`find_fixed_points` differentiates ``step`` with autograd.

    Parameters
    ----------
    model : RecurrentModel
        Anything with ``step(state (n, S), inputs (n, I))`` (discrete map) and, for
        ``kind="continuous"``, ``velocity(state, inputs)`` (a continuous-time flow, per ms).
    inputs : Tensor or ndarray, shape (I,), optional
        Held constant. Without it the function takes the inputs as a second argument
        ``fn(states (n, S), inputs (n, I))``.
    kind : {"discrete", "continuous"}
        ``model.step`` (``s_{t-1} -> s_t``) or ``model.velocity`` (``ds/dt``).
    dtype : torch.dtype

    Returns
    -------
    callable
        ``fn(states)`` or ``fn(states, inputs)``.

    Examples
    --------
    >>> import torch
    >>> from brainlike.models import RateRNN
    >>> rnn = RateRNN(3, 16, 2, seed=0)
    >>> fn = model_step_fn(rnn, torch.tensor([1.0, 0.5, 0.5]))
    >>> fn(torch.zeros(4, 16, dtype=torch.float64)).shape
    torch.Size([4, 16])
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}; got {kind!r}")
    name = "step" if kind == "discrete" else "velocity"
    if not callable(getattr(model, name, None)):
        hint = (" (a discrete-time map: use kind='discrete')"
                if callable(getattr(model, "step", None)) else "")
        raise TypeError(f"model must have a {name}(state, inputs) method for kind={kind!r}; "
                        f"{type(model).__name__} has none{hint}")
    copy_ = copy.deepcopy(model).to(dtype).eval()
    copy_.requires_grad_(False)
    dyn = _ModelDynamics(copy_, kind)
    if inputs is None:
        return dyn
    u = _as_tensor(inputs, "inputs", dtype)
    if u.ndim != 1:
        raise ValueError(f"inputs must have shape (I,); got {tuple(u.shape)} "
                         "(pass per-start inputs to find_fixed_points instead)")
    return _ConstantInput(dyn, u)


class _ModelDynamics:
    """``model.step`` or ``model.velocity``, with the model's analytic Jacobian if it has one."""

    def __init__(self, model, kind: str) -> None:
        self.fn = model.step if kind == "discrete" else model.velocity
        parts = getattr(model, "jacobian_parts", None)
        if parts is not None:
            self.jacobian_parts = lambda x, u: parts(x, u, kind=kind)
            self.jacobian = lambda x, u: _from_parts(*self.jacobian_parts(x, u))

    def __call__(self, x: Tensor, u: Tensor) -> Tensor:
        return self.fn(x, u)


def _from_parts(c: float, sv: Tensor, w: Tensor) -> Tensor:
    """``c I + diag(s) W`` for every row of ``s``, shape (n, N, N)."""
    jac = sv.unsqueeze(2) * w  # one (n, N, N) buffer
    jac.diagonal(dim1=1, dim2=2).add_(c)
    return jac


class _ConstantInput:
    def __init__(self, dyn: Callable, u: Tensor) -> None:
        self.dyn, self.u = dyn, u
        if hasattr(dyn, "jacobian"):
            self.jacobian = lambda x: dyn.jacobian(x, u.expand(x.shape[0], -1))
        if hasattr(dyn, "jacobian_parts"):
            self.jacobian_parts = lambda x: dyn.jacobian_parts(x, u.expand(x.shape[0], -1))

    def __call__(self, x: Tensor) -> Tensor:
        return self.dyn(x, self.u.expand(x.shape[0], -1))


def sample_states(activity, n: int, *, noise: float = 0.0, lengths=None, seed: int = 0) -> Tensor:
    """Sample starting states from trajectories, with optional Gaussian noise.

    Parameters
    ----------
    activity : Tensor or ndarray, shape (B, T, N)
    n : int
        Number of states.
    noise : float
        Standard deviation of the isotropic Gaussian noise added to each state
        (fixed-point-finder's ``noise_scale``).
    lengths : array-like of int, shape (B,), optional
        Valid steps per trial; padded steps are never sampled.
    seed : int

    Returns
    -------
    Tensor, shape (n, N), float64

    Examples
    --------
    >>> import torch
    >>> sample_states(torch.ones(2, 5, 3), 4, noise=0.0).shape
    torch.Size([4, 3])
    """
    a = _as_tensor(activity, "activity", torch.float64)
    if a.ndim != 3:
        raise ValueError(f"activity must have shape (B, T, N); got {tuple(a.shape)}")
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be an int >= 1; got {n!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0; got {noise!r}")
    b, t, dim = a.shape
    valid = torch.ones(b, t, dtype=torch.bool)
    if lengths is not None:
        valid = torch.arange(t) < torch.as_tensor(np.array(lengths, dtype=np.int64))[:, None]
    flat = torch.nonzero(valid.reshape(-1)).squeeze(1)
    gen = torch.Generator().manual_seed(seed)
    pick = flat[torch.randint(len(flat), (n,), generator=gen)]
    states = a.reshape(b * t, dim)[pick]
    if noise > 0:
        states = states + noise * torch.randn(n, dim, generator=gen, dtype=torch.float64)
    return states


@dataclass(frozen=True)
class LineAttractor:
    """The slow direction at each fixed point and the points ordered along the line.

    Attributes
    ----------
    eigenvalues : ndarray of complex, shape (k,)
        At each fixed point, the eigenvalue closest to 1 (discrete) or to 0 (continuous).
    directions : ndarray, shape (k, N)
        Its (real part of the) eigenvector, unit norm, signs aligned with ``axis``.
    axis : ndarray, shape (N,)
        The line: the first principal axis of the fixed points (the mean direction if ``k < 2``).
    position : ndarray, shape (k,)
        Coordinate of each fixed point along ``axis``.
    order : ndarray of int, shape (k,)
        Fixed points sorted by ``position``.
    alignment : ndarray, shape (k,)
        ``|cos|`` between each point's slow direction and ``axis``.
    """

    eigenvalues: np.ndarray
    directions: np.ndarray
    axis: np.ndarray
    position: np.ndarray
    order: np.ndarray
    alignment: np.ndarray


def line_attractor(result: FixedPointResult) -> LineAttractor:
    """The line-attractor direction of a set of fixed points and their order along it.

    Parameters
    ----------
    result : FixedPointResult
        With at least one fixed point.

    Returns
    -------
    LineAttractor
    """
    k = len(result.points)
    if k == 0:
        raise ValueError("result has no fixed points; a line attractor needs at least one")
    target = 1.0 if result.kind == "discrete" else 0.0
    j = np.argmin(np.abs(result.eigenvalues - target), axis=1)
    vals = result.eigenvalues[np.arange(k), j]
    dirs = result.eigenvectors[np.arange(k), :, j].real
    dirs = dirs / np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), 1e-300)
    if k >= 2:
        centred = result.points - result.points.mean(0)
        axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    else:
        axis = dirs[0]
    dirs = dirs * np.where(dirs @ axis < 0, -1.0, 1.0)[:, None]
    position = (result.points - result.points.mean(0)) @ axis
    return LineAttractor(
        eigenvalues=vals,
        directions=dirs,
        axis=axis,
        position=position,
        order=np.argsort(position, kind="stable"),
        alignment=np.abs(dirs @ axis),
    )
