"""The ASGI entry point: load plugins, validate settings, assemble once, then serve.

Assembly happens on the first ASGI call (usually ``lifespan.startup``) or on an explicit
:meth:`Lamina.assemble`. After it, no request touches pluggy: the onion, the protocol table
and the exception handlers are frozen into plain Python objects.
"""

from __future__ import annotations

import inspect
import logging
import os
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, TypeGuard

import pluggy

from . import _plugins as plugin_loading
from ._assembly import Assembly, Lifespan, RouteContribution, assemble
from ._contributions import APP, call_hook
from ._datastructures import State, URLPath
from ._errors import Handler, HTTPErrorLayer, OuterGuard
from ._exceptions import AssemblyError, LifespanNotRun, SettingsError
from ._middleware import FOREIGN_PHASE, Middleware, MiddlewareEntry, MiddlewareLayer, as_middleware
from ._plugins import PluginInfo
from ._scopekeys import CLEANUP_KEY, run_cleanups
from ._settings import (
    KERNEL_SECTION,
    KernelSettings,
    load_settings_file,
    unknown_section,
    validate_section,
)
from .types import ASGIApp, Receive, RouteLike, Scope, Send

__all__ = ["KernelSettings", "Lamina", "RouteContribution"]

logger = logging.getLogger("lamina")


