#!/usr/bin/env python
"""What issue 15's safety costs: request hygiene per request, a loop turn per stream chunk.

Two measurements, each beside its peers in the same run (ratios only mean something within
one run on this noisy 2-core machine):

* **request hygiene** (lamina-guards' ``RequestHygieneMiddleware``: total header size, ``Host``
  count) in the shared peer harness, in process: the ``plaintext`` scenario through the
  kernel with a one-dict router (``lamina_kernel``), the same with the guards plugin's
  hygiene layer on (``lamina_kernel_hygiene``), and ``raw_asgi`` / ``starlette`` for scale.
  ``lamina_kernel_mw`` (one pass-through middleware) separates the price of having any
  middleware layer from the check itself; the bare check (the loop over the harness's
  headers, no layer) is timed too.
* **per-chunk cost of streaming**: a ``StreamingResponse`` of ``--chunks`` chunks from an
  async generator that never awaits, sent to a ``send`` that never waits (the case that
  needs the loop turn), against Starlette's ``StreamingResponse`` of the same generator and
  a bare ASGI loop; and ``lamina-sse``'s ``EventSourceResponse`` per event. Also the bare
  cost of one ``anyio.lowlevel.checkpoint()``.

    uv run python bench/hostile_bench.py [--iterations 20000] [--rounds 5] [--chunks 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import kernel_bench  # noqa: E402  (puts the shared harness on sys.path)
from kernel_bench import PLAINTEXT_SCENARIO, Conn, lifespan, make_scope_factory  # noqa: E402


def hygiene_app() -> Any:
    """``lamina_kernel`` plus lamina-guards with its defaults (only hygiene is on)."""
    app = kernel_bench._kernel_app(with_middleware=False)
    from lamina.testing import make_app

    router_plugin = app.pm.get_plugin("dict-router")
    return make_app("guards", router_plugin)


async def time_requests(columns: dict[str, Any], iterations: int, rounds: int) -> dict[str, float]:
    ready: dict[str, tuple[Any, Any]] = {}
    for name, app in columns.items():
        state: dict[str, Any] = {}
        await lifespan(app, state)
        make_scope = make_scope_factory(PLAINTEXT_SCENARIO, state)
        conn = Conn(b"")
        await app(make_scope(), conn.receive, conn.send)
        assert conn.status == 200, (name, conn.status)
        ready[name] = (app, make_scope)
        await kernel_bench._time_inproc(app, make_scope, 1000)
    samples: dict[str, list[float]] = {name: [] for name in ready}
    for _ in range(rounds):
        for name, (app, make_scope) in ready.items():
            gc.collect()
            samples[name].append(await kernel_bench._time_inproc(app, make_scope, iterations))
    return {name: min(values) for name, values in samples.items()}


def time_bare_check(iterations: int) -> float:
    scope = make_scope_factory(PLAINTEXT_SCENARIO, {})()
    limit = 32 * 1024

    def check() -> bool:
        size = hosts = 0
        for key, value in scope["headers"]:
            size += len(key) + len(value)
            if key == b"host":
                hosts += 1
        return size > limit or hosts != 1

    best = float("inf")
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(iterations):
            check()
        best = min(best, (time.perf_counter_ns() - start) / iterations / 1000)
    return best


# ----------------------------------------------------------------------------- streaming
async def never_awaits(n: int) -> Any:
    chunk = b"x" * 64
    for _ in range(n):
        yield chunk


async def never_awaits_text(n: int) -> Any:
    for _ in range(n):
        yield "tick"


def stream_columns() -> dict[str, Any]:
    from lamina import StreamingResponse
    from lamina_sse import EventSourceResponse
    from starlette.responses import StreamingResponse as StarletteStreamingResponse

    async def raw(scope: Any, receive: Any, send: Any, n: int) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        async for chunk in never_awaits(n):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def lamina(scope: Any, receive: Any, send: Any, n: int) -> None:
        await StreamingResponse(never_awaits(n))(scope, receive, send)

    async def starlette(scope: Any, receive: Any, send: Any, n: int) -> None:
        await StarletteStreamingResponse(never_awaits(n))(scope, receive, send)

    async def sse(scope: Any, receive: Any, send: Any, n: int) -> None:
        await EventSourceResponse(never_awaits_text(n), heartbeat=0)(scope, receive, send)

    return {"raw_asgi": raw, "starlette": starlette, "lamina": lamina, "lamina_sse": sse}


async def time_stream(run: Any, chunks: int) -> float:
    scope = make_scope_factory(PLAINTEXT_SCENARIO, {})()
    conn = Conn(b"")
    start = time.perf_counter_ns()
    await run(scope, conn.receive, conn.send, chunks)
    elapsed = time.perf_counter_ns() - start
    assert conn.complete
    return elapsed / chunks / 1000


async def time_checkpoints(n: int) -> float:
    from anyio.lowlevel import checkpoint

    start = time.perf_counter_ns()
    for _ in range(n):
        await checkpoint()
    return (time.perf_counter_ns() - start) / n / 1000


async def main(args: argparse.Namespace) -> None:
    from apps.raw_asgi import app as raw_app  # type: ignore[import-not-found]
    from apps.starlette_app import app as starlette_app  # type: ignore[import-not-found]

    columns = {
        "raw_asgi": raw_app,
        "starlette": starlette_app,
        "lamina_kernel": kernel_bench._kernel_app(with_middleware=False),
        "lamina_kernel_mw": kernel_bench._kernel_app(with_middleware=True),
        "lamina_kernel_hygiene": hygiene_app(),
    }
    print(f"request hygiene, in process (plaintext, {args.iterations} x {args.rounds} rounds)")
    results = await time_requests(columns, args.iterations, args.rounds)
    for name, us in results.items():
        print(f"  {name:24} {us:7.2f} us/request")
    layer = results["lamina_kernel_hygiene"] - results["lamina_kernel"]
    check = results["lamina_kernel_hygiene"] - results["lamina_kernel_mw"]
    print(f"  hygiene layer per request: {layer:+.2f} us over no middleware at all")
    print(f"                             {check:+.2f} us over a pass-through middleware")
    print(f"  bare check alone:          {time_bare_check(args.iterations * 5):.2f} us")

    print(f"\nstreaming, never-awaiting producer, {args.chunks} chunks, best of {args.rounds}")
    streams = stream_columns()
    per_chunk: dict[str, list[float]] = {name: [] for name in streams}
    for _ in range(args.rounds):
        for name, run in streams.items():
            gc.collect()
            per_chunk[name].append(await time_stream(run, args.chunks))
    for name, values in per_chunk.items():
        print(f"  {name:12} {min(values):6.2f} us/chunk (median {statistics.median(values):.2f})")
    turn = min([await time_checkpoints(args.chunks) for _ in range(args.rounds)])
    print(f"  one anyio checkpoint (the loop turn per chunk): {turn:.2f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunks", type=int, default=2000)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(args))
