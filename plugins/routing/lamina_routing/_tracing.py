"""Naming a request by its route before it runs: span names for OpenTelemetry.

OpenTelemetry's ASGI middleware names its span when the request *arrives*, through its
``default_span_details(scope)`` callback, before any router ran; its default uses the raw
path (``GET /users/42``), one span name per user. :func:`span_details` asks the app's
compiled router which route the request will reach, so the name is the template
(``GET /users/{id}``) and ``http.route`` is set, wherever the middleware sits::

    from lamina_routing import span_details
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app = OpenTelemetryMiddleware(lamina_app, default_span_details=span_details(lamina_app))
    # inside the app (phase, mount or route middleware) the scope names the app:
    Middleware(OpenTelemetryMiddleware, phase="outermost", default_span_details=span_details())

The lookup walks the same compiled tables as the request does (a dict lookup for a static
path); it never calls a hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina import Lamina
from lamina.plugin import Scope

from ._matched import MatchedMount, MatchedRoute
from ._serving import Dispatcher

__all__ = ["find_route", "span_details"]

#: Methods a span may be named by; any other becomes ``HTTP`` (OpenTelemetry's rule), so a
#: client cannot mint span names.
KNOWN_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY")
)

SpanDetails = Callable[[Scope], tuple[str, dict[str, Any]]]


def find_route(app: Any, scope: Scope) -> MatchedRoute | None:
    """The route ``scope`` will reach in ``app`` (a Lamina app or a Router), or ``None``.

    ``scope["route"]`` when the router already set it; otherwise a lookup in the compiled
    router (the app is assembled first if it was not yet).
    """
    current = scope.get("route")
    if isinstance(current, MatchedRoute) and not isinstance(current, MatchedMount):
        return current
    if isinstance(app, Lamina):
        app.assemble()
        app = app.router
    if isinstance(app, Dispatcher):
        found = app.find_route(scope)
        return found if isinstance(found, MatchedRoute) else None
    return None


def span_details(app: Any = None) -> SpanDetails:
    """A ``default_span_details`` callback for ``OpenTelemetryMiddleware``.

    ``app`` is the Lamina app (or Router) the middleware wraps; leave it out when the
    middleware is declared inside the app, where ``scope["app"]`` names it. Returns
    ``("GET /users/{id}", {"http.route": "/users/{id}"})`` for HTTP, the template alone for
    a WebSocket, the mount's prefix for an app mounted as a whole (``GET /flask``), and the
    bare method (no route attribute) when no route matches.
    """

    def details(scope: Scope) -> tuple[str, dict[str, Any]]:
        matched = find_route(app if app is not None else scope.get("app"), scope)
        method = str(scope.get("method", "")).upper()
        if method and method not in KNOWN_METHODS:
            method = "HTTP"
        if matched is None:
            return (method or "websocket"), {}
        name = f"{method} {matched.path}" if method else matched.path
        return name, {"http.route": matched.path}

    return details
