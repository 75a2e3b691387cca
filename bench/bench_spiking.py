"""Recurrent LIF network: brainlike SpikingRNN vs the same network written with snnTorch.

Part 1, forward+backward of one batch (threads 1; batch 64, 16 inputs, 3 outputs, MSE on all
steps; N = 256, 512; T = 100, 200; round-robin in one process, median over rounds of each
variant's time divided by brainlike's, in wall-clock time and in the process's CPU time). The
network: ``SpikingRNN(input_synapse=True, reset="zero", surrogate="arctan")`` at dt = 1 ms,
tau_syn 5, tau_mem 10, tau_out 20 ms, i.e. ``I_t = alpha I + (1-alpha)(W_x x + b) + W s_{t-1}``,
``P_t = beta V + (1-beta) I_t``, spike at ``P >= 1``, reset to 0 in the same step, readout
``W_y r_t``, ``r_t = gamma r + s_t``. Variants:

* ``brainlike``: ``SpikingRNN.forward`` (input drive for all steps in one matmul, the loop and its
  hand-written backward pass);
* ``snntorch``: the same equations with snnTorch 1.0: ``snntorch.Synaptic(alpha, beta,
  reset_mechanism="none", spike_grad=surrogate.atan(2))`` stepped in a Python loop, input and
  recurrent ``nn.Linear`` per step as in snnTorch's tutorials (weights ``(1-beta)(1-alpha) W_x``,
  ``(1-beta) W``: snnTorch's ``mem`` is our ``P``, its ``syn`` our ``(1-beta) I``), the zero
  reset applied right after the spike (``mem * (1 - spk.detach())``) and the readout filter by
  hand. It gives the same spikes as brainlike (checked in float64 at the start);
* ``snntorch_pre``: the same, with the input projection for all steps in one matmul before the
  loop (our first trick, given to snnTorch);
* ``RSynaptic``: snnTorch's stock recurrent ``RSynaptic(all_to_all=True)`` with
  ``reset_mechanism="zero"``, which applies the reset one step late and zeroes the synaptic
  current too (snnTorch's convention: not the same spikes; a speed reference only).

Part 2, time to 90 % of the ideal observer's ceiling on perceptual decision making (dt 20 ms,
128 units, the same network with ``tau_syn = tau_out = 100`` ms, batch 64, Adam 3e-3, gradient
norm clipped at 1, 500 fresh trials every 50 steps): ``brainlike.training.train`` vs the
snnTorch network above in a plain PyTorch loop with the same initial weights, the same trials
(``task.generate(64, seed=[seed, 0, step])``) and the same masked cross-entropy; median of 3
seeds. Writes ``bench/results/spiking.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import snntorch as snn
import torch
from _common import RESULTS_DIR, loadavg, print_table, set_threads, stats, write_results
from snntorch import surrogate
from torch import nn

from brainlike.models import SpikingRNN
from brainlike.tasks import make as make_task
from brainlike.training import train
from brainlike.training._losses import masked_cross_entropy

BATCH, N_IN, N_OUT = 64, 16, 3
FAST = {"dt": 1.0, "tau_syn": 5.0, "tau_mem": 10.0, "tau_out": 20.0}
TASK_NET = {"dt": 20.0}  # the defaults otherwise (tau_syn = tau_out = 100 ms)
RESULTS = RESULTS_DIR / "spiking.json"


class SnnTorchRSNN(nn.Module):
    """The SpikingRNN equations (input through the synapse, zero reset) built with snnTorch."""

    def __init__(self, ref: SpikingRNN, precompute: bool = False) -> None:
        super().__init__()
        a, b = ref.alpha, ref.beta
        self.gamma, self.precompute = ref.gamma, precompute
        self.fc_in = nn.Linear(ref.n_input, ref.n_hidden)
        self.fc_rec = nn.Linear(ref.n_hidden, ref.n_hidden, bias=False)
        self.fc_out = nn.Linear(ref.n_hidden, ref.n_output)
        with torch.no_grad():
            self.fc_in.weight.copy_((1 - b) * (1 - a) * ref.w_in)
            self.fc_in.bias.copy_((1 - b) * (1 - a) * ref.b_rec)
            self.fc_rec.weight.copy_((1 - b) * ref.w_rec)
            self.fc_out.weight.copy_(ref.w_out)
            self.fc_out.bias.copy_(ref.b_out)
        self.lif = snn.Synaptic(alpha=a, beta=b, threshold=ref.threshold, reset_mechanism="none",
                                spike_grad=surrogate.atan(alpha=ref.surrogate_scale))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, _ = x.shape
        n = self.fc_rec.weight.shape[0]
        spk = syn = mem = rho = x.new_zeros(b, n)
        # unbind, not drive[:, k]: the backward of T slices would add T full-size gradients
        drive = self.fc_in(x).unbind(1) if self.precompute else None
        outs, spikes = [], []
        for k in range(t):
            cur = drive[k] if drive is not None else self.fc_in(x[:, k])
            spk, syn, mem = self.lif(cur + self.fc_rec(spk), syn, mem)
            spk = spk.to(x.dtype)  # snnTorch's atan returns float32 spikes; a no-op in float32
            mem = mem * (1.0 - spk.detach())
            rho = self.gamma * rho + spk
            outs.append(self.fc_out(rho))
            spikes.append(spk)
        return torch.stack(outs, 1), torch.stack(spikes, 1)


class StockRSynaptic(nn.Module):
    """snnTorch's own recurrent synaptic layer (its reset convention)."""

    def __init__(self, ref: SpikingRNN) -> None:
        super().__init__()
        self.gamma = ref.gamma
        self.fc_in = nn.Linear(ref.n_input, ref.n_hidden)
        self.fc_out = nn.Linear(ref.n_hidden, ref.n_output)
        self.lif = snn.RSynaptic(alpha=ref.alpha, beta=ref.beta, linear_features=ref.n_hidden,
                                 reset_mechanism="zero", spike_grad=surrogate.atan(alpha=2.0))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, _ = x.shape
        spk, syn, mem = self.lif.init_rsynaptic()
        rho = x.new_zeros(b, self.fc_out.weight.shape[1])
        outs = []
        for k in range(t):
            spk, syn, mem = self.lif(self.fc_in(x[:, k]), spk, syn, mem)
            rho = self.gamma * rho + spk
            outs.append(self.fc_out(rho))
        return torch.stack(outs, 1), spk