class Lamina:
    """A Lamina application.

    ``plugins`` adds local plugins (modules, classes or instances with hook implementations)
    or names entry points to load even when autoload is off. ``disable`` / ``only`` /
    ``autoload`` select entry-point plugins (see :mod:`lamina._plugins` for the environment
    variables). ``settings`` maps a plugin name (``"lamina"`` for the kernel) to its section;
    it is merged over ``lamina.toml`` (or ``settings_file``; ``settings_file=False`` reads
    no file).
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
        settings_file: str | os.PathLike[str] | Literal[False] | None = None,
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
        self._lifespan_warned = False
        self.state = State()
        #: A place for plugins to keep per-app objects, keyed by plugin name.
        self.extensions: dict[str, Any] = {}
        self._assembly: Assembly | None = None
        self._table: Mapping[str, ASGIApp] = {}
        #: The table's HTTP entry, which ``__call__`` runs in its own frame (set at assembly).
        self._http_layer: HTTPErrorLayer | OuterGuard | None = None

        self.pm: pluggy.PluginManager = plugin_loading.make_plugin_manager()
        self.selection = plugin_loading.resolve_selection(autoload, only, disable)
        self.plugin_infos: list[PluginInfo] = plugin_loading.load_plugins(
            self.pm, self.selection, plugins
        )
        self.pm.hook.lamina_add_hookspecs.call_historic(kwargs={"pluginmanager": self.pm})
        plugin_loading.check_pending(self.pm, self.plugin_infos)
        plugin_loading.check_sync(self.pm, self.plugin_infos)

        sections = dict(load_settings_file(settings_file))
        for name, section in (settings or {}).items():
            sections[name] = _merge(sections.get(name), section)
        if debug is not None:
            sections[KERNEL_SECTION] = _merge(sections.get(KERNEL_SECTION), {"debug": debug})
        self._settings: dict[str, Any] = {}
        self._settings = self._validate_settings(sections)
        self.settings: KernelSettings = self._settings[KERNEL_SECTION]
        self.debug = self.settings.debug
        self.max_body_size = self.settings.max_body_size
        call_hook(self, "lamina_configure")

    def __repr__(self) -> str:
        enabled = [i.name for i in self.plugin_infos if i.enabled]
        state = "assembled" if self._assembly is not None else "not assembled"
        return f"<Lamina plugins={enabled} {state}>"

    # ------------------------------------------------------------------ plugins, settings
    def plugin_info(self, name: str) -> PluginInfo:
        """What the kernel knows about plugin ``name`` (a bare record for an unknown one)."""
        for info in self.plugin_infos:
            if info.name == name:
                return info
        return PluginInfo(name=name, source="app")

    def describe_plugin(self, name: str) -> str:
        """``plugin 'x' (lamina-x 1.0)`` for error messages; ``the app`` for ``"app"``."""
        return "the app" if name == APP else self.plugin_info(name).describe()

    def settings_for(self, name: str) -> Any:
        """The validated settings of plugin ``name`` (an instance of its schema), ``None``
        when it declares no schema, or the :class:`KernelSettings` for ``"lamina"``.

        The kernel also passes each plugin its own settings as the ``settings`` argument of
        every hook, so a plugin rarely needs this for itself."""
        if name in self._settings:
            return self._settings[name]
        if name == APP or any(i.name == name and i.enabled for i in self.plugin_infos):
            return None
        raise LookupError(f"no enabled plugin is named {name!r}, so it has no settings")

    def _validate_settings(self, sections: dict[str, Mapping[str, Any]]) -> dict[str, Any]:
        """Every section against its schema, every error reported at once."""
        errors: list[str] = []
        validated: dict[str, Any] = {
            KERNEL_SECTION: validate_section(
                KERNEL_SECTION, KernelSettings, sections.get(KERNEL_SECTION, {}), errors
            )
        }
        schemas = {c.plugin: c.value for c in call_hook(self, "lamina_settings_schema")}
        enabled = {i.name for i in self.plugin_infos if i.enabled}
        known = {i.name for i in self.plugin_infos}
        for name in sections:
            if name == KERNEL_SECTION or name in schemas:
                continue
            if name in enabled:
                errors.append(f"[{name}] {self.describe_plugin(name)} takes no settings")
            elif name not in known:
                errors.append(unknown_section(name, known))
        for name, schema in schemas.items():
            info = self.plugin_info(name)
            if schema is None:
                continue
            before = len(errors)
            origin = f"{info.distribution} {info.version}" if info.distribution else "local"
            validated[name] = validate_section(name, schema, sections.get(name, {}), errors, origin)
            info.settings_errors = errors[before:]
            info.settings = plugin_loading.settings_status(name in sections, errors[before:])
        if errors:
            raise SettingsError(errors)
        return validated

    # ------------------------------------------------------------------ app-level API
    def _check_open(self) -> None:
        if self._assembly is not None:
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
        router = self.assemble().router
        if _reverses(router):
            return router.url_path_for(name, **path_params)
        raise LookupError(f"cannot reverse {name!r}: no installed router supports url_path_for")

    @property
    def pm_order(self) -> list[str]:
        """Plugin names in plugin order: entry points sorted by name, then local plugins."""
        return [name for name, _plugin in self.pm.list_name_plugin()]

    def describe_middleware(self) -> list[dict[str, Any]]:
        """The onion, outermost first, as ``lamina middleware`` prints it."""
        return [
            {
                "name": layer.middleware.name,
                "phase": layer.middleware.phase,
                "priority": layer.middleware.priority,
                "plugin": layer.plugin,
            }
            for layer in self.assemble().middleware_layers
        ]

    @property
    def has_lifespan_work(self) -> bool:
        """Whether skipping the lifespan protocol would skip something (the test client warns)."""
        return bool(self.assembly.lifespans or self.lifespan_context is not None)

    # ------------------------------------------------------------------ assembly
    def assemble(self) -> Lamina:
        """Collect every contribution and freeze the ASGI callable, then let plugins read
        the result (``lamina_assembled``). Idempotent; a failure leaves it unassembled."""
        if self._assembly is None:
            self._assembly = assemble(self, self._lifespan)
            try:
                call_hook(self, "lamina_assembled")
            except BaseException:
                self._assembly = None
                raise
            layer = self._assembly.table.get("http")
            if isinstance(layer, (HTTPErrorLayer, OuterGuard)):
                self._http_layer = layer
            self._table = self._assembly.table
        return self

    @property
    def assembly(self) -> Assembly:
        """What the plugins contributed, frozen (assembles the app on first use)."""
        self.assemble()
        assert self._assembly is not None
        return self._assembly

    @property
    def router(self) -> ASGIApp | None:
        """The router a plugin built, or ``None`` (before assembly, or when there is none)."""
        return self._assembly.router if self._assembly is not None else None

    @property
    def route_contributions(self) -> tuple[RouteContribution, ...]:
        return self.assembly.routes

    @property
    def middleware_layers(self) -> tuple[MiddlewareLayer, ...]:
        return self.assembly.middleware

    @property
    def exception_handler_owners(self) -> Mapping[int | type[BaseException], str]:
        return self.assembly.exception_handler_owners

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # ``async def`` so servers (uvicorn, hypercorn) recognise an ASGI 3 app. The hot
        # path is one dict lookup; the table is empty until assembly.
        scope["app"] = self
        try:
            handler = self._table[scope["type"]]
        except (KeyError, TypeError):  # not assembled yet, or a type no one handles
            handler = self._unassembled_or_unsupported(scope)
        layer = self._http_layer
        if handler is not layer or layer is None:
            await handler(scope, receive, send)
            return
        # HTTP: the outermost error layer (the HTTPErrorLayer without middleware, the
        # OuterGuard with it) runs in this frame: one coroutine fewer per request (callgrind,
        # bench plaintext: -1.7k instructions)
        try:
            await layer.inner(scope, receive, send)
        except Exception as exc:
            await layer.failed(scope, receive, send, exc)
        finally:
            if CLEANUP_KEY in scope:  # forms/uploads the endpoint left open
                await run_cleanups(scope)

    def _unassembled_or_unsupported(self, scope: Scope) -> ASGIApp:
        if not isinstance(scope.get("type"), str):
            return _unsupported  # no (or a malformed) scope type: an unknown one
        if self._assembly is None:
            if scope["type"] == "lifespan":
                # assemble inside the protocol, so a failure is lifespan.startup.failed
                # with the message, not an exception the server may take for "unsupported"
                return self._lifespan
            self.assemble()
            if not self.lifespan_started and self.has_lifespan_work:
                # a request before any lifespan: the server does not run it (daphne), or a
                # parent app does not forward it (a Starlette/FastAPI Mount)
                self._warn_lifespan_skipped()
            handler = self._table.get(scope["type"])
            if handler is not None:
                return handler
        return _unsupported

    def _warn_lifespan_skipped(self) -> None:
        if not self._lifespan_warned:
            self._lifespan_warned = True
            logger.warning("%s", self._lifespan_skipped_message())

    def _lifespan_skipped_message(self) -> str:
        work = [f"{self.describe_plugin(p)} lifespan" for _f, p in self.assembly.lifespans]
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
        self._warn_lifespan_skipped()  # if the first request did not (the app was assembled)
        return LifespanNotRun(
            f"request.state has no attribute {name!r}: " + self._lifespan_skipped_message()
        )

    # ------------------------------------------------------------------ lifespan
    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI lifespan protocol.

        Startup, in order: plugin lifespan contexts (plugin order), then the app's own
        ``lifespan``. Shutdown is the exact reverse, and every step runs even when an earlier
        one failed; the failures are reported together.
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
        steps = [(f"{self.describe_plugin(p)} lifespan", f) for f, p in self.assembly.lifespans]
        if self.lifespan_context is not None:
            steps.append(("app lifespan", self.lifespan_context))
        for what, factory in steps:
            step[0] = f"{what} start"
            cm = factory(self)
            value = await cm.__aenter__()
            undo.append((what, _exit_of(cm)))
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


class _ReversingRouter(typing.Protocol):
    """A router that can reverse route names (``lamina_make_router`` says it should)."""

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath: ...


def _reverses(router: object) -> TypeGuard[_ReversingRouter]:
    return router is not None and hasattr(router, "url_path_for")


def _merge(base: Any, override: Any) -> Any:
    """The constructor's keys over the file's; a value that is not a table replaces the
    other whole, and settings validation then reports it."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        return {**base, **override}
    return override


def _exit_of(cm: AbstractAsyncContextManager[Any]) -> Callable[[], Any]:
    return lambda: cm.__aexit__(None, None, None)


async def _unsupported(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError(
        f"no protocol handler for ASGI scope type {scope.get('type')!r}; "
        "install a plugin that claims it"
    )
