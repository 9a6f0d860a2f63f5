"""Route objects: what users and plugins declare. The router compiles them at assembly.

* :class:`BaseRoute` is the contract every routable object follows, including routes that
  other plugins define (``lamina_websocket.WebSocketRoute``): a ``path`` template, a ``name``,
  an ``endpoint``, a ``protocol`` (``"http"`` or ``"websocket"``) and an async
  ``handle(scope, receive, send)``. The router matches the path for scopes of that protocol,
  sets ``scope["path_params"]`` and calls ``handle``.
* :class:`Route` serves HTTP; :class:`Mount` puts an ASGI app or a list of routes under a
  prefix; :class:`Host` dispatches on the ``Host`` header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import Any, cast

from lamina import RouteLike
from lamina.plugin import (
    SCOPE_MAX_BODY_SIZE,
    ASGIApp,
    MiddlewareEntry,
    Receive,
    Scope,
    Send,
    as_middleware,
    wrap_in_order,
)

from ._converters import Converter
from ._endpoints import (
    HTTP_VERBS,
    class_method_app,
    endpoint_kind,
    head_app,
    request_response,
)
from ._matched import MatchedRoute

__all__ = ["BaseRoute", "Host", "Mount", "Route", "RouteMiddleware"]

#: A per-route or per-mount middleware: a :class:`lamina.Middleware`, a ``factory(app)``, a
#: Starlette-style entry (``(cls, options)``, Starlette's ``Middleware``, a bare class) or an
#: ``async def mw(request, call_next)`` function; checked when the route is built.
RouteMiddleware = MiddlewareEntry


class _Unset:
    def __repr__(self) -> str:
        return "<app default>"


UNSET: Any = _Unset()


def wrap_middleware(app: ASGIApp, middleware: Sequence[Any] | None) -> ASGIApp:
    """Wrap ``app`` so that the first middleware listed is the outermost; every layer gets
    an ASGI 3 app unless it declared it takes the router's plain callables."""
    return wrap_in_order(app, [as_middleware(m) for m in middleware or ()])


def _endpoint_name(endpoint: Any) -> str | None:
    name = getattr(endpoint, "__name__", None)
    if name is None:
        name = getattr(type(endpoint), "__name__", None)
    return name if isinstance(name, str) and name != "<lambda>" else None


class BaseRoute:
    """What the router needs from any route object: a :class:`lamina.RouteLike` and more.

    Subclass it to add a new kind of route (the websocket plugin does): set ``protocol``,
    ``path``, ``name`` and ``endpoint``, and implement :meth:`handle`. ``converters``
    (optional) maps extra converter names for this route's template. A route that does not
    subclass it is still compiled if it is ``RouteLike`` (the router reads the optional
    attributes below with defaults).
    """

    #: ``"http"`` or ``"websocket"``: which ASGI scope type the route is matched for.
    protocol: str = "http"
    path: str = ""
    name: str | None = None
    endpoint: Any = None
    #: True when the name was given explicitly; only explicit names must be unique.
    explicit_name: bool = False
    #: The name reversing falls back to when none was given (the endpoint's ``__name__``);
    #: ``name`` stays ``None`` then, so such names never conflict.
    default_name: str | None = None
    converters: Mapping[str, Converter] | None = None
    #: Set by :class:`Router` on routes it creates or receives: its converter mapping.
    router_converters: Mapping[str, Converter] | None = None
    #: The plugin whose route on the same path and methods this one replaces (the app's
    #: deliberate override of a plugin's route); ``None``: two such routes conflict.
    replaces: str | None = None

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        raise NotImplementedError

    def describe_endpoint(self) -> str:
        ep = self.endpoint
        module = getattr(ep, "__module__", None) or type(ep).__module__
        qual = getattr(ep, "__qualname__", None) or type(ep).__qualname__
        return f"{module}.{qual}"


