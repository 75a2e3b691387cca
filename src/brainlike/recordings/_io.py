"""Loaders: NumPy ``.npz``, NetCDF (xarray) and NWB (pynwb, optional extra ``nwb``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ._recording import Recording


def load_npz(path: str | Path) -> Recording:
    """Read a Recording written by :meth:`Recording.save_npz` (arrays ``data``, ``time``,
    ``units``, ``condition:<name>``, ``epoch:<name>``; only ``data`` is required)."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as f:
        if "data" not in f:
            raise ValueError(f"{path} has no 'data' array (trial, time, unit); it has {list(f)}")
        return Recording(
            f["data"],
            time=f["time"] if "time" in f else None,
            units=f["units"] if "units" in f else None,
            conditions={k.split(":", 1)[1]: f[k] for k in f if k.startswith("condition:")},
            epochs={k.split(":", 1)[1]: f[k] for k in f if k.startswith("epoch:")},
            source=str(path),
        )


def load_netcdf(path: str | Path, variable: str = "activity") -> Recording:
    """Read a NetCDF file holding a (trial, time, unit) variable, e.g. from
    :meth:`Recording.save_netcdf`; conditions are the variable's ``trial`` coordinates."""
    import xarray as xr

    path = Path(path)
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        if variable not in ds:
            raise ValueError(f"{path} has no variable {variable!r}; it has {list(ds.data_vars)}")
        ds = ds.load()
    ds.attrs["source"] = str(path)
    return Recording.from_xarray(ds, variable)


def load_nwb(
    path: str | Path,
    *,
    align_to: str = "start_time",
    window: tuple[float, float] = (0.0, 1000.0),
    bin_ms: float = 50.0,
) -> Recording:
    """Bin the spike times of an NWB file's units table into per-trial firing rates.

    Parameters
    ----------
    path : str or Path
        An NWB file with a ``trials`` table and a ``units`` table with ``spike_times``.
    align_to : str
        Trials-table column (seconds) that defines time 0 of each trial (e.g. a stimulus-onset
        column); default the trial start.
    window : (start_ms, stop_ms)
        Window around the alignment event.
    bin_ms : float
        Bin width; ``(stop - start) / bin_ms`` must be a whole number.

    Returns
    -------
    Recording
        ``data`` in spikes/s, (n_trials, n_bins, n_units); ``time`` the bin starts in ms;
        ``conditions`` every other trials-table column (``start_time``/``stop_time`` included,
        in s); ``units`` the units table ids.

    Notes
    -----
    Needs ``pynwb`` (``pip install brainlike[nwb]``).
    """
    try:
        from pynwb import NWBHDF5IO
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("load_nwb needs pynwb: pip install 'brainlike[nwb]'") from e
    try:
        start, stop, bin_ms = float(window[0]), float(window[1]), float(bin_ms)
    except (TypeError, ValueError, IndexError):
        raise ValueError(
            f"window must be (start_ms, stop_ms) and bin_ms a number; got window={window!r}, "
            f"bin_ms={bin_ms!r}"
        ) from None
    if not (math.isfinite(bin_ms) and bin_ms > 0):
        raise ValueError(f"bin_ms must be a finite number > 0; got {bin_ms!r}")
    if not (math.isfinite(start) and math.isfinite(stop) and stop > start):
        raise ValueError(f"window must be finite (start_ms, stop_ms) with stop > start; got {window!r}")
    n_bins = (stop - start) / bin_ms
    if abs(n_bins - round(n_bins)) > 1e-9:
        raise ValueError(
            f"window {window} must be a whole number of bins of bin_ms={bin_ms}"
        )
    n_bins = round(n_bins)
    path = Path(path)
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        if nwb.trials is None:
            raise ValueError(f"{path} has no trials table")
        if nwb.units is None:
            raise ValueError(f"{path} has no units table")
        trials = nwb.trials.to_dataframe()
        if align_to not in trials:
            raise ValueError(
                f"align_to={align_to!r} is not a trials column; columns are {list(trials.columns)}"
            )
        t0 = trials[align_to].to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(t0))
        if bad.size:
            raise ValueError(
                f"{path}: trials {bad[:10].tolist()} have no finite {align_to!r} (NaN or inf); "
                "their firing rates cannot be binned. Drop those trials or align to another column"
            )
        edges = t0[:, None] + (start + bin_ms * np.arange(n_bins + 1))[None, :] / 1000.0
        units = nwb.units
        if "spike_times" not in units.colnames:
            raise ValueError(
                f"{path}: its units table has no 'spike_times' column (it has "
                f"{list(units.colnames)}); load_nwb bins spike times"
            )
        ids = np.asarray(units.id[:])
        data = np.empty((len(t0), n_bins, len(ids)))
        for u in range(len(ids)):  # one searchsorted per unit over all trials' bin edges
            spikes = np.sort(np.asarray(units["spike_times"][u], dtype=float))
            idx = np.searchsorted(spikes, edges.ravel(), side="left").reshape(edges.shape)
            data[:, :, u] = np.diff(idx, axis=1) / (bin_ms / 1000.0)
        conditions = {c: trials[c].to_numpy() for c in trials.columns
                      if trials[c].to_numpy().ndim == 1 and trials[c].dtype != object}
        conditions.update({c: trials[c].astype(str).to_numpy() for c in trials.columns
                           if trials[c].dtype == object})
    time = start + bin_ms * np.arange(n_bins)
    return Recording(data, time=time, conditions=conditions, units=ids, source=str(path))
