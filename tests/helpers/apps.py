"""Small building blocks for kernel tests that must not depend on the routing plugin.

``router_plugin({"/path": endpoint})`` is a local plugin whose router maps an exact path to
``endpoint(request) -> Response`` (sync or async) and answers 404/405 through
``HTTPException``, as a real router does. ``header_middleware`` adds a response header, to
show what passes back through the onion.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from lamina import HTTPException, Middleware, Request
from lamina.testing import LocalPlugin, plugin

__all__ = ["TinyRouter", "header_middleware", "router_plugin"]


class TinyRouter:
    """Exact-path router: ``{"/p": endpoint}`` or ``{"/p": (endpoint, {"GET", "POST"})}``."""

    def __init__(self, routes: Mapping[str, Any]) -> None:
        self.routes: dict[str, tuple[Callable[..., Any], frozenset[str]]] = {}
        for path, target in routes.items():
            if isinstance(target, tuple):
                endpoint, methods = target
            else:
                endpoint, methods = target, {"GET", "HEAD"}
            self.routes[path] = (endpoint, frozenset(methods))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            endpoint, methods = self.routes[scope["path"]]
        except KeyError:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
                return
            raise HTTPException(404) from None
        if scope["type"] == "websocket":
            await endpoint(scope, receive, send)
            return
        if scope["method"] not in methods:
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(methods))})
        request = Request(scope, receive, send)
        response = endpoint(request)
        if inspect.isawaitable(response):
            response = await response
        await response(scope, receive, send)

    def url_path_for(self, name: str, **params: Any) -> str:
        raise LookupError(name)


def router_plugin(table: Mapping[str, Any], name: str = "tiny-router") -> LocalPlugin:
    return plugin(name, lamina_make_router=lambda: TinyRouter(table))


def header_middleware(header: str = "x-mw", value: str = "1", **options: Any) -> Middleware:
    """A pure-ASGI layer that adds ``header: value`` to every HTTP response start."""

    def factory(app: Any) -> Any:
        raw = (header.encode(), value.encode())

        async def layer(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def send_with_header(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), raw]}
                await send(message)

            await app(scope, receive, send_with_header)

        return layer

    factory.__name__ = f"header_{header}"
    return Middleware(factory, **options)