class Route(BaseRoute):
    """An HTTP route: ``Route("/items/{id:int}", endpoint, methods=["GET"], name="item")``.

    ``endpoint`` is an async or sync function taking a :class:`lamina.Request` and returning
    a response, an :class:`HTTPEndpoint` subclass, or a raw ASGI app (see ``asgi``).
    ``methods`` defaults to ``GET`` for functions, to the verbs a class defines, and to every
    method for a raw ASGI app. ``HEAD`` is served by ``GET`` unless declared.
    ``max_body_size`` overrides the app's request-body limit for this route (``None`` lifts
    it). ``middleware`` wraps only this route (first listed is outermost).
    ``replaces="plugin"`` serves this route instead of that plugin's route on the same path
    and methods (it must cover all of that route's methods, and there must be one).
    """

    protocol = "http"

    def __init__(
        self,
        path: str,
        endpoint: Any,
        *,
        methods: Iterable[str] | None = None,
        name: str | None = None,
        middleware: Sequence[RouteMiddleware] | None = None,
        max_body_size: int | None = UNSET,
        asgi: bool | None = None,
        converters: Mapping[str, Converter] | None = None,
        include_in_schema: bool = True,
        replaces: str | None = None,
    ) -> None:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"route path {path!r} must be a string starting with '/'")
        self.path = path
        self.endpoint = endpoint
        self.kind = endpoint_kind(endpoint, asgi)
        self.explicit_name = name is not None
        self.name = name
        self.default_name = _endpoint_name(endpoint)
        self.middleware = [as_middleware(m) for m in middleware or ()]
        self.max_body_size = max_body_size
        self.converters = converters
        self.include_in_schema = include_in_schema
        self.replaces = replaces

        declared = None if methods is None else {m.upper() for m in methods}
        if self.kind == "class":
            defined = set(endpoint.defined_methods())
            if not defined:
                raise ValueError(
                    f"class endpoint {endpoint.__qualname__} defines no HTTP verb "
                    "method (get, post, ...)"
                )
            if declared is not None and not declared <= defined:
                missing = ", ".join(sorted(declared - defined))
                raise ValueError(
                    f"class endpoint {endpoint.__qualname__} has no method for {missing}"
                )
            declared = declared or defined
        elif declared is None and self.kind == "function":
            declared = {"GET"}
        #: The declared methods (``None``: every method, for a raw ASGI app).
        self.methods: frozenset[str] | None = None if declared is None else frozenset(declared)
        #: method -> ASGI app, ``HEAD`` included when ``GET`` is; ``None`` for every method.
        self.method_apps: dict[str, ASGIApp] | None
        self.app: ASGIApp
        self._build()

    def _build(self) -> None:
        self.app, self.method_apps = self._apps(None, False)

    def tagged_apps(self, matched: MatchedRoute, top: bool) -> dict[str, ASGIApp] | None:
        """``method_apps`` whose endpoint wrappers also put ``matched`` on the scope (see
        :func:`._endpoints.endpoint_app`), so the compiler adds no tagging wrapper; ``None``
        when something wraps the endpoint (route middleware, a body limit) or it is a raw
        ASGI app: the compiler tags those itself."""
        if self.kind == "asgi" or self.middleware or self.max_body_size is not UNSET:
            return None
        return self._apps(matched, top)[1]

    def _apps(
        self, matched: MatchedRoute | None, top: bool
    ) -> tuple[ASGIApp, dict[str, ASGIApp] | None]:
        """The route's app and its method -> app table (``None``: every method)."""
        ep = self.endpoint
        per_method: dict[str, ASGIApp] = {}
        if self.kind == "class":
            per_method = {m: class_method_app(ep, m, matched, top) for m in self.methods or ()}

            async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
                await per_method[scope["method"] if scope["method"] in per_method else "GET"](
                    scope, receive, send
                )

            base: ASGIApp = dispatch
        elif self.kind == "asgi":
            base = ep
        else:
            base = request_response(ep, matched, top)
        wrapped = self.middleware or self.max_body_size is not UNSET
        if wrapped:
            inner = wrap_middleware(base, self.middleware)
            if self.max_body_size is not UNSET:
                inner = _with_body_limit(inner, self.max_body_size)
            base = inner
        if self.methods is None:
            return base, None
        if self.kind == "class" and not wrapped:
            apps = dict(per_method)
        else:
            apps = dict.fromkeys(self.methods, base)
        if "GET" in apps and "HEAD" not in apps:
            apps["HEAD"] = head_app(apps["GET"])
        return base, apps

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Serve the request, whatever its method (the router checks methods before this)."""
        apps = self.method_apps
        if apps is None:
            return self.app(scope, receive, send)
        return apps.get(scope["method"], self.app)(scope, receive, send)

    def allowed(self) -> list[str]:
        return sorted(self.method_apps or (), key=method_order)

    def __repr__(self) -> str:
        methods = ",".join(self.allowed()) or "*"
        return (
            f"Route({self.path!r}, {self.describe_endpoint()}, methods={methods}, "
            f"name={self.name!r})"
        )


def _with_body_limit(app: ASGIApp, limit: int | None) -> ASGIApp:
    def limited(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        scope[SCOPE_MAX_BODY_SIZE] = limit
        return app(scope, receive, send)

    return limited


def method_order(method: str) -> tuple[int, str]:
    """Sort key for ``Allow``: the usual verbs in their usual order, then the rest by name."""
    try:
        return (HTTP_VERBS.index(method), method)
    except ValueError:
        return (len(HTTP_VERBS), method)


class _Container(BaseRoute):
    """What :class:`Mount` and :class:`Host` share: they hold an ASGI app or inner routes
    (a list, or a Router whose routes are used), with their own middleware and converters,
    and are matched for every protocol."""

    protocol = "*"

    def _hold(
        self,
        app: ASGIApp | Iterable[RouteLike] | None,
        routes: Iterable[RouteLike] | None,
        name: str | None,
        middleware: Sequence[RouteMiddleware] | None,
        converters: Mapping[str, Converter] | None,
    ) -> None:
        if (routes is None and isinstance(app, (list, tuple))) or getattr(
            app, "__lamina_router__", False
        ):
            # routes given in the app's place: a list, or a Router (iterable, and an ASGI app)
            routes, app = cast(Iterable[RouteLike], app), None
        #: The inner routes (a list, or a Router whose routes are used), or ``None``.
        self.routes: list[RouteLike] | None = list(routes) if routes is not None else None
        #: The ASGI app served under the prefix, or ``None`` when it holds routes.
        self.app = cast(ASGIApp | None, app)
        self.endpoint = app if app is not None else self.routes
        self.name = name
        self.explicit_name = name is not None
        self.middleware = [as_middleware(m) for m in middleware or ()]
        self.converters = converters

    def describe_endpoint(self) -> str:
        if self.app is None:
            return f"<{len(self.routes or ())} routes>"
        return super().describe_endpoint()


class Mount(_Container):
    """Serve an ASGI app, or a list of routes, under ``path`` (the bare prefix matches too).

    ``Mount("/api", routes=[...], name="api")`` makes the inner names reversible as
    ``"api:<name>"``; ``Mount("/static", app, name="static")`` reverses with
    ``url_path_for("static", path="/file.txt")``. The mounted app sees ``root_path``
    extended by the matched prefix and ``path`` unchanged (ASGI 3). ``middleware`` wraps
    everything under the mount, for HTTP and WebSocket scopes alike.
    """

    def __init__(
        self,
        path: str,
        app: ASGIApp | Iterable[RouteLike] | None = None,
        *,
        routes: Iterable[RouteLike] | None = None,
        name: str | None = None,
        middleware: Sequence[RouteMiddleware] | None = None,
        converters: Mapping[str, Converter] | None = None,
    ) -> None:
        if path and not path.startswith("/"):
            raise ValueError(f"mount path {path!r} must start with '/' (or be '')")
        self.path = path.rstrip("/")
        if routes is not None and app is not None:
            raise ValueError("Mount takes an app or routes, not both")
        self._hold(app, routes, name, middleware, converters)
        if self.routes is None and self.app is None:
            raise ValueError(f"Mount({path!r}) needs an ASGI app or a list of routes")

    def __repr__(self) -> str:
        return f"Mount({self.path!r}, {self.describe_endpoint()}, name={self.name!r})"


class Host(_Container):
    """Dispatch on the ``Host`` header: ``Host("{tenant}.example.com", app, name="tenant")``.

    The port is ignored; the pattern takes parameters like a path (they land in
    ``path_params``). ``app`` is an ASGI app or a list of routes.
    """

    def __init__(
        self,
        host: str,
        app: ASGIApp | Iterable[RouteLike],
        *,
        name: str | None = None,
        middleware: Sequence[RouteMiddleware] | None = None,
        converters: Mapping[str, Converter] | None = None,
    ) -> None:
        self.host = host
        self.path = ""
        self._hold(app, None, name, middleware, converters)
        if self.routes is None and self.app is None:
            raise ValueError(f"Host({host!r}) needs an ASGI app or a list of routes")

    def __repr__(self) -> str:
        return f"Host({self.host!r}, {self.describe_endpoint()}, name={self.name!r})"
