"""The shape/texture stimulus generator: independent named factors, identities in factor space,
the three paradigms' stimulus sets, and the classification task built on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainlike.tasks import ShapeTextureGenerator, make

GEN = ShapeTextureGenerator(16, seed=0)


def _one(**factors):
    return GEN.render({k: [v] for k, v in factors.items()})[0, 0]


def test_factor_names_groups_and_defaults():
    assert GEN.factor_names == (
        "shape_1", "shape_2", "shape_3", "shape_4", "texture_1", "texture_2", "texture_3",
        "texture_4", "x", "y", "contrast", "noise",
    )
    assert GEN.groups["shape"] == GEN.factor_names[:4] and GEN.groups["texture"] == GEN.factor_names[4:8]
    full = GEN.complete({"shape_1": [1.0, 2.0]})
    assert set(full) == set(GEN.factor_names)
    np.testing.assert_array_equal(full["contrast"], [1.0, 1.0])
    np.testing.assert_array_equal(full["texture_3"], [0.0, 0.0])
    # a DataFrame is a table too
    np.testing.assert_array_equal(GEN.render(pd.DataFrame({"shape_1": [1.0, 2.0]})),
                                  GEN.render({"shape_1": [1.0, 2.0]}))


def test_texture_never_moves_the_outline_and_shape_never_changes_the_pattern():
    plain = _one(shape_2=1.2)
    textured = _one(shape_2=1.2, texture_1=1.5, texture_3=-1.0)
    # without texture the image is 0.7 * mask; with it, the same mask times a surface luminance
    # in [2 * 0.7 - 1, 1] = [0.4, 1]: the texture changes the surface, never the outline
    mask = plain / 0.7
    seen = mask > 1e-3
    surface = textured[seen] / mask[seen]
    assert surface.min() >= 0.4 - 1e-5 and surface.max() <= 1.0 + 1e-5 and surface.std() > 0.1
    outside = plain < 1e-4
    assert outside.sum() > 30
    np.testing.assert_allclose(textured[outside], plain[outside], atol=1e-4)
    # a shape factor changes the mask, never the surface: image / mask is the same pattern
    a = _one(texture_2=1.0, shape_1=0.0)
    b = _one(texture_2=1.0, shape_1=1.5)
    ma, mb = _one(shape_1=0.0) / 0.7, _one(shape_1=1.5) / 0.7
    both = (ma > 0.05) & (mb > 0.05)
    assert both.sum() > 30 and ((ma > 0.5) != (mb > 0.5)).sum() > 5
    np.testing.assert_allclose(a[both] / ma[both], b[both] / mb[both], rtol=1e-4)


def test_nuisance_factors_position_contrast_noise():
    base = dict(shape_1=0.5, texture_2=1.0, texture_4=-0.5)
    img = _one(**base)
    shifted = _one(**base, x=2.0, y=1.0)
    # x right, y up: the same image moved 2 columns right and 1 row up (exact away from edges)
    np.testing.assert_allclose(shifted[1:-1, 2:], np.roll(img, (-1, 2), axis=(0, 1))[1:-1, 2:],
                               atol=1e-6)
    np.testing.assert_allclose(_one(**base, contrast=0.4), 0.4 * img, atol=1e-7)
    table = {**{k: np.full(4000, v) for k, v in base.items()}, "noise": np.full(4000, 0.2)}
    noisy = GEN.render(table, seed=1)
    np.testing.assert_allclose((noisy - img).std(), 0.2, rtol=0.01)  # 1 024 000 draws
    np.testing.assert_array_equal(GEN.render(table, seed=1), noisy)


def test_identities_in_factor_space_define_the_classes():
    assert GEN.identities["shape"].shape == (4, 4) and GEN.identities["texture"].shape == (4, 4)
    assert not GEN.identities["shape"].flags.writeable
    assert GEN.identity(2)["texture_1"] == GEN.identities["texture"][2, 0]
    same = ShapeTextureGenerator(16, seed=0, spread=0.1)
    np.testing.assert_array_equal(same.identities["shape"], GEN.identities["shape"])
    n = 4000
    shape_cols, texture_cols = list(GEN.groups["shape"]), list(GEN.groups["texture"])
    for labels, informative, random in [("shape", shape_cols, texture_cols),
                                        ("texture", texture_cols, shape_cols)]:
        table, ids = GEN.sample(n, labels=labels, seed=0)
        proto = GEN.identities[labels][ids]
        dev = np.stack([table[c] for c in informative], 1) - proto
        np.testing.assert_allclose(dev.std(0), GEN.spread, rtol=0.05)
        np.testing.assert_allclose(dev.mean(0), 0.0, atol=4 * GEN.spread / np.sqrt(n))
        # the other factors come from the prior N(0, 1), whatever the class
        for k in range(4):
            rest = np.stack([table[c] for c in random], 1)[ids == k]
            np.testing.assert_allclose(rest.mean(0), 0.0, atol=4 / np.sqrt(rest.shape[0]))
            np.testing.assert_allclose(rest.std(0), 1.0, atol=0.1)
    table, ids = GEN.sample(n, labels="both", seed=0, classes=[1, 3], nuisance=False)
    assert set(np.unique(ids)) == {1, 3} and (table["contrast"] == 1).all() and (table["x"] == 0).all()


def test_similarity_set_answers_in_shape_texture_or_both():
    trials = GEN.similarity_set(1000, seed=0)
    assert len(trials) == 1000 and trials.first.images.shape == (1000, 1, 16, 16)
    s = lambda st: np.stack([st.conditions[c] for c in GEN.groups["shape"]], 1)  # noqa: E731
    t = lambda st: np.stack([st.conditions[c] for c in GEN.groups["texture"]], 1)  # noqa: E731
    ds = [np.linalg.norm(s(o) - s(trials.reference), axis=1) for o in (trials.first, trials.second)]
    dt = [np.linalg.norm(t(o) - t(trials.reference), axis=1) for o in (trials.first, trials.second)]
    np.testing.assert_allclose(np.stack(ds, 1), trials.distance["shape"], atol=1e-12)
    np.testing.assert_array_equal(trials.closer["shape"], (ds[1] < ds[0]).astype(int))
    np.testing.assert_array_equal(trials.closer["texture"], (dt[1] < dt[0]).astype(int))
    both = np.hypot(np.stack(ds, 1), np.stack(dt, 1))
    np.testing.assert_array_equal(trials.closer["both"], np.argmin(both, 1))
    agree = (trials.closer["shape"] == trials.closer["texture"]).mean()
    assert 0.45 < agree < 0.55  # independent by design (binomial sd 0.016)


def test_reverse_correlation_and_identification_sets():
    rc = GEN.reverse_correlation_set(5000, reference=1, sigma=0.5, seed=0, nuisance=False)
    for g in ("shape", "texture"):
        x = np.stack([rc.conditions[c] for c in GEN.groups[g]], 1)
        np.testing.assert_allclose(x.mean(0), GEN.identities[g][1], atol=4 * 0.5 / np.sqrt(5000))
        np.testing.assert_allclose(x.std(0), 0.5, rtol=0.05)
        np.testing.assert_allclose(np.corrcoef(x.T) - np.eye(4), 0.0, atol=0.06)
    assert (rc.conditions["contrast"] == 1).all() and (rc.conditions["noise"] == 0).all()
    only = GEN.reverse_correlation_set(100, groups=("texture",), seed=0)
    assert (only.conditions["shape_2"] == 0).all() and only.conditions["texture_2"].std() > 0.5
    assert only.conditions["x"].std() > 0  # nuisance drawn as in training by default
    ident = GEN.identification_set(3, seed=0)
    assert len(ident) == 4 * 4 * 3
    assert ident.conditions["congruent"].sum() == 4 * 3
    pairs = set(zip(ident.conditions["shape_identity"].tolist(),
                    ident.conditions["texture_identity"].tolist()))
    assert pairs == {(i, j) for i in range(4) for j in range(4)}


def test_generator_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"unknown factor\(s\) \['colour'\] in the table; the factors are"):
        GEN.render({"colour": [1.0]})
    with pytest.raises(ValueError, match=r"factor 'noise' must be >= 0; got min -1.0"):
        GEN.render({"noise": [-1.0]})
    with pytest.raises(ValueError, match=r"factor 'x' must have shape \(n,\) like the other columns"):
        GEN.render({"shape_1": [1.0, 2.0], "x": [0.0]})
    with pytest.raises(ValueError, match=r"factor 'x' must be finite"):
        GEN.render({"x": [np.nan]})
    with pytest.raises(ValueError, match=r"The 'size' parameter of ShapeTextureGenerator must be an int >= 8"):
        ShapeTextureGenerator(4)
    with pytest.raises(ValueError, match=r"The 'labels' parameter of ShapeTextureGenerator.sample must be one of"):
        GEN.sample(3, labels="colour")
    with pytest.raises(ValueError, match=r"classes must be identities in \[0, 4\); got 7"):
        GEN.sample(3, classes=7)
    with pytest.raises(ValueError, match=r"identity must be an int in \[0, 4\); got 4"):
        GEN.identity(4)
    with pytest.raises(ValueError, match=r"The 'groups' parameter of .*reverse_correlation_set must name"):
        GEN.reverse_correlation_set(3, groups=("nuisance",))
    with pytest.raises(ValueError, match=r"The 'labels' parameter of make\('generated_shapes'\)"):
        make("generated_shapes", labels="identity")


def test_task_batches_carry_the_factor_table():
    task = make("generated_shapes", labels="texture", seed=3)
    b = task.generate(64, seed=0, conditions={"label": [0, 2]})
    assert set(b.targets.tolist()) <= {0, 2}
    assert set(b.conditions) == {*task.generator.factor_names, "label"}
    # the images are the rendered table: without its noise, the residual is each image's noise
    table = {k: b.conditions[k] for k in task.generator.factor_names}
    clean = task.generator.render({**table, "noise": np.zeros(64)})
    residual = (b.inputs - clean).reshape(64, -1).std(axis=1)
    np.testing.assert_allclose(residual, b.conditions["noise"], rtol=0.2, atol=1e-6)  # 256 px
    assert task.evaluation_task is task and task.n_outputs == 4 and task.image_shape == (1, 16, 16)
    assert make("generated_shapes", **task.params) == task
    centred = task.generate(8, seed=0, noise=False)
    assert (centred.conditions["x"] == 0).all() and (centred.conditions["noise"] == 0).all()
