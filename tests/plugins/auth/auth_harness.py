"""Building apps with routing + sessions + auth and a plugin that contributes backends."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lamina import JSONResponse, Request
from lamina.testing import make_app, plugin

SECRET = "auth-test-secret-0123456789"


def backends_plugin(backends: Mapping[str, Any], name: str = "test-backends") -> Any:
    def register_backends(register: Any) -> None:
        for backend_name, backend in backends.items():
            register(backend_name, backend)

    return plugin(name, lamina_auth_register_backends=register_backends)


def auth_app(
    routes: Iterable[Any],
    backends: Mapping[str, Any] | None = None,
    *,
    extra_plugins: Iterable[Any] = (),
    auth: Mapping[str, Any] | None = None,
    sessions: Mapping[str, Any] | None = None,
) -> Any:
    plugins: list[Any] = ["routing", "sessions", "auth", "websocket"]
    if backends:
        plugins.append(backends_plugin(backends))
    plugins.extend(extra_plugins)
    settings: dict[str, Any] = {"sessions": {"secret_key": SECRET, **(sessions or {})}}
    if auth is not None:
        settings["auth"] = dict(auth)
    return make_app(*plugins, routes=list(routes), settings=settings)


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "authenticated": request.user.is_authenticated,
            "name": request.user.display_name,
            "identity": request.user.identity,
            "scopes": list(request.auth.scopes),
        }
    )
