"""Forward+backward of one batch: brainlike LSTM (gates on request / gates recorded) vs nn.LSTM
alone vs a naive Python-loop LSTM cell.

Workload: T=100 steps, batch 64, input 3, readout 3, MSE loss on all steps against a fixed random
target, ``loss.backward()``; no optimizer step; gradients reset (``set_to_none``) inside the timed
call. Hidden 64 and 256.

Variants, timed round-robin in the same process:

* ``nn.LSTM``: ``torch.nn.LSTM(3, H, batch_first=True)`` + ``nn.Linear`` readout (the reference);
* ``forward``: ``brainlike.models.LSTM(3, H, 3)``, ``model(x).outputs`` (gates available on
  request, not computed);
* ``traced``: ``model.traced(x)``, every gate and the cell state recorded for every step and
  trial (recomputed from the fused pass), loss on the outputs;
* ``traced+gate_loss``: the same, and the loss also holds ``1e-3 * mean`` of every gate and of
  the cell, so the backward pass runs through the recomputed gates too (a gate penalty);
* ``naive``: the LSTM equations as an autograd loop over time in Python, the gates of every
  step stacked (what exposing gates costs without the fused kernel).

Reported: median time of the repeats, and the median over rounds of each variant's time divided
by ``nn.LSTM``'s time in the same round (robust to load drifting between rounds).
"""

from __future__ import annotations

import argparse
import statistics

import torch
from _common import loadavg, print_table, round_robin, set_threads, stats, write_results
from torch import nn

from brainlike.models import LSTM

T, BATCH, N_IN, N_OUT = 100, 64, 3, 3
TARGET = 1.10  # traced <= 1.1 x nn.LSTM


class NaiveLSTM(nn.Module):
    """Eq. 43 as a plain autograd loop over time, stacking the gates of every step."""

    def __init__(self, n_in: int, n_hid: int, n_out: int) -> None:
        super().__init__()
        k = n_hid**-0.5
        self.w_ih = nn.Parameter(torch.empty(4 * n_hid, n_in).uniform_(-k, k))
        self.w_hh = nn.Parameter(torch.empty(4 * n_hid, n_hid).uniform_(-k, k))
        self.b = nn.Parameter(torch.zeros(4 * n_hid))
        self.readout = nn.Linear(n_hid, n_out)

    def forward(self, x: torch.Tensor):  # x: (B, T, N_IN)
        n = self.w_hh.shape[1]
        h = c = x.new_zeros(x.shape[0], n)
        hs, gates = [], []
        for t in range(x.shape[1]):
            z = x[:, t] @ self.w_ih.t() + h @ self.w_hh.t() + self.b
            i, f = torch.sigmoid(z[:, :n]), torch.sigmoid(z[:, n:2 * n])
            g, o = torch.tanh(z[:, 2 * n:3 * n]), torch.sigmoid(z[:, 3 * n:])
            c = f * c + i * g
            h = o * torch.tanh(c)
            hs.append(h)
            gates.append(torch.stack((i, f, g, o, c)))
        return self.readout(torch.stack(hs, 1)), torch.stack(gates)


def variants(hidden: int) -> dict:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, T, N_IN, generator=g)
    y = torch.randn(BATCH, T, N_OUT, generator=g)
    torch.manual_seed(0)
    ref, readout = nn.LSTM(N_IN, hidden, batch_first=True), nn.Linear(hidden, N_OUT)
    model = LSTM(N_IN, hidden, N_OUT, seed=0)
    naive = NaiveLSTM(N_IN, hidden, N_OUT)
    mse = nn.MSELoss()

    def reference():
        ref.zero_grad(set_to_none=True)
        readout.zero_grad(set_to_none=True)
        mse(readout(ref(x)[0]), y).backward()

    def forward():
        model.zero_grad(set_to_none=True)
        mse(model(x).outputs, y).backward()

    def traced():
        model.zero_grad(set_to_none=True)
        run = model.traced(x)
        mse(run.output.outputs, y).backward()

    def traced_gate_loss():
        model.zero_grad(set_to_none=True)
        run = model.traced(x)
        penalty = sum(run.traces[k].mean() for k in ("input_gate", "forget_gate", "cell_input",
                                                       "output_gate", "cell"))
        (mse(run.output.outputs, y) + 1e-3 * penalty).backward()

    def naive_loop():
        naive.zero_grad(set_to_none=True)
        mse(naive(x)[0], y).backward()

    return {"nn.LSTM": reference, "forward": forward, "traced": traced,
            "traced+gate_loss": traced_gate_loss, "naive": naive_loop}


def run(threads: int, hiddens: list[int], repeats: dict[int, int]) -> dict:
    set_threads(threads)
    out = {}
    for hidden in hiddens:
        times = round_robin(variants(hidden), repeats[hidden], warmup=2)
        ref = times["nn.LSTM"]
        out[str(hidden)] = {
            name: {**stats(ts), "ratio_to_nn.LSTM_median_of_rounds":
                   statistics.median(t / r for t, r in zip(ts, ref))}
            for name, ts in times.items()
        }
        out[str(hidden)]["loadavg_after"] = loadavg()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1])
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 256])
    p.add_argument("--repeats", type=int, default=21)
    args = p.parse_args()
    repeats = {h: max(5, args.repeats if h <= 64 else args.repeats // 2) for h in args.hidden}
    results = {"workload": {"T": T, "batch": BATCH, "n_input": N_IN, "n_output": N_OUT,
                            "loss": "MSE on all steps", "target_traced_ratio": TARGET},
               "passes": {}}
    for threads in args.threads:
        res = run(threads, args.hidden, repeats)
        results["passes"][f"threads={threads}"] = res
        print(f"\n### threads = {threads}\n")
        rows = []
        for hidden, by in res.items():
            for name, s in by.items():
                if name == "loadavg_after":
                    continue
                rows.append([hidden, name, s["median_ms"], s["min_ms"],
                             s["ratio_to_nn.LSTM_median_of_rounds"]])
        print_table(["hidden", "variant", "median ms", "min ms", "x nn.LSTM (median of rounds)"],
                    rows)
    write_results("gated", results)


if __name__ == "__main__":
    main()
