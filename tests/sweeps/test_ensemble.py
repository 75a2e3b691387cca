"""Facts about vectorized ensembles: each member is the network trained alone."""

import numpy as np
import pytest
import torch

from brainlike.models import ACTIVATIONS, Dale, RateRNN
from brainlike.models._bptt import leaky_loop
from brainlike.tasks import make
from brainlike.training import RatePenalty, WeightPenalty, ensemble_leaky_loop, train, train_ensemble

# Members and lone networks compute the same sums in another order (bmm vs mm); after a few
# dozen Adam steps the weights differ by ~1e-7 (measured: 1.2e-7 after 30 steps, float32). 1e-5
# leaves two orders of magnitude for other BLAS builds while still catching any real mismatch
# (a wrong seed, noise draw or clipping changes the weights by >1e-3 at lr 3e-3).
WEIGHT_TOL = 1e-5

TASK = make("perceptual_decision", dt=100.0)
KW = dict(steps=12, batch_size=8, eval_every=4, eval_trials=40, lr=3e-3, grad_clip=0.5,
          penalties=[WeightPenalty(l2=1e-3), RatePenalty(l1=1e-3)])


def _net(seed, **kw):
    return RateRNN(TASK.n_inputs, 16, TASK.n_outputs, dt=100.0, tau=200.0, sigma_rec=0.1,
                   seed=seed, **kw)


