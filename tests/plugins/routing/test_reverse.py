"""Reverse routing: url_path_for, nested mounts, request.url_for, errors naming the route."""

from __future__ import annotations

import uuid

import pytest
from lamina import PlainTextResponse, Request, URLPath
from lamina_routing import BaseRoute, Mount, NoMatchFound, Route, Router
from routing_helpers import client, make


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


class WS(BaseRoute):
    protocol = "websocket"

    def __init__(self, path: str, name: str) -> None:
        self.path, self.name, self.explicit_name, self.endpoint = path, name, True, None

    async def handle(self, scope, receive, send) -> None:
        await send({"type": "websocket.close", "code": 1000})


def build():
    static_app = PlainTextResponse("static")
    return make(
        [
            Route("/users/{id:int}", ok, name="user"),
            Route("/files/{rest:path}", ok, name="file"),
            Route("/obj/{key:uuid}/{price:float}", ok, name="obj"),
            Route("/hello world/{name}", ok, name="spaced"),
            Mount(
                "/api",
                [
                    Route("/items/{name}", ok, name="item"),
                    Mount("/v{version:int}", [Route("/", ok, name="root")], name="v"),
                ],
                name="api",
            ),
            Mount("/static", static_app, name="static"),
            Mount("/anon", [Route("/inner", ok, name="inner")]),
            WS("/ws/{room}", "chat"),
        ]
    )


def test_url_path_for() -> None:
    app = build()
    p = app.url_path_for("user", id=5)
    assert p == "/users/5" and isinstance(p, URLPath) and p.protocol == "http"
    assert app.url_path_for("file", rest="a/b c.txt") == "/files/a/b%20c.txt"
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert app.url_path_for("obj", key=key, price=1.5) == f"/obj/{key}/1.5"
    assert app.url_path_for("spaced", name="a b") == "/hello%20world/a%20b"
    assert app.url_path_for("api:item", name="a b") == "/api/items/a%20b"
    assert app.url_path_for("api:v:root", version=2) == "/api/v2/"
    assert app.url_path_for("static", path="/css/site.css") == "/static/css/site.css"
    assert app.url_path_for("static", path="x.txt") == "/static/x.txt"
    assert app.url_path_for("inner") == "/anon/inner"
    ws = app.url_path_for("chat", room="r1")
    assert ws == "/ws/r1" and ws.protocol == "websocket"


def test_str_param_refuses_a_slash() -> None:
    with pytest.raises(NoMatchFound, match="spaced"):
        build().url_path_for("spaced", name="x/y")


def test_errors_name_the_route_and_params() -> None:
    app = build()
    with pytest.raises(NoMatchFound, match=r"no route named 'nope'.*user"):
        app.url_path_for("nope")
    with pytest.raises(
        NoMatchFound,
        match=r"'user' \(/users/\{id:int\}\) expects params id; "
        r"missing id; unexpected uid",
    ):
        app.url_path_for("user", uid=1)
    with pytest.raises(NoMatchFound, match=r"'user'.*non-negative int"):
        app.url_path_for("user", id="abc")
    with pytest.raises(LookupError):  # NoMatchFound is a LookupError
        app.url_path_for("api:nope")


def test_url_for_is_absolute_and_honours_root_path_and_mounts() -> None:
    async def links(request: Request) -> PlainTextResponse:
        return PlainTextResponse(
            " ".join(
                [
                    str(request.url_for("user", id=1)),
                    str(request.url_for("api:item", name="n")),
                    str(request.url_for("chat", room="x")),
                ]
            )
        )

    routes = [
        Route("/users/{id:int}", ok, name="user"),
        Mount("/api", [Route("/items/{name}", links, name="item")], name="api"),
        WS("/ws/{room}", "chat"),
    ]
    with client(routes, root_path="/root") as c:
        assert c.get("/api/items/z").text == (
            "http://testserver/root/users/1 http://testserver/root/api/items/n "
            "ws://testserver/root/ws/x"
        )


def test_mounted_app_with_its_own_url_path_for() -> None:
    inner = Router([Route("/page/{n:int}", ok, name="page")])

    class Wrapper:
        def __init__(self, router):
            self.router = router

        async def __call__(self, scope, receive, send):
            await self.router(scope, receive, send)

        def url_path_for(self, name, **params):
            return self.router.url_path_for(name, **params)

    app = make([Mount("/sub/{tenant}", Wrapper(inner), name="sub")])
    assert app.url_path_for("sub:page", tenant="t", n=3) == "/sub/t/page/3"


def test_explicit_names_win_over_implicit_ones() -> None:
    async def shared(request):
        return PlainTextResponse("")

    app = make([Route("/a", shared), Route("/b", ok, name="shared")])
    assert app.url_path_for("shared") == "/b"
    # implicit duplicates: the first registered keeps the name, no error
    app = make([Route("/x/{n}", shared), Route("/y/{n}", shared)])
    assert app.url_path_for("shared", n="1") == "/x/1"


def test_url_for_inside_a_mounted_lamina_app() -> None:
    async def inner_links(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.url_for("inner")))

    sub = make([Route("/inner", inner_links, name="inner")])
    outer = [Mount("/sub", sub, name="sub"), Route("/outer", ok, name="outer")]
    from lamina.testclient import TestClient

    app = make(outer)
    with TestClient(app) as c:
        assert c.get("/sub/inner").text == "http://testserver/sub/inner"
    assert app.url_path_for("sub:inner") == "/sub/inner"


def test_routes_under_a_host_reverse_with_that_host() -> None:
    from lamina_routing import Host, HostURLPath

    async def links(request: Request) -> PlainTextResponse:
        return PlainTextResponse(
            " ".join([str(request.url_for("t:home", tenant="beta")), str(request.url_for("plain"))])
        )

    routes = [
        Host(
            "{tenant}.example.com",
            [Route("/", ok, name="home"), Route("/links", links, name="links")],
            name="t",
        ),
        Route("/plain", ok, name="plain"),
    ]
    app = make(routes)
    path = app.url_path_for("t:home", tenant="acme")
    assert path == "/" and isinstance(path, HostURLPath) and path.host == "acme.example.com"
    assert not isinstance(app.url_path_for("plain"), HostURLPath)
    with pytest.raises(NoMatchFound, match=r"'t:home'.*expects params tenant; missing tenant"):
        app.url_path_for("t:home")
    with pytest.raises(NoMatchFound, match="t:home"):
        app.url_path_for("t:home", tenant="a/b")
    with client(routes, root_path="/r") as c:
        r = c.get("http://acme.example.com:8080/links")
        assert r.status_code == 200
        assert r.text == "http://beta.example.com/r/ http://acme.example.com:8080/r/plain"
