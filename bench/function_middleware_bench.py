"""What a function middleware costs, beside Starlette's ``BaseHTTPMiddleware``, in ONE run.

The same header-adding middleware four ways, around a plaintext endpoint, in-process
(synthetic scope, ``receive``/``send`` that do nothing):

* ``lamina-none``     — Lamina with the routing plugin, no middleware;
* ``lamina-asgi``     — Lamina + the header added by a plain ASGI class (wraps ``send``);
* ``lamina-function`` — Lamina + ``async def add_header(request, call_next)``;
* ``starlette-base``  — Starlette + the same function through ``BaseHTTPMiddleware``.

    uv run python bench/function_middleware_bench.py [--rounds 9] [--n 5000]

Each number is the median over rounds of the mean per-request time (µs), ``min`` the least
disturbed round; rounds alternate the order of contenders.

Measured 2026-12-04 (CPython 3.11.7, ``taskset -c 1``, ``--rounds 9 --n 3000``, a busy
shared machine), min µs: lamina-none 4.6, lamina-asgi 7.1, lamina-function 104,
starlette-base 167 (function/BaseHTTPMiddleware = 0.63). The child task and its three
hand-overs are the cost: write a plain ASGI class for a layer on a hot path.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from inproc import alternating_rounds, http_scope, print_us  # beside this file
from lamina import Lamina, Middleware, PlainTextResponse
from lamina_routing import Route
from starlette.applications import Starlette
from starlette.middleware import Middleware as StarletteMiddleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import PlainTextResponse as StarlettePlainText
from starlette.routing import Route as StarletteRoute


async def add_header(request: Any, call_next: Any) -> Any:
    response = await call_next(request)
    response.headers["x-served-by"] = "bench"
    return response


class HeaderASGI:
    lamina_accepts_plain_app = True

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-served-by", b"b")]}
            await send(message)

        await self.app(scope, receive, send_with_header)


async def hello(request: Any) -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


async def starlette_hello(request: Any) -> StarlettePlainText:
    return StarlettePlainText("Hello, World!")


def lamina(*middleware: Any) -> Any:
    app = Lamina(
        [Route("/", hello)], middleware=list(middleware), plugins=["routing"], autoload=False
    )
    return app.assemble()


async def main(rounds: int, n: int) -> None:
    contenders = {
        "lamina-none": lamina(),
        "lamina-asgi": lamina(Middleware(HeaderASGI, phase="outermost")),
        "lamina-function": lamina(Middleware(add_header, phase="outermost")),
        "starlette-base": Starlette(
            routes=[StarletteRoute("/", starlette_hello)],
            middleware=[StarletteMiddleware(BaseHTTPMiddleware, dispatch=add_header)],
        ),
    }
    times = await alternating_rounds(contenders, rounds, n, http_scope())
    print_us(times)
    fn, base = min(times["lamina-function"]), min(times["starlette-base"])
    print(f"min lamina-function / starlette-base = {fn / base:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.n))
