"""Served in a child uvicorn by test_starvation_e2e: producers that never await.

``/endless`` streams from an async generator that never awaits, ``/endless-sse`` the same
through lamina-sse; ``/plain`` is the probe another client requests meanwhile; ``/closed``
says how many of those producers have been closed (their ``finally`` ran).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from lamina import JSONResponse, PlainTextResponse, Request, StreamingResponse
from lamina.testing import make_app
from lamina_routing import Route
from lamina_sse import EventSourceResponse

closed = {"stream": 0, "sse": 0}
CHUNK = "x" * 4096


async def never_awaits(kind: str) -> AsyncIterator[str]:
    try:
        while True:
            yield CHUNK
    finally:
        closed[kind] += 1


async def endless(request: Request) -> StreamingResponse:
    return StreamingResponse(never_awaits("stream"), media_type="application/octet-stream")


async def endless_sse(request: Request) -> EventSourceResponse:
    return EventSourceResponse(never_awaits("sse"))


async def plain(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def status(request: Request) -> JSONResponse:
    return JSONResponse(closed)


app = make_app(
    "routing",
    "sse",
    routes=[
        Route("/endless", endless),
        Route("/endless-sse", endless_sse),
        Route("/plain", plain),
        Route("/closed", status),
    ],
)
