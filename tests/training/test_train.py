"""Facts about train(): it learns, it resumes exactly, it keeps good checkpoints, it validates."""

import json

import numpy as np
import pytest
import torch

from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import (
    RatePenalty,
    StepInfo,
    TrainingDivergedError,
    WeightPenalty,
    evaluate,
    masked_cross_entropy,
    masked_mse,
    train,
)
from brainlike.training._checkpoint import CHECKPOINT, read_checkpoint


def _pdm(dt=100.0):
    return make("perceptual_decision", dt=dt)


def _rnn(task, n_hidden=32, seed=0, **kw):
    return RateRNN(task.n_inputs, n_hidden, task.n_outputs, dt=task.dt, tau=100.0, seed=seed, **kw)


def test_masked_losses_equal_their_formulas():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 4, generator=g)
    labels = torch.randint(0, 4, (3, 5), generator=g)
    mask = (torch.rand(3, 5, generator=g) > 0.3).float() * 2.0
    manual = 0.0
    for b in range(3):
        for t in range(5):
            logp = torch.log_softmax(logits[b, t], 0)[labels[b, t]]
            manual += -logp * mask[b, t]
    torch.testing.assert_close(masked_cross_entropy(logits, labels, mask), manual / mask.sum())
    targets = torch.randn(3, 5, 4, generator=g)
    expected = (((logits - targets) ** 2).mean(-1) * mask).sum() / mask.sum()
    torch.testing.assert_close(masked_mse(logits, targets, mask), expected)
    # A (B, T, O) mask weighs each output; repeating a (B, T) mask over outputs is the same.
    torch.testing.assert_close(
        masked_mse(logits, targets, mask.unsqueeze(-1).expand(3, 5, 4).clone()), expected
    )
    per_output = torch.rand(3, 5, 4, generator=g)
    expected = (per_output * (logits - targets) ** 2).sum() / per_output.sum()
    torch.testing.assert_close(masked_mse(logits, targets, per_output), expected)
    # Masked-out steps do not matter.
    changed = logits.clone()
    changed[mask == 0] = 100.0
    torch.testing.assert_close(
        masked_cross_entropy(changed, labels, mask), masked_cross_entropy(logits, labels, mask)
    )


def test_reaches_criterion_on_perceptual_decision():
    """A 32-unit network reaches 85 % (ceiling 0.896) on NeuroGym's setting within 600 steps."""
    task = _pdm()
    model = _rnn(task)
    result = train(model, task, steps=600, batch_size=32, lr=3e-3, eval_every=25,
                   eval_trials=1000, criterion=0.85)
    assert result.status == "criterion"
    assert result.accuracy >= 0.85
    # An independent check on other fresh trials: the stopping estimate may be lucky, so allow
    # 3 binomial standard errors (sqrt(0.85 * 0.15 / 1000) ~ 0.011 each) below the criterion.
    fresh = evaluate(model, task, n_trials=1000, seed=99)
    assert fresh.accuracy > 0.85 - 0.034, fresh.accuracy


def test_memory_report_value_task_learns_with_mse():
    task = make("memory_report")
    model = RateRNN(task.n_inputs, 32, task.n_outputs, dt=task.dt, tau=task.dt, seed=0)
    before = evaluate(model, task, n_trials=200).loss
    result = train(model, task, steps=200, batch_size=32, lr=3e-3, eval_every=100)
    assert result.history["loss"][-20:].mean() < 0.5 * before


def test_resume_gives_the_same_loss_curve(tmp_path):
    task = _pdm()
    kw = dict(steps=60, batch_size=16, lr=3e-3, eval_every=20, eval_trials=50, seed=3)
    full = train(_rnn(task, sigma_rec=0.1), task, **kw)

    class Crash(Exception):
        pass

    def crash_at_45(info: StepInfo):
        if info.step == 45:
            raise Crash

    with pytest.raises(Crash):
        train(_rnn(task, sigma_rec=0.1), task, out=tmp_path, callbacks=[crash_at_45], **kw)
    # The checkpoint is the one of step 40; metrics beyond it are dropped on resume.
    _, _, meta = read_checkpoint(tmp_path / CHECKPOINT)
    assert meta["trainer"]["step"] == 40
    resumed = train(_rnn(task, sigma_rec=0.1, seed=123), task, out=tmp_path, **kw)
    assert resumed.steps == 60 and resumed.status == "max_steps"
    np.testing.assert_array_equal(resumed.history["step"], np.arange(1, 61))
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
    np.testing.assert_array_equal(resumed.history["accuracy"], full.history["accuracy"],
                                  strict=False)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 61))
    # A finished run resumes to its result without training further.
    again = train(_rnn(task, sigma_rec=0.1), task, out=tmp_path, **kw)
    assert again.steps == 60 and again.train_seconds == 0.0
    np.testing.assert_array_equal(again.history["loss"], full.history["loss"])


