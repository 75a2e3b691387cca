"""Fixed points: closed forms, planted attractors, Jacobians, discrete vs continuous, slow points."""

import numpy as np
import pytest
import torch

from brainlike.analysis import (
    find_fixed_points,
    line_attractor,
    model_step_fn,
    sample_states,
    unique_points,
)
from brainlike.models import RateRNN

D = torch.float64


def _rotation(n, seed):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=D))
    return q


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("radius", [0.8, 1.6])
def test_linear_fixed_point_is_solve_i_minus_w_b(seed, radius):
    g = torch.Generator().manual_seed(seed)
    n = 12
    w = torch.randn(n, n, generator=g, dtype=D)
    w *= radius / torch.linalg.eigvals(w).abs().max()
    b = torch.randn(n, generator=g, dtype=D)
    expect = torch.linalg.solve(torch.eye(n, dtype=D) - w, b).numpy()
    x0 = 3 * torch.randn(64, n, generator=g, dtype=D)
    res = find_fixed_points(lambda x: x @ w.T + b, x0, outlier_distance=None)
    assert len(res.points) == 1 and len(res.slow_points) == 0
    # Newton on a linear map is exact in one step: only float64 round-off (~1e-14) remains.
    np.testing.assert_allclose(res.points[0], expect, atol=1e-9)
    assert res.q[0] < 1e-20
    np.testing.assert_allclose(res.jacobians[0], w.numpy(), atol=1e-12)
    assert bool(res.is_stable[0]) == (radius < 1)
    assert (res.start_point == 0).all()
    # The continuous form dx/dt = (W - I) x + b has the same fixed point.
    cont = find_fixed_points(lambda x: x @ w.T + b - x, x0, kind="continuous",
                             outlier_distance=None)
    np.testing.assert_allclose(cont.points[0], expect, atol=1e-9)


def _planted(seed, n=3, alpha=0.4):
    """x_i <- x_i + alpha (x_i - x_i^3) in rotated coordinates: fixed points Q {-1,0,1}^n."""
    q = _rotation(n, seed)

    def fn(y):
        x = y @ q
        return (x + alpha * (x - x**3)) @ q.T

    grid = np.array(np.meshgrid(*[[-1.0, 0.0, 1.0]] * n, indexing="ij")).reshape(n, -1).T
    return fn, grid @ q.numpy().T, (np.abs(grid) == 1).all(1), q


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_planted_attractors_and_saddles_are_all_found(seed):
    fn, planted, stable, q = _planted(seed)
    g = torch.Generator().manual_seed(100 + seed)
    x0 = (torch.rand(512, 3, generator=g, dtype=D) * 3 - 1.5) @ q.T
    res = find_fixed_points(fn, x0)
    assert len(res.points) == 27 and len(res.slow_points) == 0
    d = np.linalg.norm(res.points[:, None] - planted[None], axis=2)
    match = d.argmin(1)
    assert np.sort(match).tolist() == list(range(27))
    assert d.min(1).max() < 1e-9
    np.testing.assert_array_equal(res.is_stable, stable[match])
    # Every start is assigned to the point it ended at.
    ended = res.final_states[res.start_point >= 0]
    np.testing.assert_allclose(ended, res.points[res.start_point[res.start_point >= 0]], atol=1e-3)


def _tanh_rnn(seed, n=10):
    rnn = RateRNN(2, n, 1, tau=100.0, dt=20.0, activation="tanh", w_rec_init="gaussian",
                  w_rec_gain=1.5, seed=seed)
    with torch.no_grad():
        rnn.b_rec.normal_(0, 0.3, generator=torch.Generator().manual_seed(seed))
    return rnn


