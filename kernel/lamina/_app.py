"""The ASGI entry point: load plugins, validate settings, assemble once, then serve.

Assembly happens on the first ASGI call (usually ``lifespan.startup``) or on an explicit
:meth:`Lamina.assemble`. After it, no request touches pluggy: the onion, the protocol table
and the exception handlers are frozen into plain Python objects.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeGuard

import pluggy

from . import _plugins as plugin_loading
from ._datastructures import State, URLPath
from ._errors import ExceptionHandlers, Handler, HTTPErrorLayer, OuterGuard
from ._exceptions import (
    AssemblyError,
    ConflictError,
    HTTPException,
    LifespanNotRun,
    SettingsError,
)
from ._middleware import (
    FOREIGN_PHASE,
    Middleware,
    MiddlewareEntry,
    MiddlewareLayer,
    as_middleware,
    build_onion,
    ensure_asgi3,
    order_layers,
)
from ._plugins import PluginInfo
from ._settings import load_settings_file, validate_section
from .types import ASGIApp, Receive, RouteLike, Scope, Send

__all__ = ["KernelSettings", "Lamina", "RouteContribution"]

logger = logging.getLogger("lamina")
Lifespan = Callable[["Lamina"], AbstractAsyncContextManager[Any]]
KERNEL_SECTION = "lamina"


@dataclass(frozen=True)
class KernelSettings:
    """The ``[lamina]`` section: the kernel's own limits and switches."""

    debug: bool = False
    #: Largest request body accepted, in bytes (413 above it); ``None`` lifts the limit.
    max_body_size: int | None = 10 * 1024 * 1024
    #: Form limits (see :mod:`lamina._forms`).
    max_form_fields: int = 1000
    max_form_files: int = 100
    max_form_part_size: int = 1024 * 1024
    max_form_part_header_size: int = 8 * 1024
    #: Uploads larger than this are spooled from memory to a temporary file.
    upload_spool_size: int = 1024 * 1024

    def __post_init__(self) -> None:
        # a negative limit would refuse every request (or none): say so at startup
        for name in (
            "max_body_size",
            "max_form_fields",
            "max_form_files",
            "max_form_part_size",
            "max_form_part_header_size",
            "upload_spool_size",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be 0 or more, got {value}")


class RouteContribution(NamedTuple):
    """A route object and the plugin that registered it (``"app"`` for the app's own)."""

    route: RouteLike
    plugin: str


class _ReversingRouter(typing.Protocol):
    """A router that can reverse route names (``lamina_make_router`` says it should)."""

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath: ...


def _reverses(router: object) -> TypeGuard[_ReversingRouter]:
    return router is not None and hasattr(router, "url_path_for")


class Protocol(NamedTuple):
    scope_type: str
    factory: Callable[[ASGIApp], ASGIApp]
    plugin: str


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000})
        return
    raise HTTPException(404)


