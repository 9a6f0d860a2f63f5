"""A Router served on its own (no Lamina around it) answers its own 404, 405 and redirects.

Inside a Lamina app the kernel's error layer turns an ``HTTPException`` into a response
(and runs the app's exception handlers). Standalone there is no such layer, so without
this the exception reached the server, which answered every 404 and 405 with a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from lamina import HTTPException, PlainTextResponse, Response
from lamina.plugin import Message, Receive, Scope, Send

__all__ = ["serve_standalone"]

#: Statuses that carry no body (RFC 9110): answered with headers only.
_NO_BODY = frozenset({204, 304})


async def serve_standalone(
    serve: Callable[[Scope, Receive, Send], Awaitable[None]],
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        if message["type"] in ("http.response.start", "websocket.accept"):
            started = True
        await send(message)

    try:
        await serve(scope, receive, tracking_send)
    except HTTPException as exc:
        if started:
            raise
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        if exc.status_code in _NO_BODY:
            response: Response = Response(status_code=exc.status_code, headers=exc.headers)
        else:
            response = PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)
        await response(scope, receive, send)
