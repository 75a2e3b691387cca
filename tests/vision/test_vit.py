"""The vision transformer: attention is a distribution over keys, permutation equivariance without
position embeddings, and it goes wherever a ConvNet goes (registry, trainer, hooks, run configs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainlike.experiments import parse_config, run_training
from brainlike.models import VisionTransformer, layer_activations, make, names
from brainlike.recordings import Recording
from brainlike.tasks import make as make_task
from brainlike.training import train


def _vit(**kw):
    args = dict(patch=2, dim=16, depth=2, heads=4, mlp=32, seed=0)
    return VisionTransformer((1, 8, 8), 10, **{**args, **kw})


def test_attention_rows_are_distributions_and_traces_match_forward():
    vit = _vit()
    x = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    tr = vit.traced(x)
    assert set(tr.traces) == {"attention/block1", "attention/block2"}
    for name, a in tr.traces.items():
        assert tuple(a.shape[1:]) == vit.trace_shapes[name] == (4, 17, 17)
        assert (a >= 0).all()
        torch.testing.assert_close(a.sum(-1), torch.ones(5, 4, 17), rtol=0, atol=1e-6)
    out = vit(x)
    assert torch.equal(tr.output.outputs, out.outputs) and torch.equal(tr.output.activity, out.activity)
    # the same weights reach a forward hook by the submodule's name
    hooked = layer_activations(vit, x, ["block2.attn.weights"], flatten=False)["block2.attn.weights"]
    torch.testing.assert_close(hooked, tr.traces["attention/block2"])


def _patch_permutation(x: torch.Tensor, perm: torch.Tensor, patch: int = 2) -> torch.Tensor:
    """Move the image's patches: new patch k is old patch perm[k] (row-major order)."""
    b, c, h, w = x.shape
    g = w // patch
    p = x.reshape(b, c, h // patch, patch, g, patch).permute(0, 2, 4, 1, 3, 5).reshape(b, -1, c, patch, patch)
    p = p[:, perm]
    return p.reshape(b, h // patch, g, c, patch, patch).permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)


@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_without_position_embeddings_the_blocks_are_permutation_equivariant(pool):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 1, 8, 8, generator=gen, dtype=torch.float64)
    perm = torch.randperm(16, generator=gen)
    moved = _patch_permutation(x, perm)
    vit = _vit(position=False, pool=pool).double()
    t0, t1 = vit.tokens(x), vit.tokens(moved)
    first = 1 if pool == "cls" else 0
    torch.testing.assert_close(t1[:, first:], t0[:, first:][:, perm], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(t1[:, :first], t0[:, :first], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(vit(moved).outputs, vit(x).outputs, rtol=1e-10, atol=1e-12)
    a0 = vit.traced(x).traces["attention/block1"]
    a1 = vit.traced(moved).traces["attention/block1"]
    idx = torch.cat([torch.arange(first), perm + first])
    torch.testing.assert_close(a1, a0[:, :, idx][:, :, :, idx], rtol=1e-10, atol=1e-12)
    # position embeddings break it: the model can tell where a patch was
    with_pos = _vit(position=True, pool=pool).double()
    assert (with_pos(moved).outputs - with_pos(x).outputs).abs().max() > 1e-3


def test_registry_config_seed_and_errors():
    assert names("feedforward") == ["convnet", "vit"]
    vit = make("vit", input_shape=(1, 8, 8), n_classes=10, patch=4, dim=8, heads=2, seed=3)
    again = make("vit", **vit.config(), seed=3)
    for (k, a), (_, b) in zip(vit.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k
    assert vit.layer_names == ("embed", "block1", "block2", "norm", "readout")
    assert vit.n_input == 1 and vit.n_output == 10 and vit.n_tokens == 5
    with pytest.raises(ValueError, match=r"The 'patch' parameter of VisionTransformer must divide the image's height and width \(8, 8\). Got 3"):
        _vit(patch=3)
    with pytest.raises(ValueError, match=r"The 'dim' parameter of VisionTransformer must be a multiple of heads \(4\). Got 18"):
        _vit(dim=18)
    with pytest.raises(ValueError, match=r"The 'pool' parameter of VisionTransformer must be one of \['cls', 'mean'\]. Got 'max'"):
        _vit(pool="max")
    with pytest.raises(ValueError, match=r"The 'input_shape' parameter of VisionTransformer must be \(channels, height, width\)"):
        VisionTransformer((8, 8), 10)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 1, 8, 8\); got \(2, 1, 6, 6\)"):
        _vit()(torch.zeros(2, 1, 6, 6))


def test_trains_with_the_trainer_and_records_layers(tmp_path):
    task = make_task("digits")
    vit = _vit()
    res = train(vit, task, steps=4, batch_size=16, eval_every=2, eval_trials=40, out=tmp_path / "a")
    assert res.steps == 4 and np.isfinite(res.history["loss"]).all()
    recs = Recording.from_layers(vit, task.with_split("test").batch(np.arange(12)),
                                 ["embed", "block1", "block1.attn.weights"])
    assert recs["embed"].data.shape == (12, 1, 16 * 16)
    assert recs["block1.attn.weights"].data.shape == (12, 1, 4 * 17 * 17)
    cfg = parse_config({"task": {"name": "digits"},
                        "model": {"type": "vit", "patch": 2, "dim": 8, "depth": 1, "heads": 2},
                        "training": {"steps": 2, "eval_every": 2, "eval_trials": 20}})
    assert run_training(cfg, tmp_path / "b").steps == 2
    with pytest.raises(ValueError, match=r"model does not fit task 'digits': The 'patch' parameter"):
        parse_config({"task": {"name": "digits"}, "model": {"type": "vit", "patch": 3}})


@pytest.mark.slow
def test_learns_the_digits():
    task = make_task("digits")
    vit = _vit(dim=32, heads=2, mlp=64)
    res = train(vit, task, steps=400, batch_size=64, lr=1e-3, eval_every=400, eval_trials=359)
    assert res.accuracy > 0.85  # held-out digits (0.94 measured)
