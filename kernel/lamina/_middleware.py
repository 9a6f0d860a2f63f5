"""Middleware declarations and the kernel's ordering rule for the onion."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from .types import ASGIApp

Phase = Literal["outermost", "transport", "session", "auth", "innermost"]
#: Outer to inner. Guards first, then what rewrites the transport (CORS, compression), then
#: what loads state the endpoint reads (sessions, then auth, which may need sessions).
PHASES: tuple[Phase, ...] = ("outermost", "transport", "session", "auth", "innermost")


@dataclass(frozen=True)
class Middleware:
    """One layer of the onion: ``factory(app, **options)`` must return an ASGI app.

    ``phase`` and ``priority`` (lower is further out) decide the layer's place; the
    contributing plugin's name breaks ties, so the order never depends on load order.
    """

    factory: Callable[..., ASGIApp]
    phase: Phase = "innermost"
    priority: int = 0
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        factory: Callable[..., ASGIApp],
        *,
        phase: Phase = "innermost",
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
        object.__setattr__(self, "factory", factory)
        object.__setattr__(self, "phase", phase)
        object.__setattr__(self, "priority", priority)
        object.__setattr__(self, "name", name or getattr(factory, "__name__", repr(factory)))
        object.__setattr__(self, "options", options)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        return self.factory(app, **self.options)


@dataclass(frozen=True)
class MiddlewareLayer:
    """A declared layer and who contributed it (``"app"`` for the constructor's)."""

    middleware: Middleware
    plugin: str

    @property
    def sort_key(self) -> tuple[int, int, str, str]:
        m = self.middleware
        return (PHASES.index(m.phase), m.priority, self.plugin, m.name or "")


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
