"""Continual learning: sequential training, EWC and SI (brainlike.training._continual).

Facts checked: the penalties against their formulas (float64), EWC's Fisher against the closed
form of softmax regression, SI's path integral against the SGD steps it integrates, the two bugs
a popular library shipped (an EWC penalty that stayed 0, an SI identical to plain training),
bitwise resume in the middle of a block with the penalty's state, the retention matrix.
"""

from __future__ import annotations

import itertools
import json
from typing import NamedTuple

import numpy as np
import pytest
import torch
from torch import nn

from brainlike.models import Autoencoder, RateRNN
from brainlike.tasks import Samples, Sequential, make, split_classes
from brainlike.training import EWC, SI, StepInfo, fisher_information, train, train_sequential
from brainlike.training._checkpoint import CHECKPOINT, open_checkpoint

GO, ANTI = (make(n, dt=100.0) for n in ("yang19.go", "yang19.anti"))
FAST = Sequential([(GO, 6), (ANTI, 6)])  # dt = 100 ms: short trials
KW = dict(batch_size=8, eval_trials=16, lr=3e-3, loss_normalization="entries")


def _rnn(seed=0):
    return RateRNN(FAST.n_inputs, 16, FAST.n_outputs, dt=100.0, tau=100.0, sigma_rec=0.05,
                   seed=seed)


class _Crash(Exception):
    pass


def _crash_at(step):
    def callback(info: StepInfo):
        if info.step == step:
            raise _Crash
    return callback


def _params(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


# -- the penalties ------------------------------------------------------------------------------


def test_ewc_is_zero_until_a_task_is_consolidated_then_its_formula_with_a_gradient():
    rnn = _rnn()
    ewc = EWC(strength=50.0, fisher_trials=3)
    assert ewc(rnn).item() == 0.0 and ewc.terms == []
    ewc.end_task(rnn, GO, seed=0, block=0)
    fisher, anchor = ewc.terms[0]
    assert set(fisher) == {n for n, _ in rnn.named_parameters()}
    assert all(bool((f >= 0).all()) for f in fisher.values())
    assert ewc(rnn).item() == 0.0  # at the anchor
    with torch.no_grad():
        rnn.w_rec.add_(torch.randn(rnn.w_rec.shape, generator=torch.Generator().manual_seed(0)))
    value = ewc(rnn)
    want = 25.0 * sum(float((fisher[n].double() * (p.detach().double() - anchor[n].double())**2).sum())
                      for n, p in rnn.named_parameters())
    assert value.item() == pytest.approx(want, rel=1e-5) and want > 0
    value.backward()
    assert float(rnn.w_rec.grad.abs().sum()) > 0  # Avalanche #1099: a penalty stuck at 0


class _Softmax(nn.Module):
    """Softmax regression on 8x8 images: logits = W x + b."""

    class Out(NamedTuple):
        outputs: torch.Tensor
        activity: torch.Tensor

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x, *, generator=None):
        h = x.reshape(x.shape[0], -1)
        return self.Out(self.fc(h), h)


