"""Atomic checkpoints: safetensors for tensors, JSON (in the file's metadata) for the rest.

Never unpickles anything: a checkpoint is read with ``safetensors`` and ``json`` only.
"""

from __future__ import annotations

import json
import os
import tempfile
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


def save_checkpoint(
    directory: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    trainer_state: dict,
) -> Path:
    """Write ``directory/checkpoint.safetensors`` atomically and return its path."""
    tensors: dict[str, torch.Tensor] = {
        _MODEL + k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
    }
    opt = optimizer.state_dict()
    opt_scalars: dict[str, dict[str, Any]] = {}
    for idx, state in opt["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{_OPT}{idx}/{key}"] = value.detach().cpu().contiguous()
            else:
                opt_scalars.setdefault(str(idx), {})[key] = value
    meta = {
        "trainer": trainer_state,
        "param_groups": opt["param_groups"],
        "optimizer_scalars": opt_scalars,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
    }
    path = Path(directory) / CHECKPOINT
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"brainlike": json.dumps(meta)})
        os.chmod(tmp, _FILE_MODE)  # save_file, like mkstemp, leaves 0600
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict]:
    """Return ``(model_state, optimizer_tensors, metadata)`` from a checkpoint file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    model_state: dict[str, torch.Tensor] = {}
    opt_tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt") as f:
        raw = (f.metadata() or {}).get("brainlike")
        if raw is None:
            raise ValueError(f"{path} is a safetensors file but not a brainlike checkpoint")
        for key in f.keys():
            if key.startswith(_MODEL):
                model_state[key[len(_MODEL):]] = f.get_tensor(key)
            elif key.startswith(_OPT):
                opt_tensors[key[len(_OPT):]] = f.get_tensor(key)
    return model_state, opt_tensors, json.loads(raw)


def load_model_state(path: Path, model: torch.nn.Module) -> dict:
    """Load the model weights of a checkpoint into ``model``; return the trainer state."""
    model_state, _, meta = read_checkpoint(path)
    model.load_state_dict(model_state)
    return meta["trainer"]


def load_checkpoint(
    path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any
) -> dict:
    """Restore model, optimizer and scheduler from a checkpoint; return the trainer state."""
    model_state, opt_tensors, meta = read_checkpoint(path)
    model.load_state_dict(model_state)
    state: dict[int, dict[str, Any]] = {}
    for key, value in opt_tensors.items():
        idx, name = key.split("/", 1)
        state.setdefault(int(idx), {})[name] = value
    for idx, scalars in meta["optimizer_scalars"].items():
        state.setdefault(int(idx), {}).update(scalars)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    if scheduler is not None and meta["scheduler"] is not None:
        scheduler.load_state_dict(meta["scheduler"])
    return meta["trainer"]
