"""The WebSocket object and the protocol handler, through the kernel's test client."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from lamina import HTTPConnection, HTTPException, Middleware, PlainTextResponse, SettingsError
from lamina import WebSocketException as KernelWebSocketException
from lamina.testclient import WebSocketDenialResponse, WebSocketDisconnect
from lamina_websocket import WebSocket, WebSocketException, WebSocketState
from ws_harness import client_for, single_endpoint_app, without_http_response_extension


def test_echo_text_bytes_and_json() -> None:
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())
        await ws.send_bytes(await ws.receive_bytes())
        await ws.send_json(await ws.receive_json())
        await ws.send_json(await ws.receive_json(mode="binary"), mode="binary")
        await ws.close()

    with client_for(single_endpoint_app(echo)) as client, client.websocket_connect("/") as ws:
        ws.send_text("héllo")
        assert ws.receive_text() == "héllo"
        ws.send_bytes(b"\x00\xff")
        assert ws.receive_bytes() == b"\x00\xff"
        ws.send_json({"a": [1, 2]})
        assert ws.receive_json() == {"a": [1, 2]}
        ws.send_json({"b": "é"}, mode="binary")
        assert ws.receive_bytes() == '{"b":"é"}'.encode()
        assert ws.receive()["type"] == "websocket.close"


def test_iterators_end_when_the_client_leaves() -> None:
    seen: list[Any] = []

    async def collect(ws: WebSocket) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            seen.append(text)
            if text == "switch":
                break
        async for data in ws.iter_json():
            seen.append(data)
        assert ws.client_state is WebSocketState.DISCONNECTED

    with client_for(single_endpoint_app(collect)) as client:
        with client.websocket_connect("/") as ws:
            ws.send_text("a")
            ws.send_text("switch")
            ws.send_json([1])
    assert seen == ["a", "switch", [1]]


def test_iter_bytes() -> None:
    seen: list[bytes] = []

    async def collect(ws: WebSocket) -> None:
        await ws.accept()
        async for data in ws.iter_bytes():
            seen.append(data)

    with client_for(single_endpoint_app(collect)) as client:
        with client.websocket_connect("/") as ws:
            ws.send_bytes(b"x")
            ws.send_bytes(b"y")
    assert seen == [b"x", b"y"]


def test_accept_with_subprotocol_and_headers() -> None:
    async def chat(ws: WebSocket) -> None:
        assert ws.subprotocols == ["v2.chat", "v1.chat"]
        await ws.accept(subprotocol="v1.chat", headers={"X-Room": "lobby"})
        await ws.send_text("ok")
        await ws.close()

    with client_for(single_endpoint_app(chat)) as client:
        with client.websocket_connect("/", subprotocols=["v2.chat", "v1.chat"]) as ws:
            assert ws.accepted_subprotocol == "v1.chat"
            assert (b"x-room", b"lobby") in ws.extra_headers
            assert ws.receive_text() == "ok"


def test_accept_refuses_header_injection() -> None:
    async def bad(ws: WebSocket) -> None:
        await ws.accept(headers={"x": "a\r\nset-cookie: evil"})

    with client_for(single_endpoint_app(bad)) as client, pytest.raises(ValueError, match="CR"):
        client.websocket_connect("/").__enter__()


def test_it_is_an_http_connection() -> None:
    async def info(ws: WebSocket) -> None:
        assert isinstance(ws, HTTPConnection)
        await ws.accept()
        ws.state.visits = 1
        await ws.send_json({
            "url": str(ws.url), "q": ws.query_params["q"], "cookie": ws.cookies["c"],
            "header": ws.headers["x-h"], "state": ws.state.visits,
        })
        await ws.close()

    with client_for(single_endpoint_app(info)) as client:
        with client.websocket_connect("/ws?q=1", headers={"x-h": "v", "cookie": "c=3"}) as ws:
            assert ws.receive_json() == {"url": "ws://testserver/ws?q=1", "q": "1",
                                         "cookie": "3", "header": "v", "state": 1}


def test_a_websocket_scope_is_required() -> None:
    with pytest.raises(ValueError, match="websocket"):
        WebSocket({"type": "http"}, None, None)  # type: ignore[arg-type]


def test_send_before_accept_is_a_clear_error() -> None:
    async def early(ws: WebSocket) -> None:
        await ws.send_text("too soon")

    with client_for(single_endpoint_app(early)) as client:
        with pytest.raises(RuntimeError, match=r"call accept\(\) first"):
            client.websocket_connect("/").__enter__()


def test_raw_send_before_accept_is_a_clear_error() -> None:
    async def early(ws: WebSocket) -> None:
        await ws.send({"type": "websocket.send", "text": "x"})

    with client_for(single_endpoint_app(early)) as client:
        with pytest.raises(RuntimeError, match=r"before the connection is accepted"):
            client.websocket_connect("/").__enter__()


def test_send_after_close_is_a_clear_error() -> None:
    async def late(ws: WebSocket) -> None:
        await ws.accept()
        await ws.close()
        await ws.send_text("too late")

    with client_for(single_endpoint_app(late)) as client:
        with pytest.raises(RuntimeError, match="already closed"):  # noqa: PT012
            with client.websocket_connect("/") as ws:
                ws.receive()


def test_accept_twice_is_a_clear_error() -> None:
    async def twice(ws: WebSocket) -> None:
        await ws.accept()
        await ws.accept()

    with client_for(single_endpoint_app(twice)) as client:
        with pytest.raises(RuntimeError, match="twice"), client.websocket_connect("/"):
            pass


def test_receive_after_disconnect_is_a_clear_error() -> None:
    errors: list[str] = []

    async def after(ws: WebSocket) -> None:
        await ws.accept()
        message = await ws.receive()
        assert message["type"] == "websocket.disconnect"
        try:
            await ws.receive()
        except RuntimeError as exc:
            errors.append(str(exc))

    with client_for(single_endpoint_app(after)) as client, client.websocket_connect("/"):
        pass
    assert errors == ["cannot receive: the client already disconnected"]


def test_state_reflects_both_directions() -> None:
    states: list[tuple[WebSocketState, WebSocketState, bool]] = []

    async def track(ws: WebSocket) -> None:
        states.append((ws.client_state, ws.application_state, ws.connected))
        await ws.accept()
        states.append((ws.client_state, ws.application_state, ws.connected))
        await ws.close()
        states.append((ws.client_state, ws.application_state, ws.connected))

    with client_for(single_endpoint_app(track)) as client, client.websocket_connect("/") as ws:
        ws.receive()
    C, OK, D = WebSocketState.CONNECTING, WebSocketState.CONNECTED, WebSocketState.DISCONNECTED
    assert states == [(C, C, False), (OK, OK, True), (OK, D, False)]


def test_wrong_frame_kind_closes_1003() -> None:
    async def wants_text(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()

    with client_for(single_endpoint_app(wants_text)) as client:
        with client.websocket_connect("/") as ws:
            ws.send_bytes(b"binary")
            message = ws.receive()
    assert (message["type"], message["code"]) == ("websocket.close", 1003)


def test_invalid_json_closes_1003() -> None:
    async def wants_json(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_json()

    with client_for(single_endpoint_app(wants_json)) as client:
        with client.websocket_connect("/") as ws:
            ws.send_text("{nope")
            message = ws.receive()
    assert (message["code"], message["reason"]) == (1003, "invalid JSON")


def test_send_json_refuses_nan() -> None:
    async def nan(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json(float("nan"))

    with client_for(single_endpoint_app(nan)) as client:
        with pytest.raises(ValueError), client.websocket_connect("/") as ws:  # noqa: PT012
            ws.receive()


def test_websocket_exception_is_the_kernel_one() -> None:
    assert WebSocketException is KernelWebSocketException


@pytest.mark.parametrize("accept_first", [False, True])
def test_websocket_exception_closes_with_code_and_reason(accept_first: bool) -> None:
    async def refuse(ws: WebSocket) -> None:
        if accept_first:
            await ws.accept()
        raise WebSocketException(4001, "not today")

    with client_for(single_endpoint_app(refuse)) as client:
        with pytest.raises(WebSocketDisconnect) as info:  # noqa: PT012
            with client.websocket_connect("/") as ws:
                ws.receive_text()
    assert (info.value.code, info.value.reason) == (4001, "not today")


def test_http_exception_before_accept_is_an_http_denial() -> None:
    async def deny(ws: WebSocket) -> None:
        raise HTTPException(401, "log in first", headers={"WWW-Authenticate": "Bearer"})

    with client_for(single_endpoint_app(deny)) as client:
        with pytest.raises(WebSocketDenialResponse) as info:
            client.websocket_connect("/").__enter__()
    response = info.value.response
    assert response.status_code == 401
    assert response.text == "log in first"
    assert response.headers["www-authenticate"] == "Bearer"


def test_http_exception_without_the_extension_is_a_403_close() -> None:
    async def deny(ws: WebSocket) -> None:
        raise HTTPException(403)

    app = single_endpoint_app(deny, middleware=[Middleware(without_http_response_extension)])
    with client_for(app) as client, pytest.raises(WebSocketDisconnect) as info:
        client.websocket_connect("/").__enter__()
    assert info.value.code == 1008


def test_http_exception_after_accept_closes_with_policy_violation() -> None:
    async def late(ws: WebSocket) -> None:
        await ws.accept()
        raise HTTPException(403, "forbidden room")

    with client_for(single_endpoint_app(late)) as client, client.websocket_connect("/") as ws:
        message = ws.receive()
    assert (message["code"], message["reason"]) == (1008, "forbidden room")


def test_send_denial_response() -> None:
    async def deny(ws: WebSocket) -> None:
        await ws.send_denial_response(PlainTextResponse("go away", status_code=429))

    with client_for(single_endpoint_app(deny)) as client:
        with pytest.raises(WebSocketDenialResponse) as info:
            client.websocket_connect("/").__enter__()
    assert (info.value.status_code, info.value.response.text) == (429, "go away")

    app = single_endpoint_app(deny, middleware=[Middleware(without_http_response_extension)])
    with client_for(app) as client, pytest.raises(WebSocketDisconnect) as closed:
        client.websocket_connect("/").__enter__()
    assert closed.value.code == 1008


def test_unhandled_error_after_accept_closes_1011(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(ws: WebSocket) -> None:
        await ws.accept()
        raise ZeroDivisionError

    app = single_endpoint_app(broken)
    with caplog.at_level(logging.ERROR, "lamina.websocket"):
        with client_for(app, raise_server_exceptions=False) as client:
            with client.websocket_connect("/") as ws:
                message = ws.receive()
    assert message["code"] == 1011
    assert "unhandled exception in WebSocket" in caplog.text


def test_unhandled_error_before_accept_is_a_500() -> None:
    async def broken(ws: WebSocket) -> None:
        raise ZeroDivisionError

    with client_for(single_endpoint_app(broken), raise_server_exceptions=False) as client:
        with pytest.raises(WebSocketDenialResponse) as info:
            client.websocket_connect("/").__enter__()
    assert info.value.status_code == 500
    with client_for(single_endpoint_app(broken)) as client:
        with pytest.raises(ZeroDivisionError):
            client.websocket_connect("/").__enter__()


def test_returning_without_close_closes_normally() -> None:
    async def quiet(ws: WebSocket) -> None:
        await ws.accept()

    with client_for(single_endpoint_app(quiet)) as client, client.websocket_connect("/") as ws:
        assert ws.receive()["code"] == 1000


def test_returning_before_accept_refuses_the_handshake() -> None:
    async def nothing(ws: WebSocket) -> None:
        return None

    with client_for(single_endpoint_app(nothing)) as client:
        with pytest.raises(WebSocketDisconnect) as info:
            client.websocket_connect("/").__enter__()
    assert info.value.code == 1000


def test_close_reason_is_cut_to_what_a_frame_holds() -> None:
    async def wordy(ws: WebSocket) -> None:
        await ws.accept()
        await ws.close(4000, "é" * 100)

    with client_for(single_endpoint_app(wordy)) as client, client.websocket_connect("/") as ws:
        message = ws.receive()
    assert len(message["reason"].encode()) <= 123 and message["reason"].startswith("éé")


def test_message_size_limit_closes_1009() -> None:
    received: list[str] = []

    async def small(ws: WebSocket) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            received.append(text)

    app = single_endpoint_app(small, max_message_size=10)
    with client_for(app) as client, client.websocket_connect("/") as ws:
        ws.send_text("x" * 10)
        ws.send_text("é" * 6)  # 6 characters, 12 bytes
        message = ws.receive()
    assert (message["type"], message["code"]) == ("websocket.close", 1009)
    assert received == ["x" * 10]

    with client_for(app) as client, client.websocket_connect("/") as ws:
        ws.send_bytes(b"y" * 11)
        assert ws.receive()["code"] == 1009


def test_message_size_limit_can_be_lifted() -> None:
    async def echo_len(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(str(len(await ws.receive_bytes())))

    app = single_endpoint_app(echo_len, max_message_size=None)
    with client_for(app) as client, client.websocket_connect("/") as ws:
        ws.send_bytes(b"z" * (5 * 1024 * 1024))
        assert ws.receive_text() == str(5 * 1024 * 1024)


def test_default_limit_is_4_mib() -> None:
    async def echo_len(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(str(len(await ws.receive_bytes())))

    app = single_endpoint_app(echo_len)
    with client_for(app) as client:
        with client.websocket_connect("/") as ws:
            ws.send_bytes(b"z" * (4 * 1024 * 1024))
            assert ws.receive_text() == str(4 * 1024 * 1024)
        with client.websocket_connect("/") as ws:
            ws.send_bytes(b"z" * (4 * 1024 * 1024 + 1))
            assert ws.receive()["code"] == 1009


def test_settings_are_validated() -> None:
    with pytest.raises(SettingsError, match="max_message_size"):
        single_endpoint_app(lambda ws: None, max_message_size=0)
    with pytest.raises(SettingsError, match="max_message_size"):
        single_endpoint_app(lambda ws: None, max_message_size="big")