@pytest.mark.parametrize("heads", [True, False])
def test_ewc_fisher_of_softmax_regression_is_the_closed_form(heads):
    """Per example, d(-log p_y)/dW = (p - e_y) x^T and d/db = p - e_y, p the softmax over the
    task's outputs (its head) or over all of them."""
    task = split_classes(make("digits"), 5, heads=heads)[1]
    torch.manual_seed(0)
    model = _Softmax()
    fisher = fisher_information(model, task, n_trials=7, seed=3, block=2)
    w, b = (t.detach().double().numpy() for t in (model.fc.weight, model.fc.bias))
    fw, fb = np.zeros_like(w), np.zeros_like(b)
    for i in range(7):
        batch = task.generate(1, seed=[3, 4, 2, i])
        x = batch.inputs.reshape(-1).astype(np.float64)
        z = w @ x + b
        if heads:
            z[[u for u in range(10) if u not in task.classes]] = -np.inf
        p = np.exp(z - z.max())
        p /= p.sum()
        err = p - np.eye(10)[batch.targets[0]]
        fw += np.outer(err, x) ** 2 / 7
        fb += err**2 / 7
    np.testing.assert_allclose(fisher["fc.weight"].numpy(), fw, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(fisher["fc.bias"].numpy(), fb, rtol=1e-4, atol=1e-9)
    if heads:  # the other tasks' outputs do not enter this task's likelihood
        assert float(fisher["fc.bias"][[0, 1, 4, 5]].abs().max()) == 0.0


def test_true_fisher_of_softmax_regression_is_the_closed_form_within_sampling_error():
    """Drawing y ~ p(y|x) per trial, E[(p_k - [y = k])^2] = sum_c p_c (p_k - [c = k])^2 for the
    bias of class k (times x_j^2 for the weight w_kj): the estimate over the same trials is
    within 4.5 standard errors of that expectation (only the drawn labels are random), for each
    bias and each class's summed weights (single pixels that are rarely on make too skewed a
    sum for a normal bound)."""
    task = make("digits")
    torch.manual_seed(0)
    model = _Softmax()
    n = 300
    fisher = fisher_information(model, task, n_trials=n, seed=1, kind="true")
    w, b = (t.detach().double().numpy() for t in (model.fc.weight, model.fc.bias))
    mean_b, var_b = np.zeros_like(b), np.zeros_like(b)
    mean_w, var_w = np.zeros_like(b), np.zeros_like(b)
    for i in range(n):
        x = task.generate(1, seed=[1, 4, 0, i]).inputs.reshape(-1).astype(np.float64)
        z = w @ x + b
        p = np.exp(z - z.max())
        p /= p.sum()
        sq = (p[None, :] - np.eye(10)) ** 2        # [drawn class c, entry k]
        m1, m2 = p @ sq, p @ sq**2                  # E and E[.^2] of (p_k - [k = y])^2
        mean_b += m1 / n
        var_b += (m2 - m1**2) / n**2
        mean_w += m1 * (x**2).sum() / n
        var_w += (m2 - m1**2) * (x**2).sum() ** 2 / n**2
    assert np.all(np.abs(fisher["fc.bias"].numpy() - mean_b) <= 4.5 * np.sqrt(var_b))
    assert np.all(np.abs(fisher["fc.weight"].double().sum(1).numpy() - mean_w)
                  <= 4.5 * np.sqrt(var_w))
    # and it is not the empirical Fisher (which uses the data's labels)
    empirical = fisher_information(model, task, n_trials=n, seed=1)
    assert float((empirical["fc.bias"] - fisher["fc.bias"]).abs().max()) > 1e-3


def test_true_fisher_of_a_linear_readout_is_the_output_sensitivity_within_sampling_error():
    """Value targets of weight w are a Gaussian of variance 1/(2w), so the true Fisher of the
    readout y_o(t) = w_out[o] . r(t) + b_out[o] is E[sum_t 2 w_ot r_j(t)^2] for w_out[o, j] and
    E[sum_t 2 w_ot] for b_out[o] -- whatever the residuals, which the empirical Fisher scales
    with. Per trial the estimate of b_out[o] is (sum_t sqrt(2 w_ot) z_ot)^2, z standard normal:
    mean s = sum_t 2 w_ot, variance 2 s^2; so is the estimate for w_out[o, j] with w_ot r_j(t)^2."""
    from brainlike.training._session import generator, to_tensors

    rnn = RateRNN(GO.n_inputs, 8, GO.n_outputs, dt=100.0, tau=100.0, sigma_rec=0.05, seed=0)
    n = 150
    fisher = fisher_information(rnn, GO, n_trials=n, seed=2, block=1, kind="true")
    want_b, var_b = np.zeros(GO.n_outputs), np.zeros(GO.n_outputs)
    want_w, var_w = np.zeros((GO.n_outputs, 8)), np.zeros((GO.n_outputs, 8))
    with torch.no_grad():
        for i in range(n):
            batch = GO.generate(1, seed=[2, 4, 1, i])
            inputs, _, weights = to_tensors(batch)
            rates = rnn(inputs, generator=generator(2, 5, n + i)).activity[0].double().numpy()
            wt = weights[0].double().numpy()                  # (T, O)
            s_b = 2 * wt.sum(0)
            s_w = 2 * wt.T @ rates**2                         # (O, N)
            want_b, var_b = want_b + s_b / n, var_b + 2 * s_b**2 / n**2
            want_w, var_w = want_w + s_w / n, var_w + 2 * s_w**2 / n**2
    assert want_b.min() > 0
    assert np.all(np.abs(fisher["b_out"].double().numpy() - want_b) <= 4.5 * np.sqrt(var_b))
    assert np.all(np.abs(fisher["w_out"].double().numpy() - want_w) <= 4.5 * np.sqrt(var_w) + 1e-9)


def test_si_path_integral_is_the_sum_of_squared_sgd_steps_over_the_learning_rate():
    """With plain SGD (no momentum, clipping or penalty) Delta theta_t = -lr g_t, so
    omega = -sum_t g_t Delta theta_t = sum_t Delta theta_t^2 / lr, and at the task's end
    Omega = max(0, omega / (Delta^2 + xi)) with Delta the total change."""
    task = Samples.planted([3.0, 1.0, 0.3, 0.1], n_examples=200, seed=0)
    net = Autoencoder(4, 2, seed=0)
    start = _params(net)
    trail = [start]
    lr, xi = 0.05, 0.01
    si = SI(strength=1.0, damping=xi)
    train_sequential(net, Sequential([(task, 9)]), continual=si, optimizer="sgd", momentum=0.0,
                     lr=lr, grad_clip=None, batch_size=16, eval_trials=20,
                     callbacks=[lambda info: trail.append(_params(info.model))])
    assert len(trail) == 10
    for name in start:
        steps = [(b[name] - a[name]).double() for a, b in itertools.pairwise(trail)]
        omega = sum(s**2 for s in steps) / lr
        delta = (trail[-1][name] - start[name]).double()
        want = (omega / (delta**2 + xi)).clamp_min(0)
        np.testing.assert_allclose(si.importance[name].double().numpy(), want.numpy(), rtol=2e-3,
                                   atol=1e-7)
        assert torch.equal(si.anchor[name], trail[-1][name])
        assert float(si.path[name].abs().max()) == 0.0  # reset for the next task
    assert all(float(v.min()) >= 0 for v in si.importance.values())


# -- sequential training ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["si", "ewc"])
def test_the_penalty_acts_after_the_first_task_and_only_then(method):
    """Avalanche #734 (SI identical to plain training) and #1099 (EWC penalty always 0)."""
    made = {"si": lambda: SI(strength=10.0), "ewc": lambda: EWC(strength=1e3, fisher_trials=4)}
    after_first = {}

    def keep(name):
        def cb(info):
            if info.step == 6:
                after_first[name] = _params(info.model)
        return cb

    plain, rnn = _rnn(), _rnn()
    ref = train_sequential(plain, FAST, callbacks=[keep("plain")], **KW)
    res = train_sequential(rnn, FAST, continual=made[method](), callbacks=[keep(method)], **KW)
    # Block 1: no penalty yet, the same updates bit for bit.
    assert (res.history["penalty"][:6] == 0).all()
    for n, p in after_first["plain"].items():
        assert torch.equal(p, after_first[method][n])
    np.testing.assert_array_equal(res.history["loss"][:6], ref.history["loss"][:6])
    # Block 2: the penalty is on and training differs.
    assert (res.history["penalty"][7:] > 0).all()
    assert (ref.history["penalty"] == 0).all()
    assert not torch.equal(plain.w_rec, rnn.w_rec)
    assert np.isfinite(res.history["task_loss"]).all()


@pytest.mark.parametrize("method", ["si", "ewc"])
def test_a_run_resumed_in_the_middle_of_a_block_ends_bitwise_equal(tmp_path, method):
    made = {"si": lambda: SI(strength=10.0), "ewc": lambda: EWC(strength=1e3, fisher_trials=4)}
    full_model = _rnn()
    full = train_sequential(full_model, FAST, continual=made[method](), eval_every=4, **KW)
    with pytest.raises(_Crash):
        train_sequential(_rnn(), FAST, continual=made[method](), eval_every=4, out=tmp_path,
                         callbacks=[_crash_at(11)], **KW)
    saved = open_checkpoint(tmp_path / CHECKPOINT)
    assert saved.meta["trainer"]["step"] == 8  # in block 2, after its consolidation at step 6
    groups = {k.split("/")[1] for k in saved.state}
    assert groups == ({"importance", "anchor", "path", "start"} if method == "si"
                      else {"fisher0", "anchor0"})
    resumed_model = _rnn()
    resumed = train_sequential(resumed_model, FAST, continual=made[method](), eval_every=4,
                               out=tmp_path, **KW)
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
    np.testing.assert_array_equal(resumed.history["penalty"], full.history["penalty"])
    for (n, a), b in zip(full_model.named_parameters(), resumed_model.parameters()):
        assert torch.equal(a, b), n
    np.testing.assert_array_equal(resumed.retention, full.retention)
    # Another strength is another run.
    with pytest.raises(Exception, match=r"other settings \(\['continual'\]\)"):
        train_sequential(_rnn(), FAST, continual=SI(strength=2.0) if method == "si" else
                         EWC(strength=1.0, fisher_trials=4), eval_every=4, out=tmp_path, **KW)


def test_the_retention_matrix_scores_every_task_seen_after_each_block(tmp_path):
    result = train_sequential(_rnn(), FAST, out=tmp_path, **KW)
    assert result.task_names == ("yang19.go", "yang19.anti")
    assert result.retention.shape == (2, 2)
    assert np.isnan(result.retention[0, 1])  # anti not trained after block 1
    assert np.isfinite(result.retention[0, 0]) and np.isfinite(result.retention[1]).all()
    rows = {int(s): k for k, s in enumerate(result.history["step"])}
    assert result.retention[1, 1] == result.history["accuracy/yang19.anti"][rows[12]]
    assert result.retention[0, 0] == result.history["accuracy/yang19.go"][rows[6]]
    assert list(result.history["block"]) == [0] * 6 + [1] * 6
    saved = json.loads((tmp_path / "retention.json").read_text())
    assert saved["tasks"] == ["yang19.go", "yang19.anti"] and saved["block_ends"] == [6, 12]
    assert saved["accuracy"][0][1] is None
    assert saved["accuracy"][1] == pytest.approx(result.retention[1].tolist())
    assert result.final_accuracy == pytest.approx(result.retention[1].mean())


def test_train_sequential_evaluates_the_held_out_images_of_split_tasks():
    tasks = split_classes(make("digits"), [[0, 1], [2, 3]])
    torch.manual_seed(0)
    result = train_sequential(_Softmax(), Sequential([(tasks[0], 3), (tasks[1], 3)]),
                              batch_size=8, eval_trials=30)
    assert result.retention.shape == (2, 2) and np.isfinite(result.retention[1]).all()


# -- refusals -------------------------------------------------------------------------------------


def test_refusals_name_the_argument():
    with pytest.raises(TypeError, match=r"train trains one task or a MultiTask; "
                                        r"'yang19.go > yang19.anti' is a Sequential schedule: "
                                        r"train it with brainlike.training.train_sequential"):
        train(_rnn(), FAST, steps=2)
    with pytest.raises(TypeError, match=r"'schedule' parameter of train_sequential must be a "
                                        r"brainlike.tasks.Sequential .* Got PerceptualDecision"):
        train_sequential(_rnn(), make("perceptual_decision", dt=100.0))
    with pytest.raises(TypeError, match=r"'continual' parameter of train_sequential must be an "
                                        r"EWC, an SI or None. Got str instead"):
        train_sequential(_rnn(), FAST, continual="si")
    with pytest.raises(ValueError, match=r"'strength' parameter of EWC must be a float in the "
                                         r"range \[0.0, 3.4e\+38 .*Got -1.0 instead"):
        EWC(-1.0)
    with pytest.raises(ValueError, match=r"'damping' parameter of SI must be a float in the "
                                         r"range \(0.0, .*Got 0.0 instead"):
        SI(1.0, damping=0.0)
    with pytest.raises(ValueError, match=r"'fisher_trials' parameter of EWC must be an int >= 1"):
        EWC(1.0, fisher_trials=0)
    with pytest.raises(ValueError, match=r"'fisher' parameter of EWC must be one of \['empirical', "
                                         r"'true'\]. Got 'exact' instead"):
        EWC(1.0, fisher="exact")
    with pytest.raises(ValueError, match=r"model.dt \(20.0 ms\) must equal task.dt \(100.0 ms\)"):
        train_sequential(RateRNN(85, 8, 33, dt=20.0, seed=0), FAST)
    ewc = EWC(1.0, fisher_trials=2)
    ewc.end_task(_rnn(), GO, seed=0, block=0)
    with pytest.raises(ValueError, match=r"EWC holds importances for parameters \['b_out', "
                                         r"'b_rec', 'w_in', 'w_out', 'w_rec'\] that Autoencoder "
                                         r"does not have; it was consolidated on another model"):
        ewc(Autoencoder(4, 2, seed=0))
