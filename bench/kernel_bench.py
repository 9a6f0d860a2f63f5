#!/usr/bin/env python
"""Kernel dispatch overhead: plaintext through Lamina vs a bare ASGI app and Starlette.

One run, same process, interleaved rounds, so the ratios are comparable on a noisy machine:

* **in-process**: each app's ASGI callable is called directly with the shared harness's
  synthetic connection (``/work/shared/bench/inproc.py``: ``Conn``, ``make_scope_factory``,
  ``lifespan`` and the ``plaintext`` scenario, which also validates the response);
* **over HTTP**: each app runs under uvicorn (1 worker, httptools, uvloop, 127.0.0.1) in a
  subprocess pinned to CPU 0, loaded by ``wrk`` when installed, otherwise by a small
  keep-alive asyncio client pinned to CPU 1.

Columns: ``raw_asgi`` and ``starlette`` (the harness's own apps), ``lamina_kernel`` (the
kernel with a one-dict router: what the kernel itself costs), ``lamina`` (the user-facing
column, bench/lamina_app.py, lamina-routing with the 200-route table), and ``*_mw`` variants
of Starlette and the kernel with one pass-through pure-ASGI middleware.

Overhead = framework time - raw time; the report gives each framework's overhead and the
ratio ``lamina overhead / starlette overhead`` (below 1.0 means Lamina adds less).

Usage::

    uv run python bench/kernel_bench.py                 # both parts, ~2 minutes
    uv run python bench/kernel_bench.py --no-http --iterations 20000
    uv run python bench/kernel_bench.py --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: The shared peer harness: ``$LAMINA_BENCH_HARNESS``, else ``../shared/bench`` next to the
#: repository (where the team keeps it), whatever the current directory.
HARNESS_CANDIDATES = (
    [Path(os.environ["LAMINA_BENCH_HARNESS"])]
    if os.environ.get("LAMINA_BENCH_HARNESS")
    else [HERE.parent.parent / "shared" / "bench"]
)
HARNESS = next((p.resolve() for p in HARNESS_CANDIDATES if (p / "inproc.py").is_file()), None)
if HARNESS is None:
    raise SystemExit(
        "the shared benchmark harness (inproc.py, scenarios.py, apps/) is not at "
        f"{', '.join(map(str, HARNESS_CANDIDATES))}; set LAMINA_BENCH_HARNESS to its folder"
    )
# the harness folder goes LAST: its http.py must never shadow the stdlib package
sys.path = [p for p in sys.path if Path(p or ".").resolve() != HARNESS] + [str(HARNESS)]

from inproc import Conn, lifespan, make_scope_factory, validate  # type: ignore  # noqa: E402
from scenarios import SCENARIOS  # type: ignore  # noqa: E402

PLAINTEXT_SCENARIO = next(s for s in SCENARIOS if s.key == "plaintext")


# ----------------------------------------------------------------------------- the apps
def _passthrough(app: Any) -> Any:
    """The cheapest real middleware: a pure-ASGI layer that only forwards."""

    async def layer(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)

    return layer


def _kernel_app(with_middleware: bool) -> Any:
    from apps._common import PLAINTEXT  # type: ignore[import-not-found]
    from lamina import HTTPException, Middleware, PlainTextResponse
    from lamina.testing import make_app, plugin

    async def plaintext(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse(PLAINTEXT)(scope, receive, send)

    table = {"/plaintext": plaintext}

    class DictRouter:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            endpoint = table.get(scope["path"])
            if endpoint is None:
                raise HTTPException(404)
            await endpoint(scope, receive, send)

    middleware = [Middleware(_passthrough)] if with_middleware else []
    return make_app(
        plugin("dict-router", lamina_make_router=lambda: DictRouter()), middleware=middleware
    )


def _starlette_mw_app() -> Any:
    from apps.starlette_app import plaintext  # type: ignore[import-not-found]
    from starlette.applications import Starlette
    from starlette.middleware import Middleware as StarletteMiddleware
    from starlette.routing import Route

    return Starlette(
        routes=[Route("/plaintext", plaintext)], middleware=[StarletteMiddleware(_passthrough)]
    )


def load_column(name: str) -> Any:
    """The ASGI app of a column (also used by the HTTP server subprocess)."""
    if name == "raw_asgi":
        from apps.raw_asgi import app  # type: ignore[import-not-found]

        return app
    if name == "starlette":
        from apps.starlette_app import app  # type: ignore[import-not-found]

        return app
    if name == "starlette_mw":
        return _starlette_mw_app()
    if name == "lamina_kernel":
        return _kernel_app(with_middleware=False)
    if name == "lamina_kernel_mw":
        return _kernel_app(with_middleware=True)
    if name == "lamina":
        import importlib.util

        spec = importlib.util.spec_from_file_location("lamina_bench_app", HERE / "lamina_app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.app
    raise SystemExit(f"unknown column {name!r}")


COLUMNS = ["raw_asgi", "starlette", "lamina_kernel", "lamina", "starlette_mw", "lamina_kernel_mw"]


# ----------------------------------------------------------------------------- in-process
async def _time_inproc(app: Any, make_scope: Any, n: int) -> float:
    """Mean microseconds per request over ``n`` calls."""
    pc = time.perf_counter_ns
    start = pc()
    for _ in range(n):
        conn = Conn(b"")
        await app(make_scope(), conn.receive, conn.send)
    return (pc() - start) / n / 1000


async def run_inproc(columns: list[str], iterations: int, rounds: int) -> dict[str, Any]:
    apps: dict[str, tuple[Any, Any]] = {}
    shutdowns = []
    for name in columns:
        try:
            app = load_column(name)
        except Exception as exc:  # a column that cannot load is reported, not fatal
            print(f"  {name}: cannot load ({type(exc).__name__}: {exc})")
            continue
        state: dict[str, Any] = {}
        shutdowns.append(await lifespan(app, state))
        make_scope = make_scope_factory(PLAINTEXT_SCENARIO, state)
        conn = Conn(b"")
        await app(make_scope(), conn.receive, conn.send)
        error = validate(PLAINTEXT_SCENARIO, conn)
        if error:
            print(f"  {name}: invalid response: {error}")
            continue
        apps[name] = (app, make_scope)
        await _time_inproc(app, make_scope, max(200, iterations // 10))  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):  # interleaved, so drift hits every column alike
        for name, (app, make_scope) in apps.items():
            gc.collect()
            samples[name].append(await _time_inproc(app, make_scope, iterations))
    for shutdown in shutdowns:
        await shutdown()
    return {
        name: {"us": min(values), "median_us": statistics.median(values)}
        for name, values in samples.items()
    }


# ----------------------------------------------------------------------------- over HTTP
SERVER_CODE = """
import sys, uvicorn
sys.path.insert(0, {here!r})
import kernel_bench
app = kernel_bench.load_column({name!r})
uvicorn.run(app, host="127.0.0.1", port={port}, loop="uvloop", http="httptools",
            access_log=False, log_level="warning", lifespan="auto")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _taskset(cpu: int) -> list[str]:
    return (
        ["taskset", "-c", str(cpu)]
        if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1
        else []
    )  # type: ignore[operator]


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    request = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


