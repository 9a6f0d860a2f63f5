"""Compiling: route declarations turned, at assembly, into tables a Dispatcher serves.

* every template is split on ``/``; literal segments are dict keys in a trie, parameter
  segments are converter checks, a segment mixing text and parameters is one small regex, and
  a ``path`` parameter ends the walk with a full-template regex (:mod:`._trie`);
* every static path (no parameters) is resolved once, per method, into a dict: a request for
  it costs one dict lookup and one call;
* mounts are prefix leaves of the trie with their own compiled :class:`Dispatcher` (for a
  list of routes) or the app they wrap; ``Host`` entries are checked alongside, in
  registration order.

Conflicts are found here, once: two routes with one method and path shape, or one explicit
name, raise :class:`lamina.ConflictError` naming both contributors — unless one of them
declares ``replaces=`` the other's plugin: the app overriding a plugin's route on purpose.
The replaced route is then left out (its name still reverses, to the same path), and a
``replaces=`` that replaces nothing is a conflict too, never silently ignored.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lamina import ConflictError, RouteLike
from lamina.plugin import (
    ASGIApp,
    Scope,
    handle_errors,
    parse_authority,
    track_response_start,
)

from ._converters import BUILTIN_CONVERTERS, Converter
from ._declaring import Contribution, flatten
from ._matched import MatchedMount, MatchedRoute, strip_converters, tagged
from ._paths import PathPattern, compile_host, compile_path
from ._reversing import MOUNT_TAIL, Delegate, ReverseEntry
from ._routes import Host, Mount, Route, wrap_middleware
from ._serving import Dispatcher, Table, pick, with_params
from ._trie import Leaf, insert

__all__ = ["Compilation", "Enclosing", "describe_contributor"]


def describe_contributor(plugin: str) -> str:
    """The default way errors name who contributed a route."""
    return "the app" if plugin == "app" else f"plugin {plugin!r}"


@dataclass(frozen=True)
class Enclosing:
    """Where the routes being compiled sit: under which mounts and hosts."""

    #: Path patterns of the enclosing mounts, outermost first.
    prefix: tuple[PathPattern, ...] = ()
    #: Reverse-name prefix (``"admin:"`` under a mount named ``admin``).
    names: str = ""
    #: Conflict-detection prefix: the enclosing mounts' shapes and hosts.
    shape: str = ""
    #: Converters of the enclosing mounts (or hosts), innermost first.
    converters: tuple[Mapping[str, Converter], ...] = ()
    #: The pattern of the innermost enclosing ``Host``.
    host: PathPattern | None = None


@dataclass
class Compilation:
    """State shared while a router and the routers of its mounts compile."""

    app_converters: Mapping[str, Converter]
    describe: Callable[[str], str]
    redirect_slashes: bool
    redirect_status: int
    shapes: dict[tuple[str, str], dict[str, tuple[str, RouteLike]]] = field(default_factory=dict)
    reverse: dict[str, ReverseEntry] = field(default_factory=dict)
    delegates: list[Delegate] = field(default_factory=list)
    counter: int = 0
    #: Routes left out because another declared ``replaces=`` their plugin (by ``id``).
    dropped: set[int] = field(default_factory=set)
    #: Routes whose ``replaces=`` took effect (by ``id``), and every route declaring one.
    replacing: set[int] = field(default_factory=set)
    replacers: list[tuple[RouteLike, str, str]] = field(default_factory=list)
    #: Set when a route replaced one compiled before it: the router compiles again.
    stale: bool = False

    def build(
        self, target: Dispatcher, contributions: list[Contribution], where: Enclosing
    ) -> None:
        """Compile ``contributions`` into ``target``'s tables."""
        target._http, target._ws, target._static = Table(), Table(), {}
        target._redirect_slashes = self.redirect_slashes
        target._redirect_status = self.redirect_status
        static_leaves: list[Leaf] = []
        http_leaves: list[tuple[Leaf, str]] = []
        replaced: list[tuple[RouteLike, str, tuple[PathPattern, ...], str]] = []
        for route, contributor in contributions:
            index = self.counter
            self.counter += 1
            who = f"{self.describe(contributor)}: {route!r}"
            if isinstance(route, Host):
                self._add_host(target, route, contributor, index, where)
                continue
            if isinstance(route, Mount):
                self._add_mount(target, route, contributor, index, where)
                continue
            protocol = getattr(route, "protocol", None)
            if protocol not in ("http", "websocket") or not isinstance(
                getattr(route, "path", None), str
            ):
                raise TypeError(
                    f"{who} is not a route the router understands: expected a "
                    "lamina_routing Route, Mount, Host or BaseRoute subclass"
                )
            try:
                pattern = compile_path(route.path, self._lookup(route, where))
            except ValueError as exc:
                raise ValueError(f"{who}: {exc}") from None
            methods = getattr(route, "methods", None) if protocol == "http" else None
            shape = where.shape + pattern.shape
            if getattr(route, "replaces", None) is not None:
                self.replacers.append((route, contributor, shape))
            claimed = sorted(methods) if methods is not None else ["*"]
            if not self._claim(protocol, shape, claimed, route, contributor):
                replaced.append((route, contributor, (*where.prefix, pattern), protocol))
                continue
            leaf = Leaf(index, route, contributor, pattern, "route")
            matched = leaf.matched = _matched(MatchedRoute, route, pattern, where, protocol)
            top = not target._nested
            if protocol == "http":
                apps = getattr(route, "method_apps", None)
                if apps is None:
                    served = getattr(route, "app", None) or route.handle
                    leaf.any = tagged(track_response_start(served), matched, top)
                else:
                    own = route.tagged_apps(matched, top) if isinstance(route, Route) else None
                    if own is None:
                        own = {
                            m: tagged(track_response_start(a), matched, top)
                            for m, a in apps.items()
                        }
                    leaf.handlers = own
                insert(target._http.root, pattern, leaf, prefix=False)
                http_leaves.append((leaf, pattern.shape))
                if pattern.is_static and pattern.tail_at is None:
                    static_leaves.append(leaf)
            else:
                leaf.any = tagged(route.handle, matched, top)
                insert(target._ws.root, pattern, leaf, prefix=False)
            self._name(where, route, contributor, (*where.prefix, pattern), protocol)
        for route, contributor, patterns, protocol in replaced:
            # code that reverses the replaced route's name still gets its path, now served
            # by the route that replaced it
            if where.names + (getattr(route, "name", None) or "") not in self.reverse:
                self._name(where, route, contributor, patterns, protocol)
        _explicit_head_wins(http_leaves)
        target._http.freeze()
        target._ws.freeze()
        target._http_match = target._http.match
        target._compiled = True
        _build_static_cache(target, static_leaves)

    def _lookup(self, route: RouteLike, where: Enclosing) -> Callable[[str], Converter]:
        """Converter names for ``route``: its own, its router's, the enclosing mounts' (inner
        first), the app's plugins', then the built-ins."""
        own = getattr(route, "converters", None) or {}
        router_level = getattr(route, "router_converters", None) or {}
        chain = (own, router_level, *where.converters, self.app_converters, BUILTIN_CONVERTERS)

        def lookup(name: str) -> Converter:
            for mapping in chain:
                conv = mapping.get(name)
                if conv is not None:
                    return conv
            raise KeyError(name)

        return lookup

    def _claim(
        self, protocol: str, shape: str, methods: list[str], route: RouteLike, contributor: str
    ) -> bool:
        """Record that ``route`` serves ``methods`` on ``shape``. False when it is replaced
        (leave it out); a route replacing one compiled before it makes the pass stale."""
        if id(route) in self.dropped:
            return False
        owners = self.shapes.setdefault((protocol, shape), {})
        for other_plugin, other in _overlapping(owners, methods):
            other_methods = [m for m, (_p, r) in owners.items() if r is other]
            if _replaces(route, other_plugin):
                self._replace(other, other_plugin, other_methods, route, contributor, methods)
                for m in other_methods:
                    del owners[m]
                self.stale = True
            elif _replaces(other, contributor):
                self._replace(route, contributor, methods, other, other_plugin, other_methods)
                return False
            else:
                what = "WebSocket route" if protocol == "websocket" else "route"
                both = _shared(other_methods, methods)
                method = "" if protocol == "websocket" else f"{_methods(both)} "
                raise ConflictError(
                    f"{what} {method}{shape} is registered twice: by "
                    f"{self.describe(other_plugin)} ({other!r}) and by "
                    f"{self.describe(contributor)} ({route!r}); remove one, disable the "
                    "plugin that contributes it, or, to serve the app's route instead of a "
                    "plugin's, declare it with replaces='PLUGIN' (Route(path, endpoint, "
                    f"replaces={_plugin_of(other_plugin, contributor)!r}))"
                )
        for m in methods:
            owners[m] = (contributor, route)
        return True

    def _replace(
        self,
        old: RouteLike,
        old_plugin: str,
        old_methods: list[str],
        new: RouteLike,
        new_plugin: str,
        new_methods: list[str],
    ) -> None:
        """``new`` takes ``old``'s place: only whole, so no method of ``old`` is lost."""
        if "*" not in new_methods and not set(old_methods) <= set(new_methods):
            missing = _methods(sorted(set(old_methods) - set(new_methods)))
            raise ConflictError(
                f"{self.describe(new_plugin)} ({new!r}) replaces the route of "
                f"{self.describe(old_plugin)} ({old!r}) but not its {missing}; declare "
                "methods covering all of them, so none is lost"
            )
        self.dropped.add(id(old))
        self.replacing.add(id(new))

    def check_replacements(self) -> None:
        """A ``replaces=`` that replaced nothing is a mistake (a wrong path, method or plugin
        name, or a plugin that is not enabled): say so rather than ignore it."""
        for route, contributor, shape in self.replacers:
            if id(route) not in self.replacing:
                plugin = getattr(route, "replaces", None)
                raise ConflictError(
                    f"{self.describe(contributor)} ({route!r}) declares replaces={plugin!r}, "
                    f"but {self.describe(str(plugin))} contributes no route on {shape} for "
                    "those methods (is the plugin enabled, and the path the same?); remove "
                    "replaces= or fix it"
                )

    def _name(
        self,
        where: Enclosing,
        route: RouteLike,
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
        full = where.names + name
        existing = self.reverse.get(full)
        if existing is not None and id(existing.route) not in self.dropped:
            if not explicit or (existing.explicit is False and explicit is False):
                return
            if existing.explicit:
                raise ConflictError(
                    f"route name {full!r} is used twice: by "
                    f"{self.describe(existing.contributor)} ({existing.route!r}) and by "
                    f"{self.describe(contributor)} ({route!r}); rename one of them"
                )
        self.reverse[full] = ReverseEntry(
            protocol, patterns, route, explicit, contributor, where.host
        )

    def _child(self, routes: list[RouteLike], contributor: str, where: Enclosing) -> Dispatcher:
        child = Dispatcher()
        child._nested = True
        self.build(child, flatten((r, contributor) for r in routes), where)
        return child

    def _add_mount(
        self, target: Dispatcher, mount: Mount, contributor: str, index: int, where: Enclosing
    ) -> None:
        try:
            pattern = compile_path(mount.path, self._lookup(mount, where), prefix=True)
        except ValueError as exc:
            raise ValueError(f"{self.describe(contributor)}: {mount!r}: {exc}") from None
        leaf = Leaf(index, mount, contributor, pattern, "mount")
        patterns = (*where.prefix, pattern)
        inner_names = where.names + (f"{mount.name}:" if mount.name else "")
        if mount.routes is not None:
            inner = Enclosing(
                patterns,
                inner_names,
                where.shape + pattern.shape,
                ((mount.converters,) if mount.converters else ()) + where.converters,
                where.host,
            )
            leaf.child = self._child(list(mount.routes), contributor, inner)
            target_app: ASGIApp = leaf.child._mounted
        else:
            assert mount.app is not None  # a Mount holds an app or routes (checked when made)
            target_app = mount.app
            if mount.name:
                self._name(where, mount, contributor, (*patterns, MOUNT_TAIL), "http")
                self.delegates.append((inner_names, patterns, mount.app))
        leaf.nested = mount.routes is not None
        leaf.matched = _matched(MatchedMount, mount, pattern, where, "*")
        if leaf.nested and mount.middleware:
            # The mount's routes answer their errors (404, 405, handled, 500) inside its own
            # middleware, so CORS, GZip or session layers given to the mount see them, as
            # app-wide layers see the app's. (A route's own middleware sees the exception:
            # it may catch it, as a function middleware's call_next raises it.)
            target_app = handle_errors(target_app)
        leaf.any = wrap_middleware(target_app, mount.middleware)
        if mount.middleware or not leaf.nested:  # foreign code under the mount
            leaf.any = track_response_start(leaf.any)
        if not leaf.nested:
            # An app mounted whole is the route (``GET /flask``). Routes compiled here set
            # their own full template: announcing the prefix first would let a tracer that
            # names its span on entry (Sentry) keep the prefix as the name.
            leaf.any = tagged(leaf.any, leaf.matched, not target._nested)
        insert(target._http.root, pattern, leaf, prefix=True)
        insert(target._ws.root, pattern, leaf, prefix=True)

    def _add_host(
        self, target: Dispatcher, host: Host, contributor: str, index: int, where: Enclosing
    ) -> None:
        try:
            hp = compile_host(host.host, self._lookup(host, where))
        except ValueError as exc:
            raise ValueError(f"{self.describe(contributor)}: {host!r}: {exc}") from None
        leaf = Leaf(index, host, contributor, hp, "host")
        leaf.host = _host_matcher(hp)
        inner_names = where.names + (f"{host.name}:" if host.name else "")
        if host.routes is not None:
            inner = Enclosing(
                where.prefix,
                inner_names,
                where.shape + "@" + host.host,
                ((host.converters,) if host.converters else ()) + where.converters,
                hp,
            )
            leaf.child = self._child(list(host.routes), contributor, inner)
            target_app: ASGIApp = leaf.child._mounted
        else:
            assert host.app is not None  # a Host holds an app or routes (checked when made)
            target_app = host.app
            if host.name:
                self.delegates.append((inner_names, where.prefix, host.app))
        leaf.nested = host.routes is not None
        leaf.any = wrap_middleware(target_app, host.middleware)
        if host.middleware or not leaf.nested:  # foreign code under the host
            leaf.any = track_response_start(leaf.any)
        for table in (target._http, target._ws):
            table.hosts.append(leaf)
            table.has_hosts = True


def _overlapping(
    owners: dict[str, tuple[str, RouteLike]], methods: list[str]
) -> list[tuple[str, RouteLike]]:
    """The routes already serving one of ``methods`` (``*``: every method) on a shape."""
    if "*" in owners or "*" in methods:
        hits = list(owners.values())
    else:
        hits = [owners[m] for m in methods if m in owners]
    return list({id(route): (plugin, route) for plugin, route in hits}.values())


def _replaces(route: RouteLike, plugin: str) -> bool:
    return plugin != "app" and getattr(route, "replaces", None) == plugin


def _shared(first: list[str], second: list[str]) -> list[str]:
    """The methods two routes on one shape both serve (``*``: every method)."""
    if "*" in first:
        return second
    if "*" in second:
        return first
    return sorted(set(first) & set(second))


def _methods(methods: list[str]) -> str:
    return "every method" if "*" in methods else ",".join(methods)


def _plugin_of(first: str, second: str) -> str:
    """The plugin a ``replaces=`` would name: the contributor that is not the app."""
    return first if first != "app" else second


def _matched(
    kind: type[MatchedRoute],
    route: RouteLike,
    pattern: PathPattern,
    where: Enclosing,
    protocol: str,
) -> MatchedRoute:
    """The ``scope["route"]`` of ``route``: its template from the app's root."""
    own = getattr(route, "name", None) or getattr(route, "default_name", None)
    return kind(
        "".join(p.template for p in where.prefix) + pattern.template,
        strip_converters(pattern.template),
        where.names + own if own else None,
        getattr(route, "app" if kind is MatchedMount else "endpoint", None) or route.handle,
        route,
        protocol,
    )


def _explicit_head_wins(http_leaves: list[tuple[Leaf, str]]) -> None:
    """A route declaring HEAD takes it over from GET routes on the same path, whatever
    their order: GET serves HEAD only when nobody asked for HEAD explicitly."""
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


def _build_static_cache(target: Dispatcher, leaves: list[Leaf]) -> None:
    """Resolve each static path once per method it serves; requests then skip the trie."""
    table = target._http
    first_host = min((h.index for h in table.hosts), default=sys.maxsize)
    cache: dict[str, dict[str, ASGIApp]] = {}
    for leaf in leaves:
        assert leaf.pattern is not None  # static leaves are routes, which have one
        path = leaf.pattern.template
        if path in cache:
            continue
        out = table.candidates(path, None)
        methods = {m for c in out if c[0].handlers for m in c[0].handlers}
        entry: dict[str, ASGIApp] = {}
        for method in methods:
            picked = pick(out, method)
            if picked is None:
                continue
            (winner, params, _i), app = picked
            if winner.kind != "route" or winner.index > first_host:
                continue
            entry[method] = with_params(app, params, target._nested) if params else app
        cache[path] = entry
    target._static = cache


def _host_matcher(pattern: PathPattern) -> Callable[[Scope], dict[str, Any] | None]:
    regex = pattern.regex

    def match(scope: Scope) -> dict[str, Any] | None:
        # Host read by the kernel's one strict parser (the guards and request.url use it
        # too): "api.example.org:evil" or "api.example.org:" matches no Host route
        authority = None
        for k, v in scope.get("headers", ()):
            if k == b"host":
                authority = parse_authority(v)
                break
        if authority is None:
            return None
        m = regex.fullmatch(authority.host)
        if m is None:
            return None
        values = pattern.convert_groups(m)
        if values is None:
            return None
        return dict(zip(pattern.names, values, strict=True))

    return match
