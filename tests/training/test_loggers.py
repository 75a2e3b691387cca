"""TensorBoard and W&B loggers as training callbacks: what they write is what train logged.

The TensorBoard event file is read back with TensorBoard's own reader; W&B runs offline (no
network) and its local run file is read back with W&B's own record reader.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from brainlike.models import RateRNN
from brainlike.tasks import make
from brainlike.training import StepInfo, TensorBoardLogger, WandbLogger, train


def _train(callbacks, steps=6):
    task = make("perceptual_decision", dt=100.0)
    model = RateRNN(task.n_inputs, 8, task.n_outputs, dt=100.0, tau=100.0, seed=0)
    return train(model, task, steps=steps, batch_size=8, eval_every=3, eval_trials=20,
                 callbacks=callbacks, progress=False)


def test_tensorboard_event_file_holds_every_step(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = TensorBoardLogger(tmp_path / "tb")
    result = _train([logger])
    assert logger._writer is None  # training closed it when the run ended
    files = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert len(files) == 1
    acc = EventAccumulator(str(files[0]))
    acc.Reload()
    assert {"loss", "task_loss", "penalty", "lr", "grad_norm", "accuracy", "eval_loss"} <= set(
        acc.Tags()["scalars"])
    loss = acc.Scalars("loss")
    assert [e.step for e in loss] == list(range(1, 7))
    # float32 in the event file: equal to the logged float64 within its rounding (rel 1e-7).
    np.testing.assert_allclose([e.value for e in loss], result.history["loss"], rtol=1e-6)
    evals = acc.Scalars("accuracy")
    assert [e.step for e in evals] == [3, 6]
    np.testing.assert_allclose([e.value for e in evals], result.history["accuracy"][[2, 5]],
                               rtol=1e-6)


def _wandb_records(path):
    """The records of a W&B run file: a LevelDB-style log (32 KiB blocks; each chunk has a
    7-byte header: CRC32, little-endian length, type 1 full / 2 first / 3 middle / 4 last)
    after a 7-byte file header (``:W&B``, magic, version)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, parts, out = 7, [], []
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:  # a block's tail too short for a header is padding
            pos += 32768 - pos % 32768
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        parts.append(data[pos + 7:pos + 7 + length])
        pos += 7 + length
        if kind in (1, 4):
            out.append(b"".join(parts))
            parts = []
    return out


def test_wandb_offline_run_holds_every_step(tmp_path, monkeypatch):
    import wandb
    from wandb.proto import wandb_internal_pb2

    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("WANDB_SILENT", "true")
    logger = WandbLogger("brainlike-test", name="pdm", mode="offline", dir=tmp_path,
                         config={"lr": 3e-3})
    result = _train([logger])
    assert logger.run is None  # finished when the run ended
    wandb.teardown()  # wait for W&B's writer process to end (finish() may return before it)
    (run_file,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    rows, config = {}, {}
    for data in _wandb_records(run_file):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            items = {i.key or "/".join(i.nested_key): json.loads(i.value_json)
                     for i in record.history.item}
            rows[items["_step"]] = items
        elif kind == "run":  # the run's header, with its config
            config.update({i.key: json.loads(i.value_json) for i in record.run.config.update})
            assert (record.run.project, record.run.display_name) == ("brainlike-test", "pdm")
    assert sorted(rows) == list(range(1, 7))
    np.testing.assert_allclose([rows[s]["loss"] for s in range(1, 7)], result.history["loss"],
                               rtol=1e-12)
    assert "accuracy" in rows[3] and "accuracy" not in rows[2]
    assert math.isclose(rows[6]["accuracy"], result.accuracy, rel_tol=1e-12)
    assert config["lr"] == 3e-3


def test_logger_arguments_and_missing_values(tmp_path):
    with pytest.raises(ValueError, match=r"The 'mode' parameter of WandbLogger must be 'online', "
                                         r"'offline', 'disabled' or None\. Got 'cloud' instead\."):
        WandbLogger("p", mode="cloud")
    with pytest.raises(ValueError, match=r"'every' parameter of TensorBoardLogger"):
        TensorBoardLogger(tmp_path, every=0)
    # Off-evaluation steps are thinned by `every`; NaN values (no evaluation) are not written.
    logger = TensorBoardLogger(tmp_path / "tb", every=2)
    written = []

    class Writer:
        def add_scalar(self, name, value, global_step):
            written.append((global_step, name))

        def flush(self):
            pass

        def close(self):
            pass

    logger._writer = Writer()
    for step in (1, 2, 3):
        metrics = {"step": step, "loss": 1.0, "accuracy": 0.5 if step == 3 else float("nan")}
        if step != 3:
            del metrics["accuracy"]
        logger(StepInfo(step, metrics, model=None))
    assert written == [(2, "loss"), (3, "loss"), (3, "accuracy")]
