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
rounds of the mean per-request time. Time ratios < 1 mean Lamina is faster. The minimum
over rounds is printed too: on a shared machine it is the least disturbed sample.

    uv run python bench/middleware_bench.py [--rounds 7] [--n 4000] [--json out.json]
    taskset -c 0 uv run python bench/middleware_bench.py   # pin to one core, as the harness does

``--http`` also serves ``bare``, ``app-lamina`` and ``app-starlette`` with uvicorn (httptools,
uvloop, one worker, 127.0.0.1, pinned to CPU 0) and loads each with ``wrk -t1`` pinned to
CPU 1, back to back per repeat (order reversed on odd repeats); medians of requests/s.

    uv run python bench/middleware_bench.py --http [--duration 3] [--repeats 3]

``--origins listed`` configures both sides with the one allowed origin instead of ``*``: the
grant then echoes the origin and adds ``Vary: Origin`` (the per-request work of a real
deployment; ``*`` without credentials is the cheapest case for both projects).
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
from collections.abc import Callable
from typing import Any

ORIGIN = b"https://app.example.com"
PLAINTEXT = b"Hello, World!"
#: ~100 KiB of realistic, compressible JSON.
JSON_BODY = json.dumps(
    {
        "items": [
            {
                "id": i,
                "name": f"item-{i}",
                "price": i * 1.25,
                "tags": ["a", "b", str(i % 7)],
                "active": i % 3 == 0,
            }
            for i in range(1300)
        ]
    },
    separators=(",", ":"),
).encode()
GZIP_MIN = 500
#: What both sides allow: ``["*"]`` by default, ``[ORIGIN]`` with ``--origins listed``
#: (passed to the ``--http`` servers through the environment).
ORIGINS_ENV = "MIDDLEWARE_BENCH_ORIGINS"
ALLOW_ORIGINS = [ORIGIN.decode()] if os.environ.get(ORIGINS_ENV) == "listed" else ["*"]
SCENARIOS = {
    "plaintext": ("/plaintext", b"text/plain; charset=utf-8", PLAINTEXT),
    "json100k": ("/json100k", b"application/json", JSON_BODY),
}


# ------------------------------------------------------------------------------ apps
def bare_endpoint(scope: Any, receive: Any, send: Any) -> Any:
    _path, ctype, body = SCENARIOS["plaintext" if scope["path"] == "/plaintext" else "json100k"]

    async def respond() -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return respond()


async def bare_app(scope: Any, receive: Any, send: Any) -> None:
    """``bare_endpoint`` as a coroutine function, so uvicorn detects ASGI 3."""
    await bare_endpoint(scope, receive, send)


def lamina_mw(level: int = 6) -> Any:
    from lamina_cors import CORSMiddleware
    from lamina_gzip import GZipMiddleware

    return CORSMiddleware(
        GZipMiddleware(bare_endpoint, minimum_size=GZIP_MIN, level=level),
        allow_origins=ALLOW_ORIGINS,
    )


def starlette_mw(level: int = 9) -> Any:
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware

    return CORSMiddleware(
        GZipMiddleware(bare_endpoint, minimum_size=GZIP_MIN, compresslevel=level),
        allow_origins=ALLOW_ORIGINS,
    )


def lamina_app(level: int = 6) -> Any:
    from lamina import Lamina, PlainTextResponse, Response
    from lamina_routing import Route

    async def plaintext(request: Any) -> Any:
        return PlainTextResponse(PLAINTEXT)

    async def big(request: Any) -> Any:
        return Response(JSON_BODY, media_type="application/json")

    app = Lamina(
        [Route("/plaintext", plaintext), Route("/json100k", big)],
        autoload=False,
        plugins=["routing", "cors", "gzip"],
        settings={
            "cors": {"allow_origins": ALLOW_ORIGINS},
            "gzip": {"minimum_size": GZIP_MIN, "level": level},
        },
    )
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

    return Starlette(
        routes=[Route("/plaintext", plaintext), Route("/json100k", big)],
        middleware=[
            Middleware(CORSMiddleware, allow_origins=ALLOW_ORIGINS),
            Middleware(GZipMiddleware, minimum_size=GZIP_MIN, compresslevel=level),
        ],
    )


# ------------------------------------------------------------------------------ driver
def make_scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"bench"),
            (b"accept", b"*/*"),
            (b"accept-encoding", b"gzip, deflate, br"),
            (b"origin", ORIGIN),
        ],
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
        grant = b"*" if ALLOW_ORIGINS == ["*"] else ORIGIN
        assert headers.get(b"access-control-allow-origin") == grant, headers
        if grant == ORIGIN:
            assert b"origin" in headers.get(b"vary", b"").lower(), headers
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
        results[scenario + " (min)"] = {name: min(s) for name, s in samples.items()}
    return results