@pytest.mark.parametrize("seed", [0, 1])
def test_jacobian_matches_finite_differences(seed):
    rnn = _tanh_rnn(seed)
    u = torch.tensor([0.3, -0.2])
    fn = model_step_fn(rnn, u)
    x0 = torch.randn(64, 10, generator=torch.Generator().manual_seed(seed), dtype=D)
    res = find_fixed_points(fn, x0)
    assert len(res.points) >= 1
    h = 1e-6
    for x, jac in zip(res.points, res.jacobians):
        xt = torch.tensor(x)
        cols = [(fn((xt + h * e)[None]) - fn((xt - h * e)[None]))[0] / (2 * h)
                for e in torch.eye(10, dtype=D)]
        # Central differences in float64: error ~ h^2 f''' + eps/h ~ 1e-10.
        np.testing.assert_allclose(jac, torch.stack(cols, 1).numpy(), atol=1e-8)
    # The analytic RateRNN Jacobian equals autograd's on the model's own step.
    generic = find_fixed_points(lambda x: rnn.double().step(x, u.double().expand(len(x), -1)),
                                torch.tensor(res.points))
    np.testing.assert_allclose(generic.jacobians, res.jacobians, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_discrete_and_continuous_forms_agree(seed):
    rnn = _tanh_rnn(seed)
    u = torch.tensor([0.3, -0.2])
    x0 = torch.randn(128, 10, generator=torch.Generator().manual_seed(seed), dtype=D)
    disc = find_fixed_points(model_step_fn(rnn, u), x0)
    # dx/dt = (F(x) - x) / dt, so the same tolerance in continuous units is tol_q / dt^2.
    cont = find_fixed_points(model_step_fn(rnn, u, kind="continuous"), x0, kind="continuous",
                             tol_q=1e-12 / rnn.dt**2)
    assert len(disc.points) == len(cont.points) >= 1
    od, oc = np.lexsort(disc.points.T), np.lexsort(cont.points.T)
    np.testing.assert_allclose(disc.points[od], cont.points[oc], atol=1e-9)
    # J_F = I + dt * J_flow, so lambda_F = 1 + dt lambda_flow and stability agrees.
    np.testing.assert_allclose(disc.jacobians[od],
                               np.eye(10) + rnn.dt * cont.jacobians[oc], atol=1e-10)
    np.testing.assert_array_equal(disc.is_stable[od], cont.is_stable[oc])


def test_planted_rate_rnn_fixed_point_is_found():
    rnn = RateRNN(2, 20, 1, seed=3)
    r_star = torch.rand(20, generator=torch.Generator().manual_seed(3)) + 0.5
    u = torch.tensor([1.0, 0.0])
    with torch.no_grad():  # ReLU with W r* + W_x u + b = r* > 0: r* is a fixed point
        rnn.b_rec.copy_(r_star - rnn.w_rec @ r_star - rnn.w_in @ u)
    res = find_fixed_points(model_step_fn(rnn, u), r_star.double()[None] + 0.05)
    np.testing.assert_allclose(res.points[0], r_star.numpy(), atol=1e-5)  # float32 weights


def test_q_threshold_separates_slow_points():
    eps = 1e-3

    def flow(x):  # dx/dt = (x^2 + eps)(x - 2): fixed point at 2, slow point near 0
        return (x**2 + eps) * (x - 2)

    x0 = torch.linspace(-1.0, 3.0, 41, dtype=D)[:, None]
    res = find_fixed_points(flow, x0, kind="continuous")
    np.testing.assert_allclose(res.points, [[2.0]], atol=1e-10)
    assert len(res.slow_points) == 1
    # The local minimum of q = (x^2+eps)^2 (x-2)^2 / 2 lies at x ~ eps/4, q ~ 2 eps^2.
    assert abs(res.slow_points[0, 0]) < 1e-3
    assert 1e-6 < res.slow_q[0] < 3e-6
    # A smooth minimum: grad q vanishes (to round-off) there, so it is labelled a minimum.
    assert res.slow_is_minimum.tolist() == [True] and res.slow_grad[0] < 1e-10
    assert not ((res.start_point >= 0) & (res.start_slow >= 0)).any()
    assert ((res.start_point >= 0) | (res.start_slow >= 0)).all()


def test_slow_points_where_q_still_slopes_are_labelled_stalled():
    """Not every slow point is a local minimum of q: at a kink of q (as ReLU networks have)
    the starts stall with |grad q| = |g|; starts cut short by max_iter are mid-slope."""
    x0 = torch.linspace(-1.0, 3.0, 41, dtype=D)[:, None]
    kink = find_fixed_points(lambda x: x.abs() + 1.0, x0, kind="continuous")
    assert len(kink.points) == 0 and len(kink.slow_points) == 1
    assert abs(kink.slow_points[0, 0]) < 1e-6 and abs(kink.slow_q[0] - 0.5) < 1e-6
    np.testing.assert_allclose(kink.slow_grad, 1.0, rtol=1e-6)  # |J^T g| = |g| = 1
    assert kink.slow_is_minimum.tolist() == [False]
    assert "1 slow points (0 minima, 1 stalled)" in repr(kink)
    short = find_fixed_points(lambda x: (x**2 + 1e-3) * (x - 2), x0, kind="continuous",
                              max_iter=1)
    assert len(short.slow_points) > 0 and not short.slow_is_minimum.any()


def test_planted_line_attractor_direction_and_order():
    q = _rotation(6, 0)
    lam = torch.tensor([1.0, 0.5, 0.4, 0.3, 0.2, 0.1], dtype=D)
    a = q @ torch.diag(lam) @ q.T
    x0 = torch.randn(200, 6, generator=torch.Generator().manual_seed(0), dtype=D)
    res = find_fixed_points(lambda x: x @ a.T, x0, tol_unique=1e-2)
    assert len(res.points) > 20 and len(res.slow_points) == 0
    la = line_attractor(res)
    assert abs(abs(la.axis @ q[:, 0].numpy()) - 1) < 1e-9
    np.testing.assert_allclose(la.eigenvalues.real, 1.0, atol=1e-9)
    assert la.alignment.min() > 1 - 1e-9
    assert (np.diff(la.position[la.order]) >= 0).all()


def test_sample_states_respects_lengths_and_noise():
    act = torch.ones(4, 10, 3)
    act[:, 5:] = float("nan")
    s = sample_states(act, 500, lengths=[5, 5, 5, 5], noise=0.0, seed=1)
    assert torch.isfinite(s).all() and torch.equal(s, torch.ones(500, 3, dtype=D))
    noisy = sample_states(act, 4000, lengths=[5] * 4, noise=0.1, seed=1)
    assert abs(float((noisy - 1).std()) - 0.1) < 0.005  # 12000 draws: se of std ~ 0.0007


def test_unique_points_keeps_lowest_q():
    pts = np.array([[0.0, 0.0], [0.0, 5e-4], [1.0, 0.0], [1.0, 2e-3]])
    keep, owner = unique_points(pts, np.array([3.0, 1.0, 2.0, 4.0]), tol=1e-3)
    assert keep.tolist() == [1, 2, 3] and owner.tolist() == [0, 0, 1, 2]


def test_errors():
    f = lambda x: x  # noqa: E731
    x0 = torch.zeros(4, 2)
    with pytest.raises(ValueError, match=r"kind must be one of \['discrete', 'continuous'\]"):
        find_fixed_points(f, x0, kind="flow")
    with pytest.raises(ValueError, match=r"initial_states must have shape \(n, N\)"):
        find_fixed_points(f, torch.zeros(4))
    with pytest.raises(ValueError, match=r"inputs must have shape \(I,\) or \(n, I\) with n=4"):
        find_fixed_points(lambda x, u: x, x0, inputs=torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"fn must map states \(n, 2\) to \(n, 2\)"):
        find_fixed_points(lambda x: x[:, :1], x0)
    with pytest.raises(TypeError, match="fn must be callable"):
        find_fixed_points(3, x0)
    with pytest.raises(ValueError, match="tol_q must be > 0"):
        find_fixed_points(f, x0, tol_q=0)
    with pytest.raises(ValueError, match="no fixed points"):
        line_attractor(find_fixed_points(lambda x: x + 1, x0, max_iter=3))
    with pytest.raises(TypeError, match=r"model must have a step\(state, inputs\) method"):
        model_step_fn(object())
    with pytest.raises(ValueError, match=r"activity must have shape \(B, T, N\)"):
        sample_states(torch.zeros(3, 2), 5)
    with pytest.raises(ValueError, match=r"tol_merge must be None or in \[0, 1e-2 \* tol_unique\)"):
        find_fixed_points(f, x0, tol_merge=1e-3)


def _relu_rnn(seed, n=24):
    rnn = RateRNN(2, n, 1, tau=100.0, dt=20.0, w_rec_init="gaussian", w_rec_gain=1.5, seed=seed)
    with torch.no_grad():
        rnn.b_rec.normal_(0, 0.5, generator=torch.Generator().manual_seed(seed))
    return rnn


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merged_starts_give_the_unmerged_result(seed):
    rnn = _relu_rnn(seed)
    fn = model_step_fn(rnn, torch.tensor([0.5, -0.5]))
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(96, 24, generator=g, dtype=D) * 2
    x0 = torch.cat([base, base[:32], base[:32] + 1e-12])  # exact and near duplicates
    merged = find_fixed_points(fn, x0)
    alone = find_fixed_points(fn, x0, tol_merge=None)
    assert len(merged.points) == len(alone.points)
    assert len(merged.slow_points) == len(alone.slow_points)
    assert len(merged.points) + len(merged.slow_points) >= 1
    sm, sa = np.lexsort(merged.slow_points.T), np.lexsort(alone.slow_points.T)
    np.testing.assert_allclose(merged.slow_points[sm], alone.slow_points[sa], atol=1e-9)
    om, oa = np.lexsort(merged.points.T), np.lexsort(alone.points.T)
    np.testing.assert_allclose(merged.points[om], alone.points[oa], atol=1e-9)
    np.testing.assert_array_equal(merged.is_stable[om], alone.is_stable[oa])
    # Same start -> point assignment (up to the order of the points).
    rank_m, rank_a = np.argsort(om), np.argsort(oa)
    ok = merged.start_point >= 0
    np.testing.assert_array_equal(ok, alone.start_point >= 0)
    np.testing.assert_array_equal(rank_m[merged.start_point[ok]], rank_a[alone.start_point[ok]])
    # Duplicated starts were merged into one representative and end exactly where it ends.
    from brainlike.analysis.dynamics._fixed_points import _newton_solve, _parts_fn, _residual_fn

    gfn = _residual_fn(fn, "discrete")
    with torch.no_grad():
        _, _, _, parent = _newton_solve(gfn, fn.jacobian, _parts_fn(fn, "discrete"), x0, None,
                                        tol_q=1e-12, max_iter=200, stall_window=10,
                                        solve_dtype=D, chunk_size=50, tol_merge=1e-9)
    assert (parent[96:128] == parent[:32]).all() and (parent[128:] == parent[:32]).all()
    np.testing.assert_array_equal(merged.final_states[96:128], merged.final_states[:32])
    np.testing.assert_array_equal(merged.n_iter[128:], merged.n_iter[:32])


@pytest.mark.parametrize("seed", [0, 1])
def test_reduced_newton_and_lm_steps_equal_full_solves(seed):
    from brainlike.analysis.dynamics._fixed_points import (
        _lm_full,
        _lm_reduced,
        _newton_direction,
    )

    g = torch.Generator().manual_seed(seed)
    m, n, c = 40, 16, -0.2
    w = torch.randn(n, n, generator=g, dtype=D) / n**0.5
    sv = 0.2 * torch.rand(m, n, generator=g, dtype=D)
    sv[torch.rand(m, n, generator=g) < 0.5] = 0.0  # ReLU-like: a different silent set per row
    sv[0] = 0.0  # all units decoupled
    sv[1] = 0.1  # none decoupled
    r = torch.randn(m, n, generator=g, dtype=D)
    jac = c * torch.eye(n, dtype=D) + sv[:, :, None] * w
    d, usable = _newton_direction((c, sv, w), r, D)
    assert usable.all()
    # cond(J) is O(10) here, so the solves agree to ~1e-15 relative; 1e-12 leaves margin.
    np.testing.assert_allclose(d, torch.linalg.solve(jac, -r), atol=1e-12)
    mu = torch.logspace(-6, 2, m, dtype=D)
    rows = torch.arange(m)
    scale_f, solve_f = _lm_full(jac, r)
    scale_r, solve_r = _lm_reduced((c, sv, w), r)
    np.testing.assert_allclose(scale_r, scale_f, rtol=1e-12)
    (step_f, ok_f), (step_r, ok_r) = solve_f(rows, mu), solve_r(rows, mu)
    assert ok_f.all() and ok_r.all()
    np.testing.assert_allclose(step_r, step_f, atol=1e-10)


def test_float32_solves_with_refinement_reach_float64_points():
    rnn = _tanh_rnn(0)
    fn = model_step_fn(rnn, torch.tensor([0.3, -0.2]))
    x0 = torch.randn(64, 10, generator=torch.Generator().manual_seed(0), dtype=D)
    ref = find_fixed_points(fn, x0)
    low = find_fixed_points(fn, x0, solve_dtype=torch.float32)
    assert len(low.points) == len(ref.points) >= 1
    assert low.q.max() < 1e-12
    ol, orf = np.lexsort(low.points.T), np.lexsort(ref.points.T)
    np.testing.assert_allclose(low.points[ol], ref.points[orf], atol=1e-9)


def test_a_users_cached_jacobian_is_never_modified():
    """The finder subtracts the identity from fn.jacobian's result out of place."""
    g = torch.Generator().manual_seed(0)
    w = 0.5 * torch.randn(5, 5, generator=g, dtype=D)
    b = torch.randn(5, generator=g, dtype=D)

    class Linear:
        def __init__(self):
            self.cache = {}

        def __call__(self, x):
            return x @ w.T + b

        def jacobian(self, x):  # the same tensor for every call with n rows, as a cache gives
            return self.cache.setdefault(x.shape[0], w.repeat(x.shape[0], 1, 1))

    fn = Linear()
    res = find_fixed_points(fn, torch.randn(8, 5, generator=g, dtype=D))
    for cached in fn.cache.values():
        assert torch.equal(cached, w.expand_as(cached))
    np.testing.assert_allclose(res.jacobians[0], w.numpy(), atol=0)
    want = np.linalg.eigvals(w.numpy())
    np.testing.assert_allclose(np.sort(np.abs(res.eigenvalues[0])), np.sort(np.abs(want)),
                               atol=1e-12)


def test_a_float32_function_is_a_named_error_or_runs_in_float32():
    rnn = RateRNN(3, 8, 2, seed=0)
    u = torch.tensor([1.0, 0.5, 0.5])
    fn32 = model_step_fn(rnn, u, dtype=torch.float32)
    x0 = torch.rand(6, 8, generator=torch.Generator().manual_seed(0))
    fix = r"find_fixed_points runs in dtype=torch\.float64: pass the dtype fn computes in"
    with pytest.raises(TypeError, match=r"fn cannot take torch\.float64 states \(state must "
                                        r"have the model's dtype torch\.float32.*" + fix):
        find_fixed_points(fn32, x0)
    w = torch.randn(8, 8, generator=torch.Generator().manual_seed(1))  # float32 weights
    with pytest.raises(TypeError, match=r"fn cannot take torch\.float64 states \(expected m1 "
                                        r"and m2 to have the same dtype.*" + fix):
        find_fixed_points(lambda x: torch.tanh(x @ w.T), x0)
    with pytest.raises(TypeError, match=r"fn returned torch\.float32 states for torch\.float64 "
                                        r"states; " + fix):
        find_fixed_points(lambda x: x.float() * 0.5, x0)
    with pytest.raises(TypeError, match=r"fn\.jacobian must give torch\.float64 \(n, 8, 8\) "
                                        r"Jacobians for torch\.float64 states; got torch\.float32"):
        fn = model_step_fn(rnn, u)
        fn.jacobian = lambda x: torch.zeros(x.shape[0], 8, 8)
        find_fixed_points(fn, x0)
    # In its own dtype it runs; its fixed point is the float64 one to float32 precision.
    res32 = find_fixed_points(fn32, x0, dtype=torch.float32, tol_q=1e-10)
    res64 = find_fixed_points(model_step_fn(rnn, u), x0)
    assert len(res32.points) == len(res64.points) == 1
    np.testing.assert_allclose(res32.points[0], res64.points[0], atol=1e-5)
