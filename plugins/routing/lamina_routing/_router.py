"""The router: route declarations compiled, at assembly, into a segment trie.

Matching semantics are Starlette's: the first route in registration order whose path and
method match wins; if paths match but no method does, the answer is 405 listing every method
the matching paths accept. The compiled form gives the same answer without scanning:

* every template is split on ``/``; literal segments are dict keys in a trie, parameter
  segments are converter checks, a segment mixing text and parameters is one small regex, and
  a ``path`` parameter ends the walk with a full-template regex;
* a lookup walks only the branches whose segments match, collects the candidates (usually
  one) and keeps the one registered first that accepts the method;
* every static path (no parameters) is resolved once at assembly, per method, into a dict:
  a request for it costs one dict lookup and one call.

Mounts are prefix leaves of the trie with their own compiled router (a list of routes) or the
app they wrap; ``Host`` routes are checked alongside, in registration order.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from lamina import ConflictError, HTTPException, RedirectResponse, Response, URLPath
from lamina.plugin import ASGIApp, Receive, Scope, Send, url_from_scope

from ._converters import BUILTIN_CONVERTERS, Converter
from ._paths import PathPattern, compile_host, compile_path
from ._routes import BaseRoute, Host, Mount, Route, method_order, wrap_middleware
from ._trie import Candidate, Leaf, Matcher, Node, generate_matcher, insert

__all__ = ["AppRouter", "HostURLPath", "NoMatchFound", "Router"]

ROUTE_PATH_KEY = "lamina.route_path"


class NoMatchFound(LookupError):
    """``url_path_for`` found no route with that name, or the params do not fit it."""


class HostURLPath(URLPath):
    """The path of a route under a :class:`Host`: absolute URLs use the host it names.

    ``url_path_for("tenant:home", tenant="acme")`` is ``"/"`` with ``host ==
    "acme.example.com"``; ``request.url_for`` then gives ``http://acme.example.com/``
    (scheme and ``root_path`` from the request, host from the route).
    """

    host: str

    def __new__(cls, path: str, protocol: str = "", host: str = "") -> HostURLPath:
        obj = URLPath.__new__(cls, path, protocol)
        obj.host = host
        return obj  # type: ignore[return-value]

    def make_absolute_url(self, base_url: Any) -> Any:
        url = super().make_absolute_url(base_url)
        return url.replace(netloc=self.host) if self.host else url


# --------------------------------------------------------------------------- lookup
def _pick(out: list[Candidate], method: str | None) -> tuple[Candidate, ASGIApp] | None:
    """The candidate registered first that serves ``method`` (``None``: any)."""
    best: Candidate | None = None
    best_app: ASGIApp | None = None
    best_index = sys.maxsize
    for cand in out:
        leaf = cand[0]
        if leaf.index >= best_index:
            continue
        handlers = leaf.handlers
        if handlers is None:
            app = leaf.any
        elif method is None:
            app = next(iter(handlers.values()), None)
        else:
            app = handlers.get(method)
        if app is not None:
            best, best_app, best_index = cand, app, leaf.index
    if best is None:
        return None
    return best, best_app  # type: ignore[return-value]


class _Table:
    """The compiled routes of one protocol (``http`` or ``websocket``)."""

    __slots__ = ("has_hosts", "hosts", "match", "root", "source")

    def __init__(self) -> None:
        self.root = Node()
        self.hosts: list[Leaf] = []
        self.has_hosts = False
        self.match: Matcher | None = None
        self.source = ""

    def freeze(self) -> None:
        self.match, self.source = generate_matcher(self.root)

    def candidates(self, path: str, scope: Scope | None) -> list[Candidate]:
        out: list[Candidate] = []
        if path[:1] == "/":
            segs = path[1:].split("/")
            self.match(segs, len(segs), path, out, ())  # type: ignore[misc]
        if self.has_hosts and scope is not None:
            Router._add_hosts(self, scope, out)
        return out


@dataclass
class _Reverse:
    protocol: str
    patterns: tuple[PathPattern, ...]
    route: Any
    explicit: bool
    contributor: str
    #: The pattern of the innermost ``Host`` enclosing the route, if any.
    host: PathPattern | None = None

    @property
    def names(self) -> tuple[str, ...]:
        own = tuple(n for p in self.patterns for n in p.names)
        return own if self.host is None else (*self.host.names, *own)

    @property
    def template(self) -> str:
        path = "".join(p.template for p in self.patterns)
        return path if self.host is None else f"host {self.host.template}, path {path}"


@dataclass
class _Context:
    """State shared while a router and the routers of its mounts compile."""

    app_converters: Mapping[str, Converter]
    describe: Callable[[str], str]
    redirect_slashes: bool
    redirect_status: int
    shapes: dict[tuple[str, str], dict[str, tuple[str, Any]]] = field(default_factory=dict)
    reverse: dict[str, _Reverse] = field(default_factory=dict)
    delegates: list[tuple[str, tuple[PathPattern, ...], Any]] = field(default_factory=list)
    counter: int = 0


def _default_describe(plugin: str) -> str:
    return "the app" if plugin == "app" else f"plugin {plugin!r}"


def _split_host(value: str) -> str:
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1].lower() if end != -1 else value.lower()
    return value.partition(":")[0].lower()


def _host_matcher(pattern: PathPattern) -> Callable[[Scope], dict[str, Any] | None]:
    regex = pattern.regex

    def match(scope: Scope) -> dict[str, Any] | None:
        host = ""
        for k, v in scope.get("headers", ()):
            if k == b"host":
                host = _split_host(v.decode("latin-1"))
                break
        m = regex.fullmatch(host)
        if m is None:
            return None
        values = pattern.convert_groups(m)
        if values is None:
            return None
        return dict(zip(pattern.names, values, strict=True))

    return match


# --------------------------------------------------------------------------- the router
class Router:
    """A list of routes that compiles into a fast ASGI app.

    Declare routes in a list (``Router([Route(...), Mount(...)])``) or with decorators
    (``@router.get("/items/{id:int}")``); pass the router (it iterates over its routes) as
    ``Lamina(routes=router)``. Standalone, a Router is an ASGI app by itself.

    ``converters`` adds path converters for the routes declared on this router;
    ``redirect_slashes``/``redirect_status`` override the app's ``[routing]`` settings.
    """

    __lamina_router__ = True

    def __init__(
        self,
        routes: Iterable[Any] | None = None,
        *,
        converters: Mapping[str, Converter] | None = None,
        redirect_slashes: bool | None = None,
        redirect_status: int | None = None,
    ) -> None:
        self.converters: dict[str, Converter] = {}
        for name, conv in (converters or {}).items():
            self.register_converter(name, conv)
        self.routes: list[Any] = []
        for route in routes or ():
            self.add(route)
        self.redirect_slashes = redirect_slashes
        self.redirect_status = redirect_status
        #: ``(route, contributor)`` pairs as compiled (what ``lamina routes`` lists).
        self.contributions: list[tuple[Any, str]] = []
        self._compiled = False
        self._nested = False
        self._static: dict[str, dict[str, ASGIApp]] = {}
        self._http = _Table()
        self._ws = _Table()
        self._ctx: _Context | None = None
        #: Converters of the mounts (or hosts) enclosing this router, innermost first.
        self._mount_converters: tuple[Mapping[str, Converter], ...] = ()
        #: The pattern of the innermost Host enclosing this router (for reversing).
        self._host_pattern: PathPattern | None = None

    # ------------------------------------------------------------------ declaring
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

    def __repr__(self) -> str:
        return f"Router({len(self.routes)} routes)"

    # ------------------------------------------------------------------ compiling
    def compile(
        self,
        contributions: Iterable[tuple[Any, str]] | None = None,
        *,
        app_converters: Mapping[str, Converter] | None = None,
        describe: Callable[[str], str] | None = None,
        redirect_slashes: bool = True,
        redirect_status: int = 307,
    ) -> Router:
        """Compile ``contributions`` (default: this router's routes, contributed by the app).

        Raises :class:`lamina.ConflictError` for two routes with one method and path, or one
        explicit name, naming both contributors; ``ValueError`` for a bad path template.
        """
        if contributions is None:
            contributions = [(r, "app") for r in self.routes]
        contributions = _flatten(contributions)
        ctx = _Context(
            app_converters=dict(app_converters or {}),
            describe=describe or _default_describe,
            redirect_slashes=(
                self.redirect_slashes if self.redirect_slashes is not None else redirect_slashes
            ),
            redirect_status=self.redirect_status or redirect_status,
        )
        if ctx.redirect_status not in (301, 302, 303, 307, 308):
            raise ValueError(
                f"redirect_status must be a redirect status, got {ctx.redirect_status}"
            )
        self._build(contributions, ctx, (), "", "")  # type: ignore[arg-type]
        self._ctx = ctx
        return self

    def _lookup(self, route: Any, ctx: _Context) -> Callable[[str], Converter]:
        """Converter names for ``route``: its own, its router's, the enclosing mounts' (inner
        first), the app's plugins', then the built-ins."""
        own = getattr(route, "converters", None) or {}
        router_level = getattr(route, "router_converters", None) or {}
        chain = (own, router_level, *self._mount_converters, ctx.app_converters, BUILTIN_CONVERTERS)

        def lookup(name: str) -> Converter:
            for mapping in chain:
                conv = mapping.get(name)
                if conv is not None:
                    return conv
            raise KeyError(name)

        return lookup

    def _build(
        self,
        contributions: list[tuple[Any, str]],
        ctx: _Context,
        prefix: tuple[PathPattern, ...],
        name_prefix: str,
        shape_prefix: str,
    ) -> None:
        self.contributions = list(contributions)
        self._http, self._ws, self._static = _Table(), _Table(), {}
        self._redirect_slashes = ctx.redirect_slashes
        self._redirect_status = ctx.redirect_status
        static_leaves: list[Leaf] = []
        http_leaves: list[tuple[Leaf, str]] = []
        for route, contributor in contributions:
            index = ctx.counter
            ctx.counter += 1
            where = f"{ctx.describe(contributor)}: {route!r}"
            if isinstance(route, Host):
                self._add_host(route, contributor, index, ctx, prefix, name_prefix, shape_prefix)
                continue
            if isinstance(route, Mount):
                self._add_mount(route, contributor, index, ctx, prefix, name_prefix, shape_prefix)
                continue
            protocol = getattr(route, "protocol", None)
            if protocol not in ("http", "websocket") or not isinstance(
                getattr(route, "path", None), str
            ):
                raise TypeError(
                    f"{where} is not a route the router understands: expected a "
                    "lamina_routing Route, Mount, Host or BaseRoute subclass"
                )
            try:
                pattern = compile_path(route.path, self._lookup(route, ctx))
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            leaf = Leaf(index, route, contributor, pattern, "route")
            if protocol == "http":
                apps = getattr(route, "method_apps", None)
                if apps is None:
                    leaf.any = getattr(route, "app", None) or route.handle
                else:
                    leaf.handlers = dict(apps)
                methods = getattr(route, "methods", None)
                self._claim(
                    ctx,
                    "http",
                    shape_prefix + pattern.shape,
                    sorted(methods) if methods is not None else ["*"],
                    route,
                    contributor,
                )
                insert(self._http.root, pattern, leaf, prefix=False)
                http_leaves.append((leaf, pattern.shape))
                if pattern.is_static and pattern.tail_at is None:
                    static_leaves.append(leaf)
            else:
                leaf.any = route.handle
                self._claim(
                    ctx, "websocket", shape_prefix + pattern.shape, ["*"], route, contributor
                )
                insert(self._ws.root, pattern, leaf, prefix=False)
            self._name(ctx, name_prefix, route, contributor, (*prefix, pattern), protocol)
        # A route declaring HEAD takes it over from GET routes on the same path, whatever
        # their order: GET serves HEAD only when nobody asked for HEAD explicitly.
        explicit_head = {
            shape
            for leaf, shape in http_leaves
            if "HEAD" in (getattr(leaf.route, "methods", None) or ())
        }
        for leaf, shape in http_leaves:
            if (
                shape in explicit_head
                and leaf.handlers is not None
                and "HEAD" not in (getattr(leaf.route, "methods", None) or ())
            ):
                leaf.handlers.pop("HEAD", None)
        self._http.freeze()
        self._ws.freeze()
        self._http_match = self._http.match
        self._compiled = True
        self._build_static_cache(static_leaves)

    def _claim(
        self,
        ctx: _Context,
        protocol: str,
        shape: str,
        methods: list[str],
        route: Any,
        contributor: str,
    ) -> None:
        owners = ctx.shapes.setdefault((protocol, shape), {})
        clash = None
        if "*" in owners:
            clash = ("*", owners["*"])
        else:
            for m in methods:
                if m == "*" and owners:
                    clash = next(iter(owners.items()))
                    break
                if m in owners:
                    clash = (m, owners[m])
                    break
        if clash is not None:
            method, (other_plugin, other) = clash
            what = "WebSocket route" if protocol == "websocket" else f"route {method} {shape}"
            if protocol == "websocket":
                what += f" {shape}"
            raise ConflictError(
                f"{what} is registered twice: by {ctx.describe(other_plugin)} "
                f"({other!r}) and by {ctx.describe(contributor)} ({route!r}); remove one, "
                "or disable the plugin that contributes it"
            )
        for m in methods:
            owners[m] = (contributor, route)

    def _name(
        self,
        ctx: _Context,
        name_prefix: str,
        route: Any,
        contributor: str,
        patterns: tuple[PathPattern, ...],
        protocol: str,
    ) -> None:
        name = getattr(route, "name", None)
        explicit = bool(name) and bool(getattr(route, "explicit_name", True))
        if not name:
            name = getattr(route, "default_name", None)
            if not name:
                return
        full = name_prefix + name
        existing = ctx.reverse.get(full)
        if existing is not None:
            if not explicit or (existing.explicit is False and explicit is False):
                return
            if existing.explicit:
                raise ConflictError(
                    f"route name {full!r} is used twice: by {ctx.describe(existing.contributor)} "
                    f"({existing.route!r}) and by {ctx.describe(contributor)} ({route!r}); "
                    "rename one of them"
                )
        ctx.reverse[full] = _Reverse(
            protocol, patterns, route, explicit, contributor, self._host_pattern
        )

    def _child(
        self,
        routes: list[Any],
        contributor: str,
        ctx: _Context,
        prefix: tuple[PathPattern, ...],
        name_prefix: str,
        shape_prefix: str,
        converters: Mapping[str, Converter] | None = None,
        host: PathPattern | None = None,
    ) -> Router:
        child = Router()
        child.routes = routes
        child._nested = True
        child._mount_converters = ((converters,) if converters else ()) + self._mount_converters
        child._host_pattern = host or self._host_pattern
        child._build(
            _flatten((r, contributor) for r in routes), ctx, prefix, name_prefix, shape_prefix
        )
        child._ctx = ctx
        return child

    def _add_mount(
        self,
        mount: Mount,
        contributor: str,
        index: int,
        ctx: _Context,
        prefix: tuple[PathPattern, ...],
        name_prefix: str,
        shape_prefix: str,
    ) -> None:
        try:
            pattern = compile_path(mount.path, self._lookup(mount, ctx), prefix=True)
        except ValueError as exc:
            raise ValueError(f"{ctx.describe(contributor)}: {mount!r}: {exc}") from None
        leaf = Leaf(index, mount, contributor, pattern, "mount")
        patterns = (*prefix, pattern)
        inner_names = name_prefix + (f"{mount.name}:" if mount.name else "")
        if mount.routes is not None:
            child = self._child(
                list(mount.routes),
                contributor,
                ctx,
                patterns,
                inner_names,
                shape_prefix + pattern.shape,
                mount.converters,
            )
            target: ASGIApp = child._mounted
        else:
            target = mount.app
            if mount.name:
                self._name(ctx, name_prefix, mount, contributor, (*patterns, _MOUNT_TAIL), "http")
                ctx.delegates.append((inner_names, patterns, mount.app))
        leaf.nested = mount.routes is not None
        leaf.any = wrap_middleware(target, mount.middleware)
        insert(self._http.root, pattern, leaf, prefix=True)
        insert(self._ws.root, pattern, leaf, prefix=True)

    def _add_host(
        self,
        host: Host,
        contributor: str,
        index: int,
        ctx: _Context,
        prefix: tuple[PathPattern, ...],
        name_prefix: str,
        shape_prefix: str,
    ) -> None:
        try:
            hp = compile_host(host.host, self._lookup(host, ctx))
        except ValueError as exc:
            raise ValueError(f"{ctx.describe(contributor)}: {host!r}: {exc}") from None
        leaf = Leaf(index, host, contributor, hp, "host")
        leaf.host = _host_matcher(hp)
        inner_names = name_prefix + (f"{host.name}:" if host.name else "")
        if host.routes is not None:
            child = self._child(
                list(host.routes),
                contributor,
                ctx,
                prefix,
                inner_names,
                shape_prefix + "@" + host.host,
                host.converters,
                hp,
            )
            target: ASGIApp = child._mounted
        else:
            target = host.app
            if host.name:
                ctx.delegates.append((inner_names, prefix, host.app))
        leaf.nested = host.routes is not None
        leaf.any = wrap_middleware(target, host.middleware)
        for table in (self._http, self._ws):
            table.hosts.append(leaf)
            table.has_hosts = True

    def _build_static_cache(self, leaves: list[Leaf]) -> None:
        """Resolve each static path once per method it serves; requests then skip the trie."""
        table = self._http
        first_host = min((h.index for h in table.hosts), default=sys.maxsize)
        cache: dict[str, dict[str, ASGIApp]] = {}
        for leaf in leaves:
            path = leaf.pattern.template  # type: ignore[union-attr]
            if path in cache:
                continue
            out = table.candidates(path, None)
            methods = {m for c in out if c[0].handlers for m in c[0].handlers}
            entry: dict[str, ASGIApp] = {}
            for method in methods:
                picked = _pick(out, method)
                if picked is None:
                    continue
                (winner, params, _i), app = picked
                if winner.kind != "route" or winner.index > first_host:
                    continue
                entry[method] = _with_params(app, params, self._nested) if params else app
            cache[path] = entry
        self._static = cache

    # ------------------------------------------------------------------ serving
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # ``async def`` so that servers see an ASGI 3 app when a Router is served on its own;
        # inside a Lamina app the kernel calls an AppRouter, whose __call__ is ``_serve``.
        scope.setdefault("app", self)  # request.url_for reverses through scope["app"]
        await self._serve(scope, receive, send)

    def _serve(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Dispatch and return the endpoint's awaitable (no coroutine frame of our own)."""
        if not self._compiled:
            self.compile()
        if scope["type"] == "http":
            path = scope["path"]
            root = scope.get("root_path")
            if root and path.startswith(root):
                path = path[len(root) :] or "/"
            entry = self._static.get(path)
            if entry is not None:
                app = entry.get(scope["method"])
                if app is not None:
                    return app(scope, receive, send)
            return self._http_slow(scope, receive, send, path)
        if scope["type"] == "websocket":
            path = scope["path"]
            root = scope.get("root_path")
            if root and path.startswith(root):
                path = path[len(root) :] or "/"
            return self._websocket(scope, receive, send, path)
        if scope["type"] == "lifespan":
            return _lifespan(scope, receive, send)
        raise RuntimeError(f"the router cannot serve ASGI scope type {scope['type']!r}")

    def _mounted(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Entry point under a mount: the remaining path was left on the scope."""
        path = scope.pop(ROUTE_PATH_KEY, None)
        if path is None:  # a middleware rebuilt the scope: recompute from root_path
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :] or "/"
        if scope["type"] == "http":
            entry = self._static.get(path)
            if entry is not None:
                app = entry.get(scope["method"])
                if app is not None:
                    return app(scope, receive, send)
            return self._http_slow(scope, receive, send, path)
        if scope["type"] == "websocket":
            return self._websocket(scope, receive, send, path)
        raise RuntimeError(f"the router cannot serve ASGI scope type {scope['type']!r}")

    def _http_slow(self, scope: Scope, receive: Receive, send: Send, path: str) -> Any:
        """Paths not in the static table: the generated matcher, then the general rules."""
        out: list[Candidate] = []
        if path[:1] == "/":
            segs = path[1:].split("/")
            self._http_match(segs, len(segs), path, out, ())
        if self._http.has_hosts:
            self._add_hosts(self._http, scope, out)
        if len(out) == 1:
            leaf, params, _i = out[0]
            if leaf.kind == "route":
                handlers = leaf.handlers
                app = leaf.any if handlers is None else handlers.get(scope["method"])
                if app is not None:
                    if params:
                        if self._nested and scope.get("path_params"):
                            params = {**scope["path_params"], **params}
                        scope["path_params"] = params
                    return app(scope, receive, send)
        return self._resolve(scope, receive, send, path, out)

    @staticmethod
    def _add_hosts(table: _Table, scope: Scope, out: list[Candidate]) -> None:
        for leaf in table.hosts:
            params = leaf.host(scope)  # type: ignore[misc]
            if params is not None:
                out.append((leaf, params, 0))

    def _resolve(
        self, scope: Scope, receive: Receive, send: Send, path: str, out: list[Candidate]
    ) -> Any:
        method = scope["method"]
        if out:
            picked = _pick(out, method)
            if picked is not None:
                (leaf, params, i), app = picked
                return self._enter(scope, receive, send, leaf, params, i, path, app)
            allowed = sorted(
                {m for c in out if c[0].handlers for m in c[0].handlers} | {"OPTIONS"},
                key=method_order,
            )
            allow = ", ".join(allowed)
            if method == "OPTIONS":
                return Response(status_code=200, headers={"Allow": allow})(scope, receive, send)
            raise HTTPException(405, headers={"Allow": allow})
        if self._redirect_slashes and path != "/" and path[:1] == "/":
            flipped = path[:-1] if path.endswith("/") else path + "/"
            if self._http.candidates(flipped, scope):
                location = _redirect_location(scope, path.endswith("/"))
                if location is not None:
                    return RedirectResponse(location, status_code=self._redirect_status)(
                        scope, receive, send
                    )
        raise HTTPException(404)

    def _websocket(self, scope: Scope, receive: Receive, send: Send, path: str) -> Any:
        out = self._ws.candidates(path, scope)
        picked = _pick(out, None) if out else None
        if picked is None:
            return send({"type": "websocket.close", "code": 1000})
        (leaf, params, i), app = picked
        return self._enter(scope, receive, send, leaf, params, i, path, app)

    def _enter(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        leaf: Leaf,
        params: dict[str, Any],
        i: int,
        path: str,
        app: ASGIApp,
    ) -> Any:
        if params:
            if self._nested and scope.get("path_params"):
                params = {**scope["path_params"], **params}
            scope["path_params"] = params
        if leaf.kind == "mount":
            segs = path[1:].split("/")
            consumed = sum(len(s) + 1 for s in segs[:i])
            root = scope.get("root_path", "")
            scope["root_path"] = root + path[:consumed]
            if leaf.nested:  # still this app: url_for keeps the app's root
                scope.setdefault("app_root_path", root)
                scope[ROUTE_PATH_KEY] = path[consumed:] or "/"
            else:  # another app: its url_for starts where it is mounted
                scope["app_root_path"] = scope["root_path"]
        elif leaf.nested:
            scope[ROUTE_PATH_KEY] = path
        return app(scope, receive, send)

    # ------------------------------------------------------------------ reversing
    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called ``name`` (``"mount:route"`` inside named mounts).

        Raises :class:`NoMatchFound` naming the route and the parameters it expects.
        """
        if not self._compiled or self._ctx is None:
            self.compile()
        ctx = self._ctx
        assert ctx is not None
        entry = ctx.reverse.get(name)
        if entry is None:
            for inner, patterns, app in ctx.delegates:
                if name.startswith(inner) and hasattr(app, "url_path_for"):
                    own = {n for p in patterns for n in p.names}
                    try:
                        head = "".join(p.build(path_params) for p in patterns)
                    except (KeyError, ValueError, TypeError) as exc:
                        expected = ", ".join(sorted(own))
                        raise NoMatchFound(
                            f"mount {inner[:-1]!r} expects params {expected}: {exc}"
                        ) from None
                    rest = {k: v for k, v in path_params.items() if k not in own}
                    sub = app.url_path_for(name[len(inner) :], **rest)
                    return URLPath(head + str(sub), getattr(sub, "protocol", "http"))
            known = sorted(ctx.reverse)
            shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
            raise NoMatchFound(f"no route named {name!r} (known names: {shown or 'none'})")
        expected = entry.names
        if set(path_params) != set(expected):
            missing = sorted(set(expected) - set(path_params))
            extra = sorted(set(path_params) - set(expected))
            detail = "; ".join(
                filter(
                    None,
                    [
                        f"missing {', '.join(missing)}" if missing else "",
                        f"unexpected {', '.join(extra)}" if extra else "",
                    ],
                )
            )
            raise NoMatchFound(
                f"route {name!r} ({entry.template}) expects params "
                f"{', '.join(expected) or '(none)'}; {detail}"
            )
        parts: list[str] = []
        for pattern in entry.patterns:
            if pattern is _MOUNT_TAIL:
                rest = str(path_params["path"])
                parts.append(
                    quote(rest if rest.startswith("/") else "/" + rest, safe="-._~!$&'()*+,;=:@/")
                )
                continue
            try:
                parts.append(pattern.build(path_params))
            except (ValueError, TypeError) as exc:
                raise NoMatchFound(f"route {name!r} ({entry.template}): {exc}") from None
        if entry.host is not None:
            try:
                host = entry.host.build(path_params)
            except (ValueError, TypeError) as exc:
                raise NoMatchFound(f"route {name!r} (host {entry.host.template}): {exc}") from None
            return HostURLPath("".join(parts) or "/", entry.protocol, host)
        return URLPath("".join(parts) or "/", entry.protocol)

    # ------------------------------------------------------------------ introspection
    def iter_routes(self) -> Iterator[tuple[str, Any, str]]:
        """``(full path, route, contributor)`` for every route, mounts expanded."""
        for path, route, contributor, _name, _host in _walk(self, "", "", None):
            yield path, route, contributor

    def iter_route_details(self) -> Iterator[tuple[str, Any, str, str | None, str | None]]:
        """``(full path, route, contributor, name to reverse, enclosing host pattern)``."""
        yield from _walk(self, "", "", None)


def _flatten(contributions: Iterable[tuple[Any, str]]) -> list[tuple[Any, str]]:
    """A Router given where a route is expected stands for its routes, in place."""
    out: list[tuple[Any, str]] = []
    for route, contributor in contributions:
        if getattr(route, "__lamina_router__", False):
            out += _flatten((r, contributor) for r in route.routes)
        else:
            out.append((route, contributor))
    return out


def _walk(
    router: Router, prefix: str, names: str, host: str | None
) -> Iterator[tuple[str, Any, str, str | None, str | None]]:
    for route, contributor in router.contributions:
        own = getattr(route, "name", None) or getattr(route, "default_name", None)
        full = names + own if own else None
        if isinstance(route, (Mount, Host)):
            inner = prefix + route.path
            yield inner, route, contributor, full, host
            if route.routes is not None:
                child = Router()
                child.contributions = _flatten((r, contributor) for r in route.routes)
                inner_host = route.host if isinstance(route, Host) else host
                yield from _walk(
                    child, inner, names + (f"{route.name}:" if route.name else ""), inner_host
                )
        else:
            yield prefix + getattr(route, "path", ""), route, contributor, full, host


_MOUNT_TAIL = PathPattern("{path:path}", (), (), None, ("path",), ".*", "{path}")


def _with_params(app: ASGIApp, params: dict[str, Any], nested: bool) -> ASGIApp:
    if nested:

        def call(scope: Scope, receive: Receive, send: Send) -> Any:
            scope["path_params"] = {**scope.get("path_params", {}), **params}
            return app(scope, receive, send)
    else:

        def call(scope: Scope, receive: Receive, send: Send) -> Any:
            scope["path_params"] = dict(params)
            return app(scope, receive, send)

    return call


def _redirect_location(scope: Scope, had_slash: bool) -> str | None:
    raw = scope.get("raw_path")
    if raw:
        target = raw.decode("latin-1")
        root = scope.get("app_root_path", scope.get("root_path", ""))
        if root and not target.startswith(root):  # servers disagree on raw_path and root_path
            target = quote(root, safe="-._~!$&'()*+,;=:@/%") + target
    else:
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and not path.startswith(root):
            path = root + path
        target = quote(path, safe="-._~!$&'()*+,;=:@/")
    if had_slash:
        if not target.endswith("/"):
            return None
        target = target[:-1]
    else:
        target = target + "/"
    if target.startswith("//"):
        target = "/" + target.lstrip("/")
    return url_from_scope(scope, path=target, with_query=True)


async def _lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    """A standalone Router has no startup work: acknowledge the lifespan protocol."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class AppRouter(Router):
    """The router the plugin gives the kernel: the same, minus one coroutine frame per request.

    ``__call__`` returns the endpoint's awaitable instead of awaiting it (the kernel awaits).
    """

    __call__ = Router._serve  # type: ignore[assignment]
