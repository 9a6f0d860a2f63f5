"""Declaring: the list of routes a user builds, by hand or with decorators.

Nothing here compiles or serves; :class:`RouteList` only records routes and converters
(and marks the router stale when one is added), so that a router can be declared at import
time and compiled once, at assembly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._converters import BUILTIN_CONVERTERS, Converter
from ._routes import BaseRoute, Host, Mount, Route

__all__ = ["RouteDetail", "RouteList", "flatten", "walk"]


class RouteList:
    """Routes and converters as declared; the decorators are shorthands for :meth:`add`."""

    #: Set by the dispatcher; a new route makes the compiled tables stale.
    _compiled: bool

    def __init__(
        self, routes: Iterable[Any] | None = None, converters: Mapping[str, Converter] | None = None
    ) -> None:
        self.converters: dict[str, Converter] = {}
        for name, conv in (converters or {}).items():
            self.register_converter(name, conv)
        self.routes: list[Any] = []
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

    def add(self, route: Any) -> Any:
        """Append a route object (``Route``, ``Mount``, ``Host``, a websocket route...)."""
        if isinstance(route, BaseRoute) and route.router_converters is None:
            route.router_converters = self.converters
        self.routes.append(route)
        self._compiled = False
        return route

    def add_route(self, path: str, endpoint: Any, **options: Any) -> Route:
        return self.add(Route(path, endpoint, **options))  # type: ignore[no-any-return]

    def mount(self, path: str, app: Any = None, **options: Any) -> Mount:
        return self.add(Mount(path, app, **options))  # type: ignore[no-any-return]

    def route(
        self, path: str, methods: Iterable[str] | None = None, **options: Any
    ) -> Callable[[Any], Any]:
        """Decorator: ``@router.route("/x", methods=["GET", "POST"], name="x")``."""

        def decorator(endpoint: Any) -> Any:
            self.add_route(path, endpoint, methods=methods, **options)
            return endpoint

        return decorator

    def get(self, path: str, **options: Any) -> Callable[[Any], Any]:
        return self.route(path, methods=["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[Any], Any]:
        return self.route(path, methods=["POST"], **options)

    def put(self, path: str, **options: Any) -> Callable[[Any], Any]:
        return self.route(path, methods=["PUT"], **options)

    def patch(self, path: str, **options: Any) -> Callable[[Any], Any]:
        return self.route(path, methods=["PATCH"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[Any], Any]:
        return self.route(path, methods=["DELETE"], **options)

    def websocket(self, path: str, **options: Any) -> Callable[[Any], Any]:
        """Decorator for a WebSocket route (``lamina_websocket.WebSocketRoute``)."""
        try:
            from lamina_websocket import WebSocketRoute
        except ImportError:  # pragma: no cover - the workspace installs it
            raise RuntimeError(
                "Router.websocket needs the lamina-websocket plugin (pip install lamina-websocket)"
            ) from None

        def decorator(endpoint: Any) -> Any:
            self.add(WebSocketRoute(path, endpoint, **options))
            return endpoint

        return decorator

    def __iter__(self) -> Iterator[Any]:
        return iter(self.routes)

    def __len__(self) -> int:
        return len(self.routes)


def flatten(contributions: Iterable[tuple[Any, str]]) -> list[tuple[Any, str]]:
    """A Router given where a route is expected stands for its routes, in place."""
    out: list[tuple[Any, str]] = []
    for route, contributor in contributions:
        if getattr(route, "__lamina_router__", False):
            out += flatten((r, contributor) for r in route.routes)
        else:
            out.append((route, contributor))
    return out


#: ``(full path, route, contributor, name to reverse, enclosing host pattern)``
RouteDetail = tuple[str, Any, str, str | None, str | None]


def walk(
    contributions: Iterable[tuple[Any, str]], prefix: str, names: str, host: str | None
) -> Iterator[RouteDetail]:
    """Every declared route with its full path, mounts and hosts expanded in place."""
    for route, contributor in contributions:
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
                )
        else:
            yield prefix + getattr(route, "path", ""), route, contributor, full, host
