"""Fixtures shared by the training tests."""

import pytest


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
