"""Fixtures shared by the training tests."""

import pytest
import torch


@pytest.fixture
def crash_at():
    """A factory of training callbacks that raise ``RuntimeError("crash")`` at a given step, to
    interrupt a run as a crash or a kill would (the checkpoint before it must resume it)."""

    def make(step: int):
        def callback(info):
            if info.step == step:
                raise RuntimeError("crash")
        return callback

    return make


@pytest.fixture
def grads_close():
    """``check(a, b, atol=1e-12)``: two dicts of gradients have the same names and agree entry by
    entry to ``atol`` (no relative tolerance; float64 rounding)."""

    def check(a, b, atol=1e-12):
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=atol, msg=k)

    return check
