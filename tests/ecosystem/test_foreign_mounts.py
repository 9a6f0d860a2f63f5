"""Flask (through a2wsgi), Starlette and FastAPI mounted in Lamina, and Lamina mounted in
each, under uvicorn: routing, ``url_for`` and redirects across the boundary, WebSocket and
SSE (WSGI has neither WebSocket nor a streaming-friendly server side: Flask is checked for
routing, links and redirects, and streams through a2wsgi)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from a2wsgi import ASGIMiddleware, WSGIMiddleware
from eco_apps import PLUGINS, make_routes
from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi import WebSocket as FastAPIWebSocket
from fastapi.responses import RedirectResponse as FastAPIRedirect
from fastapi.responses import StreamingResponse as FastAPIStreaming
from lamina import Lamina
from lamina.testing import make_app
from lamina_routing import Mount
from websockets.sync.client import connect


def lamina_app() -> Lamina:
    return make_app(*PLUGINS, routes=make_routes())


# ---------------------------------------------------------------- foreign apps


def flask_app() -> Any:
    import flask

    app = flask.Flask("eco_flask")

    @app.get("/hello/<name>")
    def hello(name: str) -> Any:
        return {"name": name, "url": flask.url_for("hello", name=name)}

    @app.get("/go")
    def go() -> Any:
        return flask.redirect(flask.url_for("hello", name="x"))

    @app.get("/stream")
    def stream() -> Any:
        return flask.Response((f"data: {n}\n\n" for n in range(3)), mimetype="text/event-stream")

    return WSGIMiddleware(app)


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, RedirectResponse, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    async def hello(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        return JSONResponse({"name": name, "url": request.url_for("hello", name=name).path})

    async def go(request: Request) -> RedirectResponse:
        return RedirectResponse(request.url_for("hello", name="x"), status_code=302)

    async def stream(request: Request) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            for n in range(3):
                yield f"data: {n}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("star: " + await websocket.receive_text())
        await websocket.close()

    return Starlette(
        routes=[
            Route("/hello/{name}", hello, name="hello"),
            Route("/go", go),
            Route("/stream", stream),
            WebSocketRoute("/ws", ws),
        ]
    )


def fastapi_app() -> Any:
    app = FastAPI()

    @app.get("/hello/{name}", name="hello")
    async def hello(name: str, request: FastAPIRequest) -> dict[str, str]:
        return {"name": name, "url": request.url_for("hello", name=name).path}

    @app.get("/go")
    async def go(request: FastAPIRequest) -> FastAPIRedirect:
        return FastAPIRedirect(request.url_for("hello", name="x"), status_code=302)

    @app.get("/stream")
    async def stream() -> FastAPIStreaming:
        async def events() -> AsyncIterator[str]:
            for n in range(3):
                yield f"data: {n}\n\n"

        return FastAPIStreaming(events(), media_type="text/event-stream")

    @app.websocket("/ws")
    async def ws(websocket: FastAPIWebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("star: " + await websocket.receive_text())
        await websocket.close()

    return app


FOREIGN = {"flask": flask_app, "starlette": starlette_app, "fastapi": fastapi_app}


@pytest.fixture(scope="module")
def lamina_hosting(request: pytest.FixtureRequest) -> Iterator[str]:
    """One server for the module: each foreign app mounted at ``/<kind>`` in Lamina."""
    from tests.helpers.servers import serve

    mounts = [Mount(f"/{kind}", make()) for kind, make in FOREIGN.items()]
    app = make_app(*PLUGINS, routes=[*make_routes(), *mounts])
    with serve(app) as base:
        yield str(base)


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_foreign_app_mounted_in_lamina(kind: str, lamina_hosting: str) -> None:
    base = lamina_hosting
    hello = httpx.get(f"{base}/{kind}/hello/ann")
    assert hello.status_code == 200
    assert hello.json() == {"name": "ann", "url": f"/{kind}/hello/ann"}
    redirect = httpx.get(f"{base}/{kind}/go")
    assert redirect.status_code == 302
    assert httpx.URL(base).join(redirect.headers["location"]).path == f"/{kind}/hello/x"
    assert httpx.get(f"{base}/{kind}/go", follow_redirects=True).json()["name"] == "x"
    with httpx.stream("GET", f"{base}/{kind}/stream") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert [line for line in stream.iter_lines() if line] == ["data: 0", "data: 1", "data: 2"]
    # Lamina's own routes beside the mount are untouched
    assert httpx.get(f"{base}/users/5").json() == {"id": "5"}
    if kind != "flask":
        with connect(base.replace("http", "ws", 1) + f"/{kind}/ws") as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "star: hi"


# ---------------------------------------------------------------- Lamina inside them


def in_starlette(lamina: Lamina) -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Mount as StarletteMount

    return Starlette(routes=[StarletteMount("/lam", app=lamina)])


def in_fastapi(lamina: Lamina) -> Any:
    app = FastAPI()
    app.mount("/lam", lamina)
    return app


def in_flask(lamina: Lamina) -> Any:
    import flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    app = flask.Flask("eco_flask_host")
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/lam": ASGIMiddleware(lamina)})  # type: ignore[method-assign]
    return WSGIMiddleware(app)


PARENTS = {"starlette": in_starlette, "fastapi": in_fastapi, "flask": in_flask}


@pytest.fixture(scope="module", params=list(PARENTS))
def hosted_lamina(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    from tests.helpers.servers import serve

    with serve(PARENTS[request.param](lamina_app())) as base:
        yield request.param, str(base)


def test_lamina_mounted_in_a_foreign_app(hosted_lamina: tuple[str, str]) -> None:
    parent, base = hosted_lamina
    assert httpx.get(f"{base}/lam/users/5").json() == {"id": "5"}
    assert httpx.get(f"{base}/lam/api/items/6").json() == {"item": 6}
    link = httpx.get(f"{base}/lam/link/9").json()
    assert link == {"url": f"{base}/lam/users/9", "base": f"{base}/lam/"}
    redirect = httpx.get(f"{base}/lam/go/9")
    assert redirect.status_code == 307
    assert redirect.headers["location"] == f"{base}/lam/users/9"
    assert httpx.get(f"{base}/lam/go/9", follow_redirects=True).json() == {"id": "9"}
    # the routing plugin's trailing-slash redirect stays under the prefix too
    slashed = httpx.get(f"{base}/lam/users/9/")
    assert slashed.status_code == 307
    assert slashed.headers["location"] == f"{base}/lam/users/9"
    assert httpx.get(f"{base}/lam/nope").status_code == 404
    with httpx.stream("GET", f"{base}/lam/events/news") as stream:
        lines = [line for line in stream.iter_lines() if line.startswith("data")]
    assert lines == ["data: news", "data: news 1", "data: news 2"]
    if parent != "flask":
        with connect(base.replace("http", "ws", 1) + "/lam/ws/lobby") as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "lobby: hi"
