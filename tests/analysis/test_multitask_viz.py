"""The figures of the multi-task, decoding and DSA results draw what they say."""

import numpy as np

from brainlike import viz
from brainlike.analysis import (
    GroupLesions,
    RuleComposition,
    cluster_units,
    cross_temporal_generalization,
    decode_over_time,
    fractional_task_variance,
    task_variance,
)


def test_figures_draw_the_results():
    rng = np.random.default_rng(0)
    scale = np.repeat(np.eye(3), 8, axis=0)  # 24 units, 8 per task
    tv = task_variance({t: rng.normal(size=(20, 4, 24)) * scale[:, i] for i, t in enumerate("ABC")})
    cl = cluster_units(tv, k_range=range(2, 6))
    fig = viz.cluster_map(tv, cl)
    assert cl.k == 3 and "3 clusters" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["A", "B", "C"]
    fig = viz.fractional_variance([fractional_task_variance(tv, "A", "B")] * 3, ncols=2)
    assert fig.axes[0].get_xlabel() == "FTV(A, B)" and not fig.axes[3].axison
    les = GroupLesions(("A", "B"), ("cluster 1", "cluster 2"), np.array([3, 4]), np.array([1.0, 0.9]),
                       np.array([[0.2, 0.9], [1.0, 0.1]]), 16)
    fig = viz.lesion_matrix(les)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), les.change.T)
    rc = RuleComposition("dlyanti", ("dlyanti", "anti"), ({}, {}), np.array([0.9, 0.1]), 8)
    assert viz.rule_composition([rc]).axes[0].get_title() == "task dlyanti"
    y = np.repeat([0, 1], 10)
    x = rng.normal(size=(20, 3, 2))
    x[:, 1:, 0] += 3 * y[:, None]
    dec = decode_over_time(x, y, n_permutations=2)
    fig = viz.decoding([dec], ["toy"])
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "toy"
    ctg = cross_temporal_generalization(x, y)
    fig = viz.temporal_generalization(ctg)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), ctg.score)
    fig = viz.dsa_matrix(np.array([[0.0, 0.5], [0.5, 0.0]]), ["a", "b"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.00", "0.50", "0.50", "0.00"]
