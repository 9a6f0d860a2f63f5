"""Middleware declarations, the entries users may write, and the kernel's rule for the onion.

Three promises live here:

* Order is decided by what each layer declares (phase, priority, contributor), never by
  load order; the app's own layers keep the order they were listed in.
* What Lamina hands to a foreign middleware is a real ASGI 3 app (``async def``), because
  asgiref's ``guarantee_single_callable`` (used by OpenTelemetry, Sentry and many more)
  takes any other callable for an ASGI 2 app. Only a factory that declares
  ``lamina_accepts_plain_app = True`` gets the kernel's plain fast-path callables.
* Starlette-style entries (``(cls, options)``, objects with ``.cls``/``.kwargs``, bare
  middleware classes) and ``async def mw(request, call_next)`` functions are turned into
  :class:`Middleware` when the app or route is constructed, so a wrong entry fails there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .types import ASGIApp, Receive, Scope, Send

__all__ = [
    "DEFAULT_PHASE",
    "FOREIGN_PHASE",
    "PHASES",
    "Middleware",
    "MiddlewareLayer",
    "Phase",
    "as_middleware",
    "build_onion",
    "ensure_asgi3",
    "is_asgi3",
    "order_layers",
    "wrap_in_order",
]

Phase = Literal["outermost", "transport", "session", "auth", "innermost"]
#: Outer to inner. Guards first, then what rewrites the transport (CORS, compression), then
#: what loads state the endpoint reads (sessions, then auth, which may need sessions).
PHASES: tuple[Phase, ...] = ("outermost", "transport", "session", "auth", "innermost")
#: The phase of ``Middleware(factory)`` when none is given.
DEFAULT_PHASE: Phase = "innermost"
#: The phase of a Starlette-style entry or a bare middleware class: it wraps everything the
#: plugins add, as a Starlette user's ``middleware=[...]`` list wraps their app (tracing,
#: error reporting and CORS want to see every answer, the plugins' included).
FOREIGN_PHASE: Phase = "outermost"
#: Class attribute a middleware factory sets to say it only ever awaits ``app(...)``, so the
#: kernel may hand it a plain function that returns an awaitable instead of an async one.
#: Measured (bench/asgi3_fastpath_bench.py, min of 21 rounds): a CORS+GZip plaintext request
#: costs 5.94 µs with the plain dispatch, 6.18 µs with it wrapped in an ``async def`` —
#: the fast path saves ~0.24 µs (~4%) per request.
PLAIN_APP_FLAG = "lamina_accepts_plain_app"


def is_asgi3(app: Any) -> bool:
    """Whether asgiref (and so most third-party middleware) sees ``app`` as ASGI 3.

    The same test ``asgiref.compatibility.guarantee_single_callable`` makes: an explicit
    ``_asgi_single_callable``/``_asgi_double_callable`` hint, else a coroutine function, or
    an instance whose ``__call__`` is one; a class is never single-callable.
    """
    if getattr(app, "_asgi_single_callable", False):
        return True
    if getattr(app, "_asgi_double_callable", False) or inspect.isclass(app):
        return False
    if inspect.iscoroutinefunction(app):
        return True
    # the bound ``__call__``, as asgiref reads it (callable() cannot tell async from not)
    call = getattr(app, "__call__", None)  # noqa: B004
    return call is not None and inspect.iscoroutinefunction(call)


def ensure_asgi3(app: ASGIApp) -> ASGIApp:
    """``app`` itself when it already reads as ASGI 3, else an ``async def`` that awaits it."""
    if is_asgi3(app):
        return app

    async def asgi3_app(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    asgi3_app.__qualname__ = f"asgi3({getattr(app, '__qualname__', type(app).__name__)})"
    return asgi3_app


def _accepts_plain_app(factory: Any) -> bool:
    return getattr(factory, PLAIN_APP_FLAG, False) is True


@dataclass(frozen=True)
class Middleware:
    """One layer of the onion: ``factory(app, **options)`` must return an ASGI app.

    ``phase`` and ``priority`` (lower is further out) decide the layer's place; the
    contributing plugin's name breaks ties, so the order never depends on load order.

    ``factory`` may also be an ``async def mw(request, call_next) -> response`` function
    (see :mod:`lamina._callnext`): such a *function middleware* takes no options.
    """

    factory: Callable[..., ASGIApp]
    phase: Phase = DEFAULT_PHASE
    priority: int = 0
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        factory: Callable[..., ASGIApp],
        *,
        phase: Phase = DEFAULT_PHASE,
        priority: int = 0,
        name: str | None = None,
        **options: Any,
    ) -> None:
        if phase not in PHASES:
            raise ValueError(f"unknown middleware phase {phase!r}; expected one of {PHASES}")
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise TypeError(f"middleware priority must be an int, got {priority!r}")
        if not callable(factory):
            raise TypeError(f"middleware factory {factory!r} is not callable")
        label = name or getattr(factory, "__name__", None) or repr(factory)
        if _is_function_middleware(factory):
            if options:
                raise TypeError(
                    f"function middleware {label!r} takes no options (got "
                    f"{', '.join(sorted(options))}); close over them in the function instead"
                )
            from ._callnext import function_middleware

            # typed as an app factory, the parameter also takes an async (request, call_next)
            factory = function_middleware(factory)  # type: ignore[arg-type]  # see above
        object.__setattr__(self, "factory", factory)
        object.__setattr__(self, "phase", phase)
        object.__setattr__(self, "priority", priority)
        object.__setattr__(self, "name", label)
        object.__setattr__(self, "options", options)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """The layer around ``app``; ``app`` becomes ASGI 3 first unless the factory opted out."""
        if not _accepts_plain_app(self.factory):
            app = ensure_asgi3(app)
        return self.factory(app, **self.options)


def _is_function_middleware(factory: Any) -> bool:
    """``async def mw(request, call_next)``: a factory is never a coroutine function, since
    it must return the layer itself, so the two cannot be confused. An ``async def`` that
    takes ``(scope, receive, send)`` is an ASGI app given by mistake: say so."""
    if inspect.isclass(factory) or not inspect.iscoroutinefunction(factory):
        return False
    try:
        inspect.signature(factory).bind(None, None)
    except TypeError:
        raise TypeError(
            f"{getattr(factory, '__qualname__', factory)!r} is an async function that does "
            "not take (request, call_next); a function middleware is "
            "async def mw(request, call_next) -> response, and an ASGI middleware a "
            "factory(app, **options) returning an ASGI app"
        ) from None
    return True


#: What ``Lamina(middleware=[...])``, ``add_middleware`` and ``Route``/``Mount`` accept.
MiddlewareEntry = Any


def as_middleware(entry: MiddlewareEntry, *, phase: Phase = FOREIGN_PHASE) -> Middleware:
    """Turn any accepted entry into a :class:`Middleware`; a wrong one fails here, naming it.

    * a :class:`Middleware` is taken as it is;
    * an object with ``.cls`` and ``.kwargs`` (and optional ``.args``), such as Starlette's
      ``Middleware(cls, **options)``, or a ``(cls, options)`` pair, is ``cls(app, **options)``
      at ``phase``;
    * a bare class is ``cls(app)`` at ``phase``;
    * an ``async def mw(request, call_next)`` function is a function middleware at ``phase``;
    * any other callable is a factory ``factory(app) -> ASGI app`` at ``phase``.
    """
    if isinstance(entry, Middleware):
        return entry
    if hasattr(entry, "cls") and hasattr(entry, "kwargs"):
        args = tuple(getattr(entry, "args", ()) or ())
        return _foreign(entry.cls, args, dict(entry.kwargs), phase, entry)
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], Mapping):
        return _foreign(entry[0], (), dict(entry[1]), phase, entry)
    if inspect.isclass(entry):
        return _foreign(entry, (), {}, phase, entry)
    if _is_function_middleware(entry):
        return Middleware(entry, phase=phase)
    if callable(entry):  # a factory function: factory(app) -> ASGI app
        return Middleware(entry, phase=phase)
    raise TypeError(
        f"middleware entry {entry!r} is not one Lamina understands; give a "
        "lamina.Middleware(factory, phase=...), a (cls, options) pair, an object with "
        ".cls and .kwargs (Starlette's Middleware), a middleware class or factory, or an "
        "async def mw(request, call_next) function"
    )


def _foreign(
    cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any], phase: Phase, entry: Any
) -> Middleware:
    if not callable(cls):
        raise TypeError(f"middleware entry {entry!r}: {cls!r} is not callable")
    name = getattr(cls, "__name__", None) or repr(cls)
    if not args:
        return Middleware(cls, phase=phase, name=name, **kwargs)

    def factory(app: ASGIApp) -> ASGIApp:
        layer: ASGIApp = cls(app, *args, **kwargs)  # a foreign class: untyped
        return layer

    return Middleware(factory, phase=phase, name=name)


def wrap_in_order(app: ASGIApp, entries: Sequence[Middleware]) -> ASGIApp:
    """Wrap ``app`` in ``entries`` as listed, the first outermost (routes and mounts)."""
    for mw in reversed(entries):
        app = mw.wrap(app)
    return app


@dataclass(frozen=True)
class MiddlewareLayer:
    """A declared layer and who contributed it (``"app"`` for the constructor's).

    ``position`` is the app's listing order, which breaks ties among the app's own layers.
    """

    middleware: Middleware
    plugin: str
    position: int = 0

    @property
    def sort_key(self) -> tuple[int, int, str, int, str]:
        m = self.middleware
        return (PHASES.index(m.phase), m.priority, self.plugin, self.position, m.name or "")


def order_layers(layers: Iterable[MiddlewareLayer]) -> list[MiddlewareLayer]:
    """Outermost first."""
    return sorted(layers, key=lambda layer: layer.sort_key)


def build_onion(layers: list[MiddlewareLayer], inner: ASGIApp) -> ASGIApp:
    """Wrap ``inner`` innermost-first; a factory that fails says which layer and plugin."""
    app = inner
    for layer in reversed(layers):
        who = "the app" if layer.plugin == "app" else f"plugin {layer.plugin!r}"
        try:
            app = layer.middleware.wrap(app)
        except Exception as exc:
            exc.add_note(f"while building middleware {layer.middleware.name!r} registered by {who}")
            raise
        if not callable(app):
            raise TypeError(
                f"middleware {layer.middleware.name!r} registered by {who}: its "
                f"factory returned {app!r}, not an ASGI app"
            )
    return app