def report(results: dict[str, dict[str, float]]) -> None:
    for scenario, row in results.items():
        stat = "min" if scenario.endswith("(min)") else "median"
        print(f"\n{scenario}  ({stat} of rounds, microseconds per request)")
        for name, secs in row.items():
            print(f"  {name:<18} {secs * 1e6:9.2f} us")
        mw_bare = row["bare"]
        pairs = [
            ("mw-lamina", "mw-starlette"),
            ("mw-lamina", "mw-starlette=L6"),
            ("app-lamina", "app-starlette"),
            ("app-lamina", "app-starlette=L6"),
        ]
        for ours, theirs in pairs:
            print(f"  ratio {ours} / {theirs}: {row[ours] / row[theirs]:.3f}")
        over_l = row["mw-lamina"] - mw_bare
        over_s = row["mw-starlette"] - mw_bare
        print(
            f"  middleware overhead over bare: lamina {over_l * 1e6:.2f} us, "
            f"starlette {over_s * 1e6:.2f} us"
            + (f" (ratio {over_l / over_s:.3f})" if over_s > 0 else "")
        )


# ------------------------------------------------------------------------------ HTTP
HTTP_APPS = {"bare": "bare_app", "app-lamina": "lamina_app", "app-starlette": "starlette_app"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, timeout: float = 15.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not come up")


def run_http(duration: int, repeats: int, connections: int) -> dict[str, dict[str, float]]:
    import os
    import re
    import shutil
    import subprocess

    if shutil.which("wrk") is None:
        raise SystemExit("--http needs wrk (apt-get install -y wrk)")
    here = os.path.dirname(os.path.abspath(__file__))
    procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for name, factory in HTTP_APPS.items():
            port = _free_port()
            cmd = [
                "taskset",
                "-c",
                "0",
                sys.executable,
                "-m",
                "uvicorn",
                f"middleware_bench:{factory}",
                "--app-dir",
                here,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--log-level",
                "warning",
                "--no-access-log",
                "--lifespan",
                "off",
                "--interface",
                "asgi3",
            ]
            if factory != "bare_app":
                cmd.append("--factory")
            procs[name] = (subprocess.Popen(cmd, cwd="/"), port)
        for _, port in procs.values():
            _wait_listening(port)
        results: dict[str, dict[str, float]] = {}
        for scenario, (path, _, _) in SCENARIOS.items():
            samples: dict[str, list[float]] = {name: [] for name in procs}
            for r in range(repeats):
                order = list(procs.items()) if r % 2 == 0 else list(reversed(procs.items()))
                for name, (_, port) in order:
                    out = subprocess.run(
                        [
                            "taskset",
                            "-c",
                            "1",
                            "wrk",
                            "-t1",
                            f"-c{connections}",
                            f"-d{duration}s",
                            "-H",
                            f"Origin: {ORIGIN.decode()}",
                            "-H",
                            "Accept-Encoding: gzip",
                            f"http://127.0.0.1:{port}{path}",
                        ],
                        capture_output=True,
                        text=True,
                        timeout=duration + 30,
                        check=True,
                    ).stdout
                    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
                    samples[name].append(float(match.group(1)) if match else 0.0)
            results[scenario] = {n: statistics.median(v) for n, v in samples.items()}
        return results
    finally:
        for proc, _ in procs.values():
            proc.terminate()
        for proc, _ in procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def report_http(results: dict[str, dict[str, float]]) -> None:
    for scenario, row in results.items():
        print(f"\nHTTP {scenario}  (median requests/s)")
        for name, rps in row.items():
            print(f"  {name:<18} {rps:11,.0f} req/s")
        if row.get("app-lamina"):
            print(
                f"  throughput ratio app-lamina / app-starlette: "
                f"{row['app-lamina'] / row['app-starlette']:.3f} (> 1: Lamina faster)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--n", type=int, default=4000, help="plaintext requests per round (json100k: n/10)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--http", action="store_true", help="also measure over HTTP with wrk")
    parser.add_argument("--duration", type=int, default=3, help="wrk seconds per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--origins",
        choices=["star", "listed"],
        default="star",
        help="allow '*' (default) or only the request's origin, echoed",
    )
    args = parser.parse_args(argv)
    if args.origins == "listed":
        os.environ[ORIGINS_ENV] = "listed"
        ALLOW_ORIGINS[:] = [ORIGIN.decode()]
    args.rounds = max(1, min(args.rounds, 50))
    args.n = max(10, min(args.n, 200_000))
    try:
        import uvloop

        loop_name = "uvloop"
        runner = uvloop.run
    except ImportError:  # pragma: no cover
        loop_name = "asyncio"
        runner = asyncio.run
    print(
        f"Python {sys.version.split()[0]}, {loop_name}, rounds={args.rounds}, n={args.n}, "
        f"json body {len(JSON_BODY)} B, allow_origins={ALLOW_ORIGINS}"
    )
    results = runner(run(args.rounds, args.n))
    report(results)
    out: dict[str, Any] = {"inproc": results}
    if args.http:
        http = run_http(
            max(1, min(args.duration, 30)),
            max(1, min(args.repeats, 9)),
            max(1, min(args.connections, 256)),
        )
        report_http(http)
        out["http"] = http
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
