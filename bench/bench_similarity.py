"""Similarity benchmark: brainlike vs rsatoolbox 0.3.2 on the same data in the same run.

* correlation (and squared-Euclidean) RDM of a 1000 x 4096 (conditions x units) matrix;
* Kendall tau_a over 100 RDM pairs of 92 conditions (10 x 10 many-vs-many, 4186 dissimilarities),
  the default path (scipy's compiled kernel) and the pure-numpy fallback;
* linear CKA across 50 networks x 4 layers, all pairs (200 x 200), seconds and the fraction of the
  float64 matmul (numpy GEMM) peak measured in the same process.

Run: ``OMP_NUM_THREADS=1 python bench/bench_similarity.py [--quick]``; writes
``bench/results/similarity.json``. Numbers agree between the libraries (checked here too).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _common import print_table, round_robin, set_threads, stats, write_results

from brainlike.analysis import cka, cka_matrix, compare_rdms, rdm


def numpy_gemm_peak(n: int = 1024, reps: int = 10, dtype=np.float64) -> float:
    a = np.random.default_rng(0).normal(size=(n, n)).astype(dtype)
    a @ a
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ a
        ts.append(time.perf_counter() - t)
    return 2.0 * n**3 / min(ts) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    args = ap.parse_args()
    set_threads(1)
    import rsatoolbox

    reps = 2 if args.quick else 5
    rng = np.random.default_rng(0)
    version = getattr(rsatoolbox, "__version__", "0.3.2")
    results: dict = {"rsatoolbox": version, "threads": 1}
    rows = []

    # ---- RDMs of 1000 x 4096
    X = rng.normal(size=(1000, 4096))
    ds = rsatoolbox.data.Dataset(X)
    for ours, theirs in (("correlation", "correlation"), ("squared_euclidean", "euclidean")):
        a = rdm(X, ours).dissimilarities[0]
        b = rsatoolbox.rdm.calc_rdm(ds, method=theirs).get_vectors()[0]
        err = float(np.max(np.abs(a - b)))
        t = round_robin({
            "brainlike": lambda ours=ours: rdm(X, ours),
            "rsatoolbox": lambda theirs=theirs: rsatoolbox.rdm.calc_rdm(ds, method=theirs),
        }, repeats=reps)
        sb, sr = stats(t["brainlike"]), stats(t["rsatoolbox"])
        results[f"rdm_{ours}_1000x4096"] = {"brainlike": sb, "rsatoolbox": sr, "max_abs_diff": err,
                                            "speedup": sr["median_ms"] / sb["median_ms"]}
        rows.append([f"RDM {ours} 1000x4096", sb["median_ms"], sr["median_ms"],
                     sr["median_ms"] / sb["median_ms"], f"{err:.1e}"])

    # ---- Kendall tau_a, 10 x 10 RDMs of 92 conditions
    from brainlike.analysis.similarity import _rdm

    A = rng.normal(size=(10, 92 * 91 // 2))
    B = np.round(rng.normal(size=(10, 92 * 91 // 2)) * 2)  # a tied "model" set, as in RSA
    ra, rb = rsatoolbox.rdm.RDMs(A), rsatoolbox.rdm.RDMs(B)
    ref = rsatoolbox.rdm.compare(ra, rb, method="tau-a")
    err = float(np.max(np.abs(compare_rdms(A, B, "tau_a") - ref)))
    err_np = float(np.max(np.abs(_rdm._tau_a_numpy(A, B) - ref)))
    kernel = _rdm._kendall_dis_kernel() is not None
    t = round_robin({
        "brainlike": lambda: compare_rdms(A, B, "tau_a"),
        "rsatoolbox": lambda: rsatoolbox.rdm.compare(ra, rb, method="tau-a"),
        "brainlike_numpy_fallback": lambda: _rdm._tau_a_numpy(A, B),
    }, repeats=2 * reps + 1)  # cheap: more repeats for a steadier median on a shared machine
    sb, sr, sn = stats(t["brainlike"]), stats(t["rsatoolbox"]), stats(t["brainlike_numpy_fallback"])
    results["tau_a_100_pairs_92_conditions"] = {
        "brainlike": sb, "rsatoolbox": sr, "max_abs_diff": err,
        "speedup": sr["median_ms"] / sb["median_ms"],
        "path": "scipy _kendall_dis kernel" if kernel else "numpy fallback",
        "numpy_fallback": {**sn, "max_abs_diff": err_np, "speedup": sr["median_ms"] / sn["median_ms"]},
    }
    rows.append(["tau_a 100 pairs (92 cond)", sb["median_ms"], sr["median_ms"],
                 sr["median_ms"] / sb["median_ms"], f"{err:.1e}"])
    rows.append(["tau_a 100 pairs, numpy fallback", sn["median_ms"], sr["median_ms"],
                 sr["median_ms"] / sn["median_ms"], f"{err_np:.1e}"])
    for m_ours, m_theirs in (("spearman", "spearman"), ("whitened_cosine", "cosine_cov")):
        t = round_robin({
            "brainlike": lambda m=m_ours: compare_rdms(A, B, m),
            "rsatoolbox": lambda m=m_theirs: rsatoolbox.rdm.compare(ra, rb, method=m),
        }, repeats=reps)
        sb, sr = stats(t["brainlike"]), stats(t["rsatoolbox"])
        results[f"{m_ours}_100_pairs_92_conditions"] = {"brainlike": sb, "rsatoolbox": sr,
                                                        "speedup": sr["median_ms"] / sb["median_ms"]}
        rows.append([f"{m_ours} 100 pairs", sb["median_ms"], sr["median_ms"],
                     sr["median_ms"] / sb["median_ms"], ""])

    print_table(["operation", "brainlike ms", "rsatoolbox ms", "speed-up", "max |diff|"], rows)

    # ---- linear CKA, 50 networks x 4 layers, all pairs
    n, p, k = 500, 128, 200
    reps_list = [rng.normal(size=(n, p)) for _ in range(k)]
    peak64 = numpy_gemm_peak(dtype=np.float64)
    peak32 = numpy_gemm_peak(dtype=np.float32)
    # executed flops: numpy runs X @ X.T as a symmetric rank-k update (syrk), half a GEMM, for the
    # k Gram matrices (n x n from n x p) and for the Gram of the k flattened Grams (k x k from k x n^2)
    flop = 1.0 * k * n * n * p + 1.0 * k * k * n * n
    out = {}
    for name, dtype, peak in (("float64", np.float64, peak64), ("float32", np.float32, peak32)):
        ts = []
        for _ in range(2 if args.quick else 3):
            t0 = time.perf_counter()
            M = cka_matrix(reps_list, dtype=dtype)
            ts.append(time.perf_counter() - t0)
        sec = statistics.median(ts)
        out[name] = {"seconds": sec, "gflops": flop / sec / 1e9, "gemm_peak_gflops": peak,
                     "fraction_of_peak": flop / sec / 1e9 / peak,
                     "max_abs_diff_vs_pairwise_cka":
                         float(abs(M[3, 17] - cka(reps_list[3], reps_list[17])))}
    # the naive route: k(k-1)/2 calls of cka() (feature-space form), timed on 200 pairs, extrapolated
    t0 = time.perf_counter()
    for i in range(200):
        cka(reps_list[i % k], reps_list[(i * 7 + 1) % k])
    naive = (time.perf_counter() - t0) / 200 * k * (k - 1) / 2
    out["pairwise_cka_calls_seconds_extrapolated"] = naive
    results["linear_cka_50x4_all_pairs"] = {"n_samples": n, "n_units": p, "k": k, **out}
    print()
    cols = ("seconds", "gflops", "gemm_peak_gflops", "fraction_of_peak")
    heads = ["CKA 200x200 (n=500, p=128)", "seconds", "GFLOP/s", "GEMM peak GFLOP/s", "fraction of peak"]
    print_table(heads,
                [[d, *(out[d][c] for c in cols)] for d in ("float64", "float32")])
    print(f"19900 separate cka() calls (extrapolated): {naive:.1f} s")
    write_results("similarity", results)


if __name__ == "__main__":
    main()
