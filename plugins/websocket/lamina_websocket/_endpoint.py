"""Class-based WebSocket endpoints: override ``on_connect``, ``on_receive``, ``on_disconnect``.

Why a class: a long-lived connection has a lifecycle, and per-connection state reads best as
attributes. The class is instantiated per connection (it is an ASGI app: ``cls(scope,
receive, send)`` is awaitable), declares an ``encoding`` that every message must follow, and
gets ``on_disconnect`` called however the connection ends.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any, ClassVar, Literal

from lamina import WebSocketException
from lamina.plugin import Message, Receive, Scope, Send

from ._connection import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_UNSUPPORTED_DATA,
    WebSocket,
    WebSocketDisconnect,
    WebSocketState,
)

__all__ = ["WebSocketEndpoint"]


class WebSocketEndpoint:
    """Subclass and set ``encoding`` to ``"text"``, ``"bytes"`` or ``"json"`` (or leave it
    ``None`` to receive the raw ASGI message). A message of the wrong kind, or invalid JSON,
    closes the connection with 1003 (unsupported data).
    """

    encoding: ClassVar[Literal["text", "bytes", "json"] | None] = None

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.websocket = WebSocket(scope, receive, send)

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        websocket = self.websocket
        close_code = CLOSE_NORMAL
        try:
            await self.on_connect(websocket)
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    close_code = message.get("code", CLOSE_NORMAL)
                    break
                await self.on_receive(websocket, self.decode(message))
        except WebSocketDisconnect as exc:
            close_code = exc.code
        except WebSocketException as exc:
            close_code = exc.code
            if websocket.application_state is not WebSocketState.DISCONNECTED:
                await websocket.close(exc.code, exc.reason)
        except BaseException:
            close_code = CLOSE_INTERNAL_ERROR
            raise
        finally:
            await self.on_disconnect(websocket, close_code)

    def decode(self, message: Message) -> Any:
        """Turn a ``websocket.receive`` message into what ``on_receive`` gets."""
        encoding = self.encoding
        if encoding is None:
            return message
        text, data = message.get("text"), message.get("bytes")
        if encoding == "text":
            if text is None:
                raise WebSocketException(CLOSE_UNSUPPORTED_DATA, "expected a text message")
            return text
        if encoding == "bytes":
            if data is None:
                raise WebSocketException(CLOSE_UNSUPPORTED_DATA, "expected a binary message")
            return data
        payload = text if text is not None else data
        if payload is None:
            raise WebSocketException(CLOSE_UNSUPPORTED_DATA, "invalid JSON")
        try:
            return json.loads(payload)
        except (ValueError, UnicodeDecodeError, TypeError):
            raise WebSocketException(CLOSE_UNSUPPORTED_DATA, "invalid JSON") from None

    async def on_connect(self, websocket: WebSocket) -> None:
        """Called when the handshake arrives; the default accepts."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        """Called for every message, decoded per ``encoding``."""

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Called once the connection is over, with the close code (1011 after an error)."""
