#!/usr/bin/env bash
# Run all brainlike benchmarks; results go to bench/results/*.json, logs to bench/results/*.log.
# Usage: bash bench/run_all.sh [python]   (default python: /tmp/benchvenv/bin/python, else python3)
set -euo pipefail
cd "$(dirname "$0")"
PY="${1:-${BENCH_PYTHON:-/tmp/benchvenv/bin/python}}"
[ -x "$PY" ] || PY=python3
mkdir -p results
# Threads are set inside each script (torch.set_num_threads); keep BLAS/OpenMP from
# spawning extra pools before torch is imported.
export OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
echo "== $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg) python: $PY"
"$PY" bench_generation.py 2>&1 | tee results/generation.log
"$PY" bench_rnn.py 2>&1 | tee results/rnn.log
"$PY" bench_train_to_criterion.py 2>&1 | tee results/train_to_criterion.log
"$PY" sweep_brainlike_train.py 2>&1 | tee results/sweep_brainlike_train.log
echo "== done $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
