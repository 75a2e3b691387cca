"""Atomic checkpoints: safetensors for tensors, JSON (in the file's metadata) for the rest.

Never unpickles anything: a checkpoint is read with ``safetensors`` and ``json`` only. Every
checkpoint carries a SHA-256 checksum of its tensors (names, dtypes, shapes and bytes) and of its
JSON metadata; reading one recomputes it, so a flipped byte is refused rather than loaded as
other weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

CHECKPOINT = "checkpoint.safetensors"
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK  # what open() would give a new file
_MODEL = "model/"
_OPT = "optimizer/"
_STATE = "state/"
_META = "brainlike"
_SHA = "brainlike_sha256"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: corrupt, truncated, or of another model or optimizer.

    The message names the file and what is wrong, and says how to start over.
    """


def _unusable(path: Path, why: str) -> CheckpointError:
    return CheckpointError(
        f"{path} is not a usable checkpoint: {why}. Training cannot resume from it; start over "
        "with resume=False (CLI: brainlike train --restart), which discards it"
    )


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _FILE_MODE)  # mkstemp creates 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def orphaned_temporaries(directory: Path, names: tuple[str, ...]) -> list[Path]:
    """Temporary files that :func:`atomic_write_bytes` / :func:`save_checkpoint` leave behind
    when killed between creating and renaming them (``.<name>.<random>.tmp``)."""
    directory = Path(directory)
    out: list[Path] = []
    for name in names:
        out.extend(p for p in directory.glob(f".{name}.*.tmp") if p.is_file())
    return sorted(out)


def _digest(tensors: dict[str, torch.Tensor], meta: str) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].detach().cpu().contiguous()
        h.update(f"{key}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    h.update(meta.encode())
    return h.hexdigest()


def save_checkpoint(
    directory: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    scheduler: Any,
    trainer_state: dict,
    state: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``directory/checkpoint.safetensors`` atomically and return its path.

    ``state``: tensors of a learning algorithm's own state (e.g. FORCE's inverse correlation
    matrix), stored under ``state/<name>``.
    """
    tensors: dict[str, torch.Tensor] = {
        _MODEL + k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
    }
    for k, v in (state or {}).items():
        tensors[_STATE + k] = v.detach().cpu().contiguous()
    opt = optimizer.state_dict() if optimizer is not None else {"state": {}, "param_groups": []}
    opt_scalars: dict[str, dict[str, Any]] = {}
    for idx, st in opt["state"].items():
        for key, value in st.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{_OPT}{idx}/{key}"] = value.detach().cpu().contiguous()
            else:
                opt_scalars.setdefault(str(idx), {})[key] = value
    meta = json.dumps({
        "trainer": trainer_state,
        "optimizer": optimizer is not None,
        "param_groups": opt["param_groups"],
        "optimizer_scalars": opt_scalars,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
    })
    path = Path(directory) / CHECKPOINT
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={_META: meta, _SHA: _digest(tensors, meta)})
        os.chmod(tmp, _FILE_MODE)  # save_file, like mkstemp, leaves 0600
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class Checkpoint:
    """The contents of a verified checkpoint file.

    Attributes
    ----------
    model : dict of str to Tensor
        The model's ``state_dict``.
    optimizer : dict of str to Tensor
        Optimizer state tensors, keyed ``<param index>/<name>``.
    state : dict of str to Tensor
        The learning algorithm's own tensors.
    meta : dict
        ``trainer`` (step, status, settings), ``param_groups``, ``optimizer_scalars``,
        ``scheduler``.
    """

    model: dict[str, torch.Tensor]
    optimizer: dict[str, torch.Tensor]
    state: dict[str, torch.Tensor]
    meta: dict


def open_checkpoint(path: Path) -> Checkpoint:
    """Read and verify a checkpoint; raise :class:`CheckpointError` naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    tensors: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            for key in f.keys():
                tensors[key] = f.get_tensor(key)
    except Exception as e:  # safetensors raises its own error types for a malformed file
        raise _unusable(path, f"it cannot be read as a safetensors file ({e})") from None
    raw = metadata.get(_META)
    if raw is None:
        raise _unusable(path, "it is a safetensors file but not a brainlike checkpoint")
    digest = metadata.get(_SHA)
    if digest is None:
        raise _unusable(path, "it has no checksum (written by brainlike < 0.2 or by hand)")
    if _digest(tensors, raw) != digest:
        raise _unusable(path, "its checksum does not match its contents (the file is damaged)")
    try:
        meta = json.loads(raw)
        trainer = meta["trainer"]
        _ = int(trainer["step"]), trainer["settings"]
    except (ValueError, KeyError, TypeError) as e:
        raise _unusable(path, f"its metadata is malformed ({e!r})") from None
    out: dict[str, dict[str, torch.Tensor]] = {_MODEL: {}, _OPT: {}, _STATE: {}}
    for key, value in tensors.items():
        prefix = next((p for p in out if key.startswith(p)), None)
        if prefix is None:
            raise _unusable(path, f"it holds an unknown tensor {key!r}")
        out[prefix][key[len(prefix):]] = value
    return Checkpoint(out[_MODEL], out[_OPT], out[_STATE], meta)


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict]:
    """Return ``(model_state, optimizer_tensors, metadata)`` from a verified checkpoint file."""
    c = open_checkpoint(path)
    return c.model, c.optimizer, c.meta


