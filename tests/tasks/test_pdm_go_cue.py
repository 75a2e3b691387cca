"""perceptual_decision's fixation input: a go cue by default, NeuroGym's convention on request."""

import numpy as np
import pytest

from brainlike.tasks import make


@pytest.mark.parametrize("go_cue", [True, False])
def test_fixation_input_follows_the_convention(go_cue):
    task = make("perceptual_decision", dt=100.0, go_cue=go_cue)
    batch = task.generate(16, seed=0)
    fix = batch.inputs[..., 0]
    t = np.arange(batch.n_steps)
    for k in range(16):
        ep = {name: batch.epochs[name][k] for name in batch.epochs}
        on_until = ep["decision"][0] if go_cue else ep["fixation"][1]
        np.testing.assert_array_equal(fix[k], (t < on_until).astype(np.float32))
    # Everything else is identical between the two conventions.
    other = make("perceptual_decision", dt=100.0, go_cue=not go_cue).generate(16, seed=0)
    np.testing.assert_array_equal(batch.inputs[..., 1:], other.inputs[..., 1:])
    np.testing.assert_array_equal(batch.targets, other.targets)
    assert make(task.name, **task.params).params["go_cue"] is go_cue


def test_go_cue_must_be_bool():
    with pytest.raises(TypeError, match="go_cue must be a bool; got 1"):
        make("perceptual_decision", go_cue=1)
