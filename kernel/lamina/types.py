"""The ASGI vocabulary, spelled once so every plugin types against the same names, and the
shape of a route, which apps, plugins and routers all pass around."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, ParamSpec, Protocol, runtime_checkable

__all__ = [
    "ASGIApp",
    "Message",
    "MiddlewareFactory",
    "Receive",
    "Register",
    "RouteLike",
    "Scope",
    "Send",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: Wraps an ASGI app in another; what every middleware factory is.
MiddlewareFactory = Callable[[ASGIApp], ASGIApp]

_P = ParamSpec("_P")
#: The ``register`` callback a ``lamina_register_*`` hook receives, by what it takes:
#: ``register: Register[Middleware]``, ``Register[RouteLike]``, ``Register[Command]``;
#: ``Register[str, str]`` for ``lamina_register_dependencies``' ``register(name, why)``.
Register = Callable[_P, None]


@runtime_checkable
class RouteLike(Protocol):
    """A route object, whichever plugin defines it: what an app or a plugin registers and a
    router compiles (``lamina_routing.Route``, ``Mount``, ``Host``,
    ``lamina_websocket.WebSocketRoute`` and any third-party route are all ``RouteLike``).

    Why a protocol and not a base class: the kernel must not import a plugin, and a plugin
    defining a route should not have to import the router plugin to do it. The kernel reads
    only ``name`` (two contributors may not name routes alike); the rest is between the route
    and the router that compiles it.
    """

    @property
    def protocol(self) -> str:
        """The ASGI scope type the route serves (``"http"``, ``"websocket"``), or ``"*"`` for
        a container (a mount or a host) whose inner routes serve every type."""
        ...

    @property
    def path(self) -> str:
        """The path template the router matches (``""`` for a host)."""
        ...

    @property
    def name(self) -> str | None:
        """The name ``url_path_for`` reverses (``None``: not reversible by an explicit name)."""
        ...

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Serve a matched request; the router has set ``scope["path_params"]``."""
        ...
