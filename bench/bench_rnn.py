"""(b) Forward+backward of one batch: brainlike RateRNN vs a naive PyTorch CTRNN vs nn.RNN.

Workload: T=100 steps, input 3, readout 3, MSE loss on all steps against a fixed random target,
``loss.backward()``; no optimizer step. Gradients are reset (``set_to_none``) inside the timed
call. Hidden 64 / 256 / 1024, batch 16 / 64.

Variants, timed round-robin in the same process (median of the repeats):

* ``brainlike_a0.2``: ``brainlike.models.RateRNN(3, H, 3, tau=100, dt=20)`` (alpha = 0.2, relu,
  no noise), input (B, T, 3);
* ``naive_a0.2``: the tutorial CTRNN as a Python loop over time,
  ``r = r + a*(-r + relu(r @ W_r.T + x_t @ W_x.T + b))``, states stacked, ``nn.Linear`` readout,
  input (T, B, 3);
* ``nn.RNN_a1``: ``torch.nn.RNN(3, H, nonlinearity="relu")`` + ``nn.Linear`` readout (the same
  model at alpha = 1, with its C++ time loop), input (T, B, 3);
* ``brainlike_a1``: ``RateRNN(..., tau=100, dt=100)`` (alpha = 1), the like-for-like partner
  of nn.RNN.

FLOPs per forward+backward = 3 x forward matmul FLOPs = 3 * T * 2 * B * (H*H + N_IN*H + H*N_OUT)
(recurrent + input + readout matmuls; backward ~ 2x forward). GFLOP/s are given as a fraction of
the machine's fp32 peak, measured in the same run as the best of 20 2048x2048 ``torch.mm``
(before and after each pass; the higher is used).

Two passes: ``torch.set_num_threads(2)`` then ``torch.set_num_threads(1)``.
"""

from __future__ import annotations

import argparse

import torch
from _common import matmul_peak, print_table, round_robin, set_threads, stats, write_results
from torch import nn

T, N_IN, N_OUT = 100, 3, 3
TARGET_PEAK_FRACTION = 0.40


