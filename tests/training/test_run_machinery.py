"""The run machinery every learning algorithm shares (brainlike.training._session): lock, resume,
checkpoint checksum, metrics log, NaN guard, training longer; and a toy algorithm that gets them
all from Session with a 20-line update of its own."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import (
    RunDirectoryError,
    StepInfo,
    TrainingDivergedError,
    masked_cross_entropy,
    train,
)
from brainlike.training._checkpoint import CHECKPOINT, CheckpointError, read_checkpoint
from brainlike.training._session import (
    TRAIN_TRIALS,
    RunLockedError,
    Session,
    is_locked,
    to_tensors,
)

TASK = make("perceptual_decision", dt=100.0)
KW = dict(steps=12, batch_size=8, eval_every=4, eval_trials=20, lr=3e-3)


def _rnn(seed=0, **kw):
    return RateRNN(TASK.n_inputs, 8, TASK.n_outputs, dt=100.0, tau=100.0, seed=seed, **kw)


class _Crash(Exception):
    pass


def _crash_at(step):
    def callback(info: StepInfo):
        if info.step == step:
            raise _Crash
    return callback


def _rows(directory):
    return [json.loads(x) for x in (directory / "metrics.jsonl").read_text().splitlines()]


# -- a toy learning algorithm built on Session ----------------------------------------------


def train_perturbation(model, task, *, steps, seed=0, sigma=1e-2, lr=0.5, out=None,
                       resume=True, callbacks=()):
    """Weight perturbation of the readout: the loss change along a random direction estimates
    the gradient. A running mean of the loss is the algorithm's own (checkpointed) state."""
    w, baseline = model.w_out, torch.zeros(1)
    with Session(out, algorithm="perturbation", settings={"sigma": sigma, "lr": lr},
                 model=model, task=task, steps=steps, seed=seed, eval_every=5, eval_trials=16,
                 callbacks=callbacks, state=lambda: {"baseline": baseline}, resume=resume,
                 owner="train_perturbation") as run:
        baseline = run.state.get("baseline", baseline)
        for step in run:
            batch = task.generate(8, seed=[seed, TRAIN_TRIALS, step])
            inputs, targets, mask = to_tensors(batch)
            direction = torch.randn(w.shape, generator=torch.Generator().manual_seed(step))
            with torch.no_grad():
                base = masked_cross_entropy(model(inputs).outputs, targets, mask)
                w.add_(sigma * direction)
                probe = masked_cross_entropy(model(inputs).outputs, targets, mask)
                run.check_loss(probe)
                w.sub_((sigma + lr * (probe - base) / sigma) * direction)
            baseline = 0.9 * baseline + 0.1 * base
            run.check_parameters()
            run.record({"loss": float(base), "baseline": float(baseline)})
    return run.result()


def test_a_new_algorithm_gets_resume_checkpoints_and_the_lock_for_free(tmp_path):
    full = train_perturbation(_rnn(), TASK, steps=17)
    held = []
    with pytest.raises(_Crash):
        train_perturbation(_rnn(), TASK, steps=17, out=tmp_path,
                           callbacks=[lambda info: held.append(is_locked(tmp_path)),
                                      _crash_at(13)])
    assert held == [True] * 13 and not is_locked(tmp_path)
    assert read_checkpoint(tmp_path / CHECKPOINT)[2]["trainer"]["step"] == 10
    resumed = train_perturbation(_rnn(), TASK, steps=17, out=tmp_path)
    # Bitwise: the same trials, the same perturbations, the algorithm's state restored.
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
    np.testing.assert_array_equal(resumed.history["baseline"], full.history["baseline"])
    assert np.isfinite(resumed.history["accuracy"][[4, 9, 14, 16]]).all()
    assert [r["step"] for r in _rows(tmp_path)] == list(range(1, 18))
    # The checkpoint names its algorithm: BPTT refuses to continue it.
    with pytest.raises(RunDirectoryError, match=r"other settings \(\['algorithm', "):
        train(_rnn(), TASK, steps=17, out=tmp_path)


