"""Sessions and auth (other plugins) see a WebSocket the way they see a request."""

from __future__ import annotations

from typing import Any

import pytest
from lamina import PlainTextResponse, Request
from lamina.testclient import WebSocketDenialResponse
from lamina.testing import make_app
from lamina_auth import SimpleUser, login, requires
from lamina_routing import Route
from lamina_websocket import WebSocket, WebSocketRoute


async def do_login(request: Request) -> PlainTextResponse:
    request.session["color"] = "teal"
    login(request, SimpleUser("alice"))
    return PlainTextResponse("ok")


async def whoami(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_json(
        {
            "user": ws.user.display_name if ws.user.is_authenticated else None,
            "scopes": sorted(ws.auth.scopes),
            "color": ws.session.get("color"),
        }
    )
    await ws.close()


@requires("authenticated")
async def private(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(f"hello {ws.user.display_name}")
    await ws.close()


@pytest.fixture
def app() -> Any:
    return make_app(
        "routing",
        "websocket",
        "sessions",
        "auth",
        routes=[
            Route("/login", do_login, methods=["POST"]),
            WebSocketRoute("/ws/whoami", whoami),
            WebSocketRoute("/ws/private", private),
        ],
        settings={"sessions": {"secret_key": "x" * 32}},
    )


def test_session_and_user_reach_the_websocket(start: Any, app: Any) -> None:
    client = start(app)
    with client.websocket_connect("/ws/whoami") as ws:
        assert ws.receive_json() == {"user": None, "scopes": [], "color": None}
    assert client.post("/login").status_code == 200
    with client.websocket_connect("/ws/whoami") as ws:
        assert ws.receive_json() == {"user": "alice", "scopes": ["authenticated"], "color": "teal"}


def test_requires_guards_a_websocket_endpoint(start: Any, app: Any) -> None:
    client = start(app)
    with pytest.raises(WebSocketDenialResponse) as info:
        client.websocket_connect("/ws/private").__enter__()
    assert info.value.status_code == 403
    client.post("/login")
    with client.websocket_connect("/ws/private") as ws:
        assert ws.receive_text() == "hello alice"
