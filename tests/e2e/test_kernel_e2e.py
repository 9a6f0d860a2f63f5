"""The kernel under real servers: uvicorn (asyncio), hypercorn (asyncio and trio), httpx.

One app exercises what only a real server shows: lifespan startup and shutdown (and its
state reaching requests), request bodies, errors through middleware, a 500 that leaks
nothing, an error after the response started (the connection ends, the server lives on),
and WebSockets through the protocol plugin (lamina-websocket).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
import sniffio
from lamina import HTTPException, PlainTextResponse, WebSocketException
from lamina.testing import make_app, plugin
from websockets.sync.client import connect

from tests.helpers.apps import TinyRouter, header_middleware
from tests.helpers.servers import serve


def build_app(events: list[str]):
    @asynccontextmanager
    async def lifespan(app):
        events.append("app-start")
        yield {"greeting": "hello from lifespan"}
        events.append("app-stop")

    @asynccontextmanager
    async def plugin_lifespan(app):
        await anyio.sleep(0)
        events.append("plugin-start")
        yield {"backend": sniffio.current_async_library()}
        events.append("plugin-stop")

    def index(request):
        return PlainTextResponse(f"{request.state.greeting} ({request.state.backend})")

    async def echo(request):
        body = await request.body()
        return PlainTextResponse(body[::-1])

    def boom(request):
        raise RuntimeError("private detail")

    def teapot(request):
        raise HTTPException(418, "I'm a teapot")

    class HalfResponse:
        async def __call__(self, scope, receive, send):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"100")],
                }
            )
            await send({"type": "http.response.body", "body": b"partial", "more_body": True})
            raise RuntimeError("failed mid-stream")

    async def ws(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "forbidden":
                raise WebSocketException(4403, "no entry")
            await send({"type": "websocket.send", "text": message["text"].upper()})

    routes = {
        "/": index,
        "/echo": (echo, {"POST"}),
        "/boom": boom,
        "/teapot": teapot,
        "/half": lambda request: HalfResponse(),
        "/ws": ws,
    }
    return make_app(
        plugin("router", lamina_make_router=lambda: TinyRouter(routes)),
        "websocket",  # the protocol plugin: it, not the kernel, turns the exception into a close
        plugin("events", lamina_lifespan=lambda: plugin_lifespan),
        middleware=[header_middleware("x-kernel", "e2e")],
        lifespan=lifespan,
    )


def test_kernel_under_a_real_server(server_kind):
    server, loop = server_kind
    events: list[str] = []
    app = build_app(events)
    with serve(app, server=server, loop=loop) as url:
        assert events == ["plugin-start", "app-start"]
        with httpx.Client(base_url=url, timeout=5) as client:
            response = client.get("/")
            assert response.text == f"hello from lifespan ({loop})"
            assert response.headers["x-kernel"] == "e2e"

            assert client.post("/echo", content=b"abc" * 1000).content == b"cba" * 1000

            missing = client.get("/missing")
            assert (missing.status_code, missing.headers["x-kernel"]) == (404, "e2e")
            wrong = client.get("/echo")
            assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
            assert client.get("/teapot").status_code == 418

            error = client.get("/boom")
            assert (error.status_code, error.text) == (500, "Internal Server Error")
            assert error.headers["x-kernel"] == "e2e"

        # the body stops short of its Content-Length: the client sees a broken response...
        with (
            httpx.Client(base_url=url, timeout=5) as client,
            pytest.raises(httpx.RemoteProtocolError),
        ):
            client.get("/half")
        # ...and the server carries on
        assert httpx.get(url + "/", timeout=5).status_code == 200

        ws_url = url.replace("http://", "ws://") + "/ws"
        with connect(ws_url, open_timeout=5, close_timeout=2) as websocket:
            websocket.send("shout")
            assert websocket.recv(timeout=5) == "SHOUT"
            websocket.send("forbidden")
            with pytest.raises(Exception) as info:
                websocket.recv(timeout=5)
            assert websocket.close_code == 4403, info.value
    assert events == ["plugin-start", "app-start", "app-stop", "plugin-stop"]


def test_startup_failure_is_reported_by_the_server(server_kind):
    server, loop = server_kind

    @asynccontextmanager
    async def broken(app):
        yield 1 / 0

    app = make_app(plugin("db", lamina_lifespan=lambda: broken))
    from tests.helpers.servers import ServerStartupError

    with (
        pytest.raises(ServerStartupError, match="ZeroDivisionError"),
        serve(app, server=server, loop=loop),
    ):
        pass  # pragma: no cover


def test_app_served_from_a_child_process(tmp_path):
    from tests.helpers.servers import serve_subprocess

    (tmp_path / "childapp.py").write_text(
        "from lamina import PlainTextResponse\n"
        "from lamina.testing import make_app, plugin\n"
        "async def router(scope, receive, send):\n"
        "    await PlainTextResponse('from the child')(scope, receive, send)\n"
        "app = make_app(plugin('r', lamina_make_router=lambda: router))\n"
    )
    with serve_subprocess("childapp:app", server="hypercorn", loop="trio", cwd=str(tmp_path)) as (
        url,
        process,
    ):
        assert httpx.get(url, timeout=5).text == "from the child"
        assert process.poll() is None
    assert process.poll() is not None