# -- process and data safety --------------------------------------------------------------


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path):
    """Item 2: an OS lock on the run directory, released when its holder dies."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from brainlike.training._session import lock_run_directory
            lock_run_directory({str(tmp_path)!r})
            print("locked", flush=True)
            time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=rf"in use by process {holder.pid}; a run "
                                                 r"directory has one writer at a time"):
            train(_rnn(), TASK, out=tmp_path, **KW)
        assert not (tmp_path / "metrics.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert train(_rnn(), TASK, out=tmp_path, **KW).steps == 12  # released by the OS


def test_a_torn_metrics_tail_and_rows_past_the_checkpoint_are_dropped(tmp_path):
    """Item 3: a failed append leaves a partial line; resume still works, bitwise."""
    full = train(_rnn(), TASK, **KW)
    with pytest.raises(_Crash):
        train(_rnn(), TASK, out=tmp_path, callbacks=[_crash_at(6)], **KW)
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "loss": 0.69')  # an append cut short (disk full)
    resumed = train(_rnn(), TASK, out=tmp_path, **KW)
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
    assert [r["step"] for r in _rows(tmp_path)] == list(range(1, 13))
    # Damage elsewhere than the tail is named, with the way out.
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    (tmp_path / "metrics.jsonl").write_text("\n".join(["garbage", *lines[1:]]) + "\n")
    with pytest.raises(RunDirectoryError, match=r"line 1 is not a metrics row.*resume=False"):
        train(_rnn(), TASK, out=tmp_path, **{**KW, "steps": 16})


def test_resuming_with_another_model_is_refused(tmp_path):
    """Item 4: the model's config travels in the checkpoint."""
    train(_rnn(), TASK, out=tmp_path, **KW)
    with pytest.raises(RunDirectoryError, match=r"other settings \(\['model.activation', "
                                                r"'model.tau'\]\)"):
        train(RateRNN(3, 8, 3, dt=100.0, tau=200.0, activation="tanh"), TASK, out=tmp_path, **KW)


def test_updated_parameters_that_blow_up_are_never_saved(tmp_path):
    """Item 5: the guard checks the weights after the update, not only loss and gradient."""
    model = _rnn()
    for name, p in model.named_parameters():
        p.requires_grad_(name == "w_rec")
    armed = {"now": False}

    def gradient(g):  # no learning, then one finite spike that the SGD step overflows
        spike = torch.zeros_like(g)
        if armed["now"]:
            spike[0, 0] = 1e10
        return spike

    model.w_rec.register_hook(gradient)

    def arm(info):
        armed["now"] = info.step == 3

    with pytest.raises(TrainingDivergedError, match=r"parameters \['w_rec'\] became NaN or "
                       r"infinite in the update of step 4 .*no checkpoint was written with them; "
                       r"the last good checkpoint is .*checkpoint\.safetensors"):
        train(model, TASK, out=tmp_path, optimizer="sgd", momentum=0.0, lr=1e30,
              grad_clip=None, callbacks=[arm], steps=12, batch_size=4, eval_every=1,
              eval_trials=8)
    state, _, meta = read_checkpoint(tmp_path / CHECKPOINT)
    assert meta["trainer"]["step"] == 3
    assert all(torch.isfinite(v).all() for v in state.values())


def test_training_longer_continues_a_constant_schedule_exactly(tmp_path):
    """Item 9: raise steps of a finished run; the steps are those of one longer run."""
    longer = train(_rnn(), TASK, **{**KW, "steps": 20})
    first = train(_rnn(), TASK, out=tmp_path, **KW)
    assert first.status == "max_steps" and first.steps == 12
    model = _rnn()
    more = train(model, TASK, out=tmp_path, **{**KW, "steps": 20})
    assert more.steps == 20 and more.status == "max_steps"
    np.testing.assert_array_equal(more.history["loss"], longer.history["loss"])
    # A schedule over steps would change the steps already taken: refused by name.
    other = tmp_path / "cosine"
    train(_rnn(), TASK, out=other, schedule="cosine", **KW)
    with pytest.raises(RunDirectoryError, match=r"\['steps'\]: 12 -> 20\). Training longer is "
                       r"refused because the schedule 'cosine' depends on steps"):
        train(_rnn(), TASK, out=other, schedule="cosine", **{**KW, "steps": 20})
    with pytest.raises(RunDirectoryError, match=r"its checkpoint is at step 20, past steps=16"):
        train(_rnn(), TASK, out=tmp_path, **{**KW, "steps": 16})