LOAD_CODE = """
import asyncio, sys, time
try:
    import uvloop
    uvloop.install()
except ImportError:
    pass
PORT, CONNS, DURATION = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
REQ = b"GET /plaintext HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n"

async def worker(stop, counts):
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    n = 0
    while time.monotonic() < stop:
        writer.write(REQ)
        head = await reader.readuntil(b"\\r\\n\\r\\n")
        length = 0
        for line in head.split(b"\\r\\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
        n += 1
    counts.append(n)
    writer.close()

async def main():
    counts = []
    start = time.monotonic()
    await asyncio.gather(*(worker(start + DURATION, counts) for _ in range(CONNS)))
    print(sum(counts) / (time.monotonic() - start))

asyncio.run(main())
"""


def _load(port: int, connections: int, duration: float) -> float:
    """Requests per second against ``port``: wrk when installed, else the asyncio client."""
    if shutil.which("wrk"):
        out = subprocess.run(
            [
                *_taskset(1),
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                f"http://127.0.0.1:{port}/plaintext",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 30,
        ).stdout
        for line in out.splitlines():
            if line.startswith("Requests/sec:"):
                return float(line.split()[1])
        raise RuntimeError(f"cannot parse wrk output: {out}")
    out = subprocess.run(
        [*_taskset(1), sys.executable, "-c", LOAD_CODE, str(port), str(connections), str(duration)],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    ).stdout
    return float(out.strip())


def run_http(columns: list[str], duration: float, rounds: int, connections: int) -> dict[str, Any]:
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for name in columns:
            port = _free_port()
            code = SERVER_CODE.format(here=str(HERE), name=name, port=port)
            process = subprocess.Popen(
                [*_taskset(0), sys.executable, "-c", code],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                _wait_ready(port, process)
            except RuntimeError as exc:
                err = process.stderr.read().decode()[-500:] if process.stderr else ""
                print(f"  {name}: {exc} {err}")
                process.kill()
                process.wait(10)
                continue
            servers[name] = (process, port)
        samples: dict[str, list[float]] = {name: [] for name in servers}
        for _p, port in servers.values():
            _load(port, connections, min(1.0, duration))  # warm-up
        for round_number in range(rounds):
            # reversed every other round, so a drift in the machine's load hits all alike
            names = list(servers) if round_number % 2 == 0 else list(reversed(servers))
            for name in names:
                samples[name].append(_load(servers[name][1], connections, duration))
        for name, values in samples.items():
            if not max(values, default=0):
                print(f"  {name}: no request completed in any round (machine overloaded?)")
        return {
            name: {"rps": max(v), "median_rps": statistics.median(v), "rounds": v}
            for name, v in samples.items()
        }
    finally:
        for process, _port in servers.values():
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            if process.stderr:
                process.stderr.close()


# ----------------------------------------------------------------------------- report
def report(inproc: dict[str, Any], http: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if inproc:
        raw = inproc["raw_asgi"]["us"]
        print("\nin-process, plaintext (best of rounds, µs per request; overhead = - raw_asgi)")
        for name, row in inproc.items():
            row["overhead_us"] = row["us"] - raw
            print(
                f"  {name:18s} {row['us']:7.2f} µs   overhead {row['overhead_us']:6.2f} µs"
                f"   x{row['us'] / raw:5.2f} of raw"
            )
        pairs = [
            ("lamina_kernel", "starlette"),
            ("lamina", "starlette"),
            ("lamina_kernel_mw", "starlette_mw"),
        ]
        for ours, theirs in pairs:
            if ours in inproc and theirs in inproc:
                ratio = inproc[ours]["overhead_us"] / inproc[theirs]["overhead_us"]
                summary[f"inproc_overhead_{ours}_vs_{theirs}"] = ratio
                print(f"  overhead ratio {ours} / {theirs}: {ratio:.2f}")
    if http:
        raw = http.get("raw_asgi", {}).get("rps") or 0.0
        print("\nover HTTP (uvicorn + httptools + uvloop), plaintext (best of rounds, req/s)")
        for name, row in http.items():
            relative = f"x{row['rps'] / raw:5.2f} of raw" if raw else "(no raw_asgi figure)"
            print(f"  {name:18s} {row['rps']:9.0f} req/s   {relative}")
        for ours, theirs in [
            ("lamina_kernel", "starlette"),
            ("lamina", "starlette"),
            ("lamina_kernel_mw", "starlette_mw"),
        ]:
            # a column that served nothing (a failed load run) gives no ratio, not a crash
            if http.get(ours, {}).get("rps") and http.get(theirs, {}).get("rps"):
                ratio = http[ours]["rps"] / http[theirs]["rps"]
                # each round's pair ran back to back: their ratio is steadier than the bests'
                paired = statistics.median(
                    a / b
                    for a, b in zip(http[ours]["rounds"], http[theirs]["rounds"], strict=True)
                    if b
                )
                summary[f"http_rps_{ours}_vs_{theirs}"] = ratio
                summary[f"http_rps_{ours}_vs_{theirs}_paired_median"] = paired
                print(
                    f"  throughput ratio {ours} / {theirs}: {ratio:.2f} (best of rounds), "
                    f"{paired:.2f} (median of per-round ratios)"
                )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", default=",".join(COLUMNS))
    parser.add_argument("--iterations", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-inproc", action="store_true")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per HTTP round")
    parser.add_argument("--http-rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    columns = [c for c in args.columns.split(",") if c]
    inproc: dict[str, Any] = {}
    http: dict[str, Any] = {}
    if not args.no_inproc:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        print(f"in-process: {args.rounds} rounds x {args.iterations} requests per column")
        inproc = asyncio.run(run_inproc(columns, args.iterations, args.rounds))
    if not args.no_http:
        print(
            f"over HTTP: {args.http_rounds} rounds x {args.duration}s per column, "
            f"{args.connections} connections, load by "
            f"{'wrk' if shutil.which('wrk') else 'asyncio client'}"
        )
        http = run_http(columns, args.duration, args.http_rounds, args.connections)
    summary = report(inproc, http)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"inproc": inproc, "http": http, "summary": summary}, indent=2)
        )


if __name__ == "__main__":
    main()
