"""Small apps for the CORS tests: a counting endpoint and a table router plugin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina import HTTPException, PlainTextResponse, Request
from lamina.testing import make_app, plugin
from lamina.types import Receive, Scope, Send


class Endpoint:
    """A plain ASGI app answering ``ok`` (with a custom header) that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.response = PlainTextResponse("ok", headers={"x-custom": "1"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await self.response(scope, receive, send)


def table_router(endpoints: Mapping[str, Any]) -> Any:
    """A router plugin mapping exact paths to ``async (request) -> response``."""

    async def router(scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = endpoints.get(scope["path"])
        if endpoint is None:
            raise HTTPException(404)
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    return plugin("table-router", lamina_make_router=lambda app, routes: router)


def cors_app(endpoints: Mapping[str, Any], **settings: Any) -> Any:
    return make_app("cors", table_router(endpoints), settings={"cors": settings})