def _load_model(path: Path, model: torch.nn.Module, model_state: dict) -> None:
    try:
        model.load_state_dict(model_state)
    except RuntimeError as e:
        why = " ".join(str(e).split())
        raise _unusable(path, f"its weights do not fit this {type(model).__name__} ({why})") from None


def load_model_state(path: Path, model: torch.nn.Module) -> dict:
    """Load the model weights of a checkpoint into ``model``; return the trainer state."""
    c = open_checkpoint(path)
    _load_model(Path(path), model, c.model)
    return c.meta["trainer"]


def optimizer_state(path: Path, c: Checkpoint, params: list[torch.Tensor]) -> dict | None:
    """The optimizer ``state_dict`` stored in ``c``, checked against ``params`` (shapes, dtypes).

    ``None`` when the checkpoint holds no optimizer. A state tensor of another shape than its
    parameter (a checkpoint of another model) is refused here, not inside the optimizer's step.
    """
    if not c.meta.get("optimizer", True):
        return None
    state: dict[int, dict[str, Any]] = {}
    try:
        for key, value in c.optimizer.items():
            idx, name = key.split("/", 1)
            state.setdefault(int(idx), {})[name] = value
        for idx, scalars in c.meta["optimizer_scalars"].items():
            state.setdefault(int(idx), {}).update(scalars)
        groups = c.meta["param_groups"]
        n_params = sum(len(g["params"]) for g in groups)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise _unusable(path, f"its optimizer state is malformed ({e!r})") from None
    if n_params != len(params):
        raise _unusable(path, f"its optimizer holds {n_params} parameters; this model trains "
                              f"{len(params)}")
    for idx, st in state.items():
        if not 0 <= idx < len(params):
            raise _unusable(path, f"its optimizer state names parameter {idx} of {len(params)}")
        p = params[idx]
        for name, value in st.items():
            if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape != p.shape:
                raise _unusable(
                    path, f"its optimizer state {idx}/{name} has shape {tuple(value.shape)}; "
                          f"parameter {idx} has shape {tuple(p.shape)}")
    return {"state": state, "param_groups": groups}


def restore(
    path: Path, c: Checkpoint, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
    scheduler: Any,
) -> None:
    """Load the verified checkpoint ``c`` (read from ``path``) into model, optimizer, schedule."""
    _load_model(path, model, c.model)
    if optimizer is not None:
        params = [p for g in optimizer.param_groups for p in g["params"]]
        state = optimizer_state(path, c, params)
        if state is None:
            raise _unusable(path, "it holds no optimizer state")
        try:
            optimizer.load_state_dict(state)
        except (ValueError, KeyError, TypeError) as e:
            raise _unusable(path, f"its optimizer state does not fit ({e})") from None
    if scheduler is not None and c.meta.get("scheduler") is not None:
        try:
            scheduler.load_state_dict(c.meta["scheduler"])
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise _unusable(path, f"its schedule state does not fit ({e!r})") from None


def load_checkpoint(
    path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None, scheduler: Any
) -> dict:
    """Restore model, optimizer and scheduler from a checkpoint; return the trainer state."""
    path = Path(path)
    c = open_checkpoint(path)
    restore(path, c, model, optimizer, scheduler)
    return c.meta["trainer"]
