"""A tiny path -> endpoint router plugin, so session tests do not depend on lamina-routing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lamina import HTTPException, Request, Response
from lamina.testing import make_app, plugin

Endpoint = Callable[[Request], Awaitable[Response]]
SECRET = "test-secret-key-0123456789"


def table_router(endpoints: Mapping[str, Endpoint]) -> Any:
    async def router(scope: Any, receive: Any, send: Any) -> None:
        endpoint = endpoints.get(scope["path"])
        if endpoint is None:
            raise HTTPException(404)
        request = Request(scope, receive, send)
        response = await endpoint(request)
        await response(scope, receive, send)

    def make_router(app: Any, routes: Any) -> Any:
        return router

    return plugin("table-router", lamina_make_router=make_router)


def session_app(endpoints: Mapping[str, Endpoint], **settings: Any) -> Any:
    settings.setdefault("secret_key", SECRET)
    return make_app("sessions", table_router(endpoints), settings={"sessions": settings})
