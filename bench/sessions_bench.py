"""Sessions in process: Lamina (routing + sessions + auth) beside Starlette, in the same run.

Three scenarios, each an ASGI call driven directly (no sockets), bounded by count:

* ``read``   — the request carries a valid signed session cookie; the endpoint reads a key;
* ``write``  — the endpoint changes the session (a new signed cookie is sent);
* ``absent`` — no cookie, and the endpoint never touches the session (the cost of having
  the middleware installed at all).

Columns: ``lamina`` (lamina-routing + lamina-sessions, settings-configured), ``lamina+auth``
(the same plus lamina-auth's session backend, which reads the session on every request),
``starlette`` (Route + SessionMiddleware) and ``raw`` (a bare ASGI app without sessions, the
floor). Each repeat runs every column back to back; medians are reported with the ratio to
Starlette. No assertion on timings anywhere: this only prints.

    uv run python bench/sessions_bench.py [--requests 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from inproc import http_scope  # beside this file

SECRET = "bench-secret-0123456789abcdef"
SCENARIOS = ("read", "write", "absent")


def lamina_app(with_auth: bool) -> Any:
    from lamina import Lamina, PlainTextResponse
    from lamina_routing import Route

    async def read(request: Any) -> Any:
        return PlainTextResponse(str(request.session.get("user", "")))

    async def write(request: Any) -> Any:
        request.session["n"] = request.session.get("n", 0) + 1
        return PlainTextResponse("ok")

    async def absent(request: Any) -> Any:
        return PlainTextResponse("ok")

    plugins = ["routing", "sessions"] + (["auth"] if with_auth else [])
    return Lamina(
        [Route("/read", read), Route("/write", write), Route("/absent", absent)],
        autoload=False,
        plugins=plugins,
        settings={"sessions": {"secret_key": SECRET}},
    )


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def read(request: Any) -> Any:
        return PlainTextResponse(str(request.session.get("user", "")))

    async def write(request: Any) -> Any:
        request.session["n"] = request.session.get("n", 0) + 1
        return PlainTextResponse("ok")

    async def absent(request: Any) -> Any:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/read", read), Route("/write", write), Route("/absent", absent)],
        middleware=[Middleware(SessionMiddleware, secret_key=SECRET)],
    )


async def raw_app(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


async def cookie_for(app: Any) -> bytes:
    """Ask the app itself for a session holding ``user`` (each signs its own way)."""
    if app is raw_app:
        return b""
    if hasattr(app, "assemble"):
        from lamina_sessions import SessionSigner

        return b"session=" + SessionSigner(SECRET).dumps({"user": "alice"}).encode()
    import base64
    import json

    from itsdangerous import TimestampSigner

    data = base64.b64encode(json.dumps({"user": "alice"}).encode())
    return b"session=" + TimestampSigner(SECRET).sign(data)


async def drive(
    app: Any, path: str, cookie: bytes, count: int, expect: bytes | None = None
) -> float:
    headers = [(b"host", b"bench")]
    if cookie:
        headers.append((b"cookie", cookie))
    body_message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> Any:
        return body_message

    statuses: list[int] = []
    bodies: list[bytes] = []

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        elif expect is not None and message["type"] == "http.response.body":
            bodies.append(message.get("body", b""))

    start = time.perf_counter()
    for _ in range(count):
        await app(http_scope(path, headers, server=("bench", 80)), receive, send)
    elapsed = time.perf_counter() - start
    if set(statuses) != {200}:
        raise RuntimeError(f"{path}: unexpected statuses {set(statuses)}")
    if expect is not None and set(bodies) != {expect}:
        raise RuntimeError(f"{path}: expected {expect!r}, got {set(bodies)}")
    return count / elapsed


async def main(requests: int, repeats: int) -> None:
    columns = {
        "raw": raw_app,
        "starlette": starlette_app(),
        "lamina": lamina_app(False),
        "lamina+auth": lamina_app(True),
    }
    cookies = {name: await cookie_for(app) for name, app in columns.items()}
    results: dict[tuple[str, str], list[float]] = {}
    for repeat in range(repeats):
        order = list(columns) if repeat % 2 == 0 else list(reversed(columns))
        for scenario in SCENARIOS:
            for name in order:
                app = columns[name]
                path = "/" + scenario if app is not raw_app else "/"
                cookie = cookies[name] if scenario != "absent" else b""
                expect = b"alice" if scenario == "read" and app is not raw_app else None
                await drive(app, path, cookie, max(requests // 10, 100), expect)  # warm up
                rate = await drive(app, path, cookie, requests)
                results.setdefault((scenario, name), []).append(rate)
    print(f"{'scenario':<8} {'column':<12} {'req/s':>10} {'vs starlette':>13}")
    for scenario in SCENARIOS:
        base = statistics.median(results[(scenario, "starlette")])
        for name in columns:
            rate = statistics.median(results[(scenario, name)])
            print(f"{scenario:<8} {name:<12} {rate:>10.0f} {rate / base:>12.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.repeats))
