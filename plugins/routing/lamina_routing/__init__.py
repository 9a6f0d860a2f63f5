"""lamina-routing: the HTTP router plugin — a compiled route table, mounts, hosts, reversing.

Everything the plugin offers is named here:

* Route objects: :class:`Route`, :class:`Mount`, :class:`Host`, and :class:`BaseRoute`, the
  contract for routes defined elsewhere. **WebSocket routes** (``lamina_websocket``) subclass
  ``BaseRoute`` with ``protocol = "websocket"``, a ``path`` template, a ``name``, an
  ``endpoint`` and ``async handle(scope, receive, send)``; the router matches them for
  ``websocket`` scopes only, sets ``scope["path_params"]`` and calls ``handle``.
* :class:`Router`: decorators (``.route/.get/.post/.put/.patch/.delete``, and
  ``.websocket`` with lamina-websocket), ``.add``, ``.mount``, ``.register_converter``;
  iterable over its routes, so ``Lamina(routes=router)``; a Router inside a route list stands
  for its routes; on its own it is an ASGI app.
* Endpoints: async or sync functions ``(request) -> Response`` (sync ones run in a worker
  thread), :class:`HTTPEndpoint` subclasses (one method per verb), raw ASGI apps.
* Converters: ``str`` (default), ``int``, ``float``, ``uuid``, ``path``; custom ones subclass
  :class:`Converter` and are registered per app through the ``lamina_routing_register_converters``
  hook (:mod:`lamina_routing.hookspecs`) or per router with ``Router(converters=...)``.
* Settings, section ``[routing]``: ``redirect_slashes = true``, ``redirect_status = 307``.
* Errors: 404 and 405 are raised as :class:`lamina.HTTPException` (the app's handlers see
  them); reversing an unknown name or with wrong params raises :class:`NoMatchFound`.
  Routes under a ``Host`` reverse to a :class:`HostURLPath` (the host's parameters are
  required too) whose absolute URL uses that host.
* Introspection: :func:`describe_routes` (``app.router``) yields a :class:`RouteInfo` per
  route: full path template with mount prefixes, host, declared methods, name, contributor,
  and each parameter as a :class:`PathParameter` with the converter the router resolved
  (a converter's ``openapi_schema`` says what its values look like to API tools).
* Hook for other plugins (:mod:`lamina_routing.hookspecs`):
  ``lamina_routing_register_converters``. To read the compiled route table once, at
  assembly, implement the kernel's ``lamina_assembled`` and pass ``app.router`` to
  :func:`describe_routes`.
* After matching, ``scope["route"]`` is a :class:`MatchedRoute` (``.path`` the template
  from the app's root, mount prefixes included; ``.name``; ``.endpoint``) and
  ``scope["endpoint"]`` the endpoint, on the scope outer middleware holds (a mount's own
  middleware sees a :class:`MatchedMount`). :func:`find_route` looks a request's route up
  without serving it; :func:`span_details` names OpenTelemetry spans by template.
* CLI: ``lamina routes MODULE:APP [--json]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy
from lamina import ConflictError, hookimpl
from lamina.plugin import RouteContribution, collect_contributions

from ._converters import (
    BUILTIN_CONVERTERS,
    Converter,
    FloatConverter,
    IntConverter,
    PathConverter,
    StringConverter,
    UUIDConverter,
)
from ._declaring import register_route_class
from ._endpoints import HTTPEndpoint
from ._introspect import PathParameter, RouteInfo, describe_routes
from ._matched import MatchedMount, MatchedRoute
from ._router import AppRouter, HostURLPath, NoMatchFound, Router
from ._routes import BaseRoute, Host, Mount, Route
from ._settings import RoutingSettings
from ._tracing import find_route, span_details

if TYPE_CHECKING:
    from lamina import Lamina

__all__ = [
    "BaseRoute",
    "Converter",
    "FloatConverter",
    "HTTPEndpoint",
    "Host",
    "HostURLPath",
    "IntConverter",
    "MatchedMount",
    "MatchedRoute",
    "Mount",
    "NoMatchFound",
    "PathConverter",
    "PathParameter",
    "Route",
    "RouteInfo",
    "Router",
    "RoutingSettings",
    "StringConverter",
    "UUIDConverter",
    "describe_routes",
    "find_route",
    "register_route_class",
    "span_details",
]

PLUGIN = "routing"


@hookimpl
def lamina_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def lamina_settings_schema() -> type:
    return RoutingSettings


def _check_converter(value: tuple[str, Converter]) -> None:
    if value[0] in BUILTIN_CONVERTERS:
        raise ConflictError(f"{value[0]!r} is built in; pick another name")


@hookimpl
def lamina_assemble(app: Lamina) -> None:
    """Collect the converters plugins contribute (``lamina_routing_register_converters``)."""
    converters = collect_contributions(
        app,
        "lamina_routing_register_converters",
        what="converter",
        arity=2,
        check=_check_converter,
    )
    app.extensions[PLUGIN] = {name: converter for (name, converter), _plugin in converters}


@hookimpl
def lamina_make_router(
    app: Lamina, settings: RoutingSettings, routes: Sequence[RouteContribution]
) -> AppRouter:
    router = AppRouter()
    router.routes = [c.route for c in routes]
    router.compile(
        [(c.route, c.plugin) for c in routes],  # a Router among them stands for its routes
        app_converters=app.extensions[PLUGIN],
        describe=app.describe_plugin,
        redirect_slashes=settings.redirect_slashes,
        redirect_status=settings.redirect_status,
    )
    return router


@hookimpl
def lamina_register_commands(register: Any) -> None:
    from lamina.plugin import Command

    from . import _cli

    register(
        Command(
            "routes",
            "List every route: methods, path, name, endpoint, plugin.",
            run=_cli.run,
            add_arguments=_cli.add_arguments,
        )
    )
