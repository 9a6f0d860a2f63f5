"""Serving: compiled route tables answering requests.

A :class:`Dispatcher` holds what the compiler (:mod:`._compiling`) left for one router or
mount: a dict of static paths per method, and one :class:`Table` (segment trie plus the
matcher generated from it) per protocol. The request path is the hot path, so nothing here
goes through pluggy, and the common cases cost one dict lookup (a static path) or one call
of the generated matcher (a path with parameters) before the endpoint is called.

Matching semantics are Starlette's: the first route in registration order whose path and
method match wins; if paths match but no method does, the answer is 405 listing every method
the matching paths accept; a path that matches nothing may be answered with a redirect to
the same path with its trailing slash flipped.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable
from typing import Any
from urllib.parse import quote, unquote

from lamina import HTTPException, Lamina, RedirectResponse, Response
from lamina.plugin import SCOPE_APP_ROOT_PATH, ASGIApp, Receive, Scope, Send, url_from_scope

from ._routes import method_order
from ._trie import Candidate, Leaf, Matcher, Node, generate_matcher, match_nothing

__all__ = ["ROUTE_PATH_KEY", "Dispatcher", "Table", "pick", "with_params"]

#: The path left to match under a mount whose routes this app compiled (set by the
#: enclosing dispatcher, read by the mount's own).
ROUTE_PATH_KEY = "lamina.route_path"


class Table:
    """The compiled routes of one protocol (``http`` or ``websocket``)."""

    __slots__ = ("has_hosts", "hosts", "match", "root", "source")

    def __init__(self) -> None:
        self.root = Node()
        self.hosts: list[Leaf] = []
        self.has_hosts = False
        self.match: Matcher = match_nothing
        self.source = ""

    def freeze(self) -> None:
        self.match, self.source = generate_matcher(self.root)

    def candidates(self, path: str, scope: Scope | None) -> list[Candidate]:
        out: list[Candidate] = []
        if path[:1] == "/":
            segs = path[1:].split("/")
            self.match(segs, len(segs), path, out, ())
        if self.has_hosts and scope is not None:
            self.add_hosts(scope, out)
        return out

    def add_hosts(self, scope: Scope, out: list[Candidate]) -> None:
        """Append the ``Host`` entries whose pattern matches the request's host."""
        for leaf in self.hosts:
            params = leaf.host(scope)
            if params is not None:
                out.append((leaf, params, 0))


def pick(out: list[Candidate], method: str | None) -> tuple[Candidate, ASGIApp] | None:
    """The candidate registered first that serves ``method`` (``None``: any)."""
    best: tuple[Candidate, ASGIApp] | None = None
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
            best, best_index = (cand, app), leaf.index
    return best