def test_orphaned_temporaries_of_killed_writers_are_removed(tmp_path):
    """Item 10."""
    train(_rnn(), TASK, out=tmp_path, **KW)
    orphans = [tmp_path / ".checkpoint.safetensors.k1ll3d.tmp", tmp_path / ".metrics.jsonl.x.tmp"]
    for p in orphans:
        p.write_bytes(b"half a file")
    keep = tmp_path / ".notes.tmp"
    keep.write_text("not ours")
    train(_rnn(), TASK, out=tmp_path, **KW)
    assert not any(p.exists() for p in orphans) and keep.exists()


def _flip(path, offset_from_end):
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_flipped_byte_in_a_checkpoint_is_refused(tmp_path):
    """Item 11: a checksum of the tensors and the metadata, verified on every load."""
    train(_rnn(), TASK, out=tmp_path, **KW)
    ckpt = tmp_path / CHECKPOINT
    _flip(ckpt, 7)  # inside the last tensor's data
    with pytest.raises(CheckpointError, match=r"checksum does not match its contents.*"
                       r"resume=False \(CLI: brainlike train --restart\), which discards it"):
        train(_rnn(), TASK, out=tmp_path, **KW)
    with pytest.raises(CheckpointError, match="checksum does not match"):
        read_checkpoint(ckpt)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda p: p.write_bytes(b""), "cannot be read as a safetensors file"),
        (lambda p: p.write_bytes(p.read_bytes()[:300]), "cannot be read as a safetensors file"),
        (lambda p: p.write_bytes(b"\x00" * 64), "cannot be read as a safetensors file"),
        (lambda p: _save_foreign(p), "not a brainlike checkpoint"),
        (lambda p: _save_checkpoint_of(p, RateRNN(3, 9, 3, dt=100.0, tau=100.0)),
         r"weights do not fit this RateRNN \(.*size mismatch"),
        (lambda p: _save_with_other_optimizer_shape(p), r"optimizer state 2/exp_avg has shape"),
    ],
)
def test_every_kind_of_corrupt_checkpoint_is_a_named_error(tmp_path, damage, match):
    train(_rnn(), TASK, out=tmp_path, **KW)
    damage(tmp_path / CHECKPOINT)
    with pytest.raises(CheckpointError, match=match + r".*--restart"):
        train(_rnn(), TASK, out=tmp_path, **{**KW, "steps": 16})


def _save_foreign(path):
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(path))


def _same_settings_meta(path):
    return read_checkpoint(path)[2]["trainer"]


def _save_checkpoint_of(path, model):
    from brainlike.training._checkpoint import save_checkpoint

    trainer = _same_settings_meta(path)
    save_checkpoint(path.parent, model, None, None, trainer)
    # Same settings, other weights: the optimizer is absent too, but the weights fail first.


def _save_with_other_optimizer_shape(path):
    from brainlike.training._checkpoint import save_checkpoint

    trainer = _same_settings_meta(path)
    model = _rnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.zeros(1, 2, 3)).outputs.sum().backward()
    opt.step()
    state = opt.state_dict()
    state["state"][2]["exp_avg"] = torch.zeros(3, 3)  # w_rec's moment of another shape
    opt.load_state_dict(state)
    save_checkpoint(path.parent, model, opt, None, trainer)


def test_dt_of_the_model_must_be_the_tasks():
    with pytest.raises(ValueError, match=r"model\.dt \(20\.0 ms\) must equal task\.dt \(100\.0 ms\)"):
        train(RateRNN(3, 8, 3, dt=20.0, tau=100.0), TASK, steps=1)


def test_evaluate_refuses_a_seed_that_is_not_an_int():
    from brainlike.training import evaluate

    with pytest.raises(ValueError, match=r"'seed' parameter of evaluate must be an int in "
                                         r"\[0, 2\*\*63\). Got '1' instead"):
        evaluate(_rnn(), TASK, n_trials=4, seed="1")
