"""CORS + GZip middleware: Lamina beside Starlette and a bare ASGI app, in ONE run.

Two scenarios, each request carrying ``Origin`` and ``Accept-Encoding: gzip``:

* ``plaintext`` — ``Hello, World!`` (13 B, below the 500 B gzip minimum): the cost of the
  CORS grant plus gzip's "too small" decision;
* ``json100k``  — a 100 KiB JSON body that is compressed.

Three levels, so the numbers say where time goes:

* ``bare``       — the endpoint alone (a plain ASGI app), no middleware;
* ``mw-lamina`` / ``mw-starlette`` — the same bare endpoint wrapped in each project's
  ``CORSMiddleware(GZipMiddleware(endpoint))``, plain ASGI, nothing else;
* ``app-lamina`` / ``app-starlette`` — full apps the way users write them: Lamina with the
  routing, cors and gzip plugins enabled from settings; Starlette with ``Route`` and
  ``middleware=[Middleware(CORSMiddleware), Middleware(GZipMiddleware)]``.

gzip levels: each side's default (Lamina 6, Starlette 9) and, for a like-for-like
comparison, both at level 6 (``--level 6`` on Starlette; the ``=L6`` rows).

In-process: a synthetic uvicorn-shaped scope, ``receive``/``send`` that do nothing, uvloop
when installed. Rounds alternate the order of contenders; each number is the median over
rounds of the mean per-request time. Ratios < 1 mean Lamina is faster.

    uv run python bench/middleware_bench.py [--rounds 7] [--n 4000] [--json out.json]
    taskset -c 0 uv run python bench/middleware_bench.py   # pin to one core, as the harness does
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

ORIGIN = b"https://app.example.com"
PLAINTEXT = b"Hello, World!"
#: ~100 KiB of realistic, compressible JSON.
JSON_BODY = json.dumps(
    {"items": [{"id": i, "name": f"item-{i}", "price": i * 1.25, "tags": ["a", "b", str(i % 7)],
                "active": i % 3 == 0} for i in range(1300)]},
    separators=(",", ":"),
).encode()
GZIP_MIN = 500
SCENARIOS = {"plaintext": ("/plaintext", b"text/plain; charset=utf-8", PLAINTEXT),
             "json100k": ("/json100k", b"application/json", JSON_BODY)}


# ------------------------------------------------------------------------------ apps
def bare_endpoint(scope: Any, receive: Any, send: Any) -> Any:
    _path, ctype, body = SCENARIOS["plaintext" if scope["path"] == "/plaintext" else "json100k"]

    async def respond() -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return respond()


def lamina_mw(level: int = 6) -> Any:
    from lamina_cors import CORSMiddleware
    from lamina_gzip import GZipMiddleware

    return CORSMiddleware(GZipMiddleware(bare_endpoint, minimum_size=GZIP_MIN, level=level),
                          allow_origins=["*"])


def starlette_mw(level: int = 9) -> Any:
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware

    return CORSMiddleware(GZipMiddleware(bare_endpoint, minimum_size=GZIP_MIN,
                                         compresslevel=level), allow_origins=["*"])


def lamina_app(level: int = 6) -> Any:
    from lamina import Lamina, PlainTextResponse, Response
    from lamina_routing import Route

    async def plaintext(request: Any) -> Any:
        return PlainTextResponse(PLAINTEXT)

    async def big(request: Any) -> Any:
        return Response(JSON_BODY, media_type="application/json")

    app = Lamina([Route("/plaintext", plaintext), Route("/json100k", big)], autoload=False,
                 plugins=["routing", "cors", "gzip"],
                 settings={"cors": {"allow_origins": ["*"]},
                           "gzip": {"minimum_size": GZIP_MIN, "level": level}})
    return app.assemble()


def starlette_app(level: int = 9) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def plaintext(request: Any) -> Any:
        return PlainTextResponse(PLAINTEXT)

    async def big(request: Any) -> Any:
        return Response(JSON_BODY, media_type="application/json")

    return Starlette(routes=[Route("/plaintext", plaintext), Route("/json100k", big)],
                     middleware=[Middleware(CORSMiddleware, allow_origins=["*"]),
                                 Middleware(GZipMiddleware, minimum_size=GZIP_MIN,
                                            compresslevel=level)])


# ------------------------------------------------------------------------------ driver
def make_scope(path: str) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
        "scheme": "http", "method": "GET", "root_path": "", "path": path,
        "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"),
                    (b"accept", b"*/*"), (b"accept-encoding", b"gzip, deflate, br"),
                    (b"origin", ORIGIN)],
        "state": {},
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def null_send(message: Any) -> None:
    return None


async def validate(app: Any, scenario: str) -> None:
    """One request, checked: status 200, CORS grant, gzip exactly when expected."""
    import gzip

    messages: list[Any] = []

    async def send(message: Any) -> None:
        messages.append(message)

    path, _, body = SCENARIOS[scenario]
    await app(make_scope(path), receive, send)
    start = messages[0]
    headers = {k.lower(): v for k, v in start["headers"]}
    data = b"".join(m.get("body", b"") for m in messages[1:])
    assert start["status"] == 200, start
    if app is not BARE:
        assert headers.get(b"access-control-allow-origin") == b"*", headers
    compressed = headers.get(b"content-encoding") == b"gzip"
    assert compressed == (scenario == "json100k" and app is not BARE), headers
    assert (gzip.decompress(data) if compressed else data) == body


async def time_one(app: Any, path: str, n: int) -> float:
    """Mean seconds per request over ``n`` requests."""
    template = make_scope(path)
    headers = template["headers"]
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(n):
        scope = dict(template)
        scope["headers"] = list(headers)
        scope["state"] = {}
        await app(scope, receive, null_send)
    return (time.perf_counter() - t0) / n


BARE = bare_endpoint


async def run(rounds: int, n: int) -> dict[str, dict[str, float]]:
    contenders: dict[str, Callable[[], Any]] = {
        "bare": lambda: BARE,
        "mw-lamina": lamina_mw,
        "mw-starlette": starlette_mw,
        "mw-starlette=L6": lambda: starlette_mw(6),
        "app-lamina": lamina_app,
        "app-starlette": starlette_app,
        "app-starlette=L6": lambda: starlette_app(6),
    }
    apps = {name: make() for name, make in contenders.items()}
    for app in apps.values():  # lifespan-free: Lamina assembled, Starlette needs none here
        for scenario in SCENARIOS:
            await validate(app, scenario)
    results: dict[str, dict[str, float]] = {}
    for scenario, (path, _, _) in SCENARIOS.items():
        count = n if scenario == "plaintext" else max(1, n // 10)
        samples: dict[str, list[float]] = {name: [] for name in apps}
        for app in apps.values():  # warm-up
            await time_one(app, path, max(1, count // 10))
        for r in range(rounds):
            order = list(apps.items()) if r % 2 == 0 else list(reversed(apps.items()))
            for name, app in order:
                samples[name].append(await time_one(app, path, count))
        results[scenario] = {name: statistics.median(s) for name, s in samples.items()}
    return results


def report(results: dict[str, dict[str, float]]) -> None:
    for scenario, row in results.items():
        print(f"\n{scenario}  (median of rounds, microseconds per request)")
        for name, secs in row.items():
            print(f"  {name:<18} {secs * 1e6:9.2f} us")
        mw_bare = row["bare"]
        pairs = [("mw-lamina", "mw-starlette"), ("mw-lamina", "mw-starlette=L6"),
                 ("app-lamina", "app-starlette"), ("app-lamina", "app-starlette=L6")]
        for ours, theirs in pairs:
            print(f"  ratio {ours} / {theirs}: {row[ours] / row[theirs]:.3f}")
        over_l = row["mw-lamina"] - mw_bare
        over_s = row["mw-starlette"] - mw_bare
        print(f"  middleware overhead over bare: lamina {over_l * 1e6:.2f} us, "
              f"starlette {over_s * 1e6:.2f} us"
              + (f" (ratio {over_l / over_s:.3f})" if over_s > 0 else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=4000,
                        help="plaintext requests per round (json100k: n/10)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.rounds = max(1, min(args.rounds, 50))
    args.n = max(10, min(args.n, 200_000))
    try:
        import uvloop

        loop_name = "uvloop"
        runner = uvloop.run
    except ImportError:  # pragma: no cover
        loop_name = "asyncio"
        runner = asyncio.run
    print(f"Python {sys.version.split()[0]}, {loop_name}, rounds={args.rounds}, n={args.n}, "
          f"json body {len(JSON_BODY)} B")
    results = runner(run(args.rounds, args.n))
    report(results)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
