"""Helpers for the routing plugin's tests: an app with only the routing plugin."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lamina import Lamina
from lamina.testclient import TestClient
from lamina.testing import plugin


def routes_plugin(name: str, *routes: Any) -> Any:
    """A throw-away plugin ``name`` that registers ``routes``."""

    def register_routes(register: Any) -> None:
        for route in routes:
            register(route)

    return plugin(name, lamina_register_routes=register_routes)


def make(
    routes: Iterable[Any] = (),
    *,
    settings: Mapping[str, Any] | None = None,
    plugins: Iterable[Any] = (),
    **kwargs: Any,
) -> Lamina:
    return Lamina(
        list(routes),
        autoload=False,
        plugins=["routing", *plugins],
        settings={"routing": dict(settings)} if settings else None,
        **kwargs,
    )


def client(routes: Iterable[Any] = (), **kwargs: Any) -> TestClient:
    root_path = kwargs.pop("root_path", "")
    raise_exc = kwargs.pop("raise_server_exceptions", True)
    return TestClient(
        make(routes, **kwargs),
        root_path=root_path,
        raise_server_exceptions=raise_exc,
        follow_redirects=False,
    )


async def call(
    app: Any,
    method: str,
    path: str,
    *,
    raw_path: bytes | None = None,
    scope_type: str = "http",
    headers: list[tuple[bytes, bytes]] | None = None,
    root_path: str = "",
) -> tuple[int | None, dict[str, str], bytes, dict[str, Any]]:
    """One request straight through the ASGI callable: ``(status, headers, body, scope)``."""
    scope: dict[str, Any] = {
        "type": scope_type,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "root_path": root_path,
        "query_string": b"",
        "headers": headers or [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    if raw_path is None:
        del scope["raw_path"]
    out: dict[str, Any] = {"status": None, "headers": {}, "body": b""}
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["headers"] = {k.decode(): v.decode("latin-1") for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")
        elif message["type"] == "websocket.close":
            out["status"] = "closed"

    await app(scope, receive, send)
    return out["status"], out["headers"], out["body"], scope
