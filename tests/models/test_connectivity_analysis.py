"""Facts about the selectivity and wiring analyses (brainlike.analysis.connectivity)."""

import numpy as np
import pytest

from brainlike.analysis import choice_wiring, sort_by_selectivity, unit_selectivity, weights_by_type


def _planted(seed, n_e=16, n_i=4, w_same=0.8, w_diff=0.2):
    """E units 0..7 prefer choice 1, 8..15 choice 2; E->E weight w_same within, w_diff across."""
    rng = np.random.default_rng(seed)
    n = n_e + n_i
    pref = np.r_[np.full(n_e // 2, -1.0), np.full(n_e // 2, 1.0), rng.choice([-1.0, 1.0], n_i)]
    sign = np.r_[np.ones(n_e), -np.ones(n_i)]
    w = rng.uniform(0, 1, (n, n)) * sign[None, :]
    same = pref[:, None] == pref[None, :]
    w[:n_e, :n_e] = np.where(same[:n_e, :n_e], w_same, w_diff)
    np.fill_diagonal(w, 0.0)
    labels = rng.integers(1, 3, 200)
    rates = rng.normal(size=(200, 5, n)) * 0.5 + 1.0
    rates += np.where(labels == 2, 1.0, -1.0)[:, None, None] * pref[None, None, :] * 0.5
    return w, sign, pref, labels, rates


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_choice_clusters_are_recovered(seed):
    w, sign, pref, labels, rates = _planted(seed)
    sel = unit_selectivity(rates, labels)
    assert np.array_equal(np.sign(sel.d_prime), pref)  # d' = 2 per unit, sd ~0.15 over 200 trials
    c = choice_wiring(w, sel.d_prime, sign, threshold=0.5)
    assert c.same == pytest.approx(0.8) and c.different == pytest.approx(0.2)
    assert c.ratio == pytest.approx(4.0)
    assert (c.n_same, c.n_different) == (2 * 8 * 7, 2 * 8 * 8)


def test_d_prime_is_invariant_to_positive_affine_maps_and_flips_with_the_labels():
    _, _, _, labels, rates = _planted(0)
    d = unit_selectivity(rates, labels).d_prime
    np.testing.assert_allclose(unit_selectivity(3.0 * rates + 2.0, labels).d_prime, d, rtol=1e-10)
    np.testing.assert_allclose(unit_selectivity(rates, 3 - labels).d_prime, -d, rtol=1e-10)


def test_window_restricts_the_average_to_the_given_steps():
    rates = np.zeros((4, 6, 1))
    rates[2:, 2:4, 0] = 1.0
    rates[[0, 2], 2:4, 0] += 0.1
    window = np.tile([2, 4], (4, 1))
    inside = unit_selectivity(rates, [0, 0, 1, 1], window).d_prime
    everywhere = unit_selectivity(rates, [0, 0, 1, 1]).d_prime
    assert inside[0] == pytest.approx(20.0) and everywhere[0] == pytest.approx(20.0)
    rates[:, 0, 0] = np.array([5.0, -5.0, 3.0, 0.0])  # outside the window: no effect inside
    assert unit_selectivity(rates, [0, 0, 1, 1], window).d_prime[0] == pytest.approx(20.0)


def test_sorting_is_a_consistent_permutation_with_e_first_and_increasing_selectivity():
    w, sign, _, labels, rates = _planted(1)
    d = unit_selectivity(rates, labels).d_prime
    s = sort_by_selectivity(w, d, sign)
    assert sorted(s.order.tolist()) == list(range(20))
    np.testing.assert_array_equal(s.weights, w[np.ix_(s.order, s.order)])
    assert s.n_excitatory == 16 and np.all(s.cell_sign[:16] > 0) and np.all(s.cell_sign[16:] < 0)
    assert np.all(np.diff(s.d_prime[:16]) >= 0) and np.all(np.diff(s.d_prime[16:]) >= 0)


def test_weights_by_type_partition_the_off_diagonal_connections():
    w, sign, _, _, _ = _planted(2)
    t = weights_by_type(w, sign)
    total = sum(len(x) for x in (t.e_to_e, t.e_to_i, t.i_to_e, t.i_to_i))
    assert total == int(np.count_nonzero(w - np.diag(np.diag(w))))
    assert np.all(t.e_to_e > 0) and np.all(t.e_to_i > 0)
    assert np.all(t.i_to_e < 0) and np.all(t.i_to_i < 0)
    assert len(t.e_to_i) == 4 * 16 and len(t.i_to_e) == 16 * 4


def test_analysis_errors_name_the_argument():
    with pytest.raises(ValueError, match="'labels' must take exactly two values"):
        unit_selectivity(np.zeros((3, 2, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match=r"'activity' must have shape \(batch, time, unit\)"):
        unit_selectivity(np.zeros((3, 2)), [0, 1, 1])
    with pytest.raises(ValueError, match=r"'window' must be a \(batch, 2\)"):
        unit_selectivity(np.zeros((2, 3, 1)), [0, 1], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="'cell_sign' must hold only"):
        weights_by_type(np.zeros((2, 2)), [1, 0])
    with pytest.raises(ValueError, match="Lower the threshold"):
        choice_wiring(np.zeros((3, 3)), [0.1, 0.2, -0.1], [1, 1, 1], threshold=0.5)


def test_figures_show_the_sorted_matrix_and_every_weight():
    from brainlike.viz import connectivity_matrix, weight_distributions

    w, sign, _, labels, rates = _planted(0)
    s = sort_by_selectivity(w, unit_selectivity(rates, labels).d_prime, sign)
    fig = connectivity_matrix(s)
    np.testing.assert_array_equal(np.asarray(fig.axes[0].images[0].get_array()), s.weights)
    t = weights_by_type(w, sign)
    fig = weight_distributions(t)
    counts = [sum(p.get_height() for p in ax.patches) for ax in fig.axes[:4]]
    assert counts == [len(t.e_to_e), len(t.e_to_i), len(t.i_to_e), len(t.i_to_i)]