def _reference(n: int, dtype=torch.float32, **kw) -> SpikingRNN:
    return SpikingRNN(N_IN, n, N_OUT, input_synapse=True, reset="zero", surrogate="arctan",
                      w_in_gain=3.0, seed=0, **{**FAST, **kw}).to(dtype)


def check_same_spikes() -> dict:
    """float64: the snnTorch network gives brainlike's spikes, outputs and gradients."""
    ref = _reference(64, torch.float64)
    other = SnnTorchRSNN(ref).double()
    x = torch.rand(8, 60, N_IN, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = ref(x, noise=False)
    y, s = other(x)
    a.outputs.square().sum().backward()
    y.square().sum().backward()
    # snnTorch's recurrent weight is (1 - beta) W, so dL/dW = (1 - beta) dL/d(its weight)
    g_other = other.fc_rec.weight.grad * (1 - ref.beta)
    return {
        "spikes": int(a.activity.sum()),
        "spikes_equal": bool(torch.equal(a.activity, s)),
        "max_output_difference": float((a.outputs - y).abs().max().detach()),
        # snnTorch's atan returns float32 spikes, so its backward pass runs partly in float32:
        # the gradients agree to float32 precision (brainlike's equals autograd in float64 to
        # ~1e-15, tests/models/test_spiking.py)
        "w_rec_gradient_relative_difference": float(
            (ref.w_rec.grad - g_other).abs().max() / ref.w_rec.grad.abs().max()),
    }


def _ratio(xs: list[float], base: list[float]) -> float:
    """Median over rounds of a variant's time over brainlike's time in the same round."""
    return statistics.median(a / b for a, b in zip(xs, base))


def _round_robin_wall_and_cpu(fns: dict, repeats: int) -> tuple[dict, dict]:
    """Round-robin timing in wall-clock time and in this process's CPU time (the second is
    less sensitive to other jobs on a loaded machine; with one thread the two agree when it
    is quiet)."""
    for fn in fns.values():
        fn()
    wall: dict = {k: [] for k in fns}
    cpu: dict = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[k].append(time.perf_counter() - w0)
            cpu[k].append(time.process_time() - c0)
    return wall, cpu


def speed(ns: list[int], ts: list[int], repeats: int) -> dict:
    out = {}
    for n in ns:
        for t in ts:
            ref = _reference(n)
            models = {"brainlike": ref, "snntorch": SnnTorchRSNN(ref),
                      "snntorch_pre": SnnTorchRSNN(ref, precompute=True),
                      "RSynaptic": StockRSynaptic(ref)}
            g = torch.Generator().manual_seed(1)
            x = torch.rand(BATCH, t, N_IN, generator=g)
            target = torch.randn(BATCH, t, N_OUT, generator=g)

            def step(m, name, x=x, target=target):
                def fn():
                    m.zero_grad(set_to_none=True)
                    y = m(x).outputs if name == "brainlike" else m(x)[0]
                    torch.nn.functional.mse_loss(y, target).backward()
                return fn

            fns = {k: step(m, k) for k, m in models.items()}
            times, cpu = _round_robin_wall_and_cpu(fns, repeats)
            key = f"N={n},T={t}"
            out[key] = {k: {**stats(v), "ratio_to_brainlike": _ratio(v, times["brainlike"]),
                            "cpu_median_ms": 1e3 * statistics.median(cpu[k]),
                            "cpu_ratio_to_brainlike": _ratio(cpu[k], cpu["brainlike"])}
                        for k, v in times.items()}
            out[key]["loadavg_after"] = loadavg()
            print(key, {k: (round(v["ratio_to_brainlike"], 2), round(v["cpu_ratio_to_brainlike"], 2))
                        for k, v in out[key].items() if isinstance(v, dict)}, flush=True)
    return out


def _accuracy(task, forward, n: int, seed) -> float:
    batch = task.generate(n, seed=seed)
    with torch.no_grad():
        y = forward(torch.tensor(batch.inputs))
    return float(task.score(y.numpy(), batch).accuracy)


def time_to_criterion(seeds: list[int], max_steps: int) -> dict:
    task = make_task("perceptual_decision", dt=20.0)
    criterion = 0.9 * task.ceiling
    rows = {}
    for seed in seeds:
        ref = SpikingRNN(task.n_inputs, 128, task.n_outputs, input_synapse=True, seed=seed, **TASK_NET)
        other = SnnTorchRSNN(ref)
        # brainlike
        t0, c0 = time.perf_counter(), time.process_time()
        res = train(ref, task, steps=max_steps, criterion=criterion, seed=seed, eval_every=50,
                    eval_trials=500)
        t_brainlike, c_brainlike = time.perf_counter() - t0, time.process_time() - c0
        # snnTorch, plain loop, same trials, same loss
        opt = torch.optim.Adam(other.parameters(), lr=3e-3)
        t0, c0 = time.perf_counter(), time.process_time()
        steps, acc = 0, 0.0
        for step in range(max_steps):
            batch = task.generate(64, seed=[seed, 0, step])
            x = torch.tensor(batch.inputs)
            y, _ = other(x)
            loss = masked_cross_entropy(y, torch.tensor(batch.targets), torch.tensor(batch.mask))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(other.parameters(), 1.0)
            opt.step()
            steps = step + 1
            if steps % 50 == 0:
                acc = _accuracy(task, lambda v, net=other: net(v)[0], 500, [seed, 1, step])
                if acc >= criterion:
                    break
        t_snn, c_snn = time.perf_counter() - t0, time.process_time() - c0
        rows[str(seed)] = {"brainlike_seconds": t_brainlike, "brainlike_cpu_seconds": c_brainlike,
                           "brainlike_steps": res.steps, "brainlike_status": res.status,
                           "snntorch_seconds": t_snn, "snntorch_cpu_seconds": c_snn,
                           "snntorch_steps": steps, "snntorch_reached": acc >= criterion,
                           "ratio": t_snn / t_brainlike, "cpu_ratio": c_snn / c_brainlike,
                           "loadavg_after": loadavg()}
        print(seed, rows[str(seed)], flush=True)
    return {"criterion": criterion, "ceiling": task.ceiling, "seeds": rows,
            "median_brainlike_seconds": statistics.median(r["brainlike_seconds"] for r in rows.values()),
            "median_snntorch_seconds": statistics.median(r["snntorch_seconds"] for r in rows.values()),
            "median_ratio": statistics.median(r["ratio"] for r in rows.values()),
            "median_cpu_ratio": statistics.median(r["cpu_ratio"] for r in rows.values())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[256, 512])
    p.add_argument("--t", type=int, nargs="+", default=[100, 200])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--max-steps", type=int, default=2000)
    p.add_argument("--skip-training", action="store_true",
                   help="run part 1 only and replace its entry in an existing results file")
    p.add_argument("--skip-speed", action="store_true",
                   help="run part 2 only and replace its entry in an existing results file")
    args = p.parse_args()
    set_threads(1)
    results = {"threads": 1, "snntorch_version": snn.__version__, "loadavg_start": loadavg(),
               "workload": {"batch": BATCH, "n_input": N_IN, "n_output": N_OUT, **FAST}}
    if (args.skip_speed or args.skip_training) and RESULTS.exists():  # keep the other part
        kept = json.loads(RESULTS.read_text())
        kept.pop("machine", None)  # this run's machine and date
        results = {**kept, **({} if args.skip_speed else results), "loadavg_end": None}
    if not args.skip_speed:
        results["same_spikes_float64"] = check_same_spikes()
        print(results["same_spikes_float64"], flush=True)
        results["forward_backward"] = speed(args.n, args.t, args.repeats)
        rows = [[k, v["brainlike"]["median_ms"], *(f"{v[m]['ratio_to_brainlike']:.2f} / "
                                                   f"{v[m]['cpu_ratio_to_brainlike']:.2f}" for m in
                                                   ("snntorch", "snntorch_pre", "RSynaptic"))]
                for k, v in results["forward_backward"].items()]
        print_table(["size", "brainlike ms", "x snntorch (wall / CPU)", "x snntorch_pre",
                     "x RSynaptic"], rows)
    if not args.skip_training:
        results["time_to_criterion"] = {
            **time_to_criterion(args.seeds, args.max_steps), "date": time.strftime("%Y-%m-%d")}
    results["loadavg_end"] = loadavg()
    write_results("spiking", results)


if __name__ == "__main__":
    main()

