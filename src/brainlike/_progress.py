"""The progress bar of every long operation: tqdm's notebook widget where ipywidgets is
installed, its text bar (on stderr) everywhere else -- without tqdm.auto's warning in a notebook
that lacks ipywidgets."""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("ipywidgets") is not None:  # pragma: no cover - not in the test env
    from tqdm.auto import tqdm
else:
    from tqdm.std import tqdm

__all__ = ["tqdm"]
