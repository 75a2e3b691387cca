"""The ensemble benchmark on a CUDA GPU: 32 networks x 64 units, one after another vs ``train_ensemble``.

The workload of ``bench_ensemble.py`` (perceptual decision making at dt 100 ms, RateRNN with 64
units, Adam lr 1e-3, batch 64, ``--steps`` steps per network, one evaluation at the end), trained
with ``device="cuda"``: ``sequential`` (``train`` on each network in turn) and ``ensemble``
(``train_ensemble`` on all 32), timed round-robin with ``torch.cuda.synchronize()`` before each
clock reading, plus ``ensemble_cpu`` (the same ensemble on the CPU, one thread) for reference.
Trials and recurrent noise are drawn on the CPU on every device (the same streams), so the GPU
side still pays for generation on the host.

Without a CUDA device it measures nothing, says so, and writes ``{"cuda": false}`` to the
results file.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import loadavg, machine_info, print_table, set_threads, write_results
from bench_ensemble import N_NETS, _kw, _models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--name", default="ensemble_cuda", help="results file: bench/results/NAME.json")
    args = ap.parse_args()
    set_threads(1)
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device here (torch.cuda.is_available() is False): nothing was measured")
        write_results(args.name, {"benchmark": "bench_ensemble_cuda.py", "args": vars(args),
                                  "cuda": False, "torch": torch.__version__,
                                  "load": loadavg(), "machine": machine_info()})
        return
    from brainlike.tasks import make
    from brainlike.training import train, train_ensemble

    task = make("perceptual_decision")

    def sequential():
        for s, m in zip(range(N_NETS), _models(task, range(N_NETS))):
            train(m, task, seed=s, device="cuda", progress=False, **_kw(args.steps))

    def ensemble(device):
        train_ensemble(_models(task, range(N_NETS)), task, seeds=range(N_NETS), device=device,
                       progress=False, **_kw(args.steps))

    variants = {"sequential": sequential, "ensemble": lambda: ensemble("cuda"),
                "ensemble_cpu": lambda: ensemble("cpu")}
    ensemble("cuda")  # warm-up: CUDA context, kernels, allocator
    load_before = loadavg()
    times: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(args.repeats):
        for name, fn in variants.items():
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            times[name].append(time.perf_counter() - t0)
            print(f"round {r + 1} {name}: {times[name][-1]:.2f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    net_steps = N_NETS * args.steps
    print_table(["variant", "median wall s", "network-steps/s", "vs sequential on the GPU"],
                [[k, f"{v:.2f}", f"{net_steps / v:.0f}", f"{med['sequential'] / v:.2f}x"]
                 for k, v in med.items()])
    write_results(args.name, {
        "benchmark": "bench_ensemble_cuda.py", "args": vars(args), "cuda": True,
        "device_name": torch.cuda.get_device_name(0), "torch": torch.__version__,
        "seconds": times, "median_seconds": med,
        "ratios": {"ensemble_vs_sequential_cuda": med["sequential"] / med["ensemble"],
                   "ensemble_cuda_vs_ensemble_cpu": med["ensemble_cpu"] / med["ensemble"]},
        "load_before": load_before, "load_after": loadavg(), "machine": machine_info(),
    })


if __name__ == "__main__":
    main()
