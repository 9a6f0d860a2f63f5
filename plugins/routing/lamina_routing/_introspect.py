"""Reading a compiled route table: every route with its full template and typed parameters.

Tools that describe an app (``lamina routes``, an OpenAPI generator, a client generator)
need what the router knows after compiling: the path as a client sees it (mount prefixes
included), the host it answers under, the declared methods, and each parameter's converter
as the router resolved it (a route's own, its router's, the enclosing mounts', the app's
plugins', then the built-ins). :func:`describe_routes` gives exactly that, once, at assembly
or from the CLI; nothing here runs while requests are served.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lamina import RouteLike

from ._compiling import Compilation, Enclosing
from ._converters import BUILTIN_CONVERTERS, Converter
from ._declaring import Contribution, flatten
from ._paths import Literal, Param, _parse_tokens
from ._routes import Host, Mount

__all__ = ["PathParameter", "RouteInfo", "describe_routes"]


#: One ``{name:converter}`` of a path (or host) template: ``name``, ``converter_name`` and
#: the resolved ``converter`` (the router's own token, frozen).
PathParameter = Param


@dataclass(frozen=True)
class RouteInfo:
    """One route of a compiled router, seen from outside.

    ``kind`` is ``"http"``, ``"websocket"`` (or another route protocol), or ``"mount"`` for a
    mounted ASGI app whose routes the router cannot see. ``path`` is the full template as
    declared (``/api/items/{id:int}``), ``params`` its parameters in order, mount prefixes'
    included. ``host`` is the template of the enclosing :class:`Host` (``None`` outside one)
    and ``host_params`` its parameters. ``methods`` are the declared methods (``HEAD`` only
    when declared); ``None`` means every method (a raw ASGI endpoint, a mount). ``name`` is
    what ``url_path_for`` takes (``"api:item"``), ``plugin`` who contributed the route.
    """

    kind: str
    path: str
    params: tuple[PathParameter, ...]
    methods: frozenset[str] | None
    name: str | None
    route: RouteLike
    plugin: str
    host: str | None = None
    host_params: tuple[PathParameter, ...] = ()


@dataclass(frozen=True)
class _Scope:
    """What the routes inside a mount or host inherit from it."""

    prefix: str
    params: tuple[PathParameter, ...]
    names: str
    mount_converters: tuple[Mapping[str, Converter], ...]
    host: str | None
    host_params: tuple[PathParameter, ...]


def describe_routes(router: Any) -> Iterator[RouteInfo]:
    """Every route of ``router`` (an assembled app's ``app.router``), mounts expanded, in
    the order they were compiled. The router must be compiled (an app's router is, once
    the app is assembled)."""
    compilation = getattr(router, "_compilation", None)
    if compilation is None or not getattr(router, "_compiled", False):
        raise TypeError(
            f"{router!r} is not a compiled lamina_routing Router; assemble the app first"
        )
    yield from _walk(router.contributions, _Scope("", (), "", (), None, ()), compilation)


def _walk(
    contributions: list[Contribution], scope: _Scope, compilation: Compilation
) -> Iterator[RouteInfo]:
    for route, plugin in contributions:
        if id(route) in compilation.dropped:  # replaced by another route
            continue
        lookup = compilation._lookup(route, Enclosing(converters=scope.mount_converters))
        own = getattr(route, "name", None) or getattr(route, "default_name", None)
        name = scope.names + own if own else None
        if isinstance(route, (Mount, Host)):
            inner = _enter(route, scope, lookup)
            if route.routes is None:
                path = inner.prefix + "/{path:path}"
                params = (*inner.params, PathParameter("path", "path", BUILTIN_CONVERTERS["path"]))
                yield RouteInfo(
                    "mount", path, params, None, name, route, plugin, inner.host, inner.host_params
                )
                continue
            yield from _walk(flatten((r, plugin) for r in route.routes), inner, compilation)
            continue
        methods = getattr(route, "methods", None)
        yield RouteInfo(
            kind=getattr(route, "protocol", "http"),
            path=scope.prefix + route.path,
            params=(*scope.params, *_params(route.path, lookup)),
            methods=frozenset(methods) if methods is not None else None,
            name=name,
            route=route,
            plugin=plugin,
            host=scope.host,
            host_params=scope.host_params,
        )


def _enter(container: Mount | Host, scope: _Scope, lookup: Callable[[str], Converter]) -> _Scope:
    converters = (container.converters,) if container.converters else ()
    names = scope.names + (f"{container.name}:" if container.name else "")
    if isinstance(container, Host):
        return _Scope(
            scope.prefix,
            scope.params,
            names,
            converters + scope.mount_converters,
            container.host,
            _params(container.host, lookup),
        )
    return _Scope(
        scope.prefix + container.path,
        (*scope.params, *_params(container.path, lookup)),
        names,
        converters + scope.mount_converters,
        scope.host,
        scope.host_params,
    )


def _params(template: str, lookup: Callable[[str], Converter]) -> tuple[PathParameter, ...]:
    """The parameters of a template the router already compiled (so it is valid): only its
    tokens are read again, no regex is built."""
    tokens: list[Literal | Param] = _parse_tokens(template, lookup)
    return tuple(
        PathParameter(t.name, t.converter_name, t.converter) for t in tokens if isinstance(t, Param)
    )
