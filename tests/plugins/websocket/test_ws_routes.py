"""WebSocketRoute under the real router, and class-based endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from lamina import HTTPException, URLPath, WebSocketException
from lamina.testclient import WebSocketDisconnect
from lamina.testing import make_app
from lamina_routing import Mount, Route
from lamina_websocket import WebSocket, WebSocketEndpoint, WebSocketRoute


def app_with(*routes: Any, **settings: Any) -> Any:
    return make_app(
        "routing",
        "websocket",
        routes=list(routes),
        settings={"websocket": settings} if settings else None,
    )


async def room(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_json({"room": ws.path_params["name"], "n": ws.path_params["n"]})
    await ws.close()


def test_path_params_and_converters(start: Any) -> None:
    client = start(app_with(WebSocketRoute("/rooms/{name}/{n:int}", room, name="room")))
    with client.websocket_connect("/rooms/lobby/7") as ws:
        assert ws.receive_json() == {"room": "lobby", "n": 7}


def test_unknown_path_refuses_the_handshake(start: Any) -> None:
    client = start(app_with(WebSocketRoute("/rooms/{name}", room)))
    with pytest.raises(WebSocketDisconnect):
        client.websocket_connect("/nowhere").__enter__()


def test_websocket_route_is_not_served_over_http(start: Any) -> None:
    async def home(request: Any) -> Any:
        from lamina import PlainTextResponse

        return PlainTextResponse("http")

    client = start(app_with(WebSocketRoute("/live", room), Route("/", home)))
    assert client.get("/live").status_code == 404
    assert client.get("/").text == "http"


def test_reverse_routing_gives_a_websocket_url(start: Any) -> None:
    async def where(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(str(ws.url_for("room", name="lobby", n=3)))
        await ws.close()

    app = app_with(
        WebSocketRoute("/rooms/{name}/{n:int}", room, name="room"), WebSocketRoute("/where", where)
    )
    path = app.url_path_for("room", name="lobby", n=3)
    assert isinstance(path, URLPath)
    assert (str(path), path.protocol) == ("/rooms/lobby/3", "websocket")
    assert str(path.make_absolute_url("https://example.com")) == "wss://example.com/rooms/lobby/3"
    client = start(app)
    with client.websocket_connect("/where") as ws:
        assert ws.receive_text() == "ws://testserver/rooms/lobby/3"


def test_default_name_is_the_function_name() -> None:
    app = app_with(WebSocketRoute("/rooms/{name}/{n:int}", room))
    assert str(app.url_path_for("room", name="a", n=1)) == "/rooms/a/1"


def test_mounted_websocket_route(start: Any) -> None:
    app = app_with(
        Mount(
            "/chat",
            routes=[WebSocketRoute("/rooms/{name}/{n:int}", room, name="room")],
            name="chat",
        )
    )
    path = app.url_path_for("chat:room", name="x", n=1)
    assert (str(path), path.protocol) == ("/chat/rooms/x/1", "websocket")
    client = start(app)
    with client.websocket_connect("/chat/rooms/x/1") as ws:
        assert ws.receive_json() == {"room": "x", "n": 1}


def test_per_route_message_size_limit(start: Any) -> None:
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            await ws.send_text(text)

    client = start(
        app_with(
            WebSocketRoute("/small", echo, name="small", max_message_size=4),
            WebSocketRoute("/big", echo, name="big"),
            max_message_size=8,
        )
    )
    with client.websocket_connect("/small") as ws:
        ws.send_text("12345")
        assert ws.receive()["code"] == 1009
    with client.websocket_connect("/big") as ws:
        ws.send_text("12345678")
        assert ws.receive_text() == "12345678"
        ws.send_text("123456789")
        assert ws.receive()["code"] == 1009


def test_route_middleware_wraps_only_that_route(start: Any) -> None:
    def tag(app: Any) -> Any:
        async def tagged(scope: Any, receive: Any, send: Any) -> None:
            scope["tag"] = "yes"
            await app(scope, receive, send)

        return tagged

    async def show(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(ws.scope.get("tag", "no"))
        await ws.close()

    client = start(
        app_with(
            WebSocketRoute("/a", show, name="a", middleware=[tag]),
            WebSocketRoute("/b", show, name="b"),
        )
    )
    with client.websocket_connect("/a") as ws:
        assert ws.receive_text() == "yes"
    with client.websocket_connect("/b") as ws:
        assert ws.receive_text() == "no"


def test_raw_asgi_endpoint(start: Any) -> None:
    async def raw(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": scope["path"]})
        await send({"type": "websocket.close", "code": 1000})

    client = start(app_with(WebSocketRoute("/raw", raw, asgi=True)))
    with client.websocket_connect("/raw") as ws:
        assert ws.receive_text() == "/raw"


def test_sync_endpoint_is_refused() -> None:
    def sync(ws: WebSocket) -> None: ...

    with pytest.raises(TypeError, match="async function"):
        WebSocketRoute("/s", sync)
    with pytest.raises(ValueError, match="starting with '/'"):
        WebSocketRoute("s", room)


# ------------------------------------------------------------------ class-based endpoints
class Recorder(WebSocketEndpoint):
    log: list[Any] = []

    async def on_connect(self, websocket: WebSocket) -> None:
        self.log.append(("connect", websocket.path_params.get("who")))
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        self.log.append(("receive", data))
        await websocket.send_text(f"got {data!r}")

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        self.log.append(("disconnect", close_code))


@pytest.mark.parametrize(
    ("encoding", "send", "expected"),
    [
        ("text", ("text", "hi"), "hi"),
        ("bytes", ("bytes", b"\x01"), b"\x01"),
        ("json", ("text", '{"a":1}'), {"a": 1}),
        ("json", ("bytes", b"[2]"), [2]),
    ],
)
def test_class_endpoint_decodes_per_encoding(
    start: Any, encoding: str, send: tuple[str, Any], expected: Any
) -> None:
    endpoint = type("E", (Recorder,), {"encoding": encoding, "log": []})
    client = start(app_with(WebSocketRoute("/e/{who}", endpoint)))
    with client.websocket_connect("/e/ann") as ws:
        ws.send({"type": "websocket.receive", send[0]: send[1]})
        assert ws.receive_text() == f"got {expected!r}"
        ws.close(4002)
    assert endpoint.log == [("connect", "ann"), ("receive", expected), ("disconnect", 4002)]


@pytest.mark.parametrize(
    ("encoding", "send"),
    [("text", ("bytes", b"x")), ("bytes", ("text", "x")), ("json", ("text", "{bad"))],
)
def test_class_endpoint_encoding_violation_closes_1003(
    start: Any, encoding: str, send: tuple[str, Any]
) -> None:
    endpoint = type("E", (Recorder,), {"encoding": encoding, "log": []})
    client = start(app_with(WebSocketRoute("/e/{who}", endpoint)))
    with client.websocket_connect("/e/bob") as ws:
        ws.send({"type": "websocket.receive", send[0]: send[1]})
        message = ws.receive()
    assert (message["type"], message["code"]) == ("websocket.close", 1003)
    assert endpoint.log == [("connect", "bob"), ("disconnect", 1003)]


def test_class_endpoint_without_encoding_gets_raw_messages(start: Any) -> None:
    endpoint = type("E", (Recorder,), {"log": []})
    client = start(app_with(WebSocketRoute("/e/{who}", endpoint)))
    with client.websocket_connect("/e/cy") as ws:
        ws.send_text("t")
        ws.receive_text()
    assert endpoint.log[1] == ("receive", {"type": "websocket.receive", "text": "t"})


def test_class_endpoint_error_reports_1011_and_closes(start: Any) -> None:
    class Broken(WebSocketEndpoint):
        encoding = "text"
        codes: list[int] = []

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            raise RuntimeError("broken")

        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            self.codes.append(close_code)

    client = start(app_with(WebSocketRoute("/b", Broken)), raise_server_exceptions=False)
    with client.websocket_connect("/b") as ws:
        ws.send_text("x")
        assert ws.receive()["code"] == 1011
    assert Broken.codes == [1011]


def test_class_endpoint_message_too_big(start: Any) -> None:
    endpoint = type("E", (Recorder,), {"encoding": "text", "log": []})
    client = start(app_with(WebSocketRoute("/e/{who}", endpoint), max_message_size=3))
    with client.websocket_connect("/e/dee") as ws:
        ws.send_text("toolong")
        assert ws.receive()["code"] == 1009
    assert endpoint.log == [("connect", "dee"), ("disconnect", 1009)]


@pytest.mark.parametrize(
    ("exc", "code", "reason"),
    [
        (RuntimeError("boom"), 1011, ""),
        (HTTPException(403), 1008, "Forbidden"),
        (WebSocketException(4403, "not allowed"), 4403, "not allowed"),
    ],
)
def test_raw_asgi_endpoint_errors_after_accept_still_close(
    start: Any, exc: Exception, code: int, reason: str
) -> None:
    """A raw endpoint's progress is unknown to the handler: it closes, never sends HTTP."""

    async def raw(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        raise exc

    client = start(app_with(WebSocketRoute("/raw", raw, asgi=True)), raise_server_exceptions=False)
    with client.websocket_connect("/raw") as ws:
        message = ws.receive()
    assert (message["code"], message["reason"]) == (code, reason)


def test_raw_asgi_endpoint_http_exception_before_accept_closes(start: Any) -> None:
    """Without a WebSocket object the handler cannot know the handshake is still open, so it
    closes (the server answers 403) rather than risk an HTTP response after an accept."""

    async def raw(scope: Any, receive: Any, send: Any) -> None:
        raise HTTPException(401, "log in first")

    client = start(app_with(WebSocketRoute("/raw", raw, asgi=True)))
    with pytest.raises(WebSocketDisconnect) as info:
        client.websocket_connect("/raw").__enter__()
    assert (info.value.code, info.value.reason) == (1008, "log in first")
