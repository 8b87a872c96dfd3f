#!/usr/bin/env bash
# The benchmark grid (bench/bench_grid.py) on CUDA, torch.compile off and on, in one command:
#   bench/gpu_grid.sh                  -> bench/grid_cuda.{json,md} and bench/grid_cuda_compile.{json,md}
#   bench/gpu_grid.sh eager|compile    -> one of the two
# Settings from the environment: PYTHON (default python), MIN_RUN_TIME (seconds per model and cell, default 0.2),
# REPEATS (whole grids, default 3), THREADS (torch threads, default 2); any further arguments go to bench_grid.py
# (e.g. --batches 1,64,1024). Each JSON is rewritten after every repeat, so a run cut short keeps the repeats it finished.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
which="${1:-both}"
case "$which" in both|eager|compile) [ $# -gt 0 ] && shift ;; -*) which=both ;; *) echo "gpu_grid.sh: error: first argument is both, eager or compile, got '$which'" >&2; exit 2 ;; esac
py="${PYTHON:-python}"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
"$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_grid.sh: error: torch sees no CUDA device here')"
common=(--device cuda --min_run_time "${MIN_RUN_TIME:-0.2}" --repeats "${REPEATS:-3}" --threads "${THREADS:-2}")
if [ "$which" != compile ]; then "$py" bench/bench_grid.py "${common[@]}" --compile off --out bench/grid_cuda.json "$@"; fi
if [ "$which" != eager ]; then "$py" bench/bench_grid.py "${common[@]}" --compile on --out bench/grid_cuda_compile.json "$@"; fi
