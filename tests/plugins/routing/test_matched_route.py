"""``scope["route"]`` / ``scope["endpoint"]`` after matching, and looking a route up before
serving it (``find_route``), as tracers and metrics read them."""

from __future__ import annotations

from typing import Any

from lamina import JSONResponse, Middleware, Request
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_routing import MatchedMount, MatchedRoute, Mount, Route, find_route
from lamina_websocket import WebSocket, WebSocketRoute


async def item(request: Request) -> JSONResponse:
    return JSONResponse(request.path_params)


async def room(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


async def plain_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def recording(seen: list[tuple[Any, Any]]) -> Any:
    def factory(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            await app(scope, receive, send)
            seen.append((scope.get("route"), scope.get("endpoint")))

        return middleware

    return factory


def test_outer_middleware_sees_the_template_for_http_and_websocket() -> None:
    seen: list[tuple[Any, Any]] = []
    inner = make_app("routing", routes=[Route("/items/{id:int}", item, name="item")])
    app = make_app(
        "routing",
        "websocket",
        routes=[
            Mount("/api", routes=[Route("/items/{id:int}", item, name="item")], name="api"),
            WebSocketRoute("/rooms/{name}", room),
            Mount("/sub", inner),
            Mount("/raw", plain_asgi),
        ],
        middleware=[Middleware(recording(seen), phase="outermost")],
    )
    with TestClient(app) as client:
        assert client.get("/api/items/3").json() == {"id": 3}
        with client.websocket_connect("/rooms/blue"):
            pass
        assert client.get("/sub/items/4").json() == {"id": 4}
        assert client.get("/raw/anything").status_code == 204
        assert client.get("/missing").status_code == 404

    routes = [route for route, _endpoint in seen]
    assert [r.path if r else None for r in routes] == [
        "/api/items/{id:int}",
        "/rooms/{name}",
        "/sub/items/{id:int}",  # a Lamina app mounted in this one: the whole template
        "/raw",
        None,
    ]
    assert [type(r) for r in routes[:4]] == [MatchedRoute, MatchedRoute, MatchedRoute, MatchedMount]
    assert routes[0].name == "api:item" and routes[0].path_format == "/items/{id}"
    assert [endpoint for _route, endpoint in seen[:2]] == [item, room]
    assert seen[3][1] is plain_asgi


def test_find_route_names_a_request_before_it_runs() -> None:
    inner = make_app("routing", routes=[Route("/items/{id:int}", item)])
    app = make_app(
        "routing",
        routes=[
            Mount("/api", routes=[Route("/items/{id:int}", item, methods=["GET"])]),
            Mount("/sub", inner),
            Mount("/raw", plain_asgi),
        ],
    )

    def scope(method: str, path: str, root: str = "") -> dict[str, Any]:
        return {"type": "http", "method": method, "path": path, "root_path": root}

    def path_of(found: MatchedRoute | None) -> str | None:
        return found.path if found is not None else None

    assert path_of(find_route(app, scope("GET", "/api/items/1"))) == "/api/items/{id:int}"
    assert path_of(find_route(app, scope("POST", "/api/items/1"))) is None  # 405: no route
    assert path_of(find_route(app, scope("GET", "/api/items/x"))) is None  # converter refuses
    assert path_of(find_route(app, scope("GET", "/sub/items/2"))) == "/sub/items/{id:int}"
    assert path_of(find_route(app, scope("GET", "/raw/x/y"))) == "/raw"
    # under a parent that mounted the app at /outer (root_path per the ASGI spec)
    found = find_route(app, scope("GET", "/outer/api/items/1", root="/outer"))
    assert path_of(found) == "/api/items/{id:int}"
    ws = {"type": "websocket", "path": "/nope", "root_path": ""}
    assert find_route(app, ws) is None
