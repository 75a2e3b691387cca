"""Dynamical similarity analysis (Ostrow et al. 2023): the properties the paper states."""

import itertools

import numpy as np
import pytest

from brainlike.analysis import delay_dmd, delay_embed, dsa, procrustes_vector_fields
from brainlike.recordings import Recording


def test_delay_embed_matches_its_definition():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 20, 4))
    h = delay_embed(x, n_delays=3, delay_interval=2)
    assert h.shape == (3, 16, 12)
    for k, t, j in itertools.product(range(3), range(16), range(3)):
        # row t holds x(t + 4), x(t + 2), x(t): current state first
        np.testing.assert_array_equal(h[k, t, 4 * j:4 * j + 4], x[k, t + 4 - 2 * j])
    with pytest.raises(ValueError, match="needs more than 41 time steps; the data have 20"):
        delay_embed(x, n_delays=21, delay_interval=2)


def test_delay_dmd_recovers_a_linear_systems_eigenvalues():
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    a = q @ np.diag([0.95, 0.8, -0.5, 0.3]) @ q.T + 0.05 * rng.normal(size=(4, 4))
    x = np.zeros((6, 40, 4))
    x[:, 0] = rng.normal(size=(6, 4))
    for t in range(39):
        x[:, t + 1] = x[:, t] @ a.T
    fit = delay_dmd(x)
    expect = np.linalg.eigvals(a)
    got = fit.eigenvalues
    assert fit.rank == 4 and fit.explained_variance == pytest.approx(1.0)
    np.testing.assert_allclose(np.sort_complex(got), np.sort_complex(expect), atol=1e-8)


def test_dsa_is_invariant_to_invertible_linear_maps():
    rng = np.random.default_rng(2)
    t = np.arange(400) * 0.05
    x = np.stack([np.cos(t) * 0.99 ** np.arange(400), np.sin(t), np.sin(2.3 * t)], axis=1)
    x += 0.01 * rng.normal(size=x.shape)
    m = rng.normal(size=(3, 3)) + 2 * np.eye(3)  # invertible, not orthogonal
    assert np.linalg.cond(m) < 100
    for kw in ({"rank": 3}, {"n_delays": 3, "rank": 9}):
        assert dsa(x, x @ m, **kw).distance < 1e-6
        assert dsa(x, x @ m, score="wasserstein", **kw).distance < 1e-10
        assert dsa(x, x @ m, score="euclidean", **kw).distance < 1e-6


def test_procrustes_vector_fields_finds_the_orthogonal_similarity():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(7, 7))
    q, _ = np.linalg.qr(rng.normal(size=(7, 7)))
    q[:, 0] *= -1  # a reflection (det -1) is allowed too
    c, cosine = procrustes_vector_fields(a, 3.0 * q.T @ a @ q)
    assert cosine == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(c.T @ c, np.eye(7), atol=1e-12)
    np.testing.assert_allclose(c @ (q.T @ a @ q) @ c.T, a, atol=1e-9)


def test_procrustes_vector_fields_reaches_the_global_optimum_in_two_dimensions():
    """O(2) is a circle of rotations and one of reflections: a fine grid finds the optimum."""
    rng = np.random.default_rng(4)
    for _ in range(5):
        a, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
        a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
        phi = np.linspace(0, 2 * np.pi, 100000, endpoint=False)
        rot = np.stack([np.stack([np.cos(phi), -np.sin(phi)], -1), np.stack([np.sin(phi), np.cos(phi)], -1)], 1)
        best = -np.inf
        for det in (1.0, -1.0):
            c = rot @ np.diag([1.0, det])
            best = max(best, np.einsum("ij,sij->s", a, c @ b @ np.swapaxes(c, 1, 2)).max())
        _, cosine = procrustes_vector_fields(a, b)
        assert best - 1e-6 <= cosine <= best + 1e-6


def test_wasserstein_score_is_the_optimal_matching_of_eigenvalues():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(300, 5)), rng.normal(size=(300, 5))
    y[1:] += 0.8 * y[:-1]
    res = dsa(x, y, score="wasserstein")
    ea, eb = np.linalg.eigvals(res.dmd_x.A), np.linalg.eigvals(res.dmd_y.A)
    brute = min(np.mean(np.abs(ea - eb[list(p)]) ** 2) for p in itertools.permutations(range(5)))
    assert res.distance == pytest.approx(brute, rel=1e-12)
    assert res.C is None


