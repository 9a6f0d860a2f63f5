"""Shared helpers for the templates tests.

``PathRouter`` is a deliberately tiny router (exact paths, names for ``url_path_for``) so
these tests exercise the templates plugin without depending on lamina-routing's details.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lamina import HTTPException, Request, URLPath
from lamina.testing import make_app, plugin


class PathRouter:
    def __init__(self, routes: dict[str, tuple[str, Callable[..., Any]]]) -> None:
        self.by_path = {path: endpoint for path, (_name, endpoint) in routes.items()}
        self.by_name = {name: path for path, (name, _endpoint) in routes.items()}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        endpoint = self.by_path.get(scope["path"])
        if endpoint is None:
            raise HTTPException(404)
        response = endpoint(Request(scope, receive, send))
        if inspect.isawaitable(response):
            response = await response
        await response(scope, receive, send)

    def url_path_for(self, name: str, /, **params: Any) -> URLPath:
        path = self.by_name[name]
        for key, value in params.items():
            path = path.replace("{" + key + "}", str(value))
        return URLPath(path)


def router_plugin(routes: dict[str, tuple[str, Callable[..., Any]]]) -> Any:
    return plugin("testrouter", lamina_make_router=lambda: PathRouter(routes))


@pytest.fixture
def tdir(tmp_path: Path) -> Callable[..., Path]:
    """``tdir("name", {"file.html": "source"})`` writes a template directory."""

    def write(name: str, files: dict[str, str]) -> Path:
        root = tmp_path / name
        for rel, text in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        root.mkdir(exist_ok=True)
        return root

    return write


@pytest.fixture
def build(lamina_clean_env: None) -> Callable[..., Any]:
    """``build(routes, *plugins, settings=..., **kwargs)``: an app with templates loaded."""

    def make(
        routes: dict[str, tuple[str, Callable[..., Any]]], *plugins: Any, **kwargs: Any
    ) -> Any:
        return make_app("templates", router_plugin(routes), *plugins, **kwargs)

    return make


@pytest.fixture
def routes_plugin() -> Callable[..., Any]:
    """``routes_plugin({path: (name, endpoint)})``: a local plugin installing PathRouter."""
    return router_plugin
