"""requires() on function, sync, class-based and WebSocket endpoints; redirects with next."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from auth_harness import auth_app
from lamina import Middleware, PlainTextResponse, Request
from lamina.testclient import TestClient, WebSocketDenialResponse, WebSocketDisconnect
from lamina.testing import plugin
from lamina_auth import AuthCredentials, BearerAuthBackend, SimpleUser, requires
from lamina_routing import HTTPEndpoint, Route
from lamina_websocket import WebSocket, WebSocketEndpoint, WebSocketRoute

TOKENS = {
    "user": SimpleUser("ursula"),
    "admin": (AuthCredentials(["authenticated", "admin"]), SimpleUser("ada")),
}
USER = {"authorization": "Bearer user"}
ADMIN = {"authorization": "Bearer admin"}


@requires("authenticated")
async def private(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"private for {request.user.display_name}")


@requires(["authenticated", "admin"])
async def admin_only(request: Request) -> PlainTextResponse:
    return PlainTextResponse("admin area")


@requires("admin", status_code=404)
async def hidden(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hidden")


@requires("authenticated")
def sync_private(request: Request) -> PlainTextResponse:
    return PlainTextResponse("sync private")


@requires("authenticated", redirect="login")
async def account(request: Request) -> PlainTextResponse:
    return PlainTextResponse("account")


async def login_page(request: Request) -> PlainTextResponse:
    return PlainTextResponse("login page")


class Dashboard(HTTPEndpoint):
    @requires("authenticated")
    async def get(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("dashboard")

    @requires("admin")
    def post(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("posted")


@requires("authenticated")
async def ws_private(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"hi {websocket.user.display_name}")
    await websocket.close()


@requires("admin", status_code=401)
async def ws_admin(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("admin socket")
    await websocket.close()


class WSEndpoint(WebSocketEndpoint):
    encoding = "text"

    @requires("authenticated")
    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(f"class hi {websocket.user.identity}")


ROUTES = [
    Route("/private", private),
    Route("/admin", admin_only),
    Route("/hidden", hidden),
    Route("/sync", sync_private),
    Route("/account", account),
    Route("/login", login_page, name="login"),
    Route("/dashboard", Dashboard),
    WebSocketRoute("/ws", ws_private),
    WebSocketRoute("/ws-admin", ws_admin),
    WebSocketRoute("/ws-class", WSEndpoint),
]


@pytest.fixture
def client() -> TestClient:
    app = auth_app(ROUTES, {"bearer": BearerAuthBackend(TOKENS.get)})
    with TestClient(app, follow_redirects=False) as c:
        yield c


def test_function_endpoint(client: TestClient) -> None:
    assert client.get("/private").status_code == 403
    assert client.get("/private", headers=USER).text == "private for ursula"


def test_all_scopes_are_required(client: TestClient) -> None:
    assert client.get("/admin", headers=USER).status_code == 403
    assert client.get("/admin", headers=ADMIN).text == "admin area"


def test_custom_status_code(client: TestClient) -> None:
    assert client.get("/hidden", headers=USER).status_code == 404
    assert client.get("/hidden", headers=ADMIN).text == "hidden"


def test_sync_endpoint(client: TestClient) -> None:
    assert client.get("/sync").status_code == 403
    assert client.get("/sync", headers=USER).text == "sync private"


def test_class_based_endpoint(client: TestClient) -> None:
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard", headers=USER).text == "dashboard"
    assert client.post("/dashboard", headers=USER).status_code == 403
    assert client.post("/dashboard", headers=ADMIN).text == "posted"


def test_401_carries_the_challenge(client: TestClient) -> None:
    @requires("authenticated", status_code=401)
    async def api(request: Request) -> PlainTextResponse:
        return PlainTextResponse("api")

    app = auth_app([Route("/api", api)], {"bearer": BearerAuthBackend(TOKENS.get, realm="r")})
    with TestClient(app) as c:
        r = c.get("/api")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="r"'


def test_redirect_to_named_login_route_with_next(client: TestClient) -> None:
    r = client.get("/account?tab=keys&x=1")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?")
    location = urlsplit(r.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/account?tab=keys&x=1"]}
    assert client.get("/account", headers=USER).text == "account"


def test_redirect_ignores_a_forged_host(client: TestClient) -> None:
    r = client.get("/account", headers={"host": "evil.example"})
    assert r.headers["location"] == "/login?next=%2Faccount"


def test_redirect_follows_to_login_page(client: TestClient) -> None:
    r = client.get("/account", follow_redirects=True)
    assert r.text == "login page"


def test_requires_needs_a_connection_argument() -> None:
    @requires("authenticated")
    async def not_an_endpoint(x: int) -> None:
        return None

    import anyio

    with pytest.raises(TypeError, match="receive a request or a websocket"):
        anyio.run(not_an_endpoint, 1)


def test_requires_keeps_the_function_identity() -> None:
    assert private.__name__ == "private"
    import inspect

    assert inspect.iscoroutinefunction(private)
    assert not inspect.iscoroutinefunction(sync_private)


def test_websocket_allowed(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers=USER) as ws:
        assert ws.receive_text() == "hi ursula"
    with client.websocket_connect("/ws-class", headers=USER) as ws:
        assert ws.receive_text() == "class hi ursula"


def test_websocket_denied_with_an_http_response(client: TestClient) -> None:
    with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/ws"):
        pass
    assert info.value.status_code == 403
    with (
        pytest.raises(WebSocketDenialResponse) as info,
        client.websocket_connect("/ws-admin", headers=USER),
    ):
        pass
    assert info.value.status_code == 401
    assert info.value.response.text == "Unauthorized"
    assert info.value.response.headers["www-authenticate"] == 'Bearer realm="api"'
    with pytest.raises(WebSocketDenialResponse), client.websocket_connect("/ws-class"):
        pass


def strip_denial_extension(app: Any) -> Any:
    async def without_extension(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope["extensions"] = {}
        await app(scope, receive, send)

    return without_extension


def test_websocket_closed_with_1008_without_the_extension() -> None:
    old_server = plugin(
        "old-server",
        lamina_register_middleware=lambda register: register(
            Middleware(strip_denial_extension, phase="outermost")
        ),
    )
    app = auth_app(ROUTES, {"bearer": BearerAuthBackend(TOKENS.get)}, extra_plugins=[old_server])
    with TestClient(app) as c:
        with pytest.raises(WebSocketDisconnect) as info, c.websocket_connect("/ws"):
            pass
        assert info.value.code == 1008
        with c.websocket_connect("/ws", headers=USER) as ws:
            assert ws.receive_text() == "hi ursula"


def test_redirect_under_a_root_path() -> None:
    app = auth_app(ROUTES, {"bearer": BearerAuthBackend(TOKENS.get)})
    with TestClient(app, root_path="/app", follow_redirects=False) as c:
        r = c.get("/account")
    assert r.headers["location"] == "/app/login?next=%2Fapp%2Faccount"
