"""``WebSocketRoute(asgi=None)`` tells raw ASGI apps from ``endpoint(websocket)`` the way
``lamina_routing.Route`` does, so one endpoint means the same under either route."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from lamina.testing import make_app
from lamina_routing import Route
from lamina_websocket import WebSocket, WebSocketRoute


async def raw(scope: Any, receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "raw " + scope["path"]})
    await send({"type": "websocket.close", "code": 1000})


async def session(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("session " + ws.url.path)
    await ws.close()


class RawApp:
    """An ASGI app instance: any object that is not a function is taken as one."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await raw(scope, receive, send)


class SessionObject:
    """An async callable taking a WebSocket: needs ``asgi=False``, as with ``Route``."""

    async def __call__(self, ws: WebSocket) -> None:
        await session(ws)


async def tagged(tag: str, ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(tag)
    await ws.close()


async def raw_tagged(tag: str, scope: Any, receive: Any, send: Any) -> None:
    await raw(scope, receive, send)


@pytest.mark.parametrize(
    ("endpoint", "options", "expected"),
    [
        (raw, {}, "raw /ws"),  # (scope, receive, send): ASGI
        (session, {}, "session /ws"),  # (websocket): a session
        (RawApp(), {}, "raw /ws"),  # an app instance: ASGI
        (SessionObject(), {"asgi": False}, "session /ws"),  # forced
        (functools.partial(tagged, "p"), {}, "p"),  # partial(websocket): a session
        (functools.partial(raw_tagged, "p"), {}, "raw /ws"),  # partial(scope, receive, send)
        (raw, {"asgi": True}, "raw /ws"),  # the old explicit form still works
    ],
)
def test_asgi_none_detects_the_endpoint_kind(
    start: Any, endpoint: Any, options: Any, expected: str
) -> None:
    client = start(
        make_app("routing", "websocket", routes=[WebSocketRoute("/ws", endpoint, **options)])
    )
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == expected


@pytest.mark.parametrize(
    "endpoint",
    [raw, session, RawApp(), functools.partial(tagged, "p"), functools.partial(raw_tagged, "p")],
)
def test_same_verdict_as_route(endpoint: Any) -> None:
    route_says_asgi = Route("/", endpoint).kind == "asgi"
    ws_says_asgi = WebSocketRoute("/", endpoint).app is endpoint
    assert ws_says_asgi == route_says_asgi


def test_a_sync_function_is_still_refused() -> None:
    def sync(ws: WebSocket) -> None: ...

    with pytest.raises(TypeError, match="async function"):
        WebSocketRoute("/ws", sync)
