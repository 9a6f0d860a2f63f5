"""The ``websocket`` protocol handler: router dispatch plus error handling for connections.

It sits inside the middleware onion (so sessions and auth ran) and outside the router. It
tracks the connection's state by watching the messages go by, so that whatever the endpoint
raises it can end the connection the right way:

* before accept, ``HTTPException`` becomes an HTTP response when the server supports the
  ``websocket.http.response`` extension, else a close (the server answers 403);
* ``WebSocketException`` closes with its code and reason;
* ``WebSocketDisconnect`` means the connection is already over: nothing to do;
* anything else is logged and closes with 1011 (or a 500 before accept).
"""

from __future__ import annotations

import contextlib
import logging

from lamina import HTTPException, PlainTextResponse, WebSocketException
from lamina.errors import RAISE_KEY
from lamina.types import ASGIApp, Message, Receive, Scope, Send

from ._connection import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_POLICY_VIOLATION,
    HTTP_RESPONSE_EXTENSION,
    MAX_MESSAGE_SIZE_KEY,
    WebSocketDisconnect,
    close_reason,
)

__all__ = ["WebSocketHandler"]

logger = logging.getLogger("lamina.websocket")

_OPEN, _ACCEPTED, _DONE = 0, 1, 2


class WebSocketHandler:
    """ASGI app for ``websocket`` scopes: ``WebSocketHandler(router, max_message_size)``."""

    __slots__ = ("app", "max_message_size")

    def __init__(self, app: ASGIApp, max_message_size: int | None) -> None:
        self.app = app
        self.max_message_size = max_message_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        if MAX_MESSAGE_SIZE_KEY not in scope:
            scope[MAX_MESSAGE_SIZE_KEY] = self.max_message_size
        state = _OPEN
        client_gone = False

        async def tracking_send(message: Message) -> None:
            nonlocal state
            mtype = message["type"]
            if mtype == "websocket.send":
                await send(message)
                return
            if mtype == "websocket.accept":
                state = _ACCEPTED
            elif mtype == "websocket.close" or (
                mtype == "websocket.http.response.body" and not message.get("more_body")
            ):
                state = _DONE
            elif mtype == "websocket.http.response.start":
                state = _DONE  # the response is committed; no close may follow
            await send(message)

        async def tracking_receive() -> Message:
            nonlocal client_gone
            message = await receive()
            if message["type"] == "websocket.disconnect":
                client_gone = True
            return message

        try:
            await self.app(scope, tracking_receive, tracking_send)
        except WebSocketDisconnect:
            return
        except WebSocketException as exc:
            if state != _DONE and not client_gone:
                await _close(send, exc.code, exc.reason)
            return
        except HTTPException as exc:
            if state == _OPEN:
                await _deny(scope, send, exc.status_code, exc.detail, exc.headers)
            elif state == _ACCEPTED and not client_gone:
                code = CLOSE_POLICY_VIOLATION if exc.status_code < 500 else CLOSE_INTERNAL_ERROR
                await _close(send, code, exc.detail)
            return
        except Exception as exc:
            logger.error("unhandled exception in WebSocket %s", scope.get("path"), exc_info=exc)
            if state == _OPEN:
                await _deny(scope, send, 500, "Internal Server Error", None)
            elif state == _ACCEPTED and not client_gone:
                await _close(send, CLOSE_INTERNAL_ERROR, "")
            if scope.get(RAISE_KEY):
                raise
            return
        if state != _DONE and not client_gone:
            # The endpoint returned without closing: close normally (before accept, the
            # server turns this into a 403).
            await _close(send, CLOSE_NORMAL, "")


async def _close(send: Send, code: int, reason: str) -> None:
    with contextlib.suppress(OSError):  # the client is gone already
        await send({"type": "websocket.close", "code": code, "reason": close_reason(reason)})


async def _deny(scope: Scope, send: Send, status: int, detail: str,
                headers: dict[str, str] | None) -> None:
    if HTTP_RESPONSE_EXTENSION not in scope.get("extensions", {}):
        await _close(send, CLOSE_POLICY_VIOLATION if status < 500 else CLOSE_INTERNAL_ERROR, "")
        return
    response = PlainTextResponse(detail, status_code=status, headers=headers)

    async def as_websocket(message: Message) -> None:
        if message["type"].startswith("http."):
            message = {**message, "type": "websocket." + message["type"]}
        await send(message)

    await response(scope, _no_receive, as_websocket)


async def _no_receive() -> Message:
    raise RuntimeError("a denial response does not read the request")