def _max_diff(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


def test_kernel_matches_the_single_network_loop_forward_and_backward():
    gen = torch.Generator().manual_seed(0)
    e, t, b, n = 3, 7, 4, 5
    u = torch.randn(e, t, b, n, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(e, n, n, generator=gen, dtype=torch.float64, requires_grad=True)
    r0 = torch.randn(e, b, n, generator=gen, dtype=torch.float64, requires_grad=True)
    act = ACTIVATIONS["tanh"]
    ens = ensemble_leaky_loop(u, w, r0, 0.3, act)
    (ens * torch.arange(ens.numel(), dtype=torch.float64).reshape(ens.shape).cos()).sum().backward()
    grads = [x.grad.clone() for x in (u, w, r0)]
    for k in range(e):
        uk, wk, rk = (x.detach()[k].clone().requires_grad_() for x in (u, w, r0))
        alone = leaky_loop(uk, wk, rk, 0.3, act)  # member k's (T, B, N) drive, time-major
        weights = torch.arange(ens.numel(), dtype=torch.float64).reshape(ens.shape).cos()[k]
        (alone * weights).sum().backward()
        torch.testing.assert_close(alone, ens[k].detach(), rtol=0, atol=1e-12)
        torch.testing.assert_close(uk.grad, grads[0][k], rtol=0, atol=1e-12)
        torch.testing.assert_close(wk.grad, grads[1][k], rtol=0, atol=1e-12)
        torch.testing.assert_close(rk.grad, grads[2][k], rtol=0, atol=1e-12)


def test_each_member_matches_the_same_network_trained_alone():
    seeds = [3, 1, 4, 15]
    members = [_net(s) for s in range(4)]
    results = train_ensemble(members, TASK, seeds=seeds, **KW)
    for k, s in enumerate(seeds):
        alone = _net(k)
        ref = train(alone, TASK, seed=s, **KW)
        assert _max_diff(alone, members[k]) < WEIGHT_TOL
        np.testing.assert_allclose(results[k].history["loss"], ref.history["loss"], rtol=1e-5)
        np.testing.assert_allclose(results[k].history["grad_norm"], ref.history["grad_norm"],
                                   rtol=1e-5)
        assert results[k].steps == ref.steps == KW["steps"]
        assert results[k].status == ref.status == "max_steps"


def test_members_are_independent_of_their_neighbours():
    # Member 0 of two different ensembles is the same network: nothing leaks across members.
    a = [_net(0), _net(1)]
    b = [_net(0), _net(7), _net(8)]
    train_ensemble(a, TASK, seeds=[5, 6], **KW)
    train_ensemble(b, TASK, seeds=[5, 9, 10], **KW)
    assert _max_diff(a[0], b[0]) < WEIGHT_TOL
    assert _max_diff(a[0], a[1]) > 1e-3


class _Interrupted(Exception):
    pass


class _InterruptAt:
    """The task, except that drawing training trials for ``step`` raises (a crash)."""

    def __init__(self, task, step):
        self._task, self._step = task, step

    def generate(self, n, seed):
        if seed[1] == 0 and seed[2] == self._step:
            raise _Interrupted
        return self._task.generate(n, seed=seed)

    def __getattr__(self, name):
        return getattr(self._task, name)


def test_an_interrupted_ensemble_resumes_as_the_uninterrupted_run_alone_or_stacked(tmp_path):
    outs = [tmp_path / f"m{k}" for k in range(3)]
    with pytest.raises(_Interrupted):
        train_ensemble([_net(k) for k in range(3)], _InterruptAt(TASK, 6), seeds=[0, 1, 2],
                       outs=outs, **KW)
    # Checkpoints at step 4 (train()'s format): member 0 goes on alone, 1 and 2 stacked.
    solo = _net(0)
    r0 = train(solo, TASK, seed=0, out=outs[0], **KW)
    rest = [_net(1), _net(2)]
    r12 = train_ensemble(rest, TASK, seeds=[1, 2], outs=outs[1:], **KW)
    for k, net, res in ((0, solo, r0), (1, rest[0], r12[0]), (2, rest[1], r12[1])):
        ref_net = _net(k)
        ref = train(ref_net, TASK, seed=k, **KW)
        assert _max_diff(ref_net, net) < WEIGHT_TOL
        np.testing.assert_array_equal(res.history["step"], np.arange(1, 13))
        np.testing.assert_allclose(res.history["loss"], ref.history["loss"], rtol=1e-5)


def test_a_member_at_criterion_stops_there_and_the_others_go_on_like_train():
    kw = {**KW, "criterion": 0.2, "steps": 40, "lr": 1e-2}
    members = [_net(0), _net(1), _net(2)]
    results = train_ensemble(members, TASK, seeds=[0, 1, 2], **kw)
    for k in range(3):
        alone = _net(k)
        ref = train(alone, TASK, seed=k, **kw)
        assert (results[k].status, results[k].steps) == (ref.status, ref.steps)
        assert _max_diff(alone, members[k]) < WEIGHT_TOL
    # With these seeds the members stop at different evaluations (4, 36 and 40 steps), so the
    # stack shrank mid-run; the equalities above are then about the shrinking too.
    assert len({r.steps for r in results}) > 1


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="share one architecture; models\\[1\\] differs from models\\[0\\] in \\['n_hidden'\\]"):
        train_ensemble([_net(0), RateRNN(3, 8, 3, dt=100.0, tau=200.0, sigma_rec=0.1)], TASK,
                       seeds=[0, 1], steps=1)
    with pytest.raises(ValueError, match="one seed per model: got 1 seeds for 2 models"):
        train_ensemble([_net(0), _net(1)], TASK, seeds=[0], steps=1)
    with pytest.raises(ValueError, match="does not stack networks with a connectivity"):
        train_ensemble([_net(0, connectivity=Dale(16, seed=0))], TASK, seeds=[0], steps=1)
    with pytest.raises(TypeError, match="supports the penalties WeightPenalty and RatePenalty"):
        train_ensemble([_net(0)], TASK, seeds=[0], steps=1, penalties=[lambda m, a: a.sum()])
    with pytest.raises(ValueError, match=r"models\[0\]\.n_input \(2\) must equal task\.n_inputs \(3\)"):
        train_ensemble([RateRNN(2, 4, 3, dt=100.0)], TASK, seeds=[0], steps=1)


@pytest.mark.parametrize("name", ["memory_report", "yang19.go"])
def test_trials_of_different_lengths_value_losses_and_output_weights_match_train(name):
    # memory_report: MSE with a per-step mask; yang19.go: MSE with TrialBatch.output_mask.
    # Trials last different numbers of steps in different members' batches: the stack is padded.
    task = make(name)
    kw = dict(steps=6, batch_size=4, eval_every=3, eval_trials=10, lr=3e-3,
              penalties=[RatePenalty(l1=1e-3, l2=1e-3), WeightPenalty(l1=1e-3)])
    assert any(task.generate(4, seed=[0, 0, s]).inputs.shape[1]
               != task.generate(4, seed=[1, 0, s]).inputs.shape[1] for s in range(6))

    def net(seed):
        return RateRNN(task.n_inputs, 16, task.n_outputs, dt=task.dt, tau=100.0, sigma_rec=0.05,
                       seed=seed)

    members = [net(0), net(1)]
    results = train_ensemble(members, task, seeds=[0, 1], **kw)
    for k in range(2):
        alone = net(k)
        ref = train(alone, task, seed=k, **kw)
        assert _max_diff(alone, members[k]) < WEIGHT_TOL
        np.testing.assert_allclose(results[k].history["loss"], ref.history["loss"], rtol=1e-5)
