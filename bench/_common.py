"""Shared helpers for the brainlike benchmarks (timing, threads, machine info, JSON output).

Timing rules used by every script (the machine is a shared 2-core VM, so timings are noisy):

* every comparison is made inside one process, with the competing variants timed
  round-robin (A, B, C, A, B, C, ...) so that background load hits all of them alike;
* the reported figure is the median of the repeats (min and max are kept in the JSON);
* ``torch.set_num_threads`` is always set explicitly (see :func:`set_threads`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_START_UTC = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
_START_LOAD = [round(x, 2) for x in os.getloadavg()]  # when the script started (import time)


def set_threads(n: int) -> None:
    """Set torch's intra-op thread count (and the BLAS/OpenMP env vars for child processes).

    On a 2-core machine shared with other jobs, ``n=2`` can be ~30x slower than ``n=1``
    when the other core is busy (OpenMP spin-waits on the loaded core), so the thread
    count is always a deliberate, recorded choice.
    """
    import torch

    torch.set_num_threads(n)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return []


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor()


def _git_rev() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except Exception:  # pragma: no cover
        return "unknown"


def machine_info() -> dict:
    import numpy
    import torch

    info = {
        "date_utc": _START_UTC,
        "host_cpu": _cpu_model(),
        "n_cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "git_rev": _git_rev(),
        "loadavg_at_start": _START_LOAD,
    }
    try:
        import neurogym

        info["neurogym"] = neurogym.__version__
    except Exception:
        info["neurogym"] = None
    try:
        import brainlike

        info["brainlike"] = getattr(brainlike, "__version__", "unknown")
    except Exception:
        info["brainlike"] = None
    return info


def time_call(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def stats(xs: list[float]) -> dict:
    """Summary of a list of timings in seconds (reported in ms)."""
    return {
        "n": len(xs),
        "median_ms": 1e3 * statistics.median(xs),
        "mean_ms": 1e3 * statistics.fmean(xs),
        "min_ms": 1e3 * min(xs),
        "max_ms": 1e3 * max(xs),
    }


def round_robin(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict:
    """Time each callable ``repeats`` times, interleaved; returns {name: [seconds, ...]}."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            out[k].append(time_call(fn))
    return out


def matmul_peak(threads: int, n: int = 2048, reps: int = 20) -> dict:
    """fp32 ``torch.mm`` n x n x n GFLOP/s with the given thread count: best / median / worst."""
    import torch

    set_threads(threads)
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    torch.mm(a, b)  # warm-up
    ts = [time_call(lambda: torch.mm(a, b)) for _ in range(reps)]
    flop = 2.0 * n**3
    return {
        "threads": threads,
        "n": n,
        "reps": reps,
        "best_gflops": flop / min(ts) / 1e9,
        "median_gflops": flop / statistics.median(ts) / 1e9,
        "worst_gflops": flop / max(ts) / 1e9,
    }


def write_results(name: str, payload: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = dict(payload)
    payload.setdefault("machine", machine_info())
    payload["machine"]["loadavg_at_end"] = loadavg()
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    print(f"\nwrote {path}")
    return path


def print_table(headers: list[str], rows: list[list[object]]) -> None:
    """Print a GitHub-markdown table."""

    def fmt(x: object) -> str:
        if isinstance(x, float):
            if abs(x) >= 100:
                return f"{x:.0f}"
            if abs(x) >= 10:
                return f"{x:.1f}"
            return f"{x:.3g}"
        return str(x)

    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for r in rows:
        print("| " + " | ".join(fmt(x) for x in r) + " |")
