"""Apps for the websocket tests: the plugin plus a one-endpoint router (no routing plugin),
so the connection object and the protocol handler are tested on their own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina import Lamina, Middleware
from lamina.testing import make_app, plugin
from lamina.types import ASGIApp, Receive, Scope, Send
from lamina_websocket import websocket_session


def single_endpoint_app(
    endpoint: Callable[..., Any],
    *,
    asgi: bool = False,
    middleware: list[Middleware] | None = None,
    **settings: Any,
) -> Lamina:
    inner: ASGIApp = endpoint if asgi else websocket_session(endpoint)

    async def router(scope: Scope, receive: Receive, send: Send) -> None:
        await inner(scope, receive, send)

    return make_app(
        "websocket",
        plugin("one-endpoint", lamina_make_router=lambda: router),
        settings={"websocket": settings} if settings else None,
        middleware=middleware or [],
    )


def without_http_response_extension(app: ASGIApp) -> ASGIApp:
    """Middleware: pretend the server lacks the ``websocket.http.response`` extension."""

    async def strip(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope["extensions"] = {}
        await app(scope, receive, send)

    return strip
