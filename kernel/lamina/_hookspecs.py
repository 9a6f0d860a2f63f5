"""The hook specifications: Lamina's public contract with plugin authors.

Every hook here is called while the app is *constructed* or *assembled* (or by the CLI) and
never while a request is served. Hooks named ``lamina_register_*`` receive a ``register``
callback: the kernel binds it to the calling plugin, so it knows who contributed what,
rejects duplicates naming both contributors, and can list everything in ``lamina plugins``
/ ``lamina middleware`` / ``lamina routes``. Every hook that receives ``app`` may also take
``settings``: the kernel binds it to the calling plugin's own validated settings (an
instance of the dataclass from :func:`lamina_settings_schema`, or ``None``).

The order, once per app: ``lamina_add_hookspecs``, ``lamina_settings_schema``,
``lamina_configure`` (construction); then at assembly ``lamina_register_dependencies``,
``lamina_assemble`` (where plugin-defined hooks run), ``lamina_register_routes``,
``lamina_make_router``, ``lamina_register_middleware``,
``lamina_register_exception_handlers``, ``lamina_register_protocols``, ``lamina_lifespan``;
and once all of it is frozen, ``lamina_assembled``.

A hook implementation is a plain function (or method) in the plugin module, marked with
:data:`lamina.hookimpl`, taking any subset of the arguments the spec names::

    from lamina import hookimpl

    @hookimpl
    def lamina_register_routes(register):
        register(Route("/health", health))

No hook may be ``async def``: async startup and shutdown work goes in the context manager
that :func:`lamina_lifespan` returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ._app import Lamina
    from ._assembly import RouteContribution
    from ._command import Command
    from ._middleware import Middleware
    from .types import ASGIApp, RouteLike

PROJECT = "lamina"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["hookimpl", "hookspec"]


# --------------------------------------------------------------------------- plugin system
@hookspec(historic=True)
def lamina_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """Add a plugin's own hook specifications so that other plugins can implement them.

    When: at assembly, right after the plugins are loaded and before ``check_pending()``,
    so hooks that only your plugin defines are not reported as unknown.

    Returns: nothing; call ``pluginmanager.add_hookspecs(module_or_class)``.

    Example::

        @hookimpl
        def lamina_add_hookspecs(pluginmanager):
            from . import _hookspecs as hookspecs
            pluginmanager.add_hookspecs(hookspecs)
    """


@hookspec
def lamina_settings_schema() -> type | None:
    """Declare the typed settings this plugin accepts, as a dataclass type.

    When: at assembly, before any plugin is configured. The kernel validates the plugin's
    section (named after the plugin, from the constructor and ``lamina.toml``) against the
    dataclass fields, collecting every error of every plugin before it stops.

    Returns: a dataclass type; fields without a default are required. A field value written
    as ``{"env": "NAME"}`` is read from the environment variable ``NAME``.

    Example::

        @dataclass(frozen=True)
        class Settings:
            secret_key: lamina.Secret
            max_age: int = 14 * 24 * 3600

        @hookimpl
        def lamina_settings_schema():
            return Settings
    """


@hookspec
def lamina_configure(app: Lamina, settings: Any) -> None:
    """Build the per-app objects that app code may reach before the app is assembled.

    When: once, when the app is constructed, after every settings section validated.
    Settings need no storing: the kernel keeps them (``app.settings_for(name)``) and binds
    each plugin's own as the ``settings`` argument of every later hook. Implement this hook
    only for an object an app author may use right after ``Lamina(...)`` (lamina-templates
    builds the app's ``Templates`` here), or to refuse an insecure combination early.

    Returns: nothing. Raise :class:`lamina.AssemblyError` to refuse the configuration.

    Example::

        @hookimpl
        def lamina_configure(app, settings):
            app.extensions["templates"] = Templates(settings.directories, app=app)
    """


@hookspec
def lamina_register_dependencies(
    app: Lamina, settings: Any, register: Callable[[str, str], None]
) -> None:
    """Declare the plugins this plugin needs in this app.

    When: first thing at assembly, before any contribution is collected; the plugin's
    ``settings`` are bound, so a dependency may depend on them (lamina-auth needs
    lamina-sessions only when its ``"session"`` backend is selected).

    Returns: nothing; call ``register(plugin_name, why)``. If the named plugin is not
    installed or not enabled, assembly fails with one error naming this plugin, the
    missing one, ``why``, and how to fix it. (Routes contributed while no plugin builds a
    router are an assembly error anyway: no need to declare a router.)

    Example::

        @hookimpl
        def lamina_register_dependencies(register):
            register("sessions", "the login view keeps the user in request.session")
    """


@hookspec
def lamina_assemble(app: Lamina, settings: Any) -> None:
    """Resolve, once, what this plugin gathers from other plugins.

    When: at assembly, once per app, after ``lamina_register_dependencies`` and before the
    kernel collects any contribution (routes, the router, middleware, exception handlers,
    protocols, lifespans); plugins in plugin order. This is the one point where
    plugin-defined hooks run: collect them here with
    :func:`lamina.plugin.collect_contributions` (or :func:`lamina.plugin.call_hook`) and
    keep the frozen result (in ``app.extensions[name]``) for your ``register_*`` hooks, which
    must not call other plugins' hooks. Every plugin that may answer is loaded and
    configured, and nothing has been served yet. If assembly fails and is attempted again,
    the hook runs again, so keep it idempotent.

    Returns: nothing. Raise :class:`lamina.AssemblyError` (or :class:`lamina.ConflictError`)
    to stop startup; the kernel notes which plugin raised it.

    Example::

        from lamina.plugin import collect_contributions

        @hookimpl
        def lamina_assemble(app):
            app.extensions["widgets"] = collect_contributions(
                app, "lamina_register_widgets", what="widget", arity=2)
    """


# --------------------------------------------------------------------------- routing
@hookspec
def lamina_register_routes(
    app: Lamina, settings: Any, register: Callable[[RouteLike], None]
) -> None:
    """Contribute routes to the app.

    When: at assembly, after ``lamina_assemble``. Routes need a router: if no plugin builds
    one (``lamina_make_router``), assembly fails naming every contributor.

    Returns: nothing; call ``register(route)`` once per route object: a
    :class:`lamina.RouteLike` the installed router understands (``lamina_routing.Route``,
    ``Mount``, ``lamina_websocket.WebSocketRoute``...). The kernel records which plugin
    registered each.

    Example::

        @hookimpl
        def lamina_register_routes(register):
            register(Route("/admin/metrics", metrics, name="metrics"))
    """


@hookspec(firstresult=True)
def lamina_make_router(
    app: Lamina, settings: Any, routes: Sequence[RouteContribution]
) -> ASGIApp | None:
    """Build the router: the innermost ASGI app that dispatches requests to endpoints.

    When: at assembly, after every route was collected. Return ``None`` to decline. Two
    plugins both returning a router is an error naming both, unless one implementation is
    marked ``@hookimpl(tryfirst=True)``: the first such answer wins outright.

    Returns: an ASGI callable, preferably with ``url_path_for(name, **params)`` for reverse
    routing. ``routes`` is a sequence of :class:`lamina.RouteContribution` ``(route, plugin)``
    in registration order: the app's own routes first, then each plugin's.

    Example::

        @hookimpl
        def lamina_make_router(app, routes):
            return Router([c.route for c in routes])
    """


# --------------------------------------------------------------------------- middleware
@hookspec
def lamina_register_middleware(
    app: Lamina, settings: Any, register: Callable[[Middleware], None]
) -> None:
    """Contribute layers to the middleware onion.

    When: at assembly. The kernel orders every layer by its declared ``phase`` (outermost,
    transport, session, auth, innermost), then ``priority`` (lower is further out), then the
    plugin name, never by registration order. ``lamina middleware MODULE:APP`` prints it.

    Returns: nothing; call ``register(Middleware(factory, phase=..., priority=..., **options))``
    where ``factory(app, **options)`` returns an ASGI app.

    Example::

        @hookimpl
        def lamina_register_middleware(register):
            register(Middleware(TimingMiddleware, phase="outermost"))
    """


# --------------------------------------------------------------------------- protocols
@hookspec
def lamina_register_protocols(
    app: Lamina, settings: Any, register: Callable[[str, Callable[[ASGIApp], ASGIApp]], None]
) -> None:
    """Claim an ASGI scope type (``"websocket"``, or an extension type) and handle it.

    When: at assembly. Two plugins claiming one scope type is an error naming both.
    ``"http"`` and ``"lifespan"`` belong to the kernel. The handler runs inside the
    middleware onion and owns its protocol: the kernel only dispatches scopes of that type
    to it, so turning what an endpoint raises into a close or a denial response is the
    handler's job (lamina-websocket's ``WebSocketHandler`` does it for ``"websocket"``). A
    ``"websocket"`` scope that no plugin claims is refused (the server answers 403).

    Returns: nothing; call ``register(scope_type, factory)`` where ``factory(endpoint)``
    receives the router (or the kernel's not-found app when no router is installed) and returns
    the ASGI app that handles scopes of that type, inside the middleware onion.

    Example::

        @hookimpl
        def lamina_register_protocols(register):
            register("websocket", lambda endpoint: WebSocketHandler(endpoint))
    """


# --------------------------------------------------------------------------- errors
@hookspec
def lamina_register_exception_handlers(
    app: Lamina,
    settings: Any,
    register: Callable[[int | type[BaseException], Callable[..., Any]], None],
) -> None:
    """Contribute exception handlers, by status code or exception class.

    When: at assembly. The app's own handlers (constructor ``exception_handlers=``) take
    precedence; two plugins handling the same key is an error naming both.

    Returns: nothing; call ``register(key, handler)`` where ``handler(request, exc)`` (sync or
    async) returns a response. A status-code key handles :class:`lamina.HTTPException` with
    that code; a class key handles that class and its subclasses (the most specific wins);
    a handler for ``500`` receives any exception that no other handler claimed. Error
    responses pass back out through every middleware.

    Example::

        @hookimpl
        def lamina_register_exception_handlers(register):
            register(404, lambda request, exc: JSONResponse({"error": "not found"}, 404))
    """


# --------------------------------------------------------------------------- lifecycle
@hookspec
def lamina_lifespan(
    app: Lamina, settings: Any
) -> Callable[[Lamina], AbstractAsyncContextManager[Any]] | None:
    """Contribute a lifespan context: entered at startup, exited at shutdown.

    When: at assembly (collected), entered at ASGI ``lifespan.startup`` in plugin order,
    exited in reverse at shutdown. Exiting one context failing does not stop the others.

    Returns: a callable ``(app) -> async context manager``; what the context yields, if a
    mapping, is merged into the lifespan state that every request sees as ``request.state``.

    Example::

        @hookimpl
        def lamina_lifespan():
            @asynccontextmanager
            async def pool(app):
                async with create_pool() as p:
                    yield {"db": p}
            return pool
    """


# --------------------------------------------------------------------------- the assembled app
@hookspec
def lamina_assembled(app: Lamina, settings: Any) -> None:
    """Read what the app was assembled into, once, before anything is served.

    When: at the end of assembly, after every contribution was collected and frozen:
    ``app.router`` (the router ``lamina_make_router`` built, or ``None``),
    ``app.route_contributions``, ``app.middleware_layers`` and ``app.assembly`` all answer.
    Plugins in plugin order. It is the place for what describes the finished app (an
    OpenAPI document from the compiled routes, a route map) to be built and frozen, so a
    mistake fails startup rather than the first request. Nothing can be contributed any
    more; if this hook raises, the app stays unassembled and the next attempt runs every
    assembly hook again.

    Returns: nothing. Raise :class:`lamina.AssemblyError` to stop startup.

    Example::

        from lamina_routing import describe_routes

        @hookimpl
        def lamina_assembled(app):
            app.extensions["sitemap"] = [
                r.path for r in describe_routes(app.router)
                if r.kind == "http" and "GET" in (r.methods or ())
            ]
    """


# --------------------------------------------------------------------------- CLI
@hookspec
def lamina_register_commands(settings: Any, register: Callable[[Command], None]) -> None:
    """Add subcommands to the ``lamina`` command line.

    When: when the ``lamina`` CLI starts (not while an app runs). A name already taken is an
    error naming both plugins. ``settings`` is this plugin's settings object validated from
    the settings file (``./lamina.toml`` or ``$LAMINA_SETTINGS_FILE``), as an app would get
    it; if that section is invalid, only this plugin's commands are unavailable and the CLI
    says why.

    Returns: nothing; call ``register(Command(name, help, run, add_arguments))`` (from
    :mod:`lamina.plugin`) where ``add_arguments(parser)`` declares options on an ``argparse``
    sub-parser and ``run(args)`` returns an exit status. The CLI loads entry-point plugins
    with the same selection environment variables as an app; a disabled plugin's commands
    answer with how to enable it.

    Example::

        from lamina.plugin import Command

        @hookimpl
        def lamina_register_commands(settings, register):
            def show(args):
                print(settings.header)
            register(Command("requestid-show", "Show the header.", run=show))
    """
