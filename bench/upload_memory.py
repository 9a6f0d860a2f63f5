"""A 200 MiB multipart upload through uvicorn: server memory growth and a concurrent request.

Starts uvicorn in a subprocess (127.0.0.1, a socket bound to port 0 and handed over), serving
a Lamina app that parses the upload with ``request.form()``. An httpx client streams the
multipart body from a generator (the client never holds it either) while a second client
times small ``GET /ping`` requests. The server's memory is read from ``/proc/<pid>/status``:
``VmRSS`` before the upload and ``VmHWM`` (the peak) after it.

    uv run python bench/upload_memory.py [--mib 200] [--chunk-kib 64] [--http h11|httptools]

Prints the figures; target: peak growth < 50 MiB and pings answered promptly throughout
(median under 50 ms); exits with status 1 when either target is missed.

Measured 2026-11-25 (CPython 3.11, 2 shared cores, load ~2): h11 1.9 s (104 MiB/s), peak
growth 1.1 MiB, pings during the upload median 2.3 ms / max 23 ms (idle 1.7 ms); httptools
2.5 s, 1.1 MiB, median 1.6 ms / max 33 ms; Starlette 1.10 on h11 for comparison 3.4 s,
1.0 MiB, median 2.9 ms / max 16 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

BOUNDARY = "lamina-upload-bench-0123456789"
PATTERN = bytes(range(256)) * 256  # 64 KiB, reused: the client allocates no more than this
#: A ping answered within this (median) while the upload is parsed counts as prompt.
PROMPT_MS = 50


# --------------------------------------------------------------------------- the server side
def build_app() -> Any:
    """The app: ``POST /upload`` parses the form, ``GET /ping`` answers at once."""
    from lamina import JSONResponse, Lamina, PlainTextResponse, Request

    big = 1024 * 1024 * 1024  # the upload route lifts the 10 MiB default body limit

    async def upload(request: Request) -> JSONResponse:
        async with request.form() as form:
            file = form["file"]
            assert not isinstance(file, str)
            return JSONResponse(
                {"size": file.size, "in_memory": file.in_memory, "fields": len(form)}
            )

    async def ping(request: Request) -> PlainTextResponse:
        return PlainTextResponse("pong")

    try:
        from lamina_routing import Route

        routes = [
            Route("/upload", upload, methods=["POST"], max_body_size=big),
            Route("/ping", ping),
        ]
        app = Lamina(routes, autoload=False, plugins=["routing"])
        app.assemble()
        app.bench_router = "lamina-routing"  # type: ignore[attr-defined]
        return app
    except Exception as exc:  # routing not importable/ready: a two-route local router
        print(
            f"[server] lamina-routing unavailable ({exc!r}); using a local router", file=sys.stderr
        )

    from lamina._exceptions import HTTPException
    from lamina._scopekeys import MAX_BODY_KEY
    from lamina.testing import plugin

    async def router(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/upload" and scope["method"] == "POST":
            scope[MAX_BODY_KEY] = big
            response = await upload(Request(scope, receive, send))
        elif scope["path"] == "/ping":
            response = await ping(Request(scope, receive, send))
        else:
            raise HTTPException(404)
        await response(scope, receive, send)

    app = Lamina(
        autoload=False, plugins=[plugin("bench-router", make_router=lambda app, routes: router)]
    )
    app.bench_router = "local"  # type: ignore[attr-defined]
    return app


def build_starlette_app() -> Any:
    """The same two routes in Starlette, for comparison (``--framework starlette``)."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def upload(request: Any) -> JSONResponse:
        async with request.form(max_part_size=1024 * 1024) as form:
            file = form["file"]
            return JSONResponse(
                {"size": file.size, "in_memory": file._in_memory, "fields": len(form)}
            )

    async def ping(request: Any) -> PlainTextResponse:
        return PlainTextResponse("pong")

    app = Starlette(routes=[Route("/upload", upload, methods=["POST"]), Route("/ping", ping)])
    app.bench_router = "starlette"  # type: ignore[attr-defined]
    return app


def serve(fd: int, http: str, framework: str) -> None:
    import uvicorn

    app = build_app() if framework == "lamina" else build_starlette_app()
    print(f"[server] router: {app.bench_router}", file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app,
        http=http,
        loop=os.environ.get("BENCH_LOOP", "auto"),
        interface="asgi3",
        log_level="warning",
        lifespan="on",
        access_log=False,
    )
    # socket.socket(fileno=...) keeps the real family (AF_INET); uvicorn's own ``fd=`` assumes
    # AF_UNIX, so asyncio would skip TCP_NODELAY and small responses would stall ~40 ms.
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])


# --------------------------------------------------------------------------- the client side
def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0])
    return out