def test_resume_refuses_other_settings(tmp_path):
    task = _pdm()
    train(_rnn(task), task, steps=10, batch_size=8, eval_every=5, eval_trials=20, out=tmp_path)
    with pytest.raises(ValueError, match=r"other settings \(\['lr'\]\)"):
        train(_rnn(task), task, steps=10, batch_size=8, eval_every=5, eval_trials=20,
              lr=0.1, out=tmp_path)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    task = _pdm()
    model = _rnn(task)

    def poison(info: StepInfo):
        if info.step == 12:
            with torch.no_grad():
                info.model.w_out.fill_(float("nan"))

    with pytest.raises(TrainingDivergedError, match=r"loss became nan at step 13; the weights were "
                       r"not updated; the last good checkpoint is .*checkpoint\.safetensors"):
        train(model, task, steps=30, batch_size=8, eval_every=10, eval_trials=20,
              out=tmp_path, callbacks=[poison])
    state, _, meta = read_checkpoint(tmp_path / CHECKPOINT)
    assert meta["trainer"]["step"] == 10
    assert all(torch.isfinite(v).all() for v in state.values())


def test_callback_can_stop_and_penalties_add_up():
    task = _pdm()
    seen = []
    result = train(_rnn(task), task, steps=50, batch_size=8, eval_every=10, eval_trials=20,
                   penalties=[WeightPenalty(l2=0.1), RatePenalty(l1=0.01)],
                   callbacks=[lambda info: seen.append(info.step) or info.step == 7])
    assert result.status == "stopped" and result.steps == 7 and seen == list(range(1, 8))
    h = result.history
    np.testing.assert_allclose(h["loss"], h["task_loss"] + h["penalty"], rtol=1e-6)
    assert (h["penalty"] > 0).all()


