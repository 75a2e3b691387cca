"""FORCE (Sussillo & Abbott 2009): the lazy RLS is the paper's update, the internal variant runs
the readout variant's trajectory, the on-line loop is the model's dynamics, the run machinery
(resume, checkpointed P) holds, and a small network learns the sum of sines."""

import numpy as np
import pytest
import torch

from brainlike.models import FeedbackRNN, RateRNN
from brainlike.tasks import make
from brainlike.training import RunDirectoryError, TrainingDivergedError, train, train_force
from brainlike.training._checkpoint import CHECKPOINT, open_checkpoint

WINDOW = 50.0  # ms: windows of 50 steps at dt = 1 ms
TASK = make("sum_of_sines", timing={"generate": WINDOW})


def _net(n=40, seed=0, **kw):
    return FeedbackRNN(0, n, 1, readout_scale=0.0, seed=seed, **kw)


def _paper_force(net, task, windows, alpha, learn_every):
    """Sussillo & Abbott's FORCE written out step by step in float64 NumPy (no lazy P)."""
    J = net.w_rec.detach().double().numpy().copy()
    w_fb = net.w_fb.double().numpy()
    w = net.w_out.detach().double().numpy().copy()
    x = net.x0.double().numpy().copy()
    a = net.alpha
    P = np.eye(net.n_hidden) / alpha
    # The targets reach train_force as float32 (TrialBatch), so the reference takes them so too.
    f = task.signal(np.arange(int(windows * WINDOW)) * task.dt).astype(np.float32)
    for t, target in enumerate(f):
        r = np.tanh(x)
        x = (1 - a) * x + a * (J @ r + w_fb @ (w @ r))
        r = np.tanh(x)
        if (t + 1) % learn_every == 0:
            e = w @ r - target
            P -= np.outer(P @ r, r @ P) / (1 + r @ P @ r)
            w -= np.outer(e, P @ r)
    return w, x, P


def test_lazy_rls_is_the_papers_update_in_float64(tmp_path):
    """Over 4 windows (100 updates, so the 16-term buffer is folded in many times, also mid-
    window), W_out, the currents and P equal the textbook recursion to float64 rounding."""
    net = _net().double()
    ref_w, ref_x, ref_P = _paper_force(net, TASK, 4, alpha=2.0, learn_every=2)
    train_force(net, TASK, steps=4, alpha=2.0, eval_every=4, out=tmp_path)
    P = open_checkpoint(tmp_path / CHECKPOINT).state["P"].numpy()
    np.testing.assert_allclose(net.w_out.detach().numpy(), ref_w, rtol=0, atol=1e-9)
    np.testing.assert_allclose(net.x0.numpy(), ref_x, rtol=0, atol=1e-9)
    np.testing.assert_allclose(P, ref_P, rtol=0, atol=1e-9)


