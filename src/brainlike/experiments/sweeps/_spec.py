"""Sweep specifications: a base run config, grid and random values for dotted fields, seeds."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .._config import ConfigError, RunConfig, parse_config, read_yaml

_DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")
# Fields that only seed a run: runs that differ in nothing else train as one ensemble.
ENSEMBLE_SEED_FIELDS = ("model.seed", "training.seed")


class SweepSpec(BaseModel):
    """What a sweep file holds (YAML). Every run is ``base`` with some fields replaced.

    Attributes
    ----------
    base : dict or str
        A run config (see :class:`brainlike.experiments.RunConfig`), or the path of a YAML run
        config relative to the sweep file.
    grid : dict of str to list
        Dotted config fields (``training.lr``, ``model.n_hidden``, ``task.params.coherences``)
        and the values to try; the sweep takes every combination.
    random : dict of str to dict
        Dotted fields drawn at random, each ``{uniform: [lo, hi]}``, ``{loguniform: [lo, hi]}``,
        ``{randint: [lo, hi]}`` (both ends included) or ``{choice: [a, b, ...]}``; ``samples``
        draws (floats rounded to 4 significant digits), crossed with the grid.
    samples : int
        Number of random draws (required with ``random``).
    sample_seed : int
        Seed of the random draws.
    seeds : list of int
        Each grid/random point is run once per seed.
    seed_fields : list of str
        The fields each seed is written to (default ``model.seed`` and ``training.seed``).
    retries : int
        A failed run is tried again this many times before it is reported failed.
    ensemble : bool
        Train runs that differ only in ``model.seed`` / ``training.seed`` as one vectorized
        ensemble (:func:`brainlike.training.train_ensemble`) where the architecture allows it.
    max_ensemble : int
        Largest ensemble; bigger groups are split.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    base: dict[str, Any] | str
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    random: dict[str, dict[str, list[Any]]] = Field(default_factory=dict)
    samples: int = Field(0, ge=0)
    sample_seed: int = Field(0, ge=0)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    seed_fields: list[str] = Field(default_factory=lambda: list(ENSEMBLE_SEED_FIELDS))
    retries: int = Field(1, ge=0)
    ensemble: bool = True
    max_ensemble: int = Field(32, ge=1)

    @field_validator("grid")
    @classmethod
    def _grid_values(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if len(values) == 0:
                raise ValueError(f"grid field {key!r} has no values")
        return v

    @field_validator("random")
    @classmethod
    def _random_specs(cls, v: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
        for key, dist in v.items():
            if len(dist) != 1 or next(iter(dist)) not in _DISTRIBUTIONS:
                raise ValueError(
                    f"random field {key!r} must be one of {{uniform: [lo, hi]}}, "
                    f"{{loguniform: [lo, hi]}}, {{randint: [lo, hi]}}, {{choice: [...]}}; "
                    f"got {dist!r}"
                )
            kind, args = next(iter(dist.items()))
            if kind == "choice":
                if len(args) == 0:
                    raise ValueError(f"random field {key!r}: choice needs at least one value")
                continue
            if len(args) != 2 or not all(isinstance(a, (int, float)) for a in args):
                raise ValueError(f"random field {key!r}: {kind} needs [lo, hi]; got {args!r}")
            lo, hi = args
            if not lo <= hi:
                raise ValueError(f"random field {key!r}: {kind} needs lo <= hi; got {args!r}")
            if kind == "loguniform" and lo <= 0:
                raise ValueError(f"random field {key!r}: loguniform needs lo > 0; got {args!r}")
        return v

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, v: list[int]) -> list[int]:
        if any(s < 0 for s in v):
            raise ValueError(f"seeds must be >= 0; got {v}")
        if len(set(v)) != len(v):
            raise ValueError(f"seeds must be distinct; got {v}")
        return v

    @model_validator(mode="after")
    def _samples_with_random(self) -> SweepSpec:
        if self.random and self.samples < 1:
            raise ValueError("random fields need samples >= 1 (the number of random draws)")
        if self.samples and not self.random:
            raise ValueError("samples is set but there are no random fields")
        overlap = sorted(set(self.grid) & set(self.random))
        overlap += sorted(set(self.seed_fields) & (set(self.grid) | set(self.random)))
        if overlap:
            raise ValueError(f"fields {overlap} are varied twice (grid, random or seed_fields)")
        return self


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep.

    Attributes
    ----------
    name : str
        Directory name under ``runs/``, deterministic from the varied values.
    config : RunConfig
    varied : dict
        The values this run sets (dotted field -> value), ``seed`` included.
    """

    name: str
    config: RunConfig
    varied: dict[str, Any]


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: its spec and its runs, in a fixed order.

    Attributes
    ----------
    spec : SweepSpec
        With ``base`` resolved to a mapping.
    runs : tuple of RunSpec
    varied_fields : tuple of str
        The dotted fields that vary, then ``"seed"``.
    """

    spec: SweepSpec
    runs: tuple[RunSpec, ...]
    varied_fields: tuple[str, ...]

    def run(self, name: str) -> RunSpec:
        for r in self.runs:
            if r.name == name:
                return r
        raise KeyError(f"no run named {name!r} in this sweep")


def _format_errors(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  {loc}: {msg}")
    return "invalid sweep:\n" + "\n".join(lines)


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for p in parts[:-1]:
        child = node.get(p)
        if child is None:
            child = node[p] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"sweep field {key!r}: {p!r} is not a section of the run config")
        node = child
    node[parts[-1]] = value


def _round4(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.4g}")


def _draw(kind: str, args: list[Any], rng: np.random.Generator) -> Any:
    if kind == "uniform":
        return _round4(float(rng.uniform(args[0], args[1])))
    if kind == "loguniform":
        return _round4(float(np.exp(rng.uniform(np.log(args[0]), np.log(args[1])))))
    if kind == "randint":
        return int(rng.integers(int(args[0]), int(args[1]) + 1))
    return copy.deepcopy(args[int(rng.integers(len(args)))])


_UNSAFE = re.compile(r"[^A-Za-z0-9._=+\-]")


def _format_value(v: Any) -> str:
    if isinstance(v, bool):
        text = str(v).lower()
    elif isinstance(v, float):
        text = f"{v:g}"
    elif isinstance(v, (int, str)):
        text = str(v)
    else:
        text = json.dumps(v, sort_keys=True, separators=(",", ":"))
    return _UNSAFE.sub("-", text)


MAX_NAME = 200  # bytes; file names are at most 255 (the events file adds ".jsonl")


def _fit_name(name: str) -> str:
    """``name``, or, when too long for a file name, its start and a hash of the whole."""
    if len(name.encode()) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{name.encode()[:MAX_NAME - 18].decode(errors='ignore')}~{digest}"


def _short_names(fields: list[str]) -> dict[str, str]:
    """The last component of each dotted field, or the whole path where that is ambiguous."""
    last = [f.split(".")[-1] for f in fields]
    return {f: (s if last.count(s) == 1 and s != "seed" else f) for f, s in zip(fields, last)}


def parse_sweep(data: Any, *, root: str | Path | None = None) -> Sweep:
    """Validate a sweep mapping and expand it into runs.

    Parameters
    ----------
    data : mapping
        The sweep (see :class:`SweepSpec`).
    root : path, optional
        Folder that a ``base`` given as a path is relative to.

    Returns
    -------
    Sweep

    Raises
    ------
    ConfigError
        Naming the bad sweep field, or the run and the config field that does not validate.

    Examples
    --------
    >>> sweep = parse_sweep({"base": {"task": {"name": "perceptual_decision"}},
    ...                      "grid": {"training.lr": [0.001, 0.01]}, "seeds": [0, 1]})
    >>> [r.name for r in sweep.runs]
    ['lr=0.001,seed=0', 'lr=0.001,seed=1', 'lr=0.01,seed=0', 'lr=0.01,seed=1']
    >>> sweep.runs[3].config.training.lr, sweep.runs[3].config.model.seed
    (0.01, 1)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"a sweep must be a mapping; got {type(data).__name__}")
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_errors(e)) from None
    base = spec.base
    if isinstance(base, str):
        path = Path(root or ".") / base
        base = read_yaml(path, "sweep base config")
        if not isinstance(base, dict):
            raise ConfigError(f"sweep base config {path} must be a mapping")
    try:
        parse_config(base)
    except ConfigError as e:
        raise ConfigError(f"sweep base: {e}") from None
    spec = spec.model_copy(update={"base": base})

    grid_fields = list(spec.grid)
    random_fields = list(spec.random)
    points = [dict(zip(grid_fields, values)) for values in itertools.product(*spec.grid.values())]
    if spec.random:
        rng = np.random.default_rng(spec.sample_seed)
        draws = []
        for i in range(spec.samples):
            d: dict[str, Any] = {"sample": i}
            for key, dist in spec.random.items():
                kind, args = next(iter(dist.items()))
                d[key] = _draw(kind, args, rng)
            draws.append(d)
        points = [{**p, **d} for p in points for d in draws]
    fields = grid_fields + (["sample"] if spec.random else []) + random_fields
    short = _short_names(grid_fields + random_fields)
    short["sample"] = "sample"

    runs = []
    seen: dict[str, dict] = {}
    for point in points:
        for seed in spec.seeds:
            cfg = copy.deepcopy(base)
            for key, value in point.items():
                if key != "sample":
                    _set_dotted(cfg, key, copy.deepcopy(value))
            for key in spec.seed_fields:
                _set_dotted(cfg, key, seed)
            name = _fit_name(",".join(
                [f"{short[k]}={_format_value(point[k])}" for k in fields] + [f"seed={seed}"]
            ))
            varied = {**{k: point[k] for k in fields}, "seed": seed}
            if name in seen:
                raise ConfigError(
                    f"two runs of the sweep get the same name {name!r}: {seen[name]} and {varied}"
                )
            seen[name] = varied
            try:
                config = parse_config(cfg)
            except ConfigError as e:
                raise ConfigError(f"sweep run {name}: {e}") from None
            runs.append(RunSpec(name, config, varied))
    return Sweep(spec, tuple(runs), (*fields, "seed"))


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep YAML file (``base`` may name a run config relative to it)."""
    path = Path(path)
    return parse_sweep(read_yaml(path, "sweep file"), root=path.parent)


def dump_sweep(sweep: Sweep) -> str:
    """The sweep as YAML, with ``base`` inlined (what a sweep directory keeps)."""
    return yaml.safe_dump(sweep.spec.model_dump(mode="json"), sort_keys=False)


def ensemble_groups(sweep: Sweep) -> list[tuple[RunSpec, ...]]:
    """Partition the runs into jobs: runs that differ only in ``model.seed`` and
    ``training.seed`` form one group (at most ``max_ensemble`` runs) when they can be stacked,
    every other run is a group of one. Order follows the sweep's."""
    groups: dict[str, list[RunSpec]] = {}
    order: list[str] = []
    for run in sweep.runs:
        if sweep.spec.ensemble and _stackable(run.config):
            d = run.config.to_dict()
            d["model"]["seed"] = None
            d["training"]["seed"] = None
            key = json.dumps(d, sort_keys=True)
        else:
            key = "single:" + run.name
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(run)
    out = []
    size = sweep.spec.max_ensemble
    for key in order:
        g = groups[key]
        out.extend(tuple(g[i:i + size]) for i in range(0, len(g), size))
    return out


def _stackable(config: RunConfig) -> bool:
    """Whether :func:`brainlike.training.train_ensemble` can train this run."""
    m = config.model  # BPTT on RateRNNs only, without connectivity, Yang 2019's noise convention
    return (config.training.algorithm == "bptt" and m.type == "rate" and m.connectivity is None
            and m.noise_convention == "inside_f" and not hasattr(config.task.build(), "tasks"))