class NaiveCTRNN(nn.Module):
    """The tutorial-style leaky ReLU RNN, run by a plain autograd Python loop (time-major)."""

    def __init__(self, n_in: int, n_hid: int, n_out: int, alpha: float) -> None:
        super().__init__()
        self.alpha = alpha
        self.w_in = nn.Parameter(torch.randn(n_hid, n_in) / n_in**0.5)
        self.w_rec = nn.Parameter(torch.linalg.qr(torch.randn(n_hid, n_hid))[0] * 0.5)
        self.b = nn.Parameter(torch.zeros(n_hid))
        self.readout = nn.Linear(n_hid, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (T, B, N_IN)
        a = self.alpha
        r = x.new_zeros(x.shape[1], self.w_rec.shape[0])
        states = []
        for t in range(x.shape[0]):
            r = r + a * (-r + torch.relu(r @ self.w_rec.t() + x[t] @ self.w_in.t() + self.b))
            states.append(r)
        return self.readout(torch.stack(states))


class TorchRNN(nn.Module):
    def __init__(self, n_in: int, n_hid: int, n_out: int) -> None:
        super().__init__()
        self.rnn = nn.RNN(n_in, n_hid, nonlinearity="relu")
        self.readout = nn.Linear(n_hid, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (T, B, N_IN)
        return self.readout(self.rnn(x)[0])


def flops_fwd_bwd(b: int, h: int) -> float:
    return 3.0 * T * 2.0 * b * (h * h + N_IN * h + h * N_OUT)


def make_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, brainlike: bool):
    loss_fn = nn.MSELoss()

    def step() -> float:
        model.zero_grad(set_to_none=True)
        out = model(x)[0] if brainlike else model(x)
        loss = loss_fn(out, y)
        loss.backward()
        return loss

    return step


def check_equivalence() -> dict:
    """brainlike RateRNN vs the naive loop with copied weights: loss and gradient agreement."""
    from brainlike.models import RateRNN

    torch.manual_seed(0)
    out = {}
    for alpha, dt in ((0.2, 20.0), (1.0, 100.0)):
        bl = RateRNN(N_IN, 64, N_OUT, tau=100.0, dt=dt, seed=0).double()
        nv = NaiveCTRNN(N_IN, 64, N_OUT, alpha).double()
        with torch.no_grad():
            nv.w_in.copy_(bl.w_in)
            nv.w_rec.copy_(bl.w_rec)
            nv.b.copy_(bl.b_rec)
            nv.readout.weight.copy_(bl.w_out)
            nv.readout.bias.copy_(bl.b_out)
        x = torch.randn(16, T, N_IN, dtype=torch.float64)
        y = torch.randn(16, T, N_OUT, dtype=torch.float64)
        lb = nn.functional.mse_loss(bl(x)[0], y)
        ln = nn.functional.mse_loss(nv(x.transpose(0, 1)), y.transpose(0, 1))
        lb.backward()
        ln.backward()
        out[f"alpha_{alpha}"] = {
            "loss_absdiff": abs(lb.item() - ln.item()),
            "grad_w_rec_maxabsdiff": (bl.w_rec.grad - nv.w_rec.grad).abs().max().item(),
            "grad_w_in_maxabsdiff": (bl.w_in.grad - nv.w_in.grad).abs().max().item(),
            "grad_w_out_maxabsdiff": (bl.w_out.grad - nv.readout.weight.grad).abs().max().item(),
        }
    return out


def run_pass(threads: int, hiddens: list[int], batches: list[int], repeats: dict[int, int],
             have_brainlike: bool) -> dict:
    set_threads(threads)
    peak_before = matmul_peak(threads)
    configs = []
    for h in hiddens:
        for b in batches:
            torch.manual_seed(0)
            x_bt = torch.randn(b, T, N_IN)
            y_bt = torch.randn(b, T, N_OUT)
            x_tb = x_bt.transpose(0, 1).contiguous()
            y_tb = y_bt.transpose(0, 1).contiguous()
            fns = {}
            if have_brainlike:
                from brainlike.models import RateRNN

                fns["brainlike_a0.2"] = make_step(
                    RateRNN(N_IN, h, N_OUT, tau=100.0, dt=20.0, seed=0), x_bt, y_bt, True)
            fns["naive_a0.2"] = make_step(NaiveCTRNN(N_IN, h, N_OUT, 0.2), x_tb, y_tb, False)
            fns["nn.RNN_a1"] = make_step(TorchRNN(N_IN, h, N_OUT), x_tb, y_tb, False)
            if have_brainlike:
                fns["brainlike_a1"] = make_step(
                    RateRNN(N_IN, h, N_OUT, tau=100.0, dt=100.0, seed=0), x_bt, y_bt, True)
            raw = round_robin(fns, repeats[h], warmup=2)
            configs.append({"hidden": h, "batch": b, "gflop": flops_fwd_bwd(b, h) / 1e9,
                            "times": {k: stats(v) for k, v in raw.items()}})
            med = {k: round(v["median_ms"], 2) for k, v in configs[-1]["times"].items()}
            print(f"  threads={threads} H={h} B={b}: {med}", flush=True)
    peak_after = matmul_peak(threads)
    peak = max(peak_before["best_gflops"], peak_after["best_gflops"])
    for c in configs:
        for v in c["times"].values():
            v["gflops_at_median"] = c["gflop"] / (v["median_ms"] / 1e3)
            v["fraction_of_peak"] = v["gflops_at_median"] / peak
    return {"threads": threads, "matmul_peak_before": peak_before,
            "matmul_peak_after": peak_after, "peak_gflops_used": peak, "configs": configs}


def summarize(p: dict) -> dict:
    thr = p["threads"]
    print(f"\n### threads={thr} (attempt {p.get('attempt', 1)}, peak drift "
          f"{p.get('peak_drift', 0):.0%}): fp32 matmul peak {p['peak_gflops_used']:.1f} GFLOP/s "
          f"(best of 20 2048^3 torch.mm, before {p['matmul_peak_before']['best_gflops']:.1f} / "
          f"after {p['matmul_peak_after']['best_gflops']:.1f})")
    names = list(p["configs"][0]["times"])
    headers = ["H", "B", "GFLOP"] + [f"{n} ms" for n in names]
    if "brainlike_a0.2" in names:
        headers += ["naive/bl_a0.2", "nnRNN/bl_a0.2", "nnRNN/bl_a1"]
    headers += [f"{n} %peak" for n in names]
    rows = []
    checks = {}
    for c in p["configs"]:
        t = {k: v["median_ms"] for k, v in c["times"].items()}
        row = [c["hidden"], c["batch"], c["gflop"]] + [t[n] for n in names]
        if "brainlike_a0.2" in names:
            row += [t["naive_a0.2"] / t["brainlike_a0.2"], t["nn.RNN_a1"] / t["brainlike_a0.2"],
                    t["nn.RNN_a1"] / t["brainlike_a1"]]
            if c["hidden"] == 256:
                checks[f"H256_B{c['batch']}_bl_a0.2_le_nnRNN"] = t["brainlike_a0.2"] <= t["nn.RNN_a1"]
                checks[f"H256_B{c['batch']}_bl_a1_le_nnRNN"] = t["brainlike_a1"] <= t["nn.RNN_a1"]
                if c["batch"] == 64:
                    f = c["times"]["brainlike_a0.2"]["fraction_of_peak"]
                    checks["H256_B64_bl_a0.2_fraction_of_peak"] = f
                    checks["H256_B64_bl_a0.2_ge_40pct_peak"] = f >= TARGET_PEAK_FRACTION
        row += [100 * c["times"][n]["fraction_of_peak"] for n in names]
        rows.append(row)
    print_table(headers, rows)
    if checks:
        print("targets:", checks)
    return checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    ap.add_argument("--hidden", type=int, nargs="+", default=[64, 256, 1024])
    ap.add_argument("--batch", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--repeats", type=int, default=15, help="repeats for H <= 256")
    ap.add_argument("--repeats-large", type=int, default=7, help="repeats for H > 256")
    ap.add_argument("--retry-noisy", type=int, default=2,
                    help="redo a pass (up to this many times) when the matmul peak measured "
                         "before and after it differs by more than 20%%")
    args = ap.parse_args()
    repeats = {h: (args.repeats if h <= 256 else args.repeats_large) for h in args.hidden}

    try:
        from brainlike.models import RateRNN  # noqa: F401

        have_brainlike = True
        set_threads(1)
        equiv = check_equivalence()
        print("brainlike vs naive (float64, copied weights):", equiv)
    except ImportError as e:
        have_brainlike = False
        equiv = {"error": str(e)}
        print("brainlike side skipped:", e)

    passes, discarded = [], []
    for thr in args.threads:
        for attempt in range(1 + args.retry_noisy):
            print(f"pass threads={thr} (attempt {attempt + 1})", flush=True)
            p = run_pass(thr, args.hidden, args.batch, repeats, have_brainlike)
            lo, hi = sorted((p["matmul_peak_before"]["best_gflops"],
                             p["matmul_peak_after"]["best_gflops"]))
            # A peak that moved by > 20% during the pass means another process took a core
            # for part of it; with threads=2 that slows some rows several-fold (oversubscription).
            p["peak_drift"] = hi / lo - 1.0
            p["attempt"] = attempt + 1
            if p["peak_drift"] <= 0.20 or attempt == args.retry_noisy:
                passes.append(p)
                break
            print(f"  peak moved {p['peak_drift']:.0%} during the pass: machine was busy; retrying")
            discarded.append(p)
    targets = {}
    for p in passes:
        targets[f"threads_{p['threads']}"] = summarize(p)
    write_results("rnn", {
        "benchmark": "bench_rnn.py",
        "args": vars(args),
        "workload": {"T": T, "n_input": N_IN, "n_output": N_OUT, "loss": "MSE on all steps",
                     "flops_formula": "3 * T * 2 * B * (H*H + N_IN*H + H*N_OUT)"},
        "equivalence_check": equiv,
        "passes": passes,
        "discarded_noisy_passes": discarded,
        "targets": {"definition": {"time": "brainlike <= nn.RNN at H=256",
                                   "peak": f"brainlike_a0.2 >= {TARGET_PEAK_FRACTION:.0%} of "
                                           "matmul peak at H=256 B=64"},
                    **targets},
        "median_note": "times are medians over repeats; see min/max in configs",
    })


if __name__ == "__main__":
    main()
