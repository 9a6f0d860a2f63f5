"""Assembly: from loaded, configured plugins to one frozen ASGI callable.

:func:`assemble` reads top to bottom, one step per line, and every step runs once per app:

1. check the plugins' declared dependencies (``lamina_register_dependencies``);
2. let each plugin resolve what it gathers from the others (``lamina_assemble``: the one
   point where plugin-defined hooks run);
3. collect routes, build the router (routes with no router are an error, never a 404);
4. collect and order middleware, exception handlers, protocol handlers, lifespans;
5. freeze the dispatch table: scope type -> ASGI app.

The result is an :class:`Assembly`: immutable, and after it no request touches pluggy.
:meth:`lamina.Lamina.assemble` keeps it, then calls ``lamina_assembled`` so plugins can read
the finished app (``app.router``) before anything is served.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from ._contributions import (
    APP,
    Contribution,
    attribute_error,
    call_hook,
    collect_contributions,
    implementations,
)
from ._errors import ExceptionHandlers, Handler, HTTPErrorLayer, OuterGuard
from ._exceptions import AssemblyError, ConflictError, HTTPException
from ._middleware import Middleware, MiddlewareLayer, build_onion, ensure_asgi3, order_layers
from .types import ASGIApp, Receive, RouteLike, Scope, Send

if TYPE_CHECKING:
    from ._app import Lamina

__all__ = ["Assembly", "HandlerKey", "Lifespan", "Protocol", "RouteContribution", "assemble"]

Lifespan = Callable[["Lamina"], AbstractAsyncContextManager[Any]]
HandlerKey = int | type[BaseException]


class RouteContribution(NamedTuple):
    """A route object and the plugin that registered it (``"app"`` for the app's own)."""

    route: RouteLike
    plugin: str


class Protocol(NamedTuple):
    """A claimed ASGI scope type and the factory that builds its handler."""

    scope_type: str
    factory: Callable[[ASGIApp], ASGIApp]
    plugin: str


@dataclass(frozen=True)
class Assembly:
    """Everything the plugins contributed to one app, frozen, with who contributed what."""

    routes: tuple[RouteContribution, ...]
    router: ASGIApp | None
    middleware: tuple[MiddlewareLayer, ...]
    exception_handlers: Mapping[HandlerKey, Handler]
    exception_handler_owners: Mapping[HandlerKey, str]
    protocols: Mapping[str, Protocol]
    lifespans: tuple[Contribution[Lifespan], ...]
    #: scope type -> the ASGI app serving it; ``lifespan`` is the app's own protocol.
    table: Mapping[str, ASGIApp]


def assemble(app: Lamina, lifespan: ASGIApp) -> Assembly:
    """Run every assembly step in order; ``lifespan`` serves the ``lifespan`` scope type."""
    check_dependencies(app)
    call_hook(app, "lamina_assemble")
    routes = collect_routes(app)
    router = make_router(app, routes)
    middleware = collect_middleware(app)
    handlers, owners = collect_exception_handlers(app)
    protocols = collect_protocols(app)
    lifespans = collect_lifespans(app)
    endpoint: ASGIApp = router if router is not None else _not_found
    table = build_table(app, endpoint, middleware, handlers, protocols)
    table["lifespan"] = lifespan
    return Assembly(
        routes=tuple(routes),
        router=router,
        middleware=tuple(middleware),
        exception_handlers=MappingProxyType(handlers),
        exception_handler_owners=MappingProxyType(owners),
        protocols=MappingProxyType(protocols),
        lifespans=tuple(lifespans),
        table=MappingProxyType(table),
    )


# --------------------------------------------------------------------------- 1. dependencies
def check_dependencies(app: Lamina) -> None:
    """Each plugin's declared needs are enabled plugins; else one error listing every gap,
    each with the plugin that needs it, why, and how to fix it."""
    needs = collect_contributions(
        app, "lamina_register_dependencies", what="dependency", arity=2, key=_every_need
    )
    infos = {info.name: info for info in app.plugin_infos}
    problems = []
    for (name, why), plugin in needs:
        info = infos.get(name)
        if info is not None and info.enabled:
            continue
        if info is None:
            needed = f"plugin {name!r}"
            fix = f"install lamina-{name} (or the distribution providing the {name!r} plugin)"
            state = "not installed"
        else:
            needed = info.describe()
            fix = (
                f"enable it (remove it from Lamina(disable=...) and LAMINA_DISABLE_PLUGINS, "
                f"or pass Lamina(plugins=[{name!r}]))"
            )
            state = f"not enabled ({info.reason})"
        problems.append(
            f"{app.describe_plugin(plugin)} needs {needed} ({why}), which is {state}; "
            f"{fix}, or disable {plugin!r}"
        )
    if problems:
        raise AssemblyError("; ".join(problems))


def _every_need(need: object) -> int:
    """Several plugins may need the same plugin (routing, most often): two needs never
    conflict, so each is its own key (every ``register`` call makes a new tuple)."""
    return id(need)


# --------------------------------------------------------------------------- 3. routes, router
def collect_routes(app: Lamina) -> list[RouteContribution]:
    """The app's routes first, then each plugin's; a route name used by two contributors
    would make ``url_for`` ambiguous, so it is a conflict — unless one route declares
    ``replaces`` the other's plugin (the router then serves only the replacement)."""
    contributed = collect_contributions(
        app, "lamina_register_routes", what="route", usage="register(route)"
    )
    routes = [RouteContribution(r, APP) for r in app.routes]
    routes += [RouteContribution(c.value, c.plugin) for c in contributed]
    owners: dict[str, tuple[str, object]] = {}
    for route, plugin in routes:
        name = getattr(route, "name", None)
        if not isinstance(name, str) or not name:
            continue
        owner, first = owners.setdefault(name, (plugin, route))
        replacing = getattr(route, "replaces", None) == owner
        if owner != plugin and not replacing and getattr(first, "replaces", None) != plugin:
            raise ConflictError(
                f"route name {name!r}: {app.describe_plugin(plugin)} and "
                f"{app.describe_plugin(owner)} both register a route with it; rename one, "
                "or disable one of the plugins"
            )
    return routes


def make_router(app: Lamina, routes: list[RouteContribution]) -> ASGIApp | None:
    """One router: a ``tryfirst`` implementation that answers wins outright; otherwise two
    plugins both building a router is a conflict naming both. Routes with nobody to route
    them are an error, never a silent 404."""
    built: list[tuple[str, ASGIApp]] = []
    for impl in implementations(app.pm, "lamina_make_router"):
        kwargs = {"app": app, "routes": routes, "settings": app.settings_for(impl.plugin_name)}
        try:
            router: ASGIApp | None = impl.function(**{n: kwargs[n] for n in impl.argnames})
        except Exception as exc:
            attribute_error(exc, impl.plugin_name, "lamina_make_router")
            raise
        if router is None:
            continue
        if impl.tryfirst:
            return router
        built.append((impl.plugin_name, router))
    if len(built) > 1:
        names = " and ".join(app.describe_plugin(plugin) for plugin, _ in built)
        raise ConflictError(
            f"{names} each build a router; disable all but one, or mark the one that "
            "should win with @hookimpl(tryfirst=True)"
        )
    if not built and routes:
        contributors = sorted({app.describe_plugin(plugin) for _route, plugin in routes})
        raise AssemblyError(
            f"{', '.join(contributors)} contributed routes, but no plugin builds a router, so "
            "every request would answer 404; install and enable lamina-routing (or another "
            "plugin implementing lamina_make_router)"
        )
    return built[0][1] if built else None


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000})
        return
    raise HTTPException(404)


