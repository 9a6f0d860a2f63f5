"""Routes are typed as :class:`lamina.RouteLike`, a protocol, from the app to the router.

Every route kind (the routing plugin's, the websocket plugin's, a Router standing for its
routes, and a third party's class that imports neither) is ``RouteLike``; the kernel hands
the router :class:`lamina.RouteContribution` pairs; a route that is only ``RouteLike`` is
served and reversed like any other.

``uv run mypy`` checks this file strictly too (``[tool.mypy] files``): each
``type: ignore[code]`` below asserts that mypy refuses the line, since strict mode reports
an ignore that is not needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from lamina import Lamina, PlainTextResponse, Request, RouteContribution, RouteLike
from lamina.plugin import ASGIApp, Receive, Scope, Send
from lamina.testclient import TestClient
from lamina.testing import plugin
from lamina_routing import Host, Mount, Route, Router
from lamina_websocket import WebSocket, WebSocketRoute


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("home")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("raw")(scope, receive, send)


class GreetingRoute:
    """A third party's route: no lamina_routing import, only the RouteLike members."""

    protocol = "http"

    def __init__(self, path: str, name: str | None = None) -> None:
        self.path = path
        self.name = name

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        who = scope["path_params"]["who"]
        await PlainTextResponse(f"hello {who}")(scope, receive, send)


def routing_app(routes: Sequence[RouteLike] = (), *plugins: object) -> Lamina:
    return Lamina(routes, autoload=False, plugins=["routing", "websocket", *plugins])


def test_every_kind_of_route_is_route_like() -> None:
    routes: list[RouteLike] = [
        Route("/", home),
        Mount("/inner", routes=[Route("/", home)]),
        Mount("/raw", raw_app),
        Host("{tenant}.example.com", [Route("/", home)]),
        WebSocketRoute("/ws", echo),
        Router([Route("/", home)]),
        GreetingRoute("/hello/{who}"),
    ]
    for route in routes:
        assert isinstance(route, RouteLike), route
    # an endpoint, or an app, is not a route
    assert not isinstance(home, RouteLike)
    assert not isinstance(raw_app, RouteLike)


def test_a_route_like_object_from_a_plugin_is_served_and_reversed() -> None:
    def contribute(register: Callable[[RouteLike], None]) -> None:
        register(GreetingRoute("/hello/{who}", name="greet"))

    app = routing_app([Route("/", home)], plugin("greeter", lamina_register_routes=contribute))
    with TestClient(app) as client:
        assert client.get("/hello/ann").text == "hello ann"
        assert client.get("/").text == "home"
    assert app.url_path_for("greet", who="bob") == "/hello/bob"
    assert [(type(c.route).__name__, c.plugin) for c in app.route_contributions] == [
        ("Route", "app"),
        ("GreetingRoute", "greeter"),
    ]


def test_a_router_in_a_route_list_stands_for_its_routes() -> None:
    inner = Router([Route("/a", home, name="a")])
    app = routing_app([Route("/", home), inner])
    with TestClient(app) as client:
        assert client.get("/a").text == "home"
        assert client.get("/").text == "home"
    assert app.url_path_for("a") == "/a"
    assert [c.route.path for c in app.route_contributions] == ["/", ""]  # as declared


def test_websocket_routes_are_route_like_to_the_router() -> None:
    app = routing_app([WebSocketRoute("/ws", echo, name="ws")])
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("ping")
        assert ws.receive_text() == "ping"
    assert app.url_path_for("ws") == "/ws"


def test_the_router_hook_gets_route_contributions() -> None:
    seen: list[RouteContribution] = []

    def make_router(routes: Sequence[RouteContribution]) -> ASGIApp | None:
        seen.extend(routes)
        return None  # decline: the routing plugin builds the router

    def contribute(register: Callable[[RouteLike], None]) -> None:
        register(Route("/extra", home))

    spy = plugin("spy", lamina_make_router=make_router, lamina_register_routes=contribute)
    app = routing_app([Route("/", home)], spy).assemble()
    assert [(c.route.path, c.plugin) for c in seen] == [("/", "app"), ("/extra", "spy")]
    assert all(isinstance(c, RouteContribution) for c in seen)
    assert app.router is not None


def test_what_is_not_a_route_is_refused_by_mypy_and_by_the_router() -> None:
    app = routing_app([home])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a route the router understands"):
        app.assemble()


def test_a_host_needs_an_app_or_routes() -> None:
    with pytest.raises(ValueError, match="needs an ASGI app or a list of routes"):
        Host("example.com", None)  # type: ignore[arg-type]
