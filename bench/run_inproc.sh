#!/usr/bin/env bash
# Lamina vs raw ASGI vs Starlette, in-process, in ONE run (ratios only mean something within a run).
# Usage: bench/run_inproc.sh [--scenarios plaintext,json,routing] [--scale 0.2] [--json out.json]
# Extra arguments go to the shared harness (/work/shared/bench/inproc.py). Pinned to CPU 0.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
HARNESS="${BENCH_HARNESS:-/work/shared/bench}"
PY="${BENCH_PYTHON:-$ROOT/.venv/bin/python}"
FRAMEWORKS="${FRAMEWORKS:-raw_asgi,starlette,lamina}"
args=("$@")
has_scen=0
for a in "${args[@]}"; do [[ "$a" == "--scenarios" ]] && has_scen=1; done
if [[ $has_scen == 0 ]]; then args+=(--scenarios plaintext,json,routing); fi
cd "$HARNESS"
BENCH_APPS="lamina=$HERE/lamina_app.py${BENCH_APPS:+,$BENCH_APPS}" \
  exec taskset -c 0 "$PY" inproc.py --frameworks "$FRAMEWORKS" "${args[@]}"