class Lamina:
    """A Lamina application.

    ``plugins`` adds local plugins (modules, classes or instances with hook implementations)
    or names entry points to load even when autoload is off. ``disable`` / ``only`` /
    ``autoload`` select entry-point plugins (see :mod:`lamina._plugins` for the environment
    variables). ``settings`` maps a plugin name (``"lamina"`` for the kernel) to its section;
    it is merged over ``lamina.toml``.
    """

    def __init__(
        self,
        routes: Iterable[RouteLike] | None = None,
        *,
        plugins: Sequence[Any] = (),
        middleware: Sequence[MiddlewareEntry] = (),
        exception_handlers: Mapping[int | type[BaseException], Handler] | None = None,
        lifespan: Lifespan | None = None,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        settings_file: str | None = None,
        debug: bool | None = None,
        autoload: bool | None = None,
        disable: Iterable[str] | None = None,
        only: Iterable[str] | None = None,
    ) -> None:
        self.routes: list[RouteLike] = list(routes or ())
        # Starlette-style entries become Middleware here, so a wrong one fails at once
        self.user_middleware: list[Middleware] = [as_middleware(m) for m in middleware]
        self.exception_handlers: dict[int | type[BaseException], Handler] = dict(
            exception_handlers or {}
        )
        self.lifespan_context = lifespan
        #: Whether the lifespan startup completed (requests then carry its state).
        self.lifespan_started = False
        self.state = State()
        #: A place for plugins to keep per-app objects, keyed by plugin name.
        self.extensions: dict[str, Any] = {}
        #: The router a plugin built at assembly (``lamina_make_router``), if any.
        self.router: ASGIApp | None = None
        #: The frozen scope-type lookup; ``None`` until assembled.
        self._asgi: Callable[[str], ASGIApp] | None = None
        self._table: dict[str, ASGIApp] = {}

        self.pm: pluggy.PluginManager = plugin_loading.make_plugin_manager()
        self.selection = plugin_loading.resolve_selection(autoload, only, disable)
        self.plugin_infos: list[PluginInfo] = plugin_loading.load_plugins(
            self.pm, self.selection, plugins
        )
        self.pm.hook.lamina_add_hookspecs.call_historic(kwargs={"pluginmanager": self.pm})
        plugin_loading.check_pending(self.pm, self.plugin_infos)
        plugin_loading.check_async(self.pm, self.plugin_infos)

        sections = dict(load_settings_file(settings_file))
        for name, section in (settings or {}).items():
            sections[name] = _merge(sections.get(name), section)
        if debug is not None:
            sections[KERNEL_SECTION] = _merge(sections.get(KERNEL_SECTION), {"debug": debug})
        self.settings: KernelSettings = self._configure(sections)
        self.debug = self.settings.debug
        self.max_body_size = self.settings.max_body_size

    def __repr__(self) -> str:
        enabled = [i.name for i in self.plugin_infos if i.enabled]
        state = "assembled" if self._asgi is not None else "not assembled"
        return f"<Lamina plugins={enabled} {state}>"

    # ------------------------------------------------------------------ settings
    def _info(self, name: str) -> PluginInfo:
        for info in self.plugin_infos:
            if info.name == name:
                return info
        return PluginInfo(name=name, source="app")

    def _configure(self, sections: dict[str, Mapping[str, Any]]) -> KernelSettings:
        errors: list[str] = []
        kernel: KernelSettings = validate_section(
            KERNEL_SECTION, KernelSettings, sections.get(KERNEL_SECTION, {}), errors
        )
        schemas = dict(
            plugin_loading.call_attributed(self.pm, "lamina_settings_schema", lambda _n: {})
        )
        enabled = {i.name for i in self.plugin_infos if i.enabled}
        known = {i.name for i in self.plugin_infos}
        for name in sections:
            if name == KERNEL_SECTION or name in schemas:
                continue
            if name in enabled:
                errors.append(f"[{name}] {self._describe(name)} takes no settings")
            elif name not in known:
                errors.append(
                    f"[{name}] unknown settings section: no plugin named {name!r} "
                    f"is installed (installed: {', '.join(sorted(known)) or 'none'})"
                )
        validated: dict[str, Any] = {}
        for name, schema in schemas.items():
            info = self._info(name)
            if schema is None:
                continue
            before = len(errors)
            origin = f"{info.distribution} {info.version}" if info.distribution else "local"
            validated[name] = validate_section(name, schema, sections.get(name, {}), errors, origin)
            info.settings_errors = errors[before:]
            info.settings = plugin_loading.settings_status(name in sections, errors[before:])
        if errors:
            raise SettingsError(errors)
        plugin_loading.call_attributed(
            self.pm,
            "lamina_configure",
            lambda n: {"app": self, "settings": validated.get(n)},
        )
        return kernel

    # ------------------------------------------------------------------ app-level API
    def _check_open(self) -> None:
        if self._asgi is not None:
            raise AssemblyError("the app is already assembled; add contributions before it starts")

    def add_middleware(self, factory: MiddlewareEntry, **options: Any) -> None:
        """Add a layer: a :class:`Middleware` or any ``middleware=[...]`` entry, or
        ``factory`` with its ``options`` (``phase``, ``priority`` and ``name`` among them;
        the phase defaults to ``outermost``, as for every Starlette-style entry)."""
        self._check_open()
        if isinstance(factory, Middleware) or not options:
            if options:
                raise TypeError("add_middleware(Middleware(...)) takes no options")
            self.user_middleware.append(as_middleware(factory))
            return
        options.setdefault("phase", FOREIGN_PHASE)  # as Starlette's add_middleware: outside
        self.user_middleware.append(Middleware(factory, **options))

    def add_exception_handler(self, key: int | type[BaseException], handler: Handler) -> None:
        self._check_open()
        self.exception_handlers[key] = handler

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Reverse a route name through whatever router the plugins installed."""
        if self._asgi is None:
            self.assemble()
        router = self.router
        if _reverses(router):
            return router.url_path_for(name, **path_params)
        raise LookupError(f"cannot reverse {name!r}: no installed router supports url_path_for")

    @property
    def pm_order(self) -> list[str]:
        """Plugin names in plugin order: entry points sorted by name, then local plugins."""
        return [name for name, _plugin in self.pm.list_name_plugin()]

    def describe_middleware(self) -> list[dict[str, Any]]:
        """The onion, outermost first, as ``lamina middleware`` prints it."""
        self.assemble()
        return [
            {
                "name": layer.middleware.name,
                "phase": layer.middleware.phase,
                "priority": layer.middleware.priority,
                "plugin": layer.plugin,
            }
            for layer in self.middleware_layers
        ]

    @property
    def has_lifespan_work(self) -> bool:
        """Whether skipping the lifespan protocol would skip something (the test client warns)."""
        self.assemble()
        return bool(
            self._lifespans
            or self.lifespan_context is not None
            or self.pm.hook.lamina_startup.get_hookimpls()
            or self.pm.hook.lamina_shutdown.get_hookimpls()
        )

    # ------------------------------------------------------------------ assembly
    def _collect(
        self, hook: str, usage: str, arity: int = 1, **extra: Any
    ) -> list[tuple[str, Any]]:
        """Call a ``register`` hook and return ``(plugin, registered)`` in plugin order.

        ``register`` takes ``arity`` arguments, as ``usage`` shows; a wrong call fails in the
        plugin's hook, with the plugin named."""
        out: list[tuple[str, Any]] = []

        def kwargs_for(plugin: str) -> dict[str, Any]:
            def register(*item: Any) -> None:
                if len(item) != arity:
                    raise AssemblyError(
                        f"{self._describe(plugin)} called register() in {hook} with "
                        f"{len(item)} argument(s); call {usage}"
                    )
                out.append((plugin, item[0] if arity == 1 else item))

            return {"app": self, "register": register, **extra}

        plugin_loading.call_attributed(self.pm, hook, kwargs_for)
        return out

    def _check_route_names(self, contributions: list[RouteContribution]) -> None:
        """Two contributors naming a route alike would make ``url_for`` ambiguous."""
        owners: dict[str, str] = {}
        for contribution in contributions:
            name = getattr(contribution.route, "name", None)
            if not isinstance(name, str) or not name:
                continue
            owner = owners.setdefault(name, contribution.plugin)
            if owner != contribution.plugin:
                raise ConflictError(
                    f"route name {name!r}: {self._describe(contribution.plugin)} and "
                    f"{self._describe(owner)} both register a route with it; rename one, "
                    "or disable one of the plugins"
                )

    def _make_router(self, contributions: list[RouteContribution]) -> ASGIApp | None:
        """One router: a ``tryfirst`` implementation that answers wins outright; otherwise
        two plugins both building a router is a conflict naming both."""
        hook = self.pm.hook.lamina_make_router
        built: list[tuple[str, ASGIApp]] = []
        for impl in _plain_impls(hook):
            try:
                router: ASGIApp | None = impl.function(
                    **_pick(impl, {"app": self, "routes": contributions})
                )
            except Exception as exc:
                plugin_loading.attribute_error(exc, impl.plugin_name, "lamina_make_router")
                raise
            if router is None:
                continue
            if impl.tryfirst:
                return router
            built.append((impl.plugin_name, router))
        if len(built) > 1:
            names = " and ".join(self._describe(plugin) for plugin, _ in built)
            raise ConflictError(
                f"{names} each build a router; disable all but one, or mark the one that "
                "should win with @hookimpl(tryfirst=True)"
            )
        return built[0][1] if built else None

    def _check_handler(self, plugin: str, key: Any, handler: Any) -> None:
        is_status = isinstance(key, int) and not isinstance(key, bool) and 100 <= key <= 599
        is_class = isinstance(key, type) and issubclass(key, BaseException)
        if not (is_status or is_class) or not callable(handler):
            raise AssemblyError(
                f"{self._describe(plugin)} registered an exception handler for {key!r}: the "
                "key must be an HTTP status code (100-599) or an exception class, and the "
                "handler a callable (request, exc) -> response"
            )

    def _describe(self, plugin: str) -> str:
        return "the app" if plugin == "app" else self._info(plugin).describe()

    def assemble(self) -> Lamina:
        """Collect every contribution and freeze the ASGI callable. Idempotent."""
        if self._asgi is not None:
            return self
        # every plugin is configured: let each resolve what it gathers from the others
        # before anything is collected from it
        plugin_loading.call_attributed(self.pm, "lamina_assemble", lambda _n: {"app": self})
        contributions = [RouteContribution(r, "app") for r in self.routes]
        contributions += [
            RouteContribution(r, p)
            for p, r in self._collect("lamina_register_routes", "register(route)")
        ]
        self._check_route_names(contributions)
        self.route_contributions = contributions
        self.router = self._make_router(contributions)
        endpoint: ASGIApp = self.router if self.router is not None else _not_found

        layers = [MiddlewareLayer(m, "app", i) for i, m in enumerate(self.user_middleware)]
        for plugin, mw in self._collect(
            "lamina_register_middleware", "register(Middleware(factory, ...))"
        ):
            if not isinstance(mw, Middleware):
                raise AssemblyError(
                    f"{self._describe(plugin)} registered {mw!r} as "
                    "middleware; wrap it in lamina.Middleware(factory, ...)"
                )
            layers.append(MiddlewareLayer(mw, plugin))
        self.middleware_layers = order_layers(layers)

        handlers: dict[int | type[BaseException], Handler] = {}
        owners: dict[int | type[BaseException], str] = {}
        for plugin, (key, handler) in self._collect(
            "lamina_register_exception_handlers", "register(key, handler)", 2
        ):
            self._check_handler(plugin, key, handler)
            if key in owners:
                raise ConflictError(
                    f"exception handler for {key!r}: {self._describe(plugin)} and "
                    f"{self._describe(owners[key])} both register one; disable one "
                    "or register it from the app instead"
                )
            handlers[key], owners[key] = handler, plugin
        for key, handler in self.exception_handlers.items():
            self._check_handler("app", key, handler)
        handlers.update(self.exception_handlers)
        self.exception_handler_owners = {**owners, **dict.fromkeys(self.exception_handlers, "app")}

        protocols: dict[str, Protocol] = {}
        for plugin, (scope_type, factory) in self._collect(
            "lamina_register_protocols", "register(scope_type, factory)", 2
        ):
            if not isinstance(scope_type, str) or not callable(factory):
                raise AssemblyError(
                    f"{self._describe(plugin)} registered the protocol {scope_type!r} with "
                    f"{factory!r}; call register(scope_type: str, factory) where "
                    "factory(endpoint) returns an ASGI app"
                )
            if scope_type in ("lifespan", "http"):
                raise ConflictError(
                    f"{self._describe(plugin)} claims the {scope_type!r} scope type, "
                    "which the kernel owns; contribute middleware or a router instead"
                )
            if scope_type in protocols:
                other = protocols[scope_type].plugin
                raise ConflictError(
                    f"{self._describe(plugin)} and {self._describe(other)} both "
                    f"claim the {scope_type!r} protocol; disable one of them"
                )
            protocols[scope_type] = Protocol(scope_type, factory, plugin)
        self.protocols = protocols

        self._lifespans = [
            (p, f)
            for p, f in plugin_loading.call_attributed(
                self.pm, "lamina_lifespan", lambda _n: {"app": self}
            )
            if f is not None
        ]
        for plugin, factory in self._lifespans:
            # a context manager object is callable too (as a decorator): refuse it by name
            if not callable(factory) or hasattr(factory, "__aenter__"):
                raise AssemblyError(
                    f"{self._describe(plugin)} returned {factory!r} from lamina_lifespan; "
                    "return a callable (app) -> async context manager, not the context "
                    "manager itself"
                )

        inner: dict[str, ASGIApp] = {
            "http": HTTPErrorLayer(endpoint, ExceptionHandlers(handlers), self.debug)
        }
        for scope_type, proto in protocols.items():
            try:
                handler = proto.factory(ensure_asgi3(endpoint))
            except Exception as exc:
                plugin_loading.attribute_error(exc, proto.plugin, "its protocol factory")
                raise
            if not callable(handler):
                raise AssemblyError(
                    f"the protocol factory of {self._describe(proto.plugin)} for "
                    f"{scope_type!r} returned {handler!r}; it must return an ASGI app"
                )
            inner[scope_type] = handler
        inner.setdefault("websocket", _reject_websocket)
        if self.middleware_layers:

            def dispatch(scope: Scope, receive: Receive, send: Send) -> Any:
                return inner[scope["type"]](scope, receive, send)

            outer: ASGIApp = OuterGuard(build_onion(self.middleware_layers, dispatch))
            table = dict.fromkeys(inner, outer)
        else:
            table = dict(inner)
        table["lifespan"] = self._lifespan
        self._table = table
        self._asgi = table.__getitem__
        return self

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # ``async def`` so servers (uvicorn, hypercorn) recognise an ASGI 3 app. The hot
        # path is one dict lookup; the table is empty until assembly.
        scope["app"] = self
        try:
            handler = self._table[scope["type"]]
        except (KeyError, TypeError):  # not assembled yet, or a type no one handles
            handler = self._unassembled_or_unsupported(scope)
        await handler(scope, receive, send)

    def _unassembled_or_unsupported(self, scope: Scope) -> ASGIApp:
        if not isinstance(scope.get("type"), str):
            return _unsupported  # no (or a malformed) scope type: an unknown one
        if self._asgi is None:
            if scope["type"] == "lifespan":
                # assemble inside the protocol, so a failure is lifespan.startup.failed
                # with the message, not an exception the server may take for "unsupported"
                return self._lifespan
            self.assemble()
            if not self.lifespan_started and self.has_lifespan_work:
                # a request before any lifespan: the server does not run it (daphne), or a
                # parent app does not forward it (a Starlette/FastAPI Mount)
                logger.warning("%s", self._lifespan_skipped_message())
            handler = self._table.get(scope["type"])
            if handler is not None:
                return handler
        return _unsupported

    def _lifespan_skipped_message(self) -> str:
        work = [f"{self._describe(p)} lifespan" for p, _f in self._lifespans]
        work += [
            f"{self._describe(i.plugin_name)} {hook}"
            for hook in ("lamina_startup", "lamina_shutdown")
            for i in _plain_impls(getattr(self.pm.hook, hook))
        ]
        if self.lifespan_context is not None:
            work.append("the app's lifespan")
        return (
            "the ASGI lifespan protocol did not run, so this app's startup work never ran "
            f"({', '.join(work)}) and request.state lacks what it provides. Serve the app "
            "with a server that runs lifespan (uvicorn, hypercorn, granian), run it from the "
            "parent app's lifespan (asgi_lifespan.LifespanManager), or use the test client "
            "inside 'with'"
        )

    def lifespan_not_run(self, name: str) -> LifespanNotRun | None:
        """The error for a missing ``request.state.<name>`` when startup never ran, else
        ``None`` (the attribute is simply missing). Only called on a miss."""
        if self.lifespan_started or not self.has_lifespan_work:
            return None
        return LifespanNotRun(
            f"request.state has no attribute {name!r}: " + self._lifespan_skipped_message()
        )

    # ------------------------------------------------------------------ lifespan
    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI lifespan protocol.

        Startup, in order: plugin lifespan contexts (plugin order), ``lamina_startup`` hooks
        (plugin order), the app's own ``lifespan``. Shutdown is the exact reverse, and every
        step runs even when an earlier one failed; the failures are reported together.
        """
        state = scope.get("state")
        if not isinstance(state, dict):
            state = {}
        state.update(self.state._state)
        self.state = State(state)
        message = await receive()
        if not isinstance(message, dict) or message.get("type") != "lifespan.startup":
            # a server out of step with the protocol: nothing started, so nothing to undo
            logger.error("lifespan: expected lifespan.startup, got %r; not starting", message)
            return
        undo: list[tuple[str, Callable[[], Any]]] = []
        step = ["assembly"]  # the step under way, named in the failure
        try:
            if self._asgi is None:
                self.assemble()
            await self._startup(undo, state, step)
        except BaseException as exc:
            # assembly errors already name the plugin and the fix
            failure = str(exc) if step[0] == "assembly" else f"{step[0]} failed: "
            if step[0] != "assembly":
                failure += f"{type(exc).__name__}: {exc}"
            logger.error("startup failed: %s", failure, exc_info=exc)
            await self._unwind(undo)
            await send({"type": "lifespan.startup.failed", "message": failure})
            # the real error goes to the server too (asgi-lifespan's LifespanManager raises
            # it; uvicorn and hypercorn, told the startup failed, do not log it twice)
            exc.add_note(f"Lamina: {step[0]} failed during lifespan startup")
            raise
        self.lifespan_started = True
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        errors = await self._unwind(undo)
        if errors:
            await send({"type": "lifespan.shutdown.failed", "message": "; ".join(errors)})
        else:
            await send({"type": "lifespan.shutdown.complete"})

    async def _startup(
        self, undo: list[tuple[str, Callable[[], Any]]], state: dict[str, Any], step: list[str]
    ) -> None:
        """Run every startup step, pushing its undo step as soon as it succeeded; ``step``
        names the one under way, for the failure message."""
        for plugin, factory in self._lifespans:
            what = f"{self._describe(plugin)} lifespan"
            step[0] = f"{what} start"
            cm = factory(self)
            value = await cm.__aenter__()
            undo.append((what, _exit_of(cm)))
            if isinstance(value, Mapping):
                state.update(value)
        # Walk plugins in plugin order: run a plugin's startup hook, then promise its
        # shutdown hook, so shutdown is the exact reverse and covers whoever started.
        startups = {i.plugin_name: i for i in _plain_impls(self.pm.hook.lamina_startup)}
        shutdowns = {i.plugin_name: i for i in _plain_impls(self.pm.hook.lamina_shutdown)}
        for name in self.pm_order:
            if name in startups:
                impl = startups[name]
                step[0] = f"{self._describe(name)} startup"
                result = impl.function(**_pick(impl, {"app": self, "state": state}))
                if inspect.isawaitable(result):
                    await result
            if name in shutdowns:
                undo.append(
                    (
                        f"{self._describe(name)} shutdown",
                        _shutdown_call(shutdowns[name], self, state),
                    )
                )
        if self.lifespan_context is not None:
            step[0] = "app lifespan start"
            cm = self.lifespan_context(self)
            value = await cm.__aenter__()
            undo.append(("app lifespan", _exit_of(cm)))
            if isinstance(value, Mapping):
                state.update(value)

    async def _unwind(self, undo: list[tuple[str, Callable[[], Any]]]) -> list[str]:
        """Run the undo steps in reverse; one failing is logged and the others still run."""
        errors: list[str] = []
        while undo:
            what, step = undo.pop()
            try:
                result = step()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                logger.error("%s failed during shutdown: %s", what, exc, exc_info=exc)
                errors.append(f"{what}: {type(exc).__name__}: {exc}")
        return errors


def _merge(base: Any, override: Any) -> Any:
    """The constructor's keys over the file's; a value that is not a table replaces the
    other whole, and settings validation then reports it."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        return {**base, **override}
    return override


def _plain_impls(hook: Any) -> list[Any]:
    """A hook's implementations in call order (pluggy lists them last-called-first)."""
    impls = [i for i in hook.get_hookimpls() if not (i.hookwrapper or i.wrapper)]
    impls.sort(key=lambda i: 0 if i.tryfirst else 2 if i.trylast else 1)
    return impls


def _pick(impl: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs[name] for name in impl.argnames}


def _exit_of(cm: AbstractAsyncContextManager[Any]) -> Callable[[], Any]:
    return lambda: cm.__aexit__(None, None, None)


def _shutdown_call(impl: Any, app: Lamina, state: dict[str, Any]) -> Callable[[], Any]:
    return lambda: impl.function(**_pick(impl, {"app": app, "state": state}))


async def _reject_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """No plugin handles WebSockets: refuse the handshake (the server answers 403)."""
    await send({"type": "websocket.close", "code": 1000})


async def _unsupported(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError(
        f"no protocol handler for ASGI scope type {scope.get('type')!r}; "
        "install a plugin that claims it"
    )
