#!/usr/bin/env bash
# Build the docs site into _docs/ offline: execute every notebook (2 at a time, one torch thread each),
# render it with nbdev's show_doc API docs through Sphinx + MyST-NB. Open _docs/index.html, or serve it:
#   python -m http.server -d _docs 8000
# Needs the dev extra: pip install -e ".[dev]". Extra arguments go to tools/build_docs.py (--workers N, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
unset GOE_DATA   # the notebooks run on their default (embedded) data, as under nbdev-test
exec python tools/build_docs.py "$@"
