"""lamina-websocket: WebSocket connections, routes and class-based endpoints.

::

    from lamina import Lamina
    from lamina_websocket import WebSocket, WebSocketRoute

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(text)

    app = Lamina([WebSocketRoute("/ws/echo", echo, name="echo")])

The plugin claims the ASGI ``websocket`` scope type (``lamina_register_protocols``): its
handler runs inside the middleware onion, dispatches to the router (which matches
``WebSocketRoute`` objects for websocket scopes), and turns what an endpoint raises into the
right ending: ``HTTPException`` before accept -> an HTTP denial response (or a 403 close
where the server lacks the ``websocket.http.response`` extension), ``WebSocketException`` ->
a close with its code and reason, anything else -> 1011 (a 500 before accept). Every close
reason is cut to the 123 UTF-8 bytes a close frame holds. The kernel wraps nothing around
the handler: WebSocket protocol logic lives here only.

Settings (section ``[websocket]``, :class:`WebSocketSettings`):

``max_message_size`` (int | None, 4 MiB)
    Largest message accepted, in bytes; a larger one closes the connection with 1009.
    ``None`` lifts the limit (the server's own limit still applies: uvicorn's is 16 MiB).
    ``WebSocketRoute(..., max_message_size=...)`` overrides it per route.
``close_on_shutdown`` (bool, True)
    When the server starts shutting down (a signal, or a hypercorn worker told to stop by
    its parent), close every open connection with 1001 (going away), so clients see a
    close frame and reconnect, instead of a connection the server cuts (1006).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lamina import WebSocketException, hookimpl
from lamina.plugin import ASGIApp, ShutdownRegistry
from lamina_routing import register_route_class

from ._connection import (
    MAX_MESSAGE_SIZE_KEY,
    WebSocket,
    WebSocketDisconnect,
    WebSocketState,
)
from ._endpoint import WebSocketEndpoint
from ._handler import WebSocketHandler
from ._route import WebSocketRoute, websocket_session

register_route_class("websocket", WebSocketRoute)  # Router.websocket builds it

__all__ = [
    "MAX_MESSAGE_SIZE_KEY",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketEndpoint",
    "WebSocketException",
    "WebSocketHandler",
    "WebSocketRoute",
    "WebSocketSettings",
    "WebSocketState",
    "websocket_session",
]


@dataclass(frozen=True)
class WebSocketSettings:
    """The ``[websocket]`` settings section."""

    max_message_size: int | None = 4 * 1024 * 1024
    #: Close open connections with 1001 as soon as the server starts shutting down.
    close_on_shutdown: bool = True

    def __post_init__(self) -> None:
        if self.max_message_size is not None and self.max_message_size <= 0:
            raise ValueError("max_message_size must be > 0, or None for no limit")


@hookimpl
def lamina_settings_schema() -> type:
    return WebSocketSettings


@hookimpl
def lamina_register_protocols(
    settings: WebSocketSettings, register: Callable[[str, Callable[[ASGIApp], ASGIApp]], None]
) -> None:
    # one registry per app: it ends this app's connections when the server shuts down
    registry = ShutdownRegistry() if settings.close_on_shutdown else None
    register(
        "websocket",
        lambda endpoint: WebSocketHandler(endpoint, settings.max_message_size, registry),
    )
