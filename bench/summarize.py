"""Print the markdown tables of docs/benchmarks.md from bench/results/*.json.

Usage: python bench/summarize.py > /tmp/tables.md   (then paste into docs/benchmarks.md)
"""

from __future__ import annotations

import json
from pathlib import Path

R = Path(__file__).resolve().parent / "results"


def f(x, nd=2):
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(f(c) if not isinstance(c, str) else c for c in r) + " |" for r in rows]
    return "\n".join(out)


def machine_line(d):
    m = d["machine"]
    return (f"_{m['date_utc']}, git {m['git_rev']}, {m['host_cpu']} x{m['n_cpus']}, "
            f"torch {m['torch']}, neurogym {m.get('neurogym')}, load {m['loadavg_at_start']} -> "
            f"{m.get('loadavg_at_end')}_")


def generation():
    d = json.loads((R / "generation.json").read_text())
    rows = []
    for k, r in d["results"].items():
        rows.append([k, f(r["per_call_ms"], 3), f(r["trials_per_call"], 1),
                     f(r["per_trial_us"], 2), f(r["speedup_vs_dataset"], 1),
                     f(r["speedup_vs_new_trial"], 1)])
    print("#### (a) Trial generation — `results/generation.json`\n")
    print(machine_line(d) + "\n")
    print(table(["variant", "ms / call", "trials / call", "µs / trial",
                 "speedup vs `ngym.Dataset`", "speedup vs `env.new_trial()`"], rows))
    t = d.get("targets", {})
    if t:
        print(f"\nTarget ≥ 20× per trial vs `ngym.Dataset`: B=16 {t['speedup_B16']:.1f}× "
              f"({'met' if t['met_B16'] else 'not met'}); best (largest B) {t['best_speedup']:.1f}× "
              f"({'met' if t['met_best'] else 'not met'}).\n")


def rnn():
    d = json.loads((R / "rnn.json").read_text())
    print("#### (b) Forward+backward, T=100 — `results/rnn.json`\n")
    print(machine_line(d) + "\n")
    for p in d["passes"]:
        names = list(p["configs"][0]["times"])
        print(f"threads={p['threads']}: fp32 peak {p['peak_gflops_used']:.0f} GFLOP/s "
              f"(before {p['matmul_peak_before']['best_gflops']:.0f} / after "
              f"{p['matmul_peak_after']['best_gflops']:.0f}); attempt {p.get('attempt', 1)}\n")
        rows = []
        for c in p["configs"]:
            t = {k: v["median_ms"] for k, v in c["times"].items()}
            fr = {k: 100 * v["fraction_of_peak"] for k, v in c["times"].items()}
            row = [str(c["hidden"]), str(c["batch"]), f(c["gflop"], 3)]
            row += [f(t[n], 1) for n in names]
            if "brainlike_a0.2" in names:
                row += [f(t["naive_a0.2"] / t["brainlike_a0.2"]),
                        f(t["nn.RNN_a1"] / t["brainlike_a0.2"]),
                        f(t["nn.RNN_a1"] / t["brainlike_a1"])]
            row += [f(fr[n], 0) for n in names]
            rows.append(row)
        headers = ["H", "B", "GFLOP"] + [f"{n} ms" for n in names]
        if "brainlike_a0.2" in names:
            headers += ["naive / bl(0.2)", "nn.RNN / bl(0.2)", "nn.RNN / bl(1)"]
        headers += [f"{n} % peak" for n in names]
        print(table(headers, rows) + "\n")


def training():
    d = json.loads((R / "train_to_criterion.json").read_text())
    print("#### (c) Train to 85% — `results/train_to_criterion.json`\n")
    print(machine_line(d) + "\n")
    rows = []
    for s, v in d["summary"].items():
        steps = [r["steps_to_criterion"] for r in d["runs"][s]]
        walls = [round(r["train_wall_s"], 2) for r in d["runs"][s]]
        rows.append([s, f"{v['n_reached']}/{v['n_seeds']}", str(steps),
                     f(v["median_steps_to_criterion"], 0), f(v["median_ms_per_step"], 2),
                     str(walls), f(v["median_train_wall_s"]), f(v["median_eval_s"], 3),
                     f(v["median_final_acc_2000"], 3),
                     f(v["median_final_acc_2000_other_generator"], 3)])
    print(table(["side", "reached", "steps per seed", "median steps", "ms / step",
                 "train s per seed", "median train s", "median eval s",
                 "final acc (2000, own trials)", "final acc (2000, other library's trials)"],
                rows))
    t = d.get("targets", {})
    if t:
        print(f"\nWall-time ratio NeuroGym / brainlike: {t['wall_time_ratio_ngym_over_brainlike']:.2f}× "
              f"(target ≥ 5×: {'met' if t['met'] else 'not met'}); "
              f"NeuroGym / brainlike on its default go-cue task: "
              f"{t.get('wall_time_ratio_ngym_over_brainlike_go_cue', float('nan')):.2f}×.\n")
    p = R / "sweep_brainlike_train.json"
    if p.exists():
        s = json.loads(p.read_text())
        print("#### (c′) brainlike learning-rate / batch sweep — `results/sweep_brainlike_train.json`\n")
        print(machine_line(s) + "\n")
        rows = []
        for r in s["results"]:
            rows.append([f"{r['lr']:g}", str(r["batch_size"]),
                         str([x["steps"] if x["status"] == "criterion" else None for x in r["runs"]]),
                         str([round(x["train_wall_s"], 2) for x in r["runs"]]),
                         f(r["median_train_wall_s"]),
                         str([round(x["final_acc_2000"], 3) for x in r["runs"]])])
        print(table(["lr", "batch", "steps per seed", "train s per seed", "median train s",
                     "final acc (2000) per seed"], rows) + "\n")


if __name__ == "__main__":
    generation()
    rnn()
    training()