# --------------------------------------------------------------------------- 4. the rest
def collect_middleware(app: Lamina) -> list[MiddlewareLayer]:
    """The onion's layers, outermost first, ordered by phase, priority and plugin name."""
    contributed = collect_contributions(
        app,
        "lamina_register_middleware",
        what="middleware",
        check=_check_middleware,
        usage="register(Middleware(factory, ...))",
    )
    # the app's own layers keep their listed order among themselves
    layers = [MiddlewareLayer(m, APP, i) for i, m in enumerate(app.user_middleware)]
    layers += [MiddlewareLayer(c.value, c.plugin) for c in contributed]
    return order_layers(layers)


def _check_middleware(value: object) -> None:
    if not isinstance(value, Middleware):
        raise TypeError("wrap it in lamina.Middleware(factory, ...)")


def collect_exception_handlers(
    app: Lamina,
) -> tuple[dict[HandlerKey, Handler], dict[HandlerKey, str]]:
    """Plugins' handlers (one per key), then the app's own, which take precedence."""
    contributed = collect_contributions(
        app,
        "lamina_register_exception_handlers",
        what="exception handler for",
        arity=2,
        check=_check_handler,
        usage="register(key, handler)",
    )
    for key, handler in app.exception_handlers.items():
        try:
            _check_handler((key, handler))
        except TypeError as exc:
            raise AssemblyError(
                f"the app registered an exception handler for {key!r}: {exc}"
            ) from None
    handlers = {key: handler for (key, handler), _plugin in contributed}
    owners = {key: plugin for (key, _handler), plugin in contributed}
    handlers.update(app.exception_handlers)
    owners.update(dict.fromkeys(app.exception_handlers, APP))
    return handlers, owners


