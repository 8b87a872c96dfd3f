#!/usr/bin/env bash
# Run every notebook's tests with nbdev-test and end with one line "N passed, M failed" (notebooks).
# Two notebooks at a time with one torch thread each: two processes each using 2 threads on 2 cores
# fight over them and train ~10x slower. Real-data cells (`#| realdata`) run when GOE_TEST_FLAGS=realdata.
set -uo pipefail
cd "$(dirname "$0")/.."
python -m ipykernel install --sys-prefix >/dev/null 2>&1 || { echo "cannot register the venv's kernel: pip install ipykernel"; exit 1; }
unset GOE_DATA   # tests pick their data explicitly; a user's $GOE_DATA must not change what they read
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
log=$(mktemp)
nbdev-test --n-workers "${GOE_TEST_WORKERS:-2}" --do-print --timing --flags "${GOE_TEST_FLAGS:-}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
total=$(grep -c '^Starting ' "$log")
failed=$(sed -n '/Tests Failed On The Following Notebooks/,$p' "$log" | grep -c '\.ipynb$')
rm -f "$log"
if [ "$total" -eq 0 ]; then echo "0 passed, 1 failed"; exit 1; fi
echo "$((total - failed)) passed, $failed failed"
exit $rc
