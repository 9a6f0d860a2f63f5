"""Session login/logout, fixation defence, user loaders, and the `next` check."""

from __future__ import annotations

from typing import Any

import pytest
from auth_harness import SECRET, auth_app, whoami
from lamina import JSONResponse, PlainTextResponse, RedirectResponse, Request
from lamina.testclient import TestClient, WebSocketDenialResponse
from lamina.testing import make_app
from lamina_auth import (
    AuthenticationError,
    SessionAuthBackend,
    SimpleUser,
    UnauthenticatedUser,
    is_local_path,
    login,
    logout,
    requires,
    safe_next,
)
from lamina_routing import Route
from lamina_sessions import SessionSigner
from lamina_websocket import WebSocket, WebSocketRoute


async def do_login(request: Request) -> RedirectResponse:
    async with request.form() as form:
        name = str(form.get("username", ""))
        scopes = [str(s) for s in form.getlist("scope")]
    before = request.session.id
    login(request, SimpleUser(name, name.title()), scopes=scopes)
    # The rest of the request already sees the user.
    assert request.user.identity == name and request.auth.scopes[0] == "authenticated"
    target = safe_next(request.query_params.get("next"), "/me")
    return RedirectResponse(target, status_code=303, headers={"x-before": str(before)})


async def do_logout(request: Request) -> PlainTextResponse:
    logout(request)
    return PlainTextResponse(f"bye, now {request.user.is_authenticated}")


async def session_id(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.session.id, "data": dict(request.session)})


@requires("admin")
async def admin(request: Request) -> PlainTextResponse:
    return PlainTextResponse("admin")


