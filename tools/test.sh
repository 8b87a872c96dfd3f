#!/usr/bin/env bash
# Run every notebook's tests and end with one line "N passed, M failed" (notebooks, plus the docs and wheel items when asked).
# Two notebooks at a time with one torch thread each: two processes each using 2 threads on 2 cores
# fight over them and train ~10x slower. Real-data cells (`#| realdata`) run when GOE_TEST_FLAGS=realdata.
# GOE_TEST_DOCS=1 runs them through the docs build instead (tools/docs.sh, the same cells), which also renders the
# site, and checks the site in a browser (tools/test_docs.py). Without it: nbdev-test.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
python -m ipykernel install --sys-prefix >/dev/null 2>&1 || { echo "cannot register the venv's kernel: pip install ipykernel"; exit 1; }
unset GOE_DATA   # tests pick their data explicitly; a user's $GOE_DATA must not change what they read
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
if [ "${GOE_TEST_DOCS:-0}" = 1 ]; then
  # GOE_TEST_DOCS=1 (CI sets it): the docs build executes every notebook as nbdev-test does (same cells skipped, the
  # flagged ones run with --flags), so that one execution is the notebooks' tests and the site: nothing runs twice.
  # The site is then checked in headless Chromium (one more item). tools/test_docs.py installs Debian's chromium
  # and chromium-driver with apt-get when they are missing.
  res=$(mktemp); t0=$(date +%s)
  echo "+ tools/docs.sh --flags \"${GOE_TEST_FLAGS:-}\" (every notebook's tests, and the docs site)"
  tools/docs.sh --flags "${GOE_TEST_FLAGS:-}" --results "$res"; rc=$?
  read -r total failed < <(python -c "import json,sys; r=json.load(open(sys.argv[1])); print(len(r), sum(not x['ok'] for x in r))" "$res" 2>/dev/null || echo "0 0")
  rm -f "$res"
  if [ "$total" -eq 0 ]; then echo "0 passed, 1 failed"; exit 1; fi
  total=$((total + 1))
  if [ "$rc" -eq 0 ] && python tools/test_docs.py; then echo "docs: passed in $(( $(date +%s) - t0 ))s"
  else echo "docs: FAILED after $(( $(date +%s) - t0 ))s"; failed=$((failed + 1)); rc=1; fi
else
  log=$(mktemp)
  nbdev-test --n-workers "${GOE_TEST_WORKERS:-2}" --do-print --timing --flags "${GOE_TEST_FLAGS:-}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  total=$(grep -o 'Starting [^[:space:]]*\.ipynb' "$log" | wc -l)   # occurrences, not lines: two workers' lines can run together
  failed=$(sed -n '/Tests Failed On The Following Notebooks/,$p' "$log" | grep -c '\.ipynb$')
  rm -f "$log"
  if [ "$total" -eq 0 ]; then echo "0 passed, 1 failed"; exit 1; fi
fi
# GOE_TEST_WHEEL=1 (CI sets it): build the wheel, install it into a fresh venv outside the checkout, and run a short
# goe-train-mnist there (the installed package alone must run the commands), counted as one more item.
if [ "${GOE_TEST_WHEEL:-0}" = 1 ]; then
  total=$((total + 1)); t0=$(date +%s); w=$(mktemp -d)
  echo "wheel: pip wheel, a fresh venv in $w, goe-train-mnist --num_epochs 1 there"
  if python -m pip wheel -q --no-deps -w "$w/dist" . && python -m venv "$w/venv" && "$w/venv/bin/pip" install -q "$w"/dist/goe-*.whl \
     && (cd "$w" && env -u PYTHONPATH "$w/venv/bin/goe-train-mnist" --experiment_name wheel --num_epochs 1 --widths 2 --routers fixed,oracle --out_dir "$w/exp") \
     && [ -f "$w/exp/wheel/run_0/oracle_w2.json" ] && [ -f "$w/exp/wheel/run_0/experiment.ipynb" ]
  then echo "wheel: passed in $(( $(date +%s) - t0 ))s"
  else echo "wheel: FAILED after $(( $(date +%s) - t0 ))s"; failed=$((failed + 1)); [ "$rc" -ne 0 ] || rc=1; fi
  rm -rf "$w"
fi
echo "took $(( $(date +%s) - start ))s"
echo "$((total - failed)) passed, $failed failed"
exit $rc
