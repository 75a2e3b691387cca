"""Loss and penalty conventions, checked against the formulas they claim (Yang et al. 2019's
normalization and L2 scale; the rate penalty's mask of valid steps inside train)."""

import numpy as np
import torch

from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import RatePenalty, WeightPenalty, task_loss, train
from brainlike.training._session import to_tensors


def test_rate_penalty_in_train_averages_over_the_valid_steps_only():
    """Trials of different lengths: the zero-input padding after a short trial is not in the
    mean (it was: the penalty was diluted by the padded steps)."""
    task = make("memory_report")
    seen = {}
    penalty = RatePenalty(l2=1.0)

    def spy(model, activity, valid=None):
        seen.update(activity=activity.detach().double(), valid=valid)
        return penalty(model, activity, valid=valid)

    model = RateRNN(task.n_inputs, 8, task.n_outputs, dt=task.dt, tau=100.0, seed=0)
    result = train(model, task, steps=1, batch_size=16, eval_every=1, eval_trials=4,
                   penalties=[spy], seed=3)
    r, valid = seen["activity"], seen["valid"]
    assert valid is not None and not valid.all()  # the batch has padding
    want = (r.square() * valid[..., None]).sum() / (valid.sum() * r.shape[-1])
    assert abs(result.history["penalty"][0] - float(want)) < 1e-6 * float(want)
    assert float(r.square().mean()) < 0.9 * float(want)  # the unmasked mean differs


def test_entries_normalization_is_the_papers_mean_over_all_entries():
    """gyyang/multitask: ``tf.reduce_mean(tf.square((y - y_hat) * c_mask))`` over B x T x 33,
    ``c_mask`` the cost mask (fixation column doubled); brainlike's output_mask holds c^2."""
    task = make("yang19.dlygo")
    batch = task.grid()  # the paper's test grid: one timing, no padding
    assert (batch.lengths == batch.n_steps).all()
    _, targets, mask = to_tensors(batch)
    outputs = targets + torch.randn(targets.shape, generator=torch.Generator().manual_seed(0))
    c = torch.sqrt(torch.tensor(np.array(batch.output_mask)))
    papers = ((targets - outputs) * c).square().mean()
    ours = task_loss(outputs, targets, mask, "value", normalization="entries",
                     lengths=batch.lengths)
    assert abs(float(ours) - float(papers)) < 1e-6 * float(papers)
    weights = task_loss(outputs, targets, mask, "value", normalization="weights",
                        lengths=batch.lengths)
    ratio = float(c.square().sum()) / c.numel()  # sum of weights / number of entries
    assert abs(float(ours) / float(weights) - ratio) < 1e-5 * ratio


def test_l2_conversions_to_yang_et_al_2019_are_exact():
    """Their L2 is tf.nn.l2_loss, sum(x^2) / 2; ours is a mean: l2 = lambda * numel / 2."""
    rnn = RateRNN(3, 7, 2, seed=0)
    lam = 0.01
    w = rnn.effective_weights().w_rec
    ours = WeightPenalty(l2=lam * w.numel() / 2)(rnn, torch.zeros(1, 1, 7))
    assert torch.allclose(ours, lam * w.square().sum() / 2, rtol=1e-6, atol=0)
    r = torch.rand(4, 5, 7, generator=torch.Generator().manual_seed(1))
    ours = RatePenalty(l2=lam * r.numel() / 2)(rnn, r)
    assert torch.allclose(ours, lam * r.square().sum() / 2, rtol=1e-6, atol=0)
