#!/usr/bin/env python
"""Routing: Lamina vs Starlette vs a bare ASGI app, in one process, interleaved rounds.

Cases (each response validated before timing, with the shared harness's ``Conn``):

* ``single``: an app with one route, ``GET /plaintext`` (the issue's "single route" case);
* ``table200``: the harness's 200-route table, ``GET /users/42/items/widget`` (route 150 of
  200, two parameters, one ``int``), on the full bench apps (``bench/lamina_app.py``);
* ``scale-N`` (Lamina and Starlette): an app holding only an N-route table, hitting its last
  parameterised route, to show whether matching cost grows with the number of routes.

Two clocks per round: wall time (``perf_counter``) and the thread's CPU time
(``thread_time``); the CPU time is far less disturbed by other tenants on a shared 2-core
machine. Reported: the median over rounds of the per-request mean, and ratios vs Starlette.

Usage::

    uv run python bench/routing_bench.py                      # ~1 minute
    uv run python bench/routing_bench.py --rounds 5 --iterations 2000 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HARNESS = Path(os.environ.get("LAMINA_BENCH_HARNESS", "/work/shared/bench"))
# the harness folder goes LAST: its http.py must never shadow the stdlib package
sys.path = [p for p in sys.path if Path(p or ".").resolve() != HARNESS] + [str(HARNESS)]

from apps import raw_asgi, starlette_app  # type: ignore  # noqa: E402
from apps._common import PLAINTEXT  # type: ignore  # noqa: E402
from inproc import Conn, lifespan, make_scope_factory, validate  # type: ignore  # noqa: E402
from scenarios import SCENARIOS  # type: ignore  # noqa: E402

SC = {s.key: s for s in SCENARIOS}


def _load_lamina_column() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_lamina_app", HERE / "lamina_app.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# ----------------------------------------------------------------------------- apps
async def _plaintext_lamina(request: Any) -> Any:
    from lamina import PlainTextResponse

    return PlainTextResponse(PLAINTEXT)


async def _item_lamina(request: Any) -> Any:
    from lamina import JSONResponse

    p = request.path_params
    return JSONResponse({"id": p["id"], "name": p["name"]})


def lamina_single() -> Any:
    from lamina import Lamina
    from lamina_routing import Route

    return Lamina([Route("/plaintext", _plaintext_lamina)], autoload=False, plugins=["routing"])


def starlette_single() -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Route

    return Starlette(routes=[Route("/plaintext", starlette_app.plaintext)])


def scaled_paths(n: int) -> list[str]:
    """n templates shaped like the harness table; the last one is the one hit."""
    paths = [f"/t{i:04d}/users/{{id:int}}/items/{{name}}" for i in range(n - 1)]
    return [*paths, "/users/{id:int}/items/{name}"]


def lamina_scaled(n: int) -> Any:
    from lamina import Lamina
    from lamina_routing import Route

    return Lamina(
        [Route(p, _item_lamina) for p in scaled_paths(n)], autoload=False, plugins=["routing"]
    )


def starlette_scaled(n: int) -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Route

    return Starlette(routes=[Route(p, starlette_app.item) for p in scaled_paths(n)])


# ----------------------------------------------------------------------------- timing
async def measure(app: Any, sc: Any, state: dict[str, Any], iterations: int) -> tuple[float, float]:
    make_scope = make_scope_factory(sc, state)
    body = sc.body
    gc.collect()
    pc, tt = time.perf_counter_ns, time.thread_time_ns
    w0, c0 = pc(), tt()
    for _ in range(iterations):
        c = Conn(body)
        await app(make_scope(), c.receive, c.send)
    return (pc() - w0) / iterations / 1000, (tt() - c0) / iterations / 1000


async def prepare(app: Any, sc: Any, state: dict[str, Any]) -> None:
    make_scope = make_scope_factory(sc, state)
    c = Conn(sc.body)
    await app(make_scope(), c.receive, c.send)
    err = validate(sc, c)
    if err:
        raise SystemExit(f"{sc.key}: invalid response: {err}")
    for _ in range(200):
        c = Conn(sc.body)
        await app(make_scope(), c.receive, c.send)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    lamina_column = _load_lamina_column()
    cases: list[tuple[str, str, Any, Any]] = [
        ("single", "raw_asgi", raw_asgi.app, SC["plaintext"]),
        ("single", "starlette", starlette_single(), SC["plaintext"]),
        ("single", "lamina", lamina_single(), SC["plaintext"]),
        ("table200", "raw_asgi", raw_asgi.app, SC["routing"]),
        ("table200", "starlette", starlette_app.app, SC["routing"]),
        ("table200", "lamina", lamina_column.app, SC["routing"]),
    ]
    for n in args.scale:
        cases.append((f"scale-{n}", "starlette", starlette_scaled(n), SC["routing"]))
        cases.append((f"scale-{n}", "lamina", lamina_scaled(n), SC["routing"]))
    shutdowns = []
    states: dict[int, dict[str, Any]] = {}
    for _case, _fw, app, sc in cases:
        if id(app) not in states:
            states[id(app)] = {}
            shutdowns.append(await lifespan(app, states[id(app)]))
        await prepare(app, sc, states[id(app)])
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in range(args.rounds):
        order = cases if r % 2 == 0 else list(reversed(cases))
        for case, fw, app, sc in order:
            slow = fw == "starlette" and case.startswith("scale-")
            iters = max(50, args.iterations // 10) if slow else args.iterations
            samples.setdefault((case, fw), []).append(
                await measure(app, sc, states[id(app)], iters)
            )
    for shutdown in shutdowns:
        await shutdown()
    results: dict[str, Any] = {}
    for (case, fw), values in samples.items():
        results.setdefault(case, {})[fw] = {
            "wall_us": statistics.median(v[0] for v in values),
            "cpu_us": statistics.median(v[1] for v in values),
        }
    return results


def report(results: dict[str, Any]) -> None:
    print("| case | framework | wall us | cpu us | cpu vs starlette | cpu vs raw |")
    print("|---|---|---|---|---|---|")
    for case, row in results.items():
        st = row.get("starlette", {}).get("cpu_us")
        raw = row.get("raw_asgi", {}).get("cpu_us")
        for fw, v in row.items():
            vs_st = f"{v['cpu_us'] / st:.3f}" if st else "-"
            vs_raw = f"{v['cpu_us'] / raw:.2f}" if raw else "-"
            print(
                f"| {case} | {fw} | {v['wall_us']:.2f} | {v['cpu_us']:.2f} | {vs_st} | {vs_raw} |"
            )
    table = results.get("table200", {})
    if "starlette" in table and "lamina" in table:
        speedup = table["starlette"]["cpu_us"] / table["lamina"]["cpu_us"]
        print(f"\n200-route table: Lamina is {speedup:.1f}x Starlette's throughput (target >= 3x)")
    single = results.get("single", {})
    if "starlette" in single and "lamina" in single:
        ratio = single["starlette"]["cpu_us"] / single["lamina"]["cpu_us"]
        print(f"single route: Lamina is {ratio:.2f}x Starlette's throughput (target >= 1x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument(
        "--scale", type=lambda s: [int(x) for x in s.split(",")], default=[10, 200, 2000]
    )
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    results = runner(run(args))
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
