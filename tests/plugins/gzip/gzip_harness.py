"""Drive an ASGI app with one HTTP request and record every message it sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from lamina.types import ASGIApp, Message

from tests.helpers.asgi import http_scope


@dataclass
class Result:
    messages: list[Message] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.messages[0].get("headers", ()))

    def header(self, name: str) -> str | None:
        values = self.header_list(name)
        return ", ".join(values) if values else None

    def header_list(self, name: str) -> list[str]:
        key = name.lower().encode()
        return [v.decode("latin-1") for k, v in self.headers if k == key]

    @property
    def chunks(self) -> list[bytes]:
        return [m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def request_async(
    app: ASGIApp,
    method: str = "GET",
    path: str = "/",
    headers: dict[str, str] | None = None,
    *,
    on_message: Any = None,
) -> Result:
    result = Result()
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = http_scope(method, path, raw)

    received = False

    async def receive() -> Message:
        nonlocal received
        if received:  # the client stays connected: the next message never comes
            await anyio.sleep_forever()
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        result.messages.append(message)
        if on_message is not None:
            await on_message(message)

    await app(scope, receive, send)
    return result


def request(
    app: ASGIApp, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None
) -> Result:
    return anyio.run(lambda: request_async(app, method, path, headers))


def body_app(
    body: bytes,
    *,
    status: int = 200,
    content_type: str = "text/plain",
    extra: list[tuple[bytes, bytes]] | None = None,
    length: bool = True,
) -> ASGIApp:
    """An app sending ``body`` in one message (``length``: declare Content-Length)."""
    headers = [(b"content-type", content_type.encode()), *(extra or ())]
    if length:
        headers.append((b"content-length", str(len(body)).encode()))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    app.headers = headers  # type: ignore[attr-defined]
    return app


def stream_app(chunks: list[bytes], content_type: str = "text/plain") -> ASGIApp:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type.encode())],
            }
        )
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app
