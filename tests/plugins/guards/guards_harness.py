"""Drive guard middleware with hand-made scopes and record what it sends."""

from __future__ import annotations

from typing import Any

import anyio
from lamina.types import Message

REACHED = {"status": 200, "body": b"reached"}


async def inner(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"reached"})


def call(
    app: Any,
    *,
    host: str | bytes | None = "example.com",
    scheme: str = "http",
    type: str = "http",
    path: str = "/a b",
    query: bytes = b"",
    extensions: dict[str, Any] | None = None,
) -> list[Message]:
    headers = []
    if host is not None:
        headers.append((b"host", host if isinstance(host, bytes) else host.encode()))
    scope = {
        "type": type,
        "scheme": scheme,
        "method": "GET",
        "path": path,
        "raw_path": path.replace(" ", "%20").encode(),
        "query_string": query,
        "headers": headers,
        "server": ("10.0.0.1", 8000),
        "extensions": extensions or {},
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    return sent


def status(sent: list[Message]) -> int:
    return int(sent[0]["status"])


def header(sent: list[Message], name: bytes) -> bytes | None:
    for k, v in sent[0].get("headers", ()):
        if k == name:
            return v  # type: ignore[no-any-return]
    return None
