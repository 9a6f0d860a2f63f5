"""Endpoints: async, sync (worker thread), class-based, raw ASGI; per-route middleware."""

from __future__ import annotations

import functools
import threading

import pytest
from lamina import JSONResponse, Middleware, PlainTextResponse, Request
from lamina_routing import HTTPEndpoint, Mount, Route
from routing_helpers import client


def test_async_and_sync_functions() -> None:
    async def a(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"async {request.path_params['n']}")

    def s(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"sync {request.path_params['n']}")

    with client([Route("/a/{n:int}", a), Route("/s/{n:int}", s)]) as c:
        assert c.get("/a/1").text == "async 1"
        assert c.get("/s/3").text == "sync 3"


def test_sync_endpoint_runs_in_a_worker_thread_not_the_loop() -> None:
    loop_threads: list[int] = []

    async def loop_id(request: Request) -> PlainTextResponse:
        loop_threads.append(threading.get_ident())
        return PlainTextResponse("")

    def worker_id(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(threading.get_ident()))

    with client([Route("/loop", loop_id), Route("/worker", worker_id)]) as c:
        c.get("/loop")
        assert int(c.get("/worker").text) != loop_threads[0]


def test_partial_and_callable_objects() -> None:
    async def greet(request: Request, *, who: str) -> PlainTextResponse:
        return PlainTextResponse(f"hi {who}")

    class Callable_:
        async def __call__(self, request: Request) -> PlainTextResponse:
            return PlainTextResponse("instance")

    routes = [
        Route("/p", functools.partial(greet, who="ann")),
        Route("/c", Callable_(), asgi=False),
    ]
    with client(routes) as c:
        assert c.get("/p").text == "hi ann"
        assert c.get("/c").text == "instance"


def test_class_based_endpoint() -> None:
    class Items(HTTPEndpoint):
        async def get(self, request: Request) -> JSONResponse:
            return JSONResponse({"id": request.path_params["id"], "same": self.request is request})

        def put(self, request: Request) -> PlainTextResponse:
            return PlainTextResponse("put", status_code=201)

    with client([Route("/items/{id:int}", Items)]) as c:
        assert c.get("/items/1").json() == {"id": 1, "same": True}
        assert c.put("/items/1").status_code == 201
        r = c.post("/items/1")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, PUT, OPTIONS"
        assert c.head("/items/1").content == b""


def test_class_endpoint_methods_must_exist() -> None:
    class OnlyGet(HTTPEndpoint):
        async def get(self, request: Request) -> PlainTextResponse:
            return PlainTextResponse("")

    with pytest.raises(ValueError, match="POST"):
        Route("/x", OnlyGet, methods=["POST"])

    class Nothing(HTTPEndpoint):
        pass

    with pytest.raises(ValueError, match="defines no HTTP verb"):
        Route("/x", Nothing)


def test_raw_asgi_endpoint_detected_and_explicit() -> None:
    class App:
        async def __call__(self, scope, receive, send):
            await PlainTextResponse(f"asgi {scope['method']}")(scope, receive, send)

    async def asgi_function(scope, receive, send):
        await PlainTextResponse("fn")(scope, receive, send)

    async def by_name(scope, receive, send):
        await PlainTextResponse("detected")(scope, receive, send)

    routes = [
        Route("/obj", App()),
        Route("/fn", asgi_function, asgi=True, methods=["POST"]),
        Route("/auto", by_name),
    ]
    with client(routes) as c:
        assert c.get("/obj").text == "asgi GET"
        assert c.delete("/obj").text == "asgi DELETE"  # every method by default
        assert c.post("/fn").text == "fn"
        assert c.get("/fn").status_code == 405
        assert c.put("/auto").text == "detected"  # (scope, receive, send): every method


def test_endpoint_returning_none_is_a_clear_500() -> None:
    async def forgot(request: Request) -> None:
        return None

    with client([Route("/f", forgot)]) as c, pytest.raises(TypeError, match="forgot returned None"):
        c.get("/f")


def _tag_middleware(app, *, tag: str):
    async def mw(scope, receive, send):
        async def tag_send(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-tag", tag.encode())]}
            await send(message)

        await app(scope, receive, tag_send)

    return mw


def test_per_route_and_per_mount_middleware() -> None:
    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    def factory(app):
        return _tag_middleware(app, tag="factory")

    routes = [
        Route("/tagged", ok, middleware=[Middleware(_tag_middleware, tag="route")]),
        Route("/plain", ok),
        Route("/fact", ok, middleware=[factory]),
        Mount("/m", [Route("/x", ok)], middleware=[Middleware(_tag_middleware, tag="mount")]),
    ]
    with client(routes) as c:
        assert c.get("/tagged").headers["x-tag"] == "route"
        assert "x-tag" not in c.get("/plain").headers
        assert c.get("/fact").headers["x-tag"] == "factory"
        assert c.get("/m/x").headers["x-tag"] == "mount"
        assert c.head("/tagged").headers["x-tag"] == "route"


def test_per_route_max_body_size() -> None:
    async def upload(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    routes = [
        Route("/small", upload, methods=["POST"], max_body_size=10),
        Route("/unlimited", upload, methods=["POST"], max_body_size=None),
        Route("/default", upload, methods=["POST"]),
    ]
    with client(routes) as c:
        assert c.post("/small", content=b"x" * 10).text == "10"
        assert c.post("/small", content=b"x" * 11).status_code == 413
        assert c.post("/unlimited", content=b"x" * 2048).text == "2048"
        assert c.post("/default", content=b"x" * 2048).text == "2048"
