"""The Recording type, condition averaging and model-to-recording alignment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Recording:
    """Activity of ``n_units`` units over trials and time, with what happened on each trial.

    Attributes
    ----------
    data : ndarray, float64, shape (n_trials, n_time, n_units)
        Rates (Hz for binned spikes) or model activity; NaN where a trial had ended.
    time : ndarray, shape (n_time,)
        Bin times in ms relative to the alignment event (bin starts).
    conditions : Mapping[str, ndarray]
        Task variables, each of shape (n_trials,).
    units : ndarray, shape (n_units,)
        Unit labels (ids or names).
    epochs : Mapping[str, ndarray]
        Optional per-trial epoch bounds in time steps, each (n_trials, 2) ``[start, stop)``.
    source : str
        Where the data came from (a file, a run directory, "array").

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording(np.zeros((4, 3, 2)), time=[0, 10, 20], conditions={"c": [0, 1, 0, 1]})
    >>> rec
    Recording(n_trials=4, n_time=3, n_units=2, conditions=['c'], source='array')
    >>> rec.average(["c"]).data.shape
    (2, 3, 2)
    """

    data: np.ndarray
    time: Any = None
    conditions: Mapping[str, Any] = field(default_factory=dict)
    units: Any = None
    epochs: Mapping[str, Any] = field(default_factory=dict)
    source: str = "array"

    def __post_init__(self) -> None:
        raw = np.asarray(self.data)
        if np.iscomplexobj(raw):
            raise TypeError(
                f"data must be real (rates or activity); got {raw.dtype} values. Pass the real "
                "part, the magnitude or the phase explicitly"
            )
        if raw.dtype.kind not in "biuf":
            raise TypeError(f"data must be numbers; got an array of dtype {raw.dtype}")
        d = np.asarray(raw, dtype=float)
        if d.ndim != 3:
            raise ValueError(f"data must have shape (n_trials, n_time, n_units); got {d.shape}")
        b, t, n = d.shape
        time = np.arange(t, dtype=float) if self.time is None else np.asarray(self.time, dtype=float)
        if time.shape != (t,):
            raise ValueError(f"time must have shape (n_time,) = ({t},); got {time.shape}")
        units = np.arange(n) if self.units is None else np.asarray(self.units)
        if units.shape != (n,):
            raise ValueError(f"units must have shape (n_units,) = ({n},); got {units.shape}")
        conds = {}
        for k, v in dict(self.conditions).items():
            v = np.asarray(v)
            if v.shape != (b,):
                raise ValueError(
                    f"conditions[{k!r}] must have shape (n_trials,) = ({b},); got {v.shape}"
                )
            conds[str(k)] = _readonly(v)
        epochs = {}
        for k, v in dict(self.epochs).items():
            v = np.asarray(v)
            if v.shape != (b, 2):
                raise ValueError(
                    f"epochs[{k!r}] must have shape (n_trials, 2) = ({b}, 2); got {v.shape}"
                )
            epochs[str(k)] = _readonly(v)
        object.__setattr__(self, "data", _readonly(d))
        object.__setattr__(self, "time", _readonly(time))
        object.__setattr__(self, "units", _readonly(units))
        object.__setattr__(self, "conditions", conds)
        object.__setattr__(self, "epochs", epochs)

    def __repr__(self) -> str:
        b, t, n = self.data.shape
        return (f"Recording(n_trials={b}, n_time={t}, n_units={n}, "
                f"conditions={list(self.conditions)}, source={self.source!r})")

    @property
    def n_trials(self) -> int:
        return self.data.shape[0]

    @property
    def n_units(self) -> int:
        return self.data.shape[2]

    # -------------------------------------------------------------------- xarray and files
    def to_xarray(self):
        """An ``xarray.Dataset``: variable ``activity`` with dims (trial, time, unit).

        Conditions are coordinates along ``trial``; epochs are variables ``epoch_<name>`` of dims
        (trial, bound). ``rec.to_xarray()["activity"]`` is the DataArray.
        """
        import xarray as xr

        coords: dict[str, Any] = {"time": self.time, "unit": self.units}
        for k, v in self.conditions.items():
            coords[k] = ("trial", v)
        data_vars: dict[str, Any] = {"activity": (("trial", "time", "unit"), self.data)}
        for k, v in self.epochs.items():
            data_vars[f"epoch_{k}"] = (("trial", "bound"), v)
        return xr.Dataset(data_vars, coords=coords, attrs={"source": self.source})

    @classmethod
    def from_xarray(cls, obj, variable: str = "activity") -> Recording:
        """Inverse of :meth:`to_xarray`; also takes a DataArray with dims (trial, time, unit)."""
        import xarray as xr

        epochs = {}
        attrs = dict(obj.attrs)
        if isinstance(obj, xr.Dataset):
            if variable not in obj:
                raise ValueError(f"Dataset has no variable {variable!r}; it has {list(obj.data_vars)}")
            epochs = {name[len("epoch_"):]: obj[name].transpose("trial", "bound").values
                      for name in obj.data_vars if str(name).startswith("epoch_")}
            da = obj[variable]
        else:
            da = obj
        if set(da.dims) != {"trial", "time", "unit"}:
            raise ValueError(f"activity must have dims ('trial', 'time', 'unit'); got {da.dims}")
        da = da.transpose("trial", "time", "unit")
        conds = {str(name): c.values for name, c in da.coords.items() if c.dims == ("trial",)}
        time = da["time"].values if "time" in da.coords else None
        units = da["unit"].values if "unit" in da.coords else None
        return cls(da.values, time=time, conditions=conds, units=units, epochs=epochs,
                   source=str(attrs.get("source", "xarray")))

    def save_netcdf(self, path: str | Path, *, dtype: str = "float32",
                    compression: int = 4) -> Path:
        """Write a NetCDF-4 file (via h5netcdf); :func:`load_netcdf` reads it back.

        Parameters
        ----------
        path : str or Path
        dtype : {"float32", "float64"}
            Storage type of the activity. float32 (default) keeps 7 significant digits, far
            more than a rate or a recording needs, in half the space; ``"float64"`` stores the
            values exactly.
        compression : int
            gzip level 0 (none) to 9 of the activity, with the byte-shuffle filter. Measured on
            the demo network's noise-free 512 x 110 x 64 recording: 1.8 MB at the defaults,
            14.5 MB as raw float32, 28.9 MB as raw float64 (with recurrent noise, 10.3 MB).
        """
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}")
        if isinstance(compression, bool) or not isinstance(compression, int) or not (
                0 <= compression <= 9):
            raise ValueError(f"compression must be an int from 0 to 9; got {compression!r}")
        path = Path(path)
        encoding: dict[str, Any] = {"dtype": dtype}
        if compression:
            encoding.update(zlib=True, complevel=compression, shuffle=True)
        self.to_xarray().to_netcdf(path, engine="h5netcdf", encoding={"activity": encoding})
        return path

    def save_npz(self, path: str | Path) -> Path:
        """Write arrays to ``.npz`` (conditions as ``condition:<name>``, epochs ``epoch:<name>``)."""
        path = Path(path)
        arrays = {"data": self.data, "time": self.time, "units": self.units}
        arrays.update({f"condition:{k}": v for k, v in self.conditions.items()})
        arrays.update({f"epoch:{k}": v for k, v in self.epochs.items()})
        np.savez(path, **arrays)
        return path

    # -------------------------------------------------------------------- models
    @classmethod
    def from_run(
        cls,
        run,
        n_trials: int = 256,
        *,
        seed: int = 0,
        conditions: Mapping[str, Any] | None = None,
        noise: bool = False,
    ) -> Recording:
        """Simulate a run's model on a fresh task batch; its hidden activity as a Recording.

        Parameters
        ----------
        run : brainlike.experiments.Run, or str/Path of a run directory
        n_trials : int
            Trials generated with ``run.task.generate(n_trials, seed=seed, conditions=...)``.
        seed : int
            Seeds the task batch and the recurrent noise: the same seed gives the same Recording.
        conditions : mapping, optional
            Task variables to fix (passed to ``Task.generate``).
        noise : bool
            Include both sources of noise: the task's input noise and the model's recurrent
            noise. Off by default: the simulation is then deterministic given the task
            variables, so trials with the same conditions have the same activity (up to the
            conditions drawn at random, such as durations), and condition averages hold no
            noise at all.

        Returns
        -------
        Recording
            ``data`` (n_trials, T, N) -- the model's activity (rates, or an LSTM's ``h``),
            NaN after each trial's end; ``time`` = step × dt in ms; the batch's conditions and
            epochs; ``source`` the run directory.
        """
        import torch

        if isinstance(run, (str, Path)):
            from brainlike.experiments import load_run

            run = load_run(run)
        batch = run.task.generate(n_trials, seed=seed, conditions=conditions, noise=noise)
        gen = torch.Generator().manual_seed(int(seed))
        ref = next(iter(run.model.parameters()))
        inputs = torch.tensor(batch.inputs).to(device=ref.device, dtype=ref.dtype)
        with torch.no_grad():
            out = run.model(inputs, noise=noise, generator=gen)
        act = out.activity.double().cpu().numpy()
        valid = np.arange(batch.n_steps)[None, :] < batch.lengths[:, None]
        act = np.where(valid[..., None], act, np.nan)
        return cls(
            act, time=np.arange(batch.n_steps) * batch.dt, conditions=dict(batch.conditions),
            epochs=dict(batch.epochs), source=str(run.directory),
        )

    # -------------------------------------------------------------------- condition averages
    def average(self, by: Sequence[str]) -> Recording:
        """Average trials within each combination of the conditions ``by``.

        Returns
        -------
        Recording
            One "trial" per distinct combination, sorted; ``conditions`` holds the combination
            and ``n_trials`` (how many trials each mean is over). Time steps where a trial
            had ended (NaN) are excluded from its mean; epochs are dropped.
        """
        keys, groups = self._groups(by)
        sums = np.zeros((len(keys), *self.data.shape[1:]))
        counts = np.zeros((len(keys), *self.data.shape[1:]))
        finite = np.isfinite(self.data)
        np.add.at(sums, groups, np.where(finite, self.data, 0.0))
        np.add.at(counts, groups, finite)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts
        conds = {name: np.array([k[i] for k in keys]) for i, name in enumerate(by)}
        conds["n_trials"] = np.bincount(groups, minlength=len(keys))
        return Recording(means, time=self.time, conditions=conds, units=self.units, source=self.source)

    def _groups(self, by: Sequence[str]) -> tuple[list[tuple], np.ndarray]:
        if isinstance(by, str):
            raise TypeError(f"by must be a sequence of condition names, e.g. [{by!r}]")
        missing = [k for k in by if k not in self.conditions]
        if missing or not by:
            raise ValueError(
                f"by must name conditions of this recording {list(self.conditions)}; got {list(by)}"
            )
        labels = list(zip(*(self.conditions[k].tolist() for k in by)))
        keys = sorted(set(labels))
        index = {k: i for i, k in enumerate(keys)}
        return keys, np.array([index[k] for k in labels])

    def responses(self, by: Sequence[str], window: tuple[float, float] | None = None):
        """Condition × unit response matrix: trial- and time-averaged within a time window.

        Parameters
        ----------
        by : sequence of str
            Conditions that define the rows.
        window : (start_ms, stop_ms), optional
            Half-open window on ``time``; default all time bins.

        Returns
        -------
        keys : list of tuple
            The condition combination of each row (sorted).
        X : ndarray, shape (n_conditions, n_units)
            Ready for :func:`brainlike.analysis.rdm`.
        """
        avg = self.average(by)
        sel = np.ones(len(self.time), dtype=bool)
        if window is not None:
            sel = (self.time >= window[0]) & (self.time < window[1])
            if not sel.any():
                raise ValueError(
                    f"window {window} holds no time bin; time spans {self.time[0]}..{self.time[-1]} ms"
                )
        part = avg.data[:, sel]
        finite = np.isfinite(part)
        counts = finite.sum(axis=1)
        if np.any(counts == 0):
            raise ValueError(f"a condition has no running trial in window {window}")
        x = np.where(finite, part, 0.0).sum(axis=1) / counts  # time steps after a trial's end skipped
        keys = list(zip(*(avg.conditions[k].tolist() for k in by)))
        return keys, x


def align(a: Recording, b: Recording, by: Sequence[str], window_a=None, window_b=None):
    """Match two recordings condition by condition (e.g. a model and a brain area).

    Trials are averaged within each combination of ``by`` in both; only combinations present in
    both are kept, in sorted order.

    Returns
    -------
    keys : list of tuple
        The shared condition combinations, one per row.
    Xa : ndarray, shape (n_conditions, a.n_units)
    Xb : ndarray, shape (n_conditions, b.n_units)

    Examples
    --------
    >>> import numpy as np
    >>> a = Recording(np.ones((3, 2, 4)), conditions={"s": [1, 2, 3]})
    >>> b = Recording(np.ones((4, 5, 7)), conditions={"s": [2, 3, 3, 4]})
    >>> keys, Xa, Xb = align(a, b, ["s"])
    >>> keys, Xa.shape, Xb.shape
    ([(2,), (3,)], (2, 4), (2, 7))
    """
    ka, xa = a.responses(by, window_a)
    kb, xb = b.responses(by, window_b)
    shared = sorted(set(ka) & set(kb))
    if not shared:
        raise ValueError(f"the recordings share no combination of {list(by)}")
    ia = {k: i for i, k in enumerate(ka)}
    ib = {k: i for i, k in enumerate(kb)}
    return shared, xa[[ia[k] for k in shared]], xb[[ib[k] for k in shared]]


# ------------------------------------------------------------------------ layers of a network
def _from_layers(
    cls,
    model,
    stimuli,
    layers: Sequence[str] | str | None = None,
    *,
    conditions: Mapping[str, Any] | None = None,
    batch_size: int = 256,
) -> dict[str, Recording]:
    """Activations of named layers of any ``torch.nn.Module``: one stimulus × unit Recording each.

    Forward hooks (:func:`brainlike.models.layer_activations`) record each layer's output,
    flattened to units (a conv layer's ``C·H·W`` in C, H, W order); the forward pass stops
    after the last requested layer. The model runs in eval mode (dropout off) without
    gradients, and its mode is restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`brainlike.models.ConvNet`, a torchvision model with weights from a local file,
        or any module.
    stimuli : array or Tensor (N, ...), or an object with ``inputs`` or ``images`` and ``conditions``
        E.g. images ``(N, C, H, W)``, an ``ImageBatch`` or a ``StimulusSet``; their
        ``conditions`` become the recording's (unless ``conditions`` is given).
    layers : str or sequence of str, optional
        Submodule names (``model.named_modules()``); default ``model.layer_names`` (a ConvNet's
        layers and readout).
    conditions : mapping, optional
        The stimulus table, one ``(N,)`` array per variable (label, orientation, ...).
    batch_size : int
        Stimuli per forward pass.

    Returns
    -------
    dict of str to Recording
        In the order of ``layers``; each ``data (N, 1, n_units)`` (a single time bin at 0 ms),
        ``conditions`` the stimulus table plus ``stimulus`` (the row index), ``source``
        ``"<model class>.<layer>"``. ``rec.responses(["label"])`` then gives the
        condition × unit matrix for :func:`brainlike.analysis.rdm`.

    Examples
    --------
    >>> import numpy as np
    >>> from brainlike.models import ConvNet
    >>> net = ConvNet((1, 8, 8), 10, seed=0)
    >>> recs = Recording.from_layers(net, np.zeros((6, 1, 8, 8), np.float32), ["conv1", "fc2"],
    ...                              conditions={"label": [0, 1, 2, 0, 1, 2]})
    >>> recs["conv1"].data.shape, recs["fc2"].n_units, recs["fc2"].source
    ((6, 1, 384), 84, 'ConvNet.fc2')
    """
    import torch

    from brainlike.models import layer_activations
    from brainlike.models._hooks import eval_mode

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    table = conditions
    if not isinstance(stimuli, (np.ndarray, torch.Tensor)):
        array = getattr(stimuli, "inputs", getattr(stimuli, "images", None))
        if array is None:
            raise TypeError(
                "stimuli must be an array (N, ...) or have 'inputs' or 'images'; got "
                f"{type(stimuli).__name__}"
            )
        if table is None:
            table = getattr(stimuli, "conditions", None)
        stimuli = array
    if layers is None:
        layers = getattr(model, "layer_names", None)
        if layers is None:
            raise ValueError(
                f"layers must be given for a {type(model).__name__} (it has no layer_names)"
            )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            "The 'batch_size' parameter of Recording.from_layers must be an int >= 1. "
            f"Got {batch_size!r} instead."
        )
    x = stimuli if isinstance(stimuli, torch.Tensor) else torch.tensor(np.asarray(stimuli))
    n = int(x.shape[0]) if x.ndim else 0
    conds = {str(k): np.asarray(v) for k, v in dict(table or {}).items()}
    for k, v in conds.items():
        if v.shape != (n,):
            raise ValueError(f"conditions[{k!r}] must have shape (n_stimuli,) = ({n},); got {v.shape}")
    conds.setdefault("stimulus", np.arange(n))
    with eval_mode(model):
        acts = layer_activations(model, x, layers, batch_size=batch_size)
    name = type(model).__name__
    return {
        layer: cls(a.detach().double().cpu().numpy()[:, None, :], time=[0.0], conditions=conds,
                   source=f"{name}.{layer}")
        for layer, a in acts.items()
    }


Recording.from_layers = classmethod(_from_layers)