def with_params(app: ASGIApp, params: dict[str, Any], nested: bool) -> ASGIApp:
    """``app`` behind a static path: it sets the path params resolved at assembly."""
    if nested:

        def call(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
            scope["path_params"] = {**scope.get("path_params", {}), **params}
            return app(scope, receive, send)
    else:

        def call(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
            scope["path_params"] = dict(params)
            return app(scope, receive, send)

    return call


class Dispatcher:
    """Compiled routes and the code that serves them.

    The router is one (it compiles itself on first use); the compiler makes one for each
    mount or host whose routes the app declares, entered through :meth:`_mounted`. The
    ``_serve``-family methods return the endpoint's awaitable instead of awaiting it: no
    coroutine frame of the router's own per request.
    """

    def __init__(self) -> None:
        self._compiled = False
        #: True for the routes of a mount or host: path params merge with the enclosing ones.
        self._nested = False
        self._static: dict[str, dict[str, ASGIApp]] = {}
        self._http = Table()
        self._ws = Table()
        self._http_match: Matcher = match_nothing
        self._redirect_slashes = True
        self._redirect_status = 307

    def compile(self) -> object:
        """Overridden by the router; a mount's dispatcher is compiled when it is made."""
        return self

    def _serve(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Dispatch and return the endpoint's awaitable (no coroutine frame of our own)."""
        if not self._compiled:
            self.compile()
        if scope["type"] == "http":
            path = scope["path"]
            root = scope.get("root_path")
            if root and path.startswith(root):
                path = path[len(root) :] or "/"
            # _http_path inlined: the commonest request costs no call of the router's own
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

    def _mounted(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Entry point under a mount: the remaining path was left on the scope."""
        path = scope.pop(ROUTE_PATH_KEY, None)
        if path is None:  # a middleware rebuilt the scope: recompute from root_path
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :] or "/"
        if scope["type"] == "http":
            return self._http_path(scope, receive, send, path)
        if scope["type"] == "websocket":
            return self._websocket(scope, receive, send, path)
        raise RuntimeError(f"the router cannot serve ASGI scope type {scope['type']!r}")

    def find_route(self, scope: Scope) -> Any:
        """The ``MatchedRoute`` a request would reach, without serving it (``None``: no route).

        For what must name a request before it runs (a tracer's span name). Walks mounts
        compiled into this router, and into a Lamina app mounted as an app.
        """
        if not self._compiled:
            self.compile()
        path = scope.get("path", "/")
        root = scope.get(SCOPE_APP_ROOT_PATH, scope.get("root_path"))
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        return self._find(scope, path)

    def _find(self, scope: Scope, path: str) -> Any:
        kind = scope.get("type")
        if kind == "http":
            table, method = self._http, scope.get("method")
        elif kind == "websocket":
            table, method = self._ws, None
        else:
            return None
        out = table.candidates(path, scope)
        picked = pick(out, method) if out else None
        if picked is None:
            return None
        leaf, _params, i = picked[0]
        if leaf.kind == "route":
            return leaf.matched
        rest = path
        if leaf.kind == "mount":
            consumed = sum(len(s) + 1 for s in path[1:].split("/")[:i])
            rest = path[consumed:] or "/"
        if leaf.child is not None:
            return leaf.child._find(scope, rest)
        sub = getattr(leaf.route, "app", None)
        if isinstance(sub, Lamina):
            sub.assemble()  # idempotent; a mounted app otherwise assembles on its first call
        inner = getattr(sub, "router", None)
        if isinstance(inner, Dispatcher) and leaf.matched is not None:
            if not inner._compiled:
                inner.compile()
            found = inner._find(scope, rest)
            return found.under(leaf.matched) if found is not None else leaf.matched
        return leaf.matched

    def _http_path(self, scope: Scope, receive: Receive, send: Send, path: str) -> Awaitable[None]:
        """An HTTP request for ``path`` (relative to this dispatcher's routes)."""
        entry = self._static.get(path)
        if entry is not None:
            app = entry.get(scope["method"])
            if app is not None:
                return app(scope, receive, send)
        return self._http_slow(scope, receive, send, path)

    def _http_slow(self, scope: Scope, receive: Receive, send: Send, path: str) -> Awaitable[None]:
        """Paths not in the static table: the generated matcher, then the general rules."""
        out: list[Candidate] = []
        if path[:1] == "/":
            segs = path[1:].split("/")
            self._http_match(segs, len(segs), path, out, ())
        if self._http.has_hosts:
            self._http.add_hosts(scope, out)
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

    def _resolve(
        self, scope: Scope, receive: Receive, send: Send, path: str, out: list[Candidate]
    ) -> Awaitable[None]:
        method = scope["method"]
        if out:
            picked = pick(out, method)
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

    def _websocket(self, scope: Scope, receive: Receive, send: Send, path: str) -> Awaitable[None]:
        out = self._ws.candidates(path, scope)
        picked = pick(out, None) if out else None
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
    ) -> Awaitable[None]:
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
                scope.setdefault(SCOPE_APP_ROOT_PATH, root)
                scope[ROUTE_PATH_KEY] = path[consumed:] or "/"
            else:  # another app: its root is where it is mounted (Starlette reads it too)
                scope.pop(SCOPE_APP_ROOT_PATH, None)
                scope["app_root_path"] = scope["root_path"]
        elif leaf.nested:
            scope[ROUTE_PATH_KEY] = path
        return app(scope, receive, send)


def _redirect_location(scope: Scope, had_slash: bool) -> str | None:
    """The request's full path (``path`` holds ``root_path`` in ASGI 3) with its trailing
    slash flipped; the client's own escapes are kept when ``raw_path`` is that same path
    (servers differ on whether ``raw_path`` holds the ``root_path``: then it is rebuilt)."""
    path = scope["path"]
    root = scope.get("root_path", "")
    if root and not path.startswith(root):  # a server that leaves root_path out of path
        path = root + path
    raw = scope.get("raw_path")
    target = raw.decode("latin-1") if raw else ""
    if not target or unquote(target) != path:
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