def _system(kind, seed, n_trials=30, n_time=40, dt=0.3, tau=1.0, omega=2.0, noise=0.005):
    """Ring attractor, limit cycle or line attractor in 2-D, seen through a random 2 -> 6 map."""
    rng = np.random.default_rng(seed)
    if kind == "line":
        z = np.stack([rng.uniform(-1, 1, n_trials), rng.uniform(-0.5, 0.5, n_trials)], axis=1)
    else:
        r, th = rng.uniform(0.5, 1.5, n_trials), rng.uniform(0, 2 * np.pi, n_trials)
        z = np.stack([r, th], axis=1)
    out = np.zeros((n_trials, n_time, 2))
    for t in range(n_time):
        if kind == "line":  # x stays, y relaxes onto the line y = 0
            out[:, t] = z
            z = z * np.array([1.0, 1 - dt / tau])
        else:  # radius relaxes onto the circle; the phase stays (ring) or turns (cycle)
            out[:, t] = np.stack([z[:, 0] * np.cos(z[:, 1]), z[:, 0] * np.sin(z[:, 1])], axis=1)
            z = z + dt * np.stack([-(z[:, 0] - 1) / tau, np.full(n_trials, omega * (kind == "cycle"))], 1)
        z = z + noise * rng.normal(size=z.shape)
    return out @ rng.normal(size=(2, 6)), out


def test_dsa_separates_same_geometry_different_dynamics():
    """A ring attractor and a limit cycle visit the same states (at every time the same radius
    and a uniform phase), yet DSA sets them apart; a line attractor differs from both. The same
    system seen through other coordinates, trials and noise stays close."""
    kinds = ("ring", "cycle", "line")
    data = {(k, s): _system(k, seed=10 * i + s) for i, k in enumerate(kinds) for s in range(2)}
    # same geometry: the radius distribution over time and the state covariance agree
    ring, cycle = data[("ring", 0)][1], _system("cycle", seed=0)[1]
    np.testing.assert_allclose(np.linalg.norm(ring, axis=2), np.linalg.norm(cycle, axis=2), atol=0.1)
    keys = list(data)
    dist = np.zeros((6, 6))
    for i, j in itertools.combinations(range(6), 2):
        d = dsa(data[keys[i]][0], data[keys[j]][0], n_delays=2, rank=4).distance
        dist[i, j] = dist[j, i] = d
    same = [dist[i, i + 1] for i in (0, 2, 4)]
    different = [dist[i, j] for i, j in itertools.combinations(range(6), 2) if keys[i][0] != keys[j][0]]
    assert max(same) < 0.1
    assert min(different) > 5 * max(same)  # measured: 0.51 vs 0.069
    # the eigenvalue (Wasserstein) score separates them by two orders of magnitude
    w = {k: dsa(data[k][0], data[(k[0], 1)][0], n_delays=2, rank=4, score="wasserstein").distance
         for k in keys if k[1] == 0}
    w_cross = dsa(data[("ring", 0)][0], data[("cycle", 0)][0], n_delays=2, rank=4,
                  score="wasserstein").distance
    assert w_cross > 50 * max(w.values())


def test_dsa_takes_recordings_and_fitted_operators_and_refuses_bad_input():
    x, _ = _system("ring", seed=1)
    rec = Recording(x)
    fit = delay_dmd(x, n_delays=2, rank=4)
    assert dsa(rec, fit, n_delays=2, rank=4).distance < 1e-6
    with pytest.raises(ValueError, match="score must be one of"):
        dsa(x, x, score="cosine")
    with pytest.raises(ValueError, match="ranks 4 and 2"):
        dsa(fit, delay_dmd(x, rank=2))
    assert dsa(fit, delay_dmd(x, rank=2), score="wasserstein").distance > 0
    with pytest.raises(ValueError, match="must be finite"):
        dsa(Recording(np.full((2, 5, 3), np.nan)), x)
    with pytest.raises(ValueError, match="fewer than rank=12 independent delay coordinates"):
        delay_dmd(x, n_delays=2)  # 6 observed dims of a 2-D system: rank 4 only
    with pytest.raises(ValueError, match="give rank or rank_explained_variance, not both"):
        delay_dmd(x, rank=2, rank_explained_variance=0.9)
    with pytest.raises(ValueError, match=r"rank must be <= 6"):
        delay_dmd(x, rank=7)
    with pytest.raises(ValueError, match="fewer than rank=3 independent"):
        delay_dmd(x, rank=3)
    assert delay_dmd(x, n_delays=2, rank_explained_variance=0.999999).rank == 4
    with pytest.raises(ValueError, match="square matrices of one shape"):
        procrustes_vector_fields(np.eye(3), np.eye(2))
    with pytest.raises(ValueError, match="n_init must be an int >= 0"):
        procrustes_vector_fields(np.eye(3), np.eye(3), n_init=-1)
    with pytest.raises(ValueError, match="must not be zero matrices"):
        procrustes_vector_fields(np.eye(3), np.zeros((3, 3)))