def test_weight_penalty_formula():
    task = _pdm()
    model = _rnn(task)
    value = WeightPenalty(l1=0.5, l2=2.0, params=("w_rec", "w_in"))(model, torch.zeros(1, 1, 1))
    expected = sum(0.5 * w.abs().mean() + 2.0 * w.square().mean()
                   for w in (model.w_rec, model.w_in))
    torch.testing.assert_close(value, expected)
    with pytest.raises(ValueError, match=r"WeightPenalty params \['w_x'\] are not parameters"):
        WeightPenalty(l1=1.0, params=("w_x",))(model, torch.zeros(1, 1, 1))
    with pytest.raises(ValueError, match=r"'l2' parameter of RatePenalty must be a float in the range \[0.0, inf\)"):
        RatePenalty(l2=-1.0)


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_schedules_decay_the_learning_rate(schedule):
    task = _pdm()
    result = train(_rnn(task), task, steps=20, batch_size=4, lr=1e-2, schedule=schedule,
                   eval_every=20, eval_trials=10)
    lr = result.history["lr"]
    assert lr[0] == pytest.approx(1e-2) and lr[-1] < 0.2e-2 and (np.diff(lr) <= 1e-12).all()


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_optimizers_reduce_the_loss(optimizer):
    task = _pdm()
    result = train(_rnn(task), task, steps=80, batch_size=16, optimizer=optimizer,
                   lr=3e-3 if optimizer != "sgd" else 0.1, eval_every=80, eval_trials=10)
    loss = result.history["loss"]
    assert loss[-10:].mean() < loss[:10].mean()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, r"'steps' parameter of train must be an int >= 1\. Got 0"),
        ({"lr": -1.0}, r"'lr' parameter of train must be a float in the range \(0.0, 3.4e\+38 \(the float32 maximum\)\)"),
        ({"optimizer": "rmsprop"}, r"'optimizer' parameter of train must be one of \['adam', 'adamw', 'sgd'\]"),
        ({"schedule": "step"}, r"'schedule' .* Got 'step'"),
        ({"criterion": 1.5}, r"'criterion' parameter of train must be a float in the range \(0.0, 1.0\]"),
        ({"seed": -1}, r"'seed' parameter of train must be an int in \[0, 2\*\*63\)"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    task = _pdm()
    with pytest.raises(ValueError, match=match):
        train(_rnn(task), task, **kwargs)


def test_model_task_mismatch_is_named():
    task = _pdm()
    with pytest.raises(ValueError, match=r"model.n_input \(4\) must equal task.n_inputs \(3\)"):
        train(RateRNN(4, 8, 3, dt=100.0), task)


class _TwoTasks:
    """A minimal duck-typed multi-task: one task drawn per batch (Yang et al. 2019)."""

    def __init__(self):
        self.tasks = {
            "easy": make("perceptual_decision", dt=100.0, coherences=[51.2]),
            "hard": make("perceptual_decision", dt=100.0, coherences=[6.4]),
        }
        first = self.tasks["easy"]
        self.name, self.params, self.dt = "two", {"parts": ["easy", "hard"]}, first.dt
        self.n_inputs, self.n_outputs, self.target_kind = first.n_inputs, first.n_outputs, "class"

    def generate(self, batch_size, *, seed=None):
        import numpy as np

        rng = np.random.default_rng(seed)
        name = ("easy", "hard")[rng.integers(2)]
        return self.tasks[name].generate(batch_size, seed=rng)


def test_multitask_evaluates_each_task_and_stops_on_the_worst():
    task = _TwoTasks()
    model = _rnn(task.tasks["easy"])
    result = train(model, task, steps=400, batch_size=32, lr=3e-3, eval_every=20,
                   eval_trials=300, criterion=0.8)
    h = result.history
    ev = np.isfinite(h["accuracy"])
    np.testing.assert_array_equal(
        h["accuracy"][ev], np.minimum(h["accuracy/easy"][ev], h["accuracy/hard"][ev])
    )
    np.testing.assert_allclose(
        h["accuracy_mean"][ev], (h["accuracy/easy"][ev] + h["accuracy/hard"][ev]) / 2
    )
    assert result.status == "criterion"
    # The hard task (6.4 % coherence) limits the criterion; the easy one gets there first.
    steps = h["step"][ev]
    easy_first = steps[np.argmax(h["accuracy/easy"][ev] >= 0.8)]
    hard_first = steps[np.argmax(h["accuracy/hard"][ev] >= 0.8)]
    assert h["accuracy/hard"][ev][-1] >= 0.8 and easy_first < hard_first


def test_weight_penalty_reads_the_effective_weights_of_structured_networks():
    from brainlike.models import Dale

    task = _pdm()
    model = RateRNN(task.n_inputs, 20, task.n_outputs, dt=task.dt, seed=0,
                    connectivity=Dale(20, seed=0))
    eff = model.effective_weights()
    value = WeightPenalty(l1=1.0, params=("w_rec", "w_out"))(model, torch.zeros(1, 1, 1))
    torch.testing.assert_close(value, eff.w_rec.abs().mean() + eff.w_out.abs().mean())


def test_function_penalties_resume_in_a_new_process(tmp_path):
    """A plain function is recorded by name, not by its (address-bearing) repr."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(tmp_path)!r})
        from penalty import l2
        from brainlike.models import RateRNN
        from brainlike.tasks import make
        from brainlike.training import train
        task = make("perceptual_decision", dt=100.0)
        model = RateRNN(3, 8, 3, dt=100.0, seed=0)
        r = train(model, task, steps=int(sys.argv[1]), batch_size=4, eval_every=2,
                  eval_trials=4, penalties=[l2], out={str(tmp_path / "run")!r})
        print(r.steps)
    """)
    (tmp_path / "penalty.py").write_text(
        "def l2(model, activity):\n    return 1e-3 * activity.square().mean()\n"
    )
    (tmp_path / "run.py").write_text(script)
    for _ in range(2):
        out = subprocess.run([sys.executable, str(tmp_path / "run.py"), "4"],
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "4"
    mode = (tmp_path / "run" / "checkpoint.safetensors").stat().st_mode & 0o777
    assert mode == (tmp_path / "penalty.py").stat().st_mode & 0o777
