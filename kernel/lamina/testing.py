"""Helpers for testing Lamina apps and plugins.

``make_app`` builds an app with autoload off, so a test sees exactly the plugins it names
(entry-point names as strings, local plugins as objects). ``plugin`` builds a throw-away
plugin from plain functions named after hooks::

    from lamina.testing import make_app, plugin

    def routes(register):
        register(Route("/", home))

    app = make_app("routing", plugin("demo", lamina_register_routes=routes))

``assert_plugin_conforms(DIST_OR_PATH)`` runs ``lamina check-plugin``'s conformance checks
in a test. The same functions are the fixtures of the pytest plugin (``lamina_app_factory``,
``lamina_plugin``, ``lamina_client``), registered through the ``pytest11`` entry point.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._app import Lamina
from ._conformance import PluginReport, assert_plugin_conforms, check_plugin
from ._hookspecs import hookimpl
from .types import RouteLike

if TYPE_CHECKING:
    from .testclient import TestClient

__all__ = [
    "LocalPlugin",
    "PluginReport",
    "assert_plugin_conforms",
    "check_plugin",
    "make_app",
    "plugin",
]

F = TypeVar("F", bound=Callable[..., Any])


def make_app(
    *plugins: Any,
    routes: Iterable[RouteLike] | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    settings_file: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> Lamina:
    """An app with autoload off and exactly ``plugins`` (names or local plugin objects).

    A test sees only the settings it passes: ``settings_file=None`` (the default) reads no
    file at all, not ``./lamina.toml`` nor ``$LAMINA_SETTINGS_FILE``; pass a path to read
    one. Other keyword arguments go to :class:`lamina.Lamina` (``middleware``, ``lifespan``,
    ``debug``...). ``autoload`` may be passed to switch autoload back on.
    """
    kwargs.setdefault("autoload", False)
    file: str | os.PathLike[str] | Literal[False] = (
        False if settings_file is None else settings_file
    )
    return Lamina(routes, plugins=list(plugins), settings=settings, settings_file=file, **kwargs)


class LocalPlugin:
    """A plugin assembled from functions at run time; its ``name`` is its plugin name.

    Add implementations with the constructor (``plugin("x", lamina_lifespan=fn)``, the
    ``lamina_`` prefix may be left out) or with :meth:`hook` as a decorator.
    """

    def __init__(self, name: str = "test-plugin", **hookimpls: Callable[..., Any]) -> None:
        self.name = name
        for hook_name, function in hookimpls.items():
            self.add(hook_name, function)

    def add(self, hook_name: str, function: Callable[..., Any], **options: Any) -> None:
        """Implement ``hook_name`` with ``function`` (``options``: tryfirst, trylast...)."""
        if not hook_name.startswith("lamina_"):
            hook_name = "lamina_" + hook_name
        setattr(self, hook_name, hookimpl(**options)(_copy(function)))

    def hook(self, function: F) -> F:
        """Decorator: implement the hook named like ``function``."""
        self.add(function.__name__, function)
        return function

    def __repr__(self) -> str:
        hooks = sorted(k for k in vars(self) if k.startswith("lamina_"))
        return f"LocalPlugin({self.name!r}, hooks={hooks})"


def _copy(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a wrapper, never the caller's function: it may be reused in other plugins.

    pluggy reads the argument names through ``__wrapped__``, so the wrapper takes exactly
    the arguments the function asks for.
    """

    @functools.wraps(function)
    def impl(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return impl


def plugin(name: str = "test-plugin", /, **hookimpls: Callable[..., Any]) -> LocalPlugin:
    """A throw-away plugin named ``name`` implementing the given hooks."""
    return LocalPlugin(name, **hookimpls)


def client(app: Lamina, **kwargs: Any) -> TestClient:
    """A :class:`lamina.testclient.TestClient` for ``app`` (use it as a context manager)."""
    from .testclient import TestClient

    return TestClient(app, **kwargs)