async def ws_whoami(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(
        {"user": websocket.user.identity, "session": sorted(websocket.session)}
    )
    await websocket.close()


ROUTES = [
    Route("/login", do_login, methods=["POST"], name="login"),
    Route("/logout", do_logout, methods=["POST"]),
    Route("/me", whoami),
    Route("/sid", session_id),
    Route("/admin", admin),
    WebSocketRoute("/ws", ws_whoami),
]


@pytest.fixture(params=["cookie", "memory"])
def client(request: pytest.FixtureRequest) -> TestClient:
    with TestClient(auth_app(ROUTES, sessions={"store": request.param})) as c:
        yield c


def test_login_then_logout(client: TestClient) -> None:
    assert client.get("/me").json()["authenticated"] is False
    r = client.post("/login", data={"username": "alice"})
    assert r.url.path == "/me"
    assert r.json() == {
        "authenticated": True,
        "name": "Alice",
        "identity": "alice",
        "scopes": ["authenticated"],
    }
    assert client.get("/me").json()["identity"] == "alice"
    r = client.post("/logout")
    assert r.text == "bye, now False"
    assert "Max-Age=0" in r.headers["set-cookie"]
    assert "session" not in client.cookies
    assert client.get("/me").json()["authenticated"] is False


def test_login_grants_scopes(client: TestClient) -> None:
    client.post("/login", data={"username": "ada", "scope": ["admin"]})
    assert client.get("/me").json()["scopes"] == ["authenticated", "admin"]
    assert client.get("/admin").text == "admin"
    client.post("/logout")
    assert client.get("/admin").status_code == 403


def test_login_redirects_to_a_safe_next_only(client: TestClient) -> None:
    r = client.post("/login?next=/sid", data={"username": "a"}, follow_redirects=False)
    assert r.headers["location"] == "/sid"
    for evil in (
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
    ):
        r = client.post(
            "/login", params={"next": evil}, data={"username": "a"}, follow_redirects=False
        )
        assert r.headers["location"] == "/me", evil


def test_login_regenerates_the_session_id() -> None:
    app = auth_app(ROUTES, sessions={"store": "memory"})
    with TestClient(app, follow_redirects=False) as c:
        r = c.post("/login", data={"username": "alice"})
        before = r.headers["x-before"]
        after = c.get("/sid").json()["id"]
        assert after is not None and after != before


def test_fixation_with_a_pre_login_session() -> None:
    async def visit(request: Request) -> JSONResponse:
        request.session["cart"] = ["book"]
        return JSONResponse({"id": request.session.id})

    app = auth_app([*ROUTES, Route("/visit", visit)], sessions={"store": "memory"})
    with TestClient(app, follow_redirects=False) as c:
        c.get("/visit")
        pre_login = c.get("/sid").json()
        c.post("/login", data={"username": "alice"})
        post_login = c.get("/sid").json()
        assert post_login["id"] != pre_login["id"]
        assert post_login["data"]["cart"] == ["book"]  # same data, new id
        stale = SessionSigner(SECRET).dumps(pre_login["id"])
        c.cookies.clear()
        assert c.get("/sid", headers={"cookie": f"session={stale}"}).json()["data"] == {}


def test_websocket_sees_user_and_session(client: TestClient) -> None:
    client.post("/login", data={"username": "wendy"})
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json() == {"user": "wendy", "session": ["_auth_user"]}


def test_websocket_backend_error_is_refused() -> None:
    class Exploding:
        async def authenticate(self, connection: Any) -> Any:
            raise AuthenticationError("boom")

    app = auth_app(ROUTES, {"x": Exploding()})
    with (
        TestClient(app) as c,
        pytest.raises(WebSocketDenialResponse) as info,
        c.websocket_connect("/ws"),
    ):
        pass
    assert info.value.status_code == 400


def test_websocket_backend_error_without_extension_closes_1008() -> None:
    import anyio
    from lamina_auth import AuthMiddleware

    class Exploding:
        async def authenticate(self, connection: Any) -> Any:
            raise AuthenticationError("boom")

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the endpoint must not run")

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "websocket.connect"}

    scope = {"type": "websocket", "path": "/ws", "headers": [], "query_string": b""}
    anyio.run(AuthMiddleware(inner, backends=[Exploding()]), scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_user_loader() -> None:
    accounts = {"u1": SimpleUser("u1", "Uma"), "gone": None}

    async def load(identity: str) -> Any:
        return accounts.get(identity)

    plugin_backends = {"loaded": SessionAuthBackend(user_loader=load)}
    app = auth_app(ROUTES, plugin_backends, auth={"backends": ["loaded"]})
    with TestClient(app) as c:
        c.post("/login", data={"username": "u1"})
        assert c.get("/me").json()["name"] == "Uma"
        c.post("/login", data={"username": "gone"})
        assert c.get("/me").json()["authenticated"] is False


def test_forged_session_user_is_ignored() -> None:
    app = auth_app(ROUTES)
    with TestClient(app) as c:
        forged = SessionSigner("not-the-secret").dumps({"_auth_user": {"id": "root"}})
        assert (
            c.get("/me", headers={"cookie": f"session={forged}"}).json()["authenticated"] is False
        )
        odd = SessionSigner(SECRET).dumps({"_auth_user": {"id": 5}})
        assert c.get("/me", headers={"cookie": f"session={odd}"}).json()["authenticated"] is False
        weird_scopes = SessionSigner(SECRET).dumps({"_auth_user": {"id": "x", "scopes": "admin"}})
        assert c.get("/me", headers={"cookie": f"session={weird_scopes}"}).json()["scopes"] == [
            "authenticated"
        ]


def test_login_without_sessions_is_a_clear_error() -> None:
    async def bare_login(request: Request) -> PlainTextResponse:
        try:
            login(request, SimpleUser("x"))
        except RuntimeError as exc:
            return PlainTextResponse(str(exc))
        return PlainTextResponse("unexpected")

    app = make_app("routing", routes=[Route("/", bare_login)])
    with TestClient(app) as c:
        assert "install and enable the lamina-sessions plugin" in c.get("/").text


class NumberedUser(SimpleUser):
    @property
    def identity(self) -> Any:
        return 42


@pytest.mark.parametrize("user", [UnauthenticatedUser(), SimpleUser(""), NumberedUser("x")])
def test_login_refuses_users_the_session_cannot_bring_back(user: Any) -> None:
    async def bad_login(request: Request) -> PlainTextResponse:
        try:
            login(request, user)
        except ValueError as exc:
            return PlainTextResponse(str(exc), status_code=500)
        return PlainTextResponse("logged in")

    app = make_app(
        "routing",
        "sessions",
        "auth",
        routes=[Route("/", bad_login)],
        settings={"sessions": {"secret_key": SECRET}},
    )
    with TestClient(app) as c:
        r = c.get("/")
    assert r.status_code == 500 and "non-empty string identity" in r.text
    assert "set-cookie" not in r.headers  # nothing half-written into the session


def test_request_user_without_auth_is_a_clear_error() -> None:
    async def peek(request: Request) -> PlainTextResponse:
        try:
            request.user  # noqa: B018
        except AttributeError as exc:
            return PlainTextResponse(str(exc))
        return PlainTextResponse("unexpected")

    app = make_app("routing", routes=[Route("/", peek)])
    with TestClient(app) as c:
        assert "install and enable the lamina-auth plugin" in c.get("/").text


@pytest.mark.parametrize(
    "url",
    ["/", "/account", "/a/b?c=d&e=f", "/search?q=%2F%2Fevil", "/caf\u00e9", "/a#frag"],
)
def test_local_paths_are_accepted(url: str) -> None:
    assert is_local_path(url)
    assert safe_next(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "account",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil",
        "/a\\b",
        "https://evil.example",
        "http:/evil",
        "javascript:alert(1)",
        "data:text/html,x",
        "/\t/evil.example",
        "/\n/evil",
        "/\r\n/x",
        " /x",
        "/x\x00",
        "//",
        "/" + "a" * 3000,
        "%2F%2Fevil.example",
        "evil.example/",
    ],
)
def test_other_urls_are_rejected(url: str) -> None:
    assert not is_local_path(url)
    assert safe_next(url) == "/"
    assert safe_next(url, default="/home") == "/home"


def test_safe_next_none() -> None:
    assert safe_next(None) == "/"


def test_login_flow_on_trio() -> None:
    app = auth_app(ROUTES, sessions={"store": "memory"})
    with TestClient(app, backend="trio") as c:
        c.post("/login", data={"username": "trinity"})
        assert c.get("/me").json()["identity"] == "trinity"
        c.post("/logout")
        assert c.get("/me").json()["authenticated"] is False