def _check_handler(value: tuple[Any, Any]) -> None:
    key, handler = value
    is_status = isinstance(key, int) and not isinstance(key, bool) and 100 <= key <= 599
    is_class = isinstance(key, type) and issubclass(key, BaseException)
    if not (is_status or is_class) or not callable(handler):
        raise TypeError(
            "the key must be an HTTP status code (100-599) or an exception class, and the "
            "handler a callable (request, exc) -> response"
        )


def collect_protocols(app: Lamina) -> dict[str, Protocol]:
    """Scope types claimed by plugins; ``http`` and ``lifespan`` belong to the kernel."""
    contributed = collect_contributions(
        app,
        "lamina_register_protocols",
        what="protocol",
        arity=2,
        check=_check_protocol,
        usage="register(scope_type, factory)",
    )
    for (scope_type, _factory), plugin in contributed:
        if scope_type in ("lifespan", "http"):
            raise ConflictError(
                f"{app.describe_plugin(plugin)} claims the {scope_type!r} scope type, "
                "which the kernel owns; contribute middleware or a router instead"
            )
    return {
        scope_type: Protocol(scope_type, factory, plugin)
        for (scope_type, factory), plugin in contributed
    }


def _check_protocol(value: tuple[Any, Any]) -> None:
    scope_type, factory = value
    if not isinstance(scope_type, str) or not callable(factory):
        raise TypeError(
            "call register(scope_type: str, factory) where factory(endpoint) returns an ASGI app"
        )


def collect_lifespans(app: Lamina) -> list[Contribution[Lifespan]]:
    """Lifespan context factories, in plugin order (entered in it, exited in reverse)."""
    lifespans = [c for c in call_hook(app, "lamina_lifespan") if c.value is not None]
    for factory, plugin in lifespans:
        # a context manager object is callable too (as a decorator): refuse it by name
        if not callable(factory) or hasattr(factory, "__aenter__"):
            raise AssemblyError(
                f"{app.describe_plugin(plugin)} returned {factory!r} from lamina_lifespan; "
                "return a callable (app) -> async context manager, not the context "
                "manager itself"
            )
    return lifespans


# --------------------------------------------------------------------------- 5. the table
def build_table(
    app: Lamina,
    endpoint: ASGIApp,
    middleware: list[MiddlewareLayer],
    handlers: dict[HandlerKey, Handler],
    protocols: dict[str, Protocol],
) -> dict[str, ASGIApp]:
    """Scope type -> ASGI app: each protocol's handler around the endpoint, all inside one
    middleware onion (built once and shared by every scope type)."""
    inner: dict[str, ASGIApp] = {
        "http": HTTPErrorLayer(endpoint, ExceptionHandlers(handlers), app.debug)
    }
    for scope_type, proto in protocols.items():
        try:
            handler = proto.factory(ensure_asgi3(endpoint))
        except Exception as exc:
            attribute_error(exc, proto.plugin, "its protocol factory")
            raise
        if not callable(handler):
            raise AssemblyError(
                f"the protocol factory of {app.describe_plugin(proto.plugin)} for "
                f"{scope_type!r} returned {handler!r}; it must return an ASGI app"
            )
        inner[scope_type] = handler
    inner.setdefault("websocket", _reject_websocket)
    if not middleware:
        return inner

    def dispatch(scope: Scope, receive: Receive, send: Send) -> Any:
        return inner[scope["type"]](scope, receive, send)

    onion = build_onion(middleware, dispatch)
    table: dict[str, ASGIApp] = dict.fromkeys(inner, OuterGuard(onion))
    table["http"] = OuterGuard(onion)  # its own, so Lamina.__call__ knows HTTP by identity
    return table


async def _reject_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """No plugin handles WebSockets: refuse the handshake (the server answers 403)."""
    await send({"type": "websocket.close", "code": 1000})