def body_stream(total: int, chunk: int) -> tuple[Iterator[bytes], int]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nbench\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    piece = (PATTERN * (chunk // len(PATTERN) + 1))[:chunk]

    def gen() -> Iterator[bytes]:
        yield head
        left = total
        while left > 0:
            n = min(left, chunk)
            yield piece if n == chunk else piece[:n]
            left -= n
        yield tail

    return gen(), len(head) + total + len(tail)


def _transport() -> Any:
    """TCP_NODELAY on the client: back-to-back small requests otherwise meet the 40 ms
    delayed-ACK stall and every ping measures the TCP stack instead of the server."""
    import httpx

    return httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited during startup")
        try:
            if httpx.get(base + "/ping", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def upload(base: str, total: int, chunk: int, result: dict[str, Any]) -> None:
    import httpx

    content, length = body_stream(total, chunk)
    t0 = time.perf_counter()
    try:
        with httpx.Client(timeout=120, transport=_transport()) as client:
            r = client.post(
                base + "/upload",
                content=content,
                headers={
                    "content-type": f"multipart/form-data; boundary={BOUNDARY}",
                    "content-length": str(length),
                },
            )
        result["status"] = r.status_code
        result["json"] = r.json() if r.status_code == 200 else r.text
    except Exception as exc:  # reported, not raised: the main thread prints the figures
        result["error"] = repr(exc)
    result["seconds"] = time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--chunk-kib", type=int, default=64)
    parser.add_argument("--http", default="h11", choices=["h11", "httptools"])
    parser.add_argument("--ping-interval", type=float, default=0.02)
    parser.add_argument(
        "--framework",
        default="lamina",
        choices=["lamina", "starlette"],
        help="serve the same routes with Starlette instead, for comparison",
    )
    parser.add_argument("--serve-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upload-to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fd is not None:
        serve(args.serve_fd, args.http, args.framework)
        return
    if args.upload_to is not None:
        result: dict[str, Any] = {}
        upload(args.upload_to, args.mib * 1024 * 1024, args.chunk_kib * 1024, result)
        print(json.dumps(result))
        return

    import httpx

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--serve-fd",
            str(sock.fileno()),
            "--http",
            args.http,
            "--framework",
            args.framework,
        ],
        pass_fds=(sock.fileno(),),
    )
    sock.close()
    try:
        wait_ready(base, proc)
        # warm up every code path (form parsing, spooling to disk) with a 4 MiB upload
        warm: dict[str, Any] = {}
        upload(base, 4 * 1024 * 1024, args.chunk_kib * 1024, warm)
        assert warm.get("status") == 200, warm
        time.sleep(0.2)
        idle: list[float] = []
        with httpx.Client(timeout=10, transport=_transport()) as client:
            for _ in range(20):
                t0 = time.perf_counter()
                client.get(base + "/ping")
                idle.append((time.perf_counter() - t0) * 1000)
                time.sleep(args.ping_interval)
        before = memory(proc.pid)

        total = args.mib * 1024 * 1024
        result: dict[str, Any] = {}
        # the uploader is its own process, so its work does not slow the pinging client down
        uploader = subprocess.Popen(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--upload-to",
                base,
                "--mib",
                str(args.mib),
                "--chunk-kib",
                str(args.chunk_kib),
            ],
            stdout=subprocess.PIPE,
        )
        pings: list[float] = []
        samples: list[int] = []
        deadline = time.monotonic() + 300
        with httpx.Client(timeout=10, transport=_transport()) as client:
            while uploader.poll() is None and time.monotonic() < deadline:
                t0 = time.perf_counter()
                r = client.get(base + "/ping")
                pings.append((time.perf_counter() - t0) * 1000)
                assert r.text == "pong"
                samples.append(memory(proc.pid)["VmRSS"])
                time.sleep(args.ping_interval)
        out, _ = uploader.communicate(timeout=30)
        result.update(json.loads(out))
        after = memory(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    if result.get("status") != 200 or result["json"].get("size") != total:
        raise SystemExit(f"upload failed: {result}")
    growth_peak = (after["VmHWM"] - before["VmRSS"]) / 1024
    growth_sampled = (max(samples, default=before["VmRSS"]) - before["VmRSS"]) / 1024
    print(
        f"{args.framework}: {args.mib} MiB multipart upload through uvicorn ({args.http}), "
        f"{result['seconds']:.2f} s ({args.mib / result['seconds']:.0f} MiB/s); "
        f"server saw size={result['json']['size']}, on disk={not result['json']['in_memory']}"
    )
    print(
        f"server RSS before: {before['VmRSS'] / 1024:.1f} MiB; peak (VmHWM) after: "
        f"{after['VmHWM'] / 1024:.1f} MiB; RSS after: {after['VmRSS'] / 1024:.1f} MiB"
    )
    print(
        f"server memory growth: peak {growth_peak:.1f} MiB (target < 50 MiB), "
        f"max sampled during upload {growth_sampled:.1f} MiB -> "
        f"{'OK' if growth_peak < 50 else 'OVER TARGET'}"
    )
    prompt = True
    if pings:
        prompt = statistics.median(pings) < PROMPT_MS
        print(
            f"concurrent GET /ping during the upload: n={len(pings)}, "
            f"median {statistics.median(pings):.1f} ms, max {max(pings):.1f} ms "
            f"(idle server: median {statistics.median(idle):.1f} ms) -> "
            f"{'OK' if prompt else 'NOT PROMPT'} (target: median < {PROMPT_MS} ms)"
        )
    else:
        print("concurrent GET /ping: the upload finished before the first ping")
    if growth_peak >= 50 or not prompt:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
