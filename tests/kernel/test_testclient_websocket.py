"""The test client speaks the ASGI WebSocket protocol, on asyncio and trio."""

from __future__ import annotations

import json

import anyio
import pytest
from lamina.testclient import (
    AsyncTestClient,
    TestClient,
    WebSocketDenialResponse,
    WebSocketDisconnect,
)

BACKENDS = ["asyncio", "trio"]


async def echo_app(scope, receive, send):
    """Accepts (choosing the last offered subprotocol), echoes until the client leaves."""
    assert scope["type"] == "websocket"
    message = await receive()
    assert message["type"] == "websocket.connect"
    chosen = scope["subprotocols"][-1] if scope["subprotocols"] else None
    await send(
        {"type": "websocket.accept", "subprotocol": chosen, "headers": [(b"x-accepted", b"yes")]}
    )
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            echo_app.last_disconnect = message
            return
        if message.get("text") == "close-me":
            await send({"type": "websocket.close", "code": 4001, "reason": "asked to"})
            return
        if message.get("text") == "scope":
            info = {
                "path": scope["path"],
                "root_path": scope["root_path"],
                "scheme": scope["scheme"],
                "client": list(scope["client"]),
                "query": scope["query_string"].decode(),
                "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
            }
            await send({"type": "websocket.send", "text": json.dumps(info)})
        elif message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


@pytest.mark.parametrize("backend", BACKENDS)
def test_echo_text_bytes_json_and_subprotocol(backend):
    client = TestClient(echo_app, backend=backend)
    with client.websocket_connect("/ws", subprotocols=["v1", "v2"]) as ws:
        assert ws.accepted_subprotocol == "v2"
        assert (b"x-accepted", b"yes") in ws.extra_headers
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_bytes() == b"\x00\x01"
        ws.send_json({"a": [1, 2]})
        assert ws.receive_json() == {"a": [1, 2]}
        ws.send_json({"b": "é"}, mode="binary")
        assert ws.receive_json(mode="binary") == {"b": "é"}
    assert echo_app.last_disconnect["code"] == 1000


def test_scope_carries_path_query_root_path_client_and_cookies():
    client = TestClient(echo_app, root_path="/api", client=("10.1.2.3", 1234))
    client.cookies.set("sid", "abc")
    with client.websocket_connect("/ws/room?x=1", headers={"x-token": "t"}) as ws:
        ws.send_text("scope")
        info = ws.receive_json()
    assert info["path"] == "/api/ws/room"
    assert info["root_path"] == "/api"
    assert info["scheme"] == "ws"
    assert info["client"] == ["10.1.2.3", 1234]
    assert info["query"] == "x=1"
    assert info["headers"]["x-token"] == "t"
    assert info["headers"]["cookie"] == "sid=abc"
    assert info["headers"]["upgrade"] == "websocket"
    assert info["headers"]["sec-websocket-version"] == "13"


def test_client_close_sends_code_and_reason():
    client = TestClient(echo_app)
    with client.websocket_connect("/ws") as ws:
        ws.close(4000, "bye")
    assert echo_app.last_disconnect == {
        "type": "websocket.disconnect",
        "code": 4000,
        "reason": "bye",
    }


def test_app_close_raises_disconnect_on_receive():
    client = TestClient(echo_app)
    with client.websocket_connect("/ws") as ws:
        ws.send_text("close-me")
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert (info.value.code, info.value.reason) == (4001, "asked to")


@pytest.mark.parametrize("reason", ["é" * 62, "x" * 124])
def test_a_close_reason_longer_than_a_frame_holds_is_refused(reason):
    """A server cannot send it: uvicorn drops the connection, wsproto cuts it. The test client
    refuses it, so the app's bug shows in its own tests."""

    async def wordy(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4000, "reason": reason})

    refused = "close reason of 124 bytes; a close frame holds 123"
    session = TestClient(wordy).websocket_connect("/ws")
    with pytest.raises(RuntimeError, match=refused), session as ws:
        ws.receive()


def test_a_close_reason_of_exactly_123_bytes_goes_through():
    async def full(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4000, "reason": "é" * 61 + "x"})

    with TestClient(full).websocket_connect("/ws") as ws:
        assert ws.receive()["reason"] == "é" * 61 + "x"


@pytest.mark.parametrize("backend", BACKENDS)
def test_handshake_rejected_by_close(backend):
    async def refuse(scope, receive, send):
        await receive()
        await send({"type": "websocket.close", "code": 1008, "reason": "no"})

    client = TestClient(refuse, backend=backend)
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws"):
        pass  # pragma: no cover - never entered
    assert info.value.code == 1008
    assert info.value.reason == "no"


def test_handshake_denied_with_http_response():
    async def deny(scope, receive, send):
        assert "websocket.http.response" in scope["extensions"]
        await receive()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": b"for", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"bidden"})

    with pytest.raises(WebSocketDenialResponse) as info, TestClient(deny).websocket_connect("/ws"):
        pass  # pragma: no cover
    assert info.value.status_code == 403
    assert info.value.response.text == "forbidden"


def test_app_exception_is_raised_in_the_test():
    async def broken(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise ValueError("boom in endpoint")

    client = TestClient(broken)
    with pytest.raises(ValueError, match="boom in endpoint"), client.websocket_connect("/ws") as ws:
        ws.send_text("x")
        ws.receive_text()


def test_app_exception_becomes_1011_without_raise_server_exceptions():
    async def broken(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise ValueError("boom")

    client = TestClient(broken, raise_server_exceptions=False)
    with client.websocket_connect("/ws") as ws:
        ws.send_text("x")
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 1011


def test_app_that_ignores_disconnect_is_cancelled_after_close_timeout():
    cancelled = []

    async def stubborn(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.append(True)
            raise

    with TestClient(stubborn).websocket_connect("/ws", close_timeout=0.05):
        pass
    assert cancelled == [True]


def test_websocket_inside_client_context_sees_lifespan_state():
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            scope["state"]["greeting"] = "hi from lifespan"
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": scope["state"]["greeting"]})
        await receive()

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "hi from lifespan"


@pytest.mark.parametrize("anyio_backend", BACKENDS)
@pytest.mark.anyio
async def test_async_client_websocket(anyio_backend):
    async with (
        AsyncTestClient(echo_app) as client,
        client.websocket_connect("/ws", subprotocols=["chat"]) as ws,
    ):
        assert ws.accepted_subprotocol == "chat"
        await ws.send_text("ping")
        assert await ws.receive_text() == "ping"
        await ws.send_bytes(b"b")
        assert await ws.receive_bytes() == b"b"
        await ws.send_json([1])
        assert await ws.receive_json() == [1]
        await ws.send_text("close-me")
        with pytest.raises(WebSocketDisconnect):
            await ws.receive_text()
