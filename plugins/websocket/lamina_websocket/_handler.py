"""The ``websocket`` protocol handler: router dispatch plus error handling for connections.

It sits inside the middleware onion (so sessions and auth ran) and outside the router. The
kernel only dispatches ``websocket`` scopes to it and wraps nothing around it, so this is the
one place where a WebSocket's errors are handled. It reads the connection's progress from
the record the ``WebSocket`` object keeps, so that whatever the endpoint raises it can end
the connection the right way:

* before accept, ``HTTPException`` becomes an HTTP response when the server supports the
  ``websocket.http.response`` extension, else a close (the server answers 403);
* ``WebSocketException`` closes with its code and reason (a reason is cut to the 123 UTF-8
  bytes a close frame holds, as every close this plugin sends is);
* ``WebSocketDisconnect`` means the connection is already over: nothing to do;
* anything else is logged and closes with 1011 (or a 500 before accept).

When the server starts shutting down, the app's :class:`lamina.plugin.ShutdownRegistry`
cancels every open connection's endpoint, and the handler closes it with 1001 (going away)
so clients reconnect elsewhere, instead of the server cutting it without a close frame.
"""

from __future__ import annotations

import contextlib
import logging

import anyio
from lamina import HTTPException, PlainTextResponse, WebSocketException
from lamina.plugin import (
    SCOPE_RAISE_SERVER_EXCEPTIONS,
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    ShutdownRegistry,
)

from ._connection import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_POLICY_VIOLATION,
    MAX_MESSAGE_SIZE_KEY,
    RECORD_KEY,
    ConnectionRecord,
    WebSocketDisconnect,
    can_deny,
    check_close_code,
    close_reason,
)

__all__ = ["WebSocketHandler"]

logger = logging.getLogger("lamina.websocket")

_OPEN, _ACCEPTED, _DONE = 0, 1, 2


class WebSocketHandler:
    """ASGI app for ``websocket`` scopes: ``WebSocketHandler(router, max_message_size)``.

    It does not wrap ``send``/``receive``: the :class:`WebSocket` objects the endpoint uses
    record the connection's progress in a :class:`ConnectionRecord` on the scope, which is
    read only when the endpoint has ended. ``registry`` (the plugin's) ends connections
    when the server shuts down; ``None`` leaves that to the server.
    """

    __slots__ = ("app", "max_message_size", "registry")

    def __init__(
        self,
        app: ASGIApp,
        max_message_size: int | None,
        registry: ShutdownRegistry | None = None,
    ) -> None:
        self.app = app
        self.max_message_size = max_message_size
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        if MAX_MESSAGE_SIZE_KEY not in scope:
            scope[MAX_MESSAGE_SIZE_KEY] = self.max_message_size
        record = scope[RECORD_KEY] = ConnectionRecord()
        registry = self.registry
        if registry is None:
            await self._serve(scope, receive, send, record)
            return
        try:
            with anyio.CancelScope() as stop:
                registry.add(stop)
                await self._serve(scope, receive, send, record)
            if stop.cancelled_caught and not record.done and not record.client_gone:
                # the server is shutting down: say so, rather than vanish (1006 at the client)
                await _close(send, CLOSE_GOING_AWAY, "server shutting down")
        finally:
            registry.discard(stop)  # after the close frame: a shutdown waits for it

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, record: ConnectionRecord
    ) -> None:
        try:
            await self.app(scope, receive, send)
        except WebSocketDisconnect:
            return
        except WebSocketException as exc:
            if not record.done and not record.client_gone:
                code, reason = exc.code, exc.reason
                try:
                    check_close_code(code)
                except ValueError as bad:
                    logger.error(
                        "WebSocket %s: %s; closing with 1011 instead", scope.get("path"), bad
                    )
                    code, reason = CLOSE_INTERNAL_ERROR, ""
                await _close(send, code, reason)
            return
        except HTTPException as exc:
            if record.done or record.client_gone:
                return
            if record.tracked and not record.accepted:
                await _deny(scope, send, exc.status_code, exc.detail, exc.headers)
            else:  # accepted, or unknown (raw ASGI endpoint): a close is legal either way
                code = CLOSE_POLICY_VIOLATION if exc.status_code < 500 else CLOSE_INTERNAL_ERROR
                await _close(send, code, exc.detail)
            return
        except Exception as exc:
            logger.error("unhandled exception in WebSocket %s", scope.get("path"), exc_info=exc)
            if not record.done and not record.client_gone:
                if record.tracked and not record.accepted:
                    await _deny(scope, send, 500, "Internal Server Error", None)
                else:
                    await _close(send, CLOSE_INTERNAL_ERROR, "")
            if scope.get(SCOPE_RAISE_SERVER_EXCEPTIONS):
                raise
            return
        if record.tracked and not record.done and not record.client_gone:
            # The endpoint returned without closing: close normally (before accept, the
            # server turns this into a 403). A raw ASGI endpoint is left to the server.
            await _close(send, CLOSE_NORMAL, "")


async def _close(send: Send, code: int, reason: str) -> None:
    # Best effort on the error path: the client may be gone, or (for a raw ASGI endpoint
    # whose progress is unknown) the server may refuse a close it does not expect.
    with contextlib.suppress(OSError, RuntimeError):
        await send({"type": "websocket.close", "code": code, "reason": close_reason(reason)})


async def _deny(
    scope: Scope, send: Send, status: int, detail: str, headers: dict[str, str] | None
) -> None:
    if not can_deny(scope):
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
