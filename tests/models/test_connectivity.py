"""Facts about connectivity parameterizations: constraints hold after training, not just at init."""

import pytest
import torch

from brainlike.models import (
    Area,
    Dale,
    FixedPlusTrainable,
    LowRank,
    MultiArea,
    Projection,
    RateRNN,
    SparseMask,
)
from brainlike.models._bptt import leaky_loop_reference
from brainlike.training import AnchorPenalty, SparsityPenalty


def _train_hard(model, *, steps=30, lr=0.05, seed=0):
    """Adam with a large step on a random regression target: pushes every parameter around.

    Returns the largest change of any parameter, so tests can check training did something.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 10, model.n_input, generator=g).abs()
    y = 3 * torch.randn(8, 10, model.n_output, generator=g)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        out = model(x, noise=False).outputs
        ((out - y) ** 2).mean().backward()
        opt.step()
    return max(float((v.detach() - before[k]).abs().max()) for k, v in model.named_parameters())


@pytest.mark.parametrize("positive", ["rectify", "abs"])
@pytest.mark.parametrize("seed", [0, 1])
def test_dale_signs_and_routes_hold_after_training(positive, seed):
    dale = Dale(30, e_fraction=0.8, positive=positive, seed=seed)
    rnn = RateRNN(3, 30, 2, connectivity=dale, seed=seed)
    assert _train_hard(rnn, seed=seed) > 0.1
    # The raw parameters did cross zero: the sign guarantee comes from the reparameterization.
    assert bool((dale.weight < 0).any())
    w = rnn.effective_weights()
    exc = dale.excitatory
    assert int(exc.sum()) == 24
    assert bool((w.w_rec[:, exc] >= 0).all()) and bool((w.w_rec[:, ~exc] <= 0).all())
    assert bool((torch.diagonal(w.w_rec) == 0).all())
    assert bool((w.w_in >= 0).all()) and bool((w.w_in[~exc] == 0).all())
    assert bool((w.w_out >= 0).all()) and bool((w.w_out[:, ~exc] == 0).all())


def test_dale_readout_from_all_has_negative_inhibitory_readout():
    dale = Dale(20, readout_from="all", inputs_to="all", seed=0)
    rnn = RateRNN(2, 20, 3, connectivity=dale, seed=0)
    _train_hard(rnn)
    w = rnn.effective_weights()
    exc = dale.excitatory
    assert bool((w.w_out[:, exc] >= 0).all()) and bool((w.w_out[:, ~exc] <= 0).all())
    assert bool((w.w_out[:, ~exc] < 0).any()) and bool((w.w_in[~exc] > 0).any())


def test_abs_and_rectify_are_the_absolute_value_and_the_positive_part():
    for positive, f in (("abs", torch.abs), ("rectify", torch.relu)):
        dale = Dale(10, positive=positive, seed=0)
        with torch.no_grad():
            dale.weight.copy_(torch.randn(10, 10, generator=torch.Generator().manual_seed(0)))
        expected = f(dale.weight) * dale.mask * dale.cell_sign
        torch.testing.assert_close(dale.recurrent(), expected, rtol=0, atol=0)


def test_dale_init_has_the_requested_spectral_radius_and_balanced_rows():
    dale = Dale(400, e_fraction=0.8, spectral_radius=1.5, seed=3)
    w = dale.recurrent().detach().double()
    rho = torch.linalg.eigvals(w).abs().max()
    assert abs(float(rho) - 1.5) < 1e-4
    exc = dale.excitatory
    # Each row balanced in expectation (Song et al. 2016): 320 Gamma(2) E-weights vs 80 scaled
    # I-weights per row; the ratio of the totals over 400 rows has relative sd < 1%.
    ratio = w[:, exc].sum() / -w[:, ~exc].sum()
    assert abs(float(ratio) - 1.0) < 0.05


def test_dale_mask_and_density_are_respected():
    mask = torch.rand(15, 15, generator=torch.Generator().manual_seed(0)) < 0.3
    dale = Dale(15, mask=mask, self_connections=True, seed=0)
    rnn = RateRNN(2, 15, 2, connectivity=dale, seed=0)
    _train_hard(rnn)
    assert bool((rnn.effective_weights().w_rec[~mask] == 0).all())
    dense = Dale(200, density=0.1, seed=0)
    assert abs(float(dense.mask.mean()) - 0.1) < 0.02  # 40000 Bernoulli(0.1) draws: sd 0.0015


@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_mask_keeps_weights_inside_the_mask_after_training(seed):
    sparse = SparseMask(25, density=0.2, seed=seed)
    rnn = RateRNN(3, 25, 2, connectivity=sparse, seed=seed)
    assert _train_hard(rnn, seed=seed) > 0.1
    w = rnn.effective_weights().w_rec
    outside = ~sparse.mask.bool()
    assert bool(outside.any()) and bool((w[outside] == 0).all())
    assert bool((w[~outside] != 0).all())


def test_fixed_entries_are_unchanged_after_training():
    g = torch.Generator().manual_seed(0)
    w_fix = 0.3 * torch.randn(20, 20, generator=g)
    trainable = torch.rand(20, 20, generator=g) < 0.25
    conn = FixedPlusTrainable(w_fix, trainable)
    rnn = RateRNN(3, 20, 2, connectivity=conn, seed=0)
    assert _train_hard(rnn) > 0.1
    w = rnn.effective_weights().w_rec.detach()
    assert torch.equal(w[~trainable], w_fix[~trainable])
    assert float((w[trainable] - w_fix[trainable]).abs().max()) > 0.1


@pytest.mark.parametrize("rank", [1, 3])
def test_low_rank_stays_low_rank_after_training(rank):
    conn = LowRank(30, rank, seed=rank)
    rnn = RateRNN(2, 30, 2, connectivity=conn, activation="tanh", seed=0)
    assert _train_hard(rnn) > 0.1
    w = rnn.effective_weights().w_rec.detach()
    assert int(torch.linalg.matrix_rank(w)) == rank
    torch.testing.assert_close(w, conn.m @ conn.n.T / 30, rtol=0, atol=0)


def test_low_rank_plus_random_part_is_low_rank_around_the_fixed_random_matrix():
    conn = LowRank(30, 2, g=0.8, seed=0)
    rnn = RateRNN(2, 30, 2, connectivity=conn, activation="tanh", seed=0)
    chi = conn.chi.clone()
    _train_hard(rnn)
    w = rnn.effective_weights().w_rec.detach()
    assert torch.equal(conn.chi, chi)
    assert int(torch.linalg.matrix_rank(w - 0.8 * chi / 30**0.5)) <= 2


def _two_areas(seed=0):
    return MultiArea(
        [Area("sensory", 20, e_fraction=0.75), Area("decision", 16, e_fraction=0.75)],
        [Projection("sensory", "decision", 0.5), Projection("decision", "sensory", 0.2)],
        seed=seed,
    )


def test_multi_area_structure_holds_after_training():
    conn = _two_areas()
    rnn = RateRNN(3, 36, 2, connectivity=conn, seed=0)
    assert _train_hard(rnn) > 0.1
    w = rnn.effective_weights()
    s, d = conn.area_slices["sensory"], conn.area_slices["decision"]
    exc = conn.excitatory
    assert exc[s].tolist() == [True] * 15 + [False] * 5
    # Long-range projections only from excitatory units, both directions present.
    assert bool((w.w_rec[d, s][:, ~exc[s]] == 0).all()) and bool((w.w_rec[d, s] > 0).any())
    assert bool((w.w_rec[s, d][:, ~exc[d]] == 0).all()) and bool((w.w_rec[s, d] > 0).any())
    # Inputs reach sensory E units only; readout sees decision E units only.
    # (Rectified weights may die in training, hence "any" for the allowed routes.)
    rows = w.w_in.abs().sum(1) > 0
    assert bool(rows[s][exc[s]].any()) and not bool(rows[d].any()) and not bool(rows[s][~exc[s]].any())
    cols = w.w_out.abs().sum(0) > 0
    assert bool(cols[d][exc[d]].any()) and not bool(cols[s].any()) and not bool(cols[d][~exc[d]].any())
    assert bool((w.w_rec[:, exc] >= 0).all()) and bool((w.w_rec[:, ~exc] <= 0).all())


def test_multi_area_inputs_and_readout_can_include_inhibitory_units():
    conn = MultiArea(
        [Area("sensory", 20), Area("decision", 16)],
        [Projection("sensory", "decision", 0.3), Projection("decision", "sensory", 0.1)],
        input_cells="all", readout_cells="all", positive="abs", seed=0,
    )
    rnn = RateRNN(3, 36, 2, connectivity=conn, seed=0)
    _train_hard(rnn)
    w = rnn.effective_weights()
    s, d = conn.area_slices["sensory"], conn.area_slices["decision"]
    exc = conn.excitatory
    # Every sensory unit (E and I) gets inputs, no decision unit does; all of them >= 0.
    assert bool((w.w_in[s].abs().sum(1) > 0).all()) and bool((w.w_in[d] == 0).all())
    assert bool((w.w_in >= 0).all())
    # Readout from every decision unit, positive from E and negative from I, none from sensory.
    assert bool((w.w_out[:, s] == 0).all())
    assert bool((w.w_out[:, d][:, exc[d]] > 0).all()) and bool((w.w_out[:, d][:, ~exc[d]] < 0).all())
    assert conn.config()["input_cells"] == "all" and conn.config()["readout_cells"] == "all"
    with pytest.raises(ValueError, match="readout_cells"):
        MultiArea([Area("a", 4)], readout_cells="inhibitory")


def test_multi_area_without_feedback_has_no_feedback_weights():
    conn = MultiArea([Area("a", 10), Area("b", 10)], [Projection("a", "b", 0.5)], seed=0)
    rnn = RateRNN(2, 20, 2, connectivity=conn, seed=0)
    _train_hard(rnn)
    w = rnn.effective_weights().w_rec
    assert bool((w[:10, 10:] == 0).all()) and bool((w[10:, :10] != 0).any())


@pytest.mark.parametrize(
    "make",
    [
        lambda: Dale(12, seed=0),
        lambda: SparseMask(12, density=0.5, seed=0),
        lambda: LowRank(12, 2, g=0.5, seed=0),
        lambda: MultiArea([Area("a", 6), Area("b", 6)], [Projection("a", "b", 0.5)], seed=0),
    ],
)
def test_network_uses_its_effective_weights_and_the_fast_loop_gradients_agree(make):
    rnn = RateRNN(3, 12, 2, connectivity=make(), train_initial_state=True, seed=0).double()
    with torch.no_grad():
        rnn.r0.uniform_(0, 0.5)
    x = torch.rand(4, 7, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    outputs, activity, _ = rnn(x, noise=False)
    w = rnn.effective_weights()
    u = (x @ w.w_in.T + rnn.b_rec).transpose(0, 1)
    r0 = rnn.r0.expand(4, -1)
    naive = leaky_loop_reference(u, w.w_rec, r0, rnn.alpha, rnn._act).transpose(0, 1)
    naive_out = naive @ w.w_out.T + rnn.b_out
    torch.testing.assert_close(activity, naive, rtol=0, atol=1e-12)
    probe = torch.randn(outputs.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    params = [p for p in rnn.parameters()]
    g_fast = torch.autograd.grad((outputs * probe).sum(), params)
    g_naive = torch.autograd.grad((naive_out * probe).sum(), params)
    for a, b in zip(g_fast, g_naive):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)  # float64; summation order only
    # step() uses the same effective weights.
    torch.testing.assert_close(rnn.step(r0, x[:, 0]), activity[:, 0], rtol=0, atol=1e-12)


def test_state_dict_round_trip_rebuilds_the_same_network():
    a = RateRNN(3, 12, 2, connectivity=Dale(12, density=0.5, seed=4), seed=1)
    _train_hard(a, steps=5)
    b = RateRNN(3, 12, 2, connectivity=Dale(12, density=0.5, seed=4), seed=1)
    b.load_state_dict(a.state_dict())
    x = torch.rand(2, 5, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a(x, noise=False).outputs, b(x, noise=False).outputs, rtol=0, atol=0)
    assert a.config()["connectivity"]["type"] == "dale"
    assert "connectivity" not in RateRNN(3, 12, 2, seed=0).config()


def test_anchor_penalty_is_eq_44_and_its_gradient():
    conn = FixedPlusTrainable(torch.zeros(6, 6), torch.ones(6, 6, dtype=torch.bool))
    rnn = RateRNN(2, 6, 1, connectivity=conn, seed=0).double()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        conn.weight.copy_(torch.randn(6, 6, generator=g))
    ref = torch.randn(6, 6, generator=g)
    imp = torch.rand(6, 6, generator=g)
    pen = AnchorPenalty(0.3, reference=ref, importance=imp)
    value = pen(rnn, torch.zeros(1))
    w = conn.weight.detach()
    torch.testing.assert_close(value.detach(), 0.3 * (imp.double() * (w - ref) ** 2).sum())
    (grad,) = torch.autograd.grad(value, conn.weight)
    torch.testing.assert_close(grad, 0.6 * imp.double() * (w - ref.double()))


def test_anchor_penalty_holds_important_weights_near_the_reference():
    def drift(beta):
        g = torch.Generator().manual_seed(0)
        w_fix = 0.3 * torch.randn(15, 15, generator=g)
        conn = FixedPlusTrainable(w_fix, torch.ones(15, 15, dtype=torch.bool))
        rnn = RateRNN(2, 15, 2, connectivity=conn, seed=0)
        pen = AnchorPenalty(beta, reference=w_fix)
        opt = torch.optim.Adam(rnn.parameters(), lr=0.02)
        x = torch.rand(4, 8, 2, generator=g)
        y = 2 * torch.randn(4, 8, 2, generator=g)
        for _ in range(30):
            opt.zero_grad()
            out = rnn(x, noise=False)
            (((out.outputs - y) ** 2).mean() + pen(rnn, out.activity)).backward()
            opt.step()
        return float((rnn.effective_weights().w_rec.detach() - w_fix).abs().mean())

    assert drift(10.0) < 0.5 * drift(0.0)


def test_sparsity_penalty_is_the_l1_norm_of_the_effective_weights():
    rnn = RateRNN(2, 10, 1, connectivity=Dale(10, seed=0), seed=0)
    value = SparsityPenalty(0.01)(rnn, torch.zeros(1))
    torch.testing.assert_close(value, 0.01 * rnn.effective_weights().w_rec.abs().sum())


# -- errors ------------------------------------------------------------------------------------


def test_errors_name_the_argument_and_the_values():
    with pytest.raises(ValueError, match=r"n_units must be equal to n_hidden.*Expected 10, got 12"):
        RateRNN(2, 10, 1, connectivity=Dale(12, seed=0))
    with pytest.raises(TypeError, match="'connectivity' parameter of RateRNN must be a Connectivity"):
        RateRNN(2, 10, 1, connectivity=torch.zeros(10, 10))
    with pytest.raises(ValueError, match=r"'e_fraction' parameter of Dale.*Got 1\.5"):
        Dale(10, e_fraction=1.5)
    with pytest.raises(ValueError, match="'positive' parameter of Dale must be one of"):
        Dale(10, positive="square")
    with pytest.raises(ValueError, match="at least one excitatory unit"):
        Dale(10, e_fraction=0.01)
    with pytest.raises(ValueError, match="either 'density' or 'mask'"):
        Dale(4, density=0.5, mask=torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"'mask' parameter of SparseMask must have shape.*\(5, 5\)"):
        SparseMask(5, mask=torch.ones(4, 4))
    with pytest.raises(ValueError, match="only 0 and 1"):
        SparseMask(2, mask=torch.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="exactly one of 'density' and 'mask'"):
        SparseMask(5)
    with pytest.raises(ValueError, match=r"'rank' parameter of LowRank must be <= n_units=4\. Got 5"):
        LowRank(4, 5)
    with pytest.raises(ValueError, match="'w_fixed' parameter of FixedPlusTrainable must be a square"):
        FixedPlusTrainable(torch.zeros(3, 4), torch.ones(3, 4))
    with pytest.raises(ValueError, match=r"'inputs_to' parameter of MultiArea.*unknown \['v1'\]"):
        MultiArea([Area("a", 4)], inputs_to=["v1"])
    with pytest.raises(ValueError, match="Area names of MultiArea must be unique"):
        MultiArea([Area("a", 4), Area("a", 4)])
    with pytest.raises(ValueError, match="links an area to itself"):
        MultiArea([Area("a", 4)], [Projection("a", "a", 0.5)])
    with pytest.raises(ValueError, match=r"'density' parameter of Projection\('a' -> 'b'\)"):
        Projection("a", "b", 1.5)
    with pytest.raises(ValueError, match="'importance' parameter of AnchorPenalty must have the shape"):
        AnchorPenalty(1.0, reference=torch.zeros(3, 3), importance=torch.ones(2, 2))
    with pytest.raises(ValueError, match="'beta' parameter of SparsityPenalty"):
        SparsityPenalty(-1.0)


@pytest.mark.parametrize("positive", ["rectify", "abs"])
def test_a_readout_row_pushed_below_zero_is_dead_under_rectify_only(positive):
    # Why the first multi-area run sat at chance: once every raw readout weight of an output is
    # negative, "rectify" gives it weight 0 *and* gradient 0 for good; "abs" keeps a gradient.
    dale = Dale(10, positive=positive, seed=0)
    rnn = RateRNN(2, 10, 3, connectivity=dale, seed=0)
    with torch.no_grad():
        rnn.w_out[1] = -rnn.w_out[1].abs() - 0.1
    out = rnn(torch.ones(4, 5, 2), noise=False).outputs
    out[..., 1].sum().backward()
    grad = rnn.w_out.grad[1, dale.excitatory]
    if positive == "rectify":
        assert bool((rnn.effective_weights().w_out[1] == 0).all())
        assert bool((grad == 0).all())
    else:
        assert bool((grad != 0).any())
