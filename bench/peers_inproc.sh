#!/usr/bin/env bash
# The final in-process peer comparison: every framework of the shared harness and Lamina, every
# scenario, in ONE run, pinned to one core (ratios only mean something within a run).
#
#   bench/peers_inproc.sh                       # --scale 0.4, the figures of issue 16
#   bench/peers_inproc.sh --json /tmp/inproc.json
#
# Env: BENCH_PYTHON (the bench venv with every peer and Lamina installed editable; default
# /tmp/benchvenv-new/bin/python), LAMINA_BENCH_HARNESS (default /work/shared/bench), CPU (0).
# Extra arguments go to the harness's inproc.py after the defaults (a later --scale wins).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HARNESS="${LAMINA_BENCH_HARNESS:-/work/shared/bench}"
PY="${BENCH_PYTHON:-/tmp/benchvenv-new/bin/python}"
FRAMEWORKS=raw_asgi,starlette,fastapi,litestar,blacksheep,falcon,lamina
cd "$HARNESS"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "lamina from $("$PY" -c 'import lamina, os; print(os.path.dirname(lamina.__file__))')"
BENCH_APPS="lamina=$HERE/lamina_app.py" \
  exec taskset -c "${CPU:-0}" "$PY" inproc.py --frameworks "$FRAMEWORKS" --scale 0.4 "$@"
