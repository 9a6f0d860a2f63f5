"""The one way a guard refuses a request: a complete plain-text answer, HTTP or WebSocket."""

from __future__ import annotations

from lamina.plugin import Scope, Send

__all__ = ["refuse"]


async def refuse(scope: Scope, send: Send, status: int, body: bytes) -> None:
    """Answer ``status`` with ``body`` before the app sees the request.

    A WebSocket handshake gets the same answer when the server supports the
    ``websocket.http.response`` extension, and a policy close (1008; the server then
    answers 403) otherwise.
    """
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in (scope.get("extensions") or ()):
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
