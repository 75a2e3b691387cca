"""Vision figures draw into the Axes they are given (or a new Figure) and check their inputs."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from brainlike.analysis import RDM, rdm, reverse_correlation, tuning_curve
from brainlike.viz import image_grid, layer_rdms, receptive_field, tuning_curves


def test_each_figure_uses_the_given_axes():
    rng = np.random.default_rng(0)
    fig = Figure()
    axes = fig.subplots(2, 3).ravel()
    assert image_grid(rng.random((3, 1, 8, 8)), titles=["a", "b", "c"], ax=axes[:3]) is fig
    assert axes[0].get_title() == "a" and len(axes[2].images) == 1
    rdms = {"pixels": rdm(rng.random((6, 5))), "fc": RDM.from_matrices(np.ones((6, 6)) - np.eye(6))}
    assert layer_rdms(rdms, correlations={"pixels": 0.1, "fc": 0.9}, labels=[0, 0, 1, 1, 2, 2], ax=axes[3:5]) is fig
    assert axes[4].get_title() == "fc\nr = 0.90"
    curve = tuning_curve(rng.random((12, 3)), np.repeat([0.0, 45.0, 90.0], 4))
    assert tuning_curves(curve, [0, 2], ax=axes[5]) is fig and len(axes[5].lines) == 2
    s = rng.standard_normal((500, 1, 4, 4))
    rc = reverse_correlation(s, np.maximum(s[:, 0, 1, 1], 0))
    new = receptive_field(rc, np.eye(4))
    assert isinstance(new, Figure) and len(new.axes) == 2
    with pytest.raises(ValueError, match=r"ax must hold at least 3 Axes for this figure; got 1"):
        image_grid(rng.random((3, 8, 8)), ax=axes[0])
    with pytest.raises(ValueError, match=r"images must be \(N, C, H, W\) or \(N, H, W\); got \(8, 8\)"):
        image_grid(rng.random((8, 8)))
