"""``WebSocketRoute``: a route the router matches for ``websocket`` scopes only.

Built on the routing plugin's :class:`lamina_routing.BaseRoute` contract (a ``path``
template, a ``name``, ``protocol = "websocket"`` and ``handle``), so path parameters,
converters, mounts and reverse routing (``url_path_for`` returns a ``ws://`` capable
:class:`lamina.URLPath`) come from the router unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from lamina import Middleware
from lamina.plugin import ASGIApp, Receive, Scope, Send
from lamina_routing import BaseRoute

from ._connection import MAX_MESSAGE_SIZE_KEY, WebSocket

__all__ = ["WebSocketRoute", "is_asgi_endpoint", "websocket_session"]

_UNSET: Any = object()


def websocket_session(func: Callable[[WebSocket], Any]) -> ASGIApp:
    """Turn ``async def endpoint(websocket)`` into an ASGI app."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await func(WebSocket(scope, receive, send))

    return app


class WebSocketRoute(BaseRoute):
    """``WebSocketRoute("/ws/{room}", endpoint, name="room")``.

    ``endpoint`` is ``async def endpoint(websocket)``, a :class:`WebSocketEndpoint` subclass
    (any class: called per connection with ``(scope, receive, send)`` and awaited), or a raw
    ASGI app. ``asgi=None`` (the default) tells them apart the way
    :class:`lamina_routing.Route` does (see :func:`is_asgi_endpoint`); ``asgi=True``/``False``
    forces the choice. ``max_message_size`` overrides the plugin's limit for this route
    (``None`` lifts it); ``middleware`` wraps only this route (first is outermost).
    ``replaces="plugin"`` serves this route instead of that plugin's WebSocket route on the
    same path (see lamina_routing.Route).
    """

    protocol = "websocket"

    def __init__(
        self,
        path: str,
        endpoint: Any,
        *,
        name: str | None = None,
        max_message_size: int | None = _UNSET,
        middleware: Sequence[Middleware | Callable[[ASGIApp], ASGIApp]] | None = None,
        asgi: bool | None = None,
        converters: Mapping[str, Any] | None = None,
        replaces: str | None = None,
    ) -> None:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"route path {path!r} must be a string starting with '/'")
        self.path = path
        self.endpoint = endpoint
        self.replaces = replaces
        self.explicit_name = name is not None
        self.name = name if name is not None else _default_name(endpoint)
        self.converters = converters
        self.max_message_size = max_message_size
        if inspect.isclass(endpoint) or is_asgi_endpoint(endpoint, asgi):
            app: ASGIApp = endpoint
        elif inspect.iscoroutinefunction(endpoint) or inspect.iscoroutinefunction(
            getattr(endpoint, "__call__", None)  # noqa: B004 - async callable objects
        ):
            app = websocket_session(endpoint)
        else:
            raise TypeError(
                f"WebSocket endpoint {endpoint!r} must be an async function taking "
                "a WebSocket, a WebSocketEndpoint class, or an ASGI app"
            )
        for mw in reversed(middleware or ()):
            app = mw.wrap(app) if isinstance(mw, Middleware) else mw(app)
        self.app = app

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if self.max_message_size is not _UNSET:
            scope[MAX_MESSAGE_SIZE_KEY] = self.max_message_size
        return self.app(scope, receive, send)

    def __repr__(self) -> str:
        return f"WebSocketRoute({self.path!r}, {self.describe_endpoint()}, name={self.name!r})"


def is_asgi_endpoint(endpoint: Any, asgi: bool | None = None) -> bool:
    """Whether ``endpoint`` is a raw ASGI app rather than ``endpoint(websocket)``.

    The same rule as ``lamina_routing.Route``, so one endpoint means the same thing under
    either route: ``asgi=True``/``False`` decides; with ``None``, a function, bound method,
    ``functools.partial`` or builtin is an ASGI app only if its parameters are exactly
    ``(scope, receive, send)``, and any other object (an app instance) is an ASGI app.
    Classes are handled before this (called per connection, like ``WebSocketEndpoint``).
    """
    if asgi is not None:
        return asgi
    if (
        inspect.isfunction(endpoint)
        or inspect.ismethod(endpoint)
        or isinstance(endpoint, functools.partial)
        or inspect.isbuiltin(endpoint)
    ):
        try:
            params = list(inspect.signature(endpoint).parameters)
        except (TypeError, ValueError):
            return False
        return params == ["scope", "receive", "send"]
    return True


def _default_name(endpoint: Any) -> str | None:
    name = getattr(endpoint, "__name__", None)
    return name if isinstance(name, str) and name != "<lambda>" else None