def test_internal_variant_runs_the_readout_variants_trajectory():
    """From W_out = 0, changing J by W_fb dW_out (no loop) and feeding W_out back give the same
    effective weights J + W_fb W_out and the same outputs (float64)."""
    loop, inside = _net().double(), _net(feedback=False).double()
    a = train_force(loop, TASK, steps=3, eval_every=3)
    b = train_force(inside, TASK, steps=3, eval_every=3, variant="internal")
    np.testing.assert_allclose(b.history["loss"], a.history["loss"], rtol=1e-9)
    np.testing.assert_allclose(inside.w_out.detach(), loop.w_out.detach(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(inside.effective_weights().w_rec.detach(),
                               loop.effective_weights().w_rec.detach(), rtol=0, atol=1e-10)
    assert np.isfinite(a.history["eval_mae"][-1])
    np.testing.assert_allclose(b.history["eval_mae"][-1], a.history["eval_mae"][-1], rtol=1e-9)


def test_the_online_loop_is_the_models_dynamics():
    """With no update inside a window (learn_every longer than it), FORCE's loop leaves the
    network where model.forward takes it, and x0 holds that state."""
    net = _net(n=30, seed=3)
    x0 = net.x0.clone()
    with torch.no_grad():
        ref = net(torch.zeros(1, 2 * int(WINDOW), 0)).final_state[0]
    result = train_force(net, TASK, steps=2, learn_every=10_000, eval_every=2)
    assert result.history["updates"].tolist() == [0, 0]
    torch.testing.assert_close(net.x0, ref, rtol=0, atol=1e-5)
    assert not torch.equal(net.x0, x0)


def test_resume_is_bitwise_and_the_checkpoint_holds_P(tmp_path, crash_at):
    full = train_force(_net(), TASK, steps=6, eval_every=2)
    with pytest.raises(RuntimeError, match="crash"):
        train_force(_net(), TASK, steps=6, eval_every=2, out=tmp_path, callbacks=[crash_at(5)])
    ckpt = open_checkpoint(tmp_path / CHECKPOINT)
    assert ckpt.meta["trainer"]["step"] == 4 and ckpt.state["P"].shape == (40, 40)
    resumed = train_force(_net(), TASK, steps=6, eval_every=2, out=tmp_path)
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
    np.testing.assert_array_equal(resumed.history["dw"], full.history["dw"])
    with pytest.raises(RunDirectoryError, match=r"other settings \(\['alpha'\]\)"):
        train_force(_net(), TASK, steps=6, eval_every=2, alpha=10.0, out=tmp_path)
    with pytest.raises(RunDirectoryError, match=r"other settings \(\['algorithm', "):
        train(_net(), TASK, steps=6, eval_every=2, out=tmp_path)


def test_unsupported_models_tasks_and_settings_are_refused_by_name():
    with pytest.raises(TypeError, match=r"train_force supports FeedbackRNN .*; got RateRNN"):
        train_force(RateRNN(1, 8, 1, dt=1.0, tau=10.0), TASK)
    with pytest.raises(ValueError, match=r"variant='internal'.*feedback=False \(got feedback=True\)"):
        train_force(_net(), TASK, variant="internal")
    pdm = make("perceptual_decision", dt=1.0)
    with pytest.raises(ValueError, match=r"windows of one signal .*got 'perceptual_decision'"):
        train_force(FeedbackRNN(3, 8, 3, seed=0), pdm)
    with pytest.raises(ValueError, match=r"The 'variant' parameter of train_force must be one of "
                                         r"\['readout', 'internal'\]\. Got 'bptt' instead\."):
        train_force(_net(), TASK, variant="bptt")
    with pytest.raises(ValueError, match=r"model.dt \(2.0 ms\) must equal task.dt \(1.0 ms\)"):
        train_force(FeedbackRNN(0, 8, 1, dt=2.0), TASK)


def test_a_diverging_run_is_stopped_before_its_checkpoint(tmp_path):
    """P(0) = I / 1e-38 overflows float32 at the first update: refused, nothing saved."""
    with pytest.raises(TrainingDivergedError, match=r"parameters \['w_out', 'x0', 'P'\] became "
                                                    r"NaN or infinite in the update of step 1"):
        train_force(_net(), TASK, steps=2, alpha=1e-38, out=tmp_path)
    assert not (tmp_path / CHECKPOINT).exists()


@pytest.mark.slow
def test_a_small_chaotic_network_learns_a_triangle_wave():
    """N = 200 (g = 1.5), 9.6 s of a 600 ms triangle wave in 100 ms windows: the output tracks the
    target while learning, the readout's updates shrink (Sussillo & Abbott, Fig. 2), and with
    learning off the network goes on producing the wave (mean absolute error < 0.05 over the
    next 1.2 s, against an amplitude of 1; seeds 0-5 all pass, the worst at 0.033)."""
    task = make("triangle_wave", timing={"generate": 100.0})
    net = _net(n=200, seed=0)
    result = train_force(net, task, steps=96, eval_every=96)
    h = result.history
    assert h["mae"][-10:].mean() < 0.02 and h["eval_mae"][-1] < 0.05
    assert h["dw"][-10:].mean() < 0.25 * h["dw"][:5].mean()
    with torch.no_grad():
        out = net(torch.zeros(1, 1200, 0)).outputs[0, :, 0].numpy()
    target = task.signal(96 * 100.0 + np.arange(1200.0))
    assert np.abs(out - target).mean() < 0.05


def test_feedback_rnn_refuses_a_step_longer_than_tau():
    with pytest.raises(ValueError, match=r"FeedbackRNN needs dt <= tau .* Got dt=20\.0, tau=10\.0"):
        FeedbackRNN(1, 10, 1, dt=20.0, tau=10.0)
