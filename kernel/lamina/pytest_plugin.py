"""pytest fixtures for plugin authors (registered through the ``pytest11`` entry point).

This module loads in every pytest run where Lamina is installed, so it imports nothing heavy
at module level; each fixture imports what it needs.

Fixtures:

``lamina_app_factory``
    :func:`lamina.testing.make_app`: ``lamina_app_factory("routing", my_plugin, routes=...)``.
``lamina_plugin``
    :func:`lamina.testing.plugin`: ``lamina_plugin("name", lamina_lifespan=fn)``.
``lamina_client``
    ``lamina_client(app, **options)`` returns a started :class:`lamina.testclient.TestClient`
    (lifespan run); it is closed when the test ends.
``lamina_clean_env``
    removes the ``LAMINA_*`` selection variables so the developer's shell cannot change
    which plugins a test loads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

__all__ = ["lamina_app_factory", "lamina_clean_env", "lamina_client", "lamina_plugin"]

_ENV = (
    "LAMINA_DISABLE_PLUGIN_AUTOLOAD",
    "LAMINA_PLUGINS",
    "LAMINA_DISABLE_PLUGINS",
    "LAMINA_SETTINGS_FILE",
)


@pytest.fixture
def lamina_clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def lamina_app_factory(lamina_clean_env: None) -> Callable[..., Any]:
    from lamina.testing import make_app

    return make_app


@pytest.fixture
def lamina_plugin() -> Callable[..., Any]:
    from lamina.testing import plugin

    return plugin


@pytest.fixture
def lamina_client() -> Iterator[Callable[..., Any]]:
    from lamina.testclient import TestClient

    opened: list[Any] = []

    def start(app: Any, **options: Any) -> Any:
        client = TestClient(app, **options)
        client.__enter__()
        opened.append(client)
        return client

    yield start
    while opened:
        opened.pop().__exit__(None, None, None)
