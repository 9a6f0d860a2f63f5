"""A real app with the guards on (routing + websocket) and a raw-socket client, shared by the
uvicorn tests: they check what a client sees on the wire."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

from lamina import PlainTextResponse
from lamina.testing import make_app
from lamina_routing import Route
from lamina_websocket import WebSocket, WebSocketRoute


async def hello(request: object) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


def guarded(**guards: object) -> Any:
    """``/`` answers "hello", ``/ws`` echoes one message; ``guards`` is the [guards] section."""
    return make_app(
        "routing",
        "websocket",
        "guards",
        routes=[Route("/", hello), WebSocketRoute("/ws", echo)],
        settings={"guards": guards},
    )


def raw_request(url: str, request: bytes) -> bytes:
    """Send ``request`` as bytes (what no HTTP client library would send) and read it all."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
