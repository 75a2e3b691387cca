"""Layer activations of any ``torch.nn.Module`` through forward hooks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["capture_layers", "eval_mode", "layer_activations", "resolve_layers"]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` in eval mode (dropout off, batch-norm statistics frozen) inside the block,
    then restore the mode it had."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


class _StopForward(Exception):
    """Raised by a hook once every requested layer has run (the rest of the network is skipped)."""


def resolve_layers(model: nn.Module, layers: str | Sequence[str]) -> list[str]:
    """Check that every name in ``layers`` is a submodule of ``model``; a list of the names.

    Names are those of ``model.named_modules()`` (e.g. ``"conv1"``, ``"features.3"``).
    """
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise ValueError("layers must name at least one submodule")
    known = {name for name, _ in model.named_modules() if name}
    for name in layers:
        if not isinstance(name, str) or name not in known:
            shown = sorted(known)
            listing = shown if len(shown) <= 40 else [*shown[:40], "..."]
            raise ValueError(f"model has no layer {name!r}; its layers are {listing}")
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers must not repeat a name; got {layers}")
    return layers


def _tensor_of(output: Any, name: str) -> Tensor:
    """The activation a layer's output stands for: a tensor, ``.activity``, or the first item."""
    if isinstance(output, Tensor):
        return output
    if hasattr(output, "activity") and isinstance(output.activity, Tensor):
        return output.activity
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], Tensor):
        return output[0]
    raise TypeError(f"layer {name!r} returned {type(output).__name__}, not a tensor")


@contextmanager
def capture_layers(
    model: nn.Module, layers: str | Sequence[str], *, stop: bool = False
) -> Iterator[dict[str, Tensor]]:
    """Record the outputs of named submodules during the forward passes inside the block.

    Parameters
    ----------
    model : nn.Module
    layers : str or sequence of str
        Submodule names (``model.named_modules()``).
    stop : bool
        Abort the forward pass once every layer has run (its outputs are all that is wanted):
        call the model through :func:`layer_activations`, which catches the abort.

    Yields
    ------
    dict of str to Tensor
        Filled by each forward pass with each layer's output (the graph is kept: gradients
        flow back to the inputs). A module that returns a tuple contributes its first tensor,
        a recurrent model's ``RNNOutput`` its ``activity``.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> with capture_layers(net, ["1"]) as acts:
    ...     _ = net(torch.ones(5, 3))
    >>> tuple(acts["1"].shape)
    (5, 4)
    """
    names = resolve_layers(model, layers)
    store: dict[str, Tensor] = {}
    pending = set(names)

    def hook_for(name: str):
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            store[name] = _tensor_of(output, name)
            pending.discard(name)
            if stop and not pending:
                raise _StopForward

        return hook

    handles = [model.get_submodule(n).register_forward_hook(hook_for(n)) for n in names]
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


def _forward(model: nn.Module, x: Tensor, names: list[str], stop: bool) -> dict[str, Tensor]:
    with capture_layers(model, names, stop=stop) as store:
        try:
            model(x)
        except _StopForward:
            pass
    missing = [n for n in names if n not in store]
    if missing:
        raise RuntimeError(f"layers {missing} did not run in the model's forward pass")
    return {n: store[n] for n in names}


def layer_activations(
    model: nn.Module,
    inputs: Any,
    layers: str | Sequence[str],
    *,
    batch_size: int | None = None,
    flatten: bool = True,
    grad: bool = False,
) -> dict[str, Tensor]:
    """Outputs of the named layers for a stack of inputs, one forward pass per chunk.

    Parameters
    ----------
    model : nn.Module
        Any module; it is run in its current mode (call ``model.eval()`` first for dropout or
        batch norm).
    inputs : Tensor or array, shape (N, ...)
        What ``model`` takes, e.g. images ``(N, C, H, W)``.
    layers : str or sequence of str
        Submodule names.
    batch_size : int, optional
        Run ``inputs`` in chunks of this many (all at once if None).
    flatten : bool
        Reshape every activation to ``(N, n_units)`` (C·H·W for a conv layer, in C, H, W order).
    grad : bool
        Keep the autograd graph (for optimizing the inputs); off by default.

    Returns
    -------
    dict of str to Tensor
        In the order of ``layers``. The forward pass stops after the last of them has run.
    """
    names = resolve_layers(model, layers)
    # torch.tensor copies: brainlike's batches are read-only arrays.
    x = inputs if isinstance(inputs, Tensor) else torch.tensor(inputs)
    if not torch.is_floating_point(x):
        x = x.float()
    if x.ndim < 1 or x.shape[0] < 1:
        raise ValueError(
            f"inputs must have a leading stimulus axis of length >= 1; got {tuple(x.shape)}"
        )
    chunk = x.shape[0] if batch_size is None else int(batch_size)
    if chunk < 1:
        raise ValueError(
            "The 'batch_size' parameter of layer_activations must be an int >= 1. "
            f"Got {batch_size!r} instead."
        )
    parts: dict[str, list[Tensor]] = {n: [] for n in names}
    with torch.set_grad_enabled(grad):
        for start in range(0, x.shape[0], chunk):
            acts = _forward(model, x[start : start + chunk], names, stop=True)
            for n in names:
                a = acts[n]
                parts[n].append(a.reshape(a.shape[0], -1) if flatten else a)
    return {n: torch.cat(p) if len(p) > 1 else p[0] for n, p in parts.items()}
