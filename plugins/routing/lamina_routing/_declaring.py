"""Declaring: the list of routes a user builds, by hand or with decorators.

Nothing here compiles or serves; :class:`RouteList` only records routes and converters
(and marks the router stale when one is added), so that a router can be declared at import
time and compiled once, at assembly.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from typing import Any, TypeVar

from lamina import RouteLike
from lamina.plugin import ASGIApp

from ._converters import BUILTIN_CONVERTERS, Converter
from ._routes import BaseRoute, Host, Mount, Route

__all__ = [
    "Contribution",
    "RouteDetail",
    "RouteList",
    "flatten",
    "register_route_class",
    "walk",
]

R = TypeVar("R", bound=RouteLike)
#: An endpoint a decorator registers and hands back unchanged.
E = TypeVar("E")
#: ``(route, contributor)``: the plugin that registered the route, ``"app"`` for the app.
Contribution = tuple[RouteLike, str]


#: Route classes for protocols other plugins serve (``"websocket"``), by protocol. A plugin
#: that depends on lamina-routing registers its class here when imported, so that the
#: router's shorthand decorators build it without routing importing that plugin back.
_ROUTE_CLASSES: dict[str, Callable[..., RouteLike]] = {}


def register_route_class(protocol: str, route_class: Callable[..., RouteLike]) -> None:
    """Make ``Router.<protocol>(path, **options)`` build ``route_class(path, endpoint,
    **options)`` (lamina-websocket registers ``WebSocketRoute`` for ``"websocket"``)."""
    _ROUTE_CLASSES[protocol] = route_class


def _route_class(protocol: str) -> Callable[..., RouteLike]:
    if protocol not in _ROUTE_CLASSES:
        # not imported yet: the plugin named after the protocol registers it on import
        for entry_point in importlib.metadata.entry_points(group="lamina", name=protocol):
            entry_point.load()
    try:
        return _ROUTE_CLASSES[protocol]
    except KeyError:
        raise RuntimeError(
            f"Router.{protocol} needs the plugin that serves {protocol!r} routes "
            f"(pip install lamina-{protocol})"
        ) from None


class RouteList:
    """Routes and converters as declared; the decorators are shorthands for :meth:`add`."""

    #: Set by the dispatcher; a new route makes the compiled tables stale.
    _compiled: bool

    def __init__(
        self,
        routes: Iterable[RouteLike] | None = None,
        converters: Mapping[str, Converter] | None = None,
    ) -> None:
        self.converters: dict[str, Converter] = {}
        for name, conv in (converters or {}).items():
            self.register_converter(name, conv)
        self.routes: list[RouteLike] = []
        for route in routes or ():
            self.add(route)

    def register_converter(self, name: str, converter: Converter) -> None:
        """Make ``{param:name}`` available to the routes of this router."""
        if name in BUILTIN_CONVERTERS:
            raise ValueError(f"converter {name!r} is built in and cannot be replaced")
        if not hasattr(converter, "regex") or not hasattr(converter, "convert"):
            raise TypeError(
                f"converter {name!r} must have 'regex' and 'convert' (subclass "
                "lamina_routing.Converter)"
            )
        self.converters[name] = converter

    def add(self, route: R) -> R:
        """Append a route object (``Route``, ``Mount``, ``Host``, a websocket route...)."""
        if isinstance(route, BaseRoute) and route.router_converters is None:
            route.router_converters = self.converters
        self.routes.append(route)
        self._compiled = False
        return route

    def add_route(self, path: str, endpoint: Any, **options: Any) -> Route:
        return self.add(Route(path, endpoint, **options))

    def mount(
        self, path: str, app: ASGIApp | Iterable[RouteLike] | None = None, **options: Any
    ) -> Mount:
        return self.add(Mount(path, app, **options))

    def route(
        self, path: str, methods: Iterable[str] | None = None, **options: Any
    ) -> Callable[[E], E]:
        """Decorator: ``@router.route("/x", methods=["GET", "POST"], name="x")``."""

        def decorator(endpoint: E) -> E:
            self.add_route(path, endpoint, methods=methods, **options)
            return endpoint

        return decorator

    def get(self, path: str, **options: Any) -> Callable[[E], E]:
        return self.route(path, methods=["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[E], E]:
        return self.route(path, methods=["POST"], **options)

    def put(self, path: str, **options: Any) -> Callable[[E], E]:
        return self.route(path, methods=["PUT"], **options)

    def patch(self, path: str, **options: Any) -> Callable[[E], E]:
        return self.route(path, methods=["PATCH"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[E], E]:
        return self.route(path, methods=["DELETE"], **options)

    def websocket(self, path: str, **options: Any) -> Callable[[E], E]:
        """Decorator for a WebSocket route (``lamina_websocket.WebSocketRoute``, which that
        plugin registers with :func:`register_route_class`)."""
        route_class = _route_class("websocket")

        def decorator(endpoint: E) -> E:
            self.add(route_class(path, endpoint, **options))
            return endpoint

        return decorator

    def __iter__(self) -> Iterator[RouteLike]:
        return iter(self.routes)

    def __len__(self) -> int:
        return len(self.routes)


def flatten(contributions: Iterable[Contribution]) -> list[Contribution]:
    """A Router given where a route is expected stands for its routes, in place."""
    out: list[Contribution] = []
    for route, contributor in contributions:
        if isinstance(route, RouteList):
            out += flatten((r, contributor) for r in route.routes)
        else:
            out.append((route, contributor))
    return out


#: ``(full path, route, contributor, name to reverse, enclosing host pattern)``
RouteDetail = tuple[str, RouteLike, str, str | None, str | None]


def walk(
    contributions: Iterable[Contribution],
    prefix: str,
    names: str,
    host: str | None,
    left_out: Set[int] = frozenset(),
) -> Iterator[RouteDetail]:
    """Every declared route with its full path, mounts and hosts expanded in place, but
    those in ``left_out`` (by ``id``: routes another one replaced)."""
    for route, contributor in contributions:
        if id(route) in left_out:
            continue
        own = getattr(route, "name", None) or getattr(route, "default_name", None)
        full = names + own if own else None
        if isinstance(route, (Mount, Host)):
            inner = prefix + route.path
            yield inner, route, contributor, full, host
            if route.routes is not None:
                inner_host = route.host if isinstance(route, Host) else host
                yield from walk(
                    flatten((r, contributor) for r in route.routes),
                    inner,
                    names + (f"{route.name}:" if route.name else ""),
                    inner_host,
                    left_out,
                )
        else:
            yield prefix + getattr(route, "path", ""), route, contributor, full, host
