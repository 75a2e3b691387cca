"""Neural recordings (trial × time × unit + conditions) and model activity as recordings.

A :class:`Recording` holds firing rates or model activity of shape ``(n_trials, n_time, n_units)``
with a per-trial conditions table, converts to and from :mod:`xarray`, loads from NumPy ``.npz``,
NetCDF and NWB files, and is made from any brainlike run in one line with
:meth:`Recording.from_run`. :func:`align` matches a model and a recording condition by condition
(trial-averaging within conditions) before they are compared with
:mod:`brainlike.analysis.similarity`.
"""

from ._io import load_netcdf, load_npz, load_nwb
from ._recording import Recording, align

__all__ = ["Recording", "align", "load_netcdf", "load_npz", "load_nwb"]
