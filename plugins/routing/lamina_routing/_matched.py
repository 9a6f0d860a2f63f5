"""The matched route on the scope: ``scope["route"]`` and ``scope["endpoint"]``.

Tracing, metrics and error trackers name a request by the route that served it
(``GET /users/{id}``), not by its raw path. After matching, the router puts a
:class:`MatchedRoute` on the scope it was given (the one outer middleware holds), as Starlette
does, so OpenTelemetry, Sentry and Prometheus exporters find it there.

Cost: one :class:`MatchedRoute` per route, made at assembly; per request, two dict stores in
a wrapper the compiler puts in front of the route's app (no allocation). A Lamina app mounted
in another Lamina app reads the enclosing mount's match (one ``dict.get``) to report the
whole template; those combinations are cached, so that case allocates nothing per request
either.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Any

from lamina.plugin import ASGIApp, Receive, RouteLike, Scope, Send

__all__ = ["MatchedMount", "MatchedRoute", "strip_converters", "tagged"]

_CONVERTER = re.compile(r"\{([^}:]+):[^}]*\}")


def strip_converters(template: str) -> str:
    """``/items/{id:int}`` -> ``/items/{id}``: the form FastAPI calls ``path_format``."""
    return _CONVERTER.sub(r"{\1}", template)


class MatchedRoute:
    """What ``scope["route"]`` holds after the router matched a route.

    ``path`` is the template from the app's root, mount prefixes included
    (``/api/items/{id:int}``); ``path_format`` is the route's own template without converters
    (``/items/{id}``), relative to the innermost mount, the form OpenTelemetry joins to
    ``root_path``; ``name`` is the name ``url_for`` takes; ``endpoint`` what serves it;
    ``route`` the declared route object.
    """

    __slots__ = ("_under", "endpoint", "name", "path", "path_format", "protocol", "route")

    def __init__(
        self,
        path: str,
        path_format: str,
        name: str | None,
        endpoint: Any,
        route: RouteLike,
        protocol: str,
    ) -> None:
        self.path = path
        self.path_format = path_format
        self.name = name
        self.endpoint = endpoint
        self.route = route
        self.protocol = protocol
        self._under: dict[MatchedRoute, MatchedRoute] = {}

    def under(self, outer: MatchedRoute) -> MatchedRoute:
        """This match as seen from an app that mounts ours under ``outer`` (cached)."""
        found = self._under.get(outer)  # matches hash by identity; both live as long as apps
        if found is None:
            found = self._under[outer] = type(self)(
                outer.path + self.path,
                self.path_format,
                self.name,
                self.endpoint,
                self.route,
                self.protocol,
            )
        return found

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r} name={self.name!r}>"


class MatchedMount(MatchedRoute):
    """``scope["route"]`` while a mount's own middleware or mounted app runs: ``path`` is
    the mount's prefix template. A Lamina app mounted there reports its routes under it."""

    __slots__ = ()


def tagged(app: ASGIApp, matched: MatchedRoute, top_level: bool) -> ASGIApp:
    """``app`` behind a wrapper that puts ``matched`` on the scope.

    ``top_level``: the wrapper belongs to an app's own router (not a mount compiled into
    it), so an enclosing app's mount match is read and prefixed.
    """
    endpoint = matched.endpoint
    if not top_level:

        def call(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
            scope["route"] = matched
            scope["endpoint"] = endpoint
            return app(scope, receive, send)

        return call

    def call_top(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        outer = scope.get("route")
        scope["route"] = matched if type(outer) is not MatchedMount else matched.under(outer)
        scope["endpoint"] = endpoint
        return app(scope, receive, send)

    return call_top
