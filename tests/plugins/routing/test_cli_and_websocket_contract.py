"""``lamina routes`` and the contract the websocket plugin builds on (BaseRoute, protocol)."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pytest
from lamina import PlainTextResponse
from lamina.cli import main
from lamina_routing import BaseRoute, Mount, Route, Router
from routing_helpers import call, make

APP_SOURCE = textwrap.dedent("""
    from lamina import Lamina, PlainTextResponse
    from lamina.testing import plugin
    from lamina_routing import Host, Mount, Route

    async def home(request):
        return PlainTextResponse("home")

    async def item(request):
        return PlainTextResponse("item")

    def extra(register):
        register(Route("/metrics", home, name="metrics"))

    app = Lamina(
        [Route("/", home, name="home"),
         Route("/items/{id:int}", item, methods=["GET", "POST"]),
         Mount("/api", [Route("/v/{n}", item, name="v")], name="api"),
         Host("{sub}.example.com", [Route("/hosted", item)], name="tenant")],
        autoload=False,
        plugins=["routing", plugin("admin", lamina_register_routes=extra)],
    )
""")


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "routes_cli_app.py").write_text(APP_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return "routes_cli_app:app"


def test_lamina_routes_lists_every_route(app_module: str, capsys) -> None:
    assert main(["routes", app_module, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_path = {r["path"]: r for r in rows}
    assert by_path["/"]["methods"] == ["GET", "HEAD"] and by_path["/"]["name"] == "home"
    assert by_path["/"]["plugin"] == "app"
    assert by_path["/"]["endpoint"] == "routes_cli_app.home"
    assert by_path["/items/{id:int}"]["methods"] == ["GET", "HEAD", "POST"]
    assert by_path["/items/{id:int}"]["name"] == "item"  # implicit: the endpoint's name
    assert by_path["/api"]["kind"] == "mount"
    assert by_path["/api/v/{n}"]["plugin"] == "app"
    assert by_path["/api/v/{n}"]["name"] == "api:v"  # the name url_for takes
    assert by_path["/metrics"]["plugin"] == "admin"
    assert by_path["{sub}.example.com"]["kind"] == "host"
    assert by_path["{sub}.example.com"]["name"] == "tenant"
    # a route under a Host says which host it answers, and its name is qualified
    assert by_path["{sub}.example.com/hosted"]["methods"] == ["GET", "HEAD"]
    assert by_path["{sub}.example.com/hosted"]["name"] == "tenant:item"
    assert "/hosted" not in by_path

    assert main(["routes", app_module]) == 0
    text = capsys.readouterr().out
    header, *lines = text.splitlines()
    assert header.split() == ["METHODS", "PATH", "NAME", "ENDPOINT", "PLUGIN"]
    assert any(
        line.split() == ["GET,HEAD", "/metrics", "metrics", "routes_cli_app.home", "admin"]
        for line in lines
    )


class Socket(BaseRoute):
    """What lamina_websocket.WebSocketRoute looks like to the router."""

    protocol = "websocket"

    def __init__(self, path: str, tag: str, name: str | None = None) -> None:
        self.path, self.endpoint, self.tag = path, None, tag
        self.name, self.explicit_name = name, name is not None

    async def handle(self, scope, receive, send) -> None:
        scope["handled_by"] = self.tag
        await send({"type": "websocket.close", "code": 4000})


async def http_ep(request):
    return PlainTextResponse("http")


def test_websocket_routes_match_only_websocket_scopes() -> None:
    app = make(
        [
            Route("/chat/{room}", http_ep),
            Socket("/chat/{room}", "chat"),
            Mount("/nested/{org}", [Socket("/feed/{id:int}", "feed")]),
        ]
    )

    _s, _h, body, _scope = asyncio.run(call(app, "GET", "/chat/r1"))
    assert body == b"http"

    # the kernel without the websocket plugin closes every websocket scope before routing;
    # drive the router directly, as the websocket plugin's protocol handler does
    app.assemble()
    router = app.router

    async def run_router() -> None:
        _s, _h, _b, scope = await call(router, "GET", "/chat/r1", scope_type="websocket")
        assert scope["handled_by"] == "chat" and scope["path_params"] == {"room": "r1"}
        _s, _h, _b, scope = await call(router, "GET", "/nested/acme/feed/3", scope_type="websocket")
        assert scope["path_params"] == {"org": "acme", "id": 3}
        status, _h, _b, scope = await call(router, "GET", "/nowhere", scope_type="websocket")
        assert status == "closed" and "handled_by" not in scope

    asyncio.run(run_router())


def test_websocket_and_http_routes_share_names_namespace_and_reverse() -> None:
    router = Router([Socket("/ws/{room}", "chat", name="chat")])
    path = router.url_path_for("chat", room="lobby")
    assert path == "/ws/lobby" and path.protocol == "websocket"


def test_duplicate_websocket_paths_conflict() -> None:
    from lamina import ConflictError

    with pytest.raises(ConflictError, match="WebSocket route"):
        make([Socket("/ws/{a}", "1"), Socket("/ws/{b}", "2")]).assemble()


def test_with_the_websocket_plugin_and_router_websocket_decorator() -> None:
    from lamina.testclient import TestClient

    router = Router()

    @router.websocket("/ws/{room}", name="room")
    async def room(websocket) -> None:
        await websocket.accept()
        await websocket.send_text(
            f"{websocket.path_params['room']} {websocket.url_for('room', room='x')}"
        )
        await websocket.close()

    @router.get("/ws/{room}")
    async def page(request):
        return PlainTextResponse("page")

    app = make(router, plugins=["websocket"])
    with TestClient(app) as c:
        with c.websocket_connect("/ws/lobby") as ws:
            assert ws.receive_text() == "lobby ws://testserver/ws/x"
        assert c.get("/ws/lobby").text == "page"
    assert app.url_path_for("room", room="a").protocol == "websocket"
