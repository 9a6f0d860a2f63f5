"""The WebSocket object and the protocol handler, through the kernel's test client."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lamina import HTTPConnection, HTTPException, Middleware, PlainTextResponse, SettingsError
from lamina import WebSocketException as KernelWebSocketException
from lamina.testclient import WebSocketDenialResponse, WebSocketDisconnect
from lamina_websocket import WebSocket, WebSocketException, WebSocketState
from lamina_websocket._connection import MAX_CLOSE_REASON_BYTES, close_reason
from ws_harness import single_endpoint_app, without_http_response_extension


def test_echo_text_bytes_and_json(start: Any) -> None:
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())
        await ws.send_bytes(await ws.receive_bytes())
        await ws.send_json(await ws.receive_json())
        await ws.send_json(await ws.receive_json(mode="binary"), mode="binary")
        await ws.close()

    client = start(single_endpoint_app(echo))
    with client.websocket_connect("/") as ws:
        ws.send_text("héllo")
        assert ws.receive_text() == "héllo"
        ws.send_bytes(b"\x00\xff")
        assert ws.receive_bytes() == b"\x00\xff"
        ws.send_json({"a": [1, 2]})
        assert ws.receive_json() == {"a": [1, 2]}
        ws.send_json({"b": "é"}, mode="binary")
        assert ws.receive_bytes() == '{"b":"é"}'.encode()
        assert ws.receive()["type"] == "websocket.close"


def test_iterators_end_when_the_client_leaves(start: Any) -> None:
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

    client = start(single_endpoint_app(collect))
    with client.websocket_connect("/") as ws:
        ws.send_text("a")
        ws.send_text("switch")
        ws.send_json([1])
    assert seen == ["a", "switch", [1]]


def test_iter_bytes(start: Any) -> None:
    seen: list[bytes] = []

    async def collect(ws: WebSocket) -> None:
        await ws.accept()
        async for data in ws.iter_bytes():
            seen.append(data)

    client = start(single_endpoint_app(collect))
    with client.websocket_connect("/") as ws:
        ws.send_bytes(b"x")
        ws.send_bytes(b"y")
    assert seen == [b"x", b"y"]


def test_accept_with_subprotocol_and_headers(start: Any) -> None:
    async def chat(ws: WebSocket) -> None:
        assert ws.subprotocols == ["v2.chat", "v1.chat"]
        await ws.accept(subprotocol="v1.chat", headers={"X-Room": "lobby"})
        await ws.send_text("ok")
        await ws.close()

    client = start(single_endpoint_app(chat))
    with client.websocket_connect("/", subprotocols=["v2.chat", "v1.chat"]) as ws:
        assert ws.accepted_subprotocol == "v1.chat"
        assert (b"x-room", b"lobby") in ws.extra_headers
        assert ws.receive_text() == "ok"


def test_accept_refuses_header_injection(start: Any) -> None:
    async def bad(ws: WebSocket) -> None:
        await ws.accept(headers={"x": "a\r\nset-cookie: evil"})

    client = start(single_endpoint_app(bad))
    with pytest.raises(ValueError, match="CR"):
        client.websocket_connect("/").__enter__()


def test_it_is_an_http_connection(start: Any) -> None:
    async def info(ws: WebSocket) -> None:
        assert isinstance(ws, HTTPConnection)
        await ws.accept()
        ws.state.visits = 1
        await ws.send_json(
            {
                "url": str(ws.url),
                "q": ws.query_params["q"],
                "cookie": ws.cookies["c"],
                "header": ws.headers["x-h"],
                "state": ws.state.visits,
            }
        )
        await ws.close()

    client = start(single_endpoint_app(info))
    with client.websocket_connect("/ws?q=1", headers={"x-h": "v", "cookie": "c=3"}) as ws:
        assert ws.receive_json() == {
            "url": "ws://testserver/ws?q=1",
            "q": "1",
            "cookie": "3",
            "header": "v",
            "state": 1,
        }


def test_a_websocket_scope_is_required() -> None:
    with pytest.raises(ValueError, match="websocket"):
        WebSocket({"type": "http"}, None, None)  # type: ignore[arg-type]


def test_send_before_accept_is_a_clear_error(start: Any) -> None:
    async def early(ws: WebSocket) -> None:
        await ws.send_text("too soon")

    client = start(single_endpoint_app(early))
    with pytest.raises(RuntimeError, match=r"call accept\(\) first"):
        client.websocket_connect("/").__enter__()


def test_raw_send_before_accept_is_a_clear_error(start: Any) -> None:
    async def early(ws: WebSocket) -> None:
        await ws.send({"type": "websocket.send", "text": "x"})

    client = start(single_endpoint_app(early))
    with pytest.raises(RuntimeError, match=r"before the connection is accepted"):
        client.websocket_connect("/").__enter__()


def test_send_after_close_is_a_clear_error(start: Any) -> None:
    async def late(ws: WebSocket) -> None:
        await ws.accept()
        await ws.close()
        await ws.send_text("too late")

    client = start(single_endpoint_app(late))
    with pytest.raises(RuntimeError, match="already closed"), client.websocket_connect("/") as ws:
        ws.receive()


def test_accept_twice_is_a_clear_error(start: Any) -> None:
    async def twice(ws: WebSocket) -> None:
        await ws.accept()
        await ws.accept()

    client = start(single_endpoint_app(twice))
    with pytest.raises(RuntimeError, match="twice"), client.websocket_connect("/"):
        pass


def test_receive_after_disconnect_is_a_clear_error(start: Any) -> None:
    errors: list[str] = []

    async def after(ws: WebSocket) -> None:
        await ws.accept()
        message = await ws.receive()
        assert message["type"] == "websocket.disconnect"
        try:
            await ws.receive()
        except RuntimeError as exc:
            errors.append(str(exc))

    client = start(single_endpoint_app(after))
    with client.websocket_connect("/"):
        pass
    assert errors == ["cannot receive: the client already disconnected"]


def test_state_reflects_both_directions(start: Any) -> None:
    states: list[tuple[WebSocketState, WebSocketState, bool]] = []

    async def track(ws: WebSocket) -> None:
        states.append((ws.client_state, ws.application_state, ws.connected))
        await ws.accept()
        states.append((ws.client_state, ws.application_state, ws.connected))
        await ws.close()
        states.append((ws.client_state, ws.application_state, ws.connected))

    client = start(single_endpoint_app(track))
    with client.websocket_connect("/") as ws:
        ws.receive()
    C, OK, D = WebSocketState.CONNECTING, WebSocketState.CONNECTED, WebSocketState.DISCONNECTED
    assert states == [(C, C, False), (OK, OK, True), (OK, D, False)]


def test_wrong_frame_kind_closes_1003(start: Any) -> None:
    async def wants_text(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()

    client = start(single_endpoint_app(wants_text))
    with client.websocket_connect("/") as ws:
        ws.send_bytes(b"binary")
        message = ws.receive()
    assert (message["type"], message["code"]) == ("websocket.close", 1003)


def test_invalid_json_closes_1003(start: Any) -> None:
    async def wants_json(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_json()

    client = start(single_endpoint_app(wants_json))
    with client.websocket_connect("/") as ws:
        ws.send_text("{nope")
        message = ws.receive()
    assert (message["code"], message["reason"]) == (1003, "invalid JSON")


def test_send_json_refuses_nan(start: Any) -> None:
    async def nan(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json(float("nan"))

    client = start(single_endpoint_app(nan))
    with pytest.raises(ValueError), client.websocket_connect("/") as ws:
        ws.receive()


def test_websocket_exception_is_the_kernel_one() -> None:
    assert WebSocketException is KernelWebSocketException


@pytest.mark.parametrize("accept_first", [False, True])
def test_websocket_exception_closes_with_code_and_reason(start: Any, accept_first: bool) -> None:
    async def refuse(ws: WebSocket) -> None:
        if accept_first:
            await ws.accept()
        raise WebSocketException(4001, "not today")

    client = start(single_endpoint_app(refuse))
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/") as ws:
        ws.receive_text()
    assert (info.value.code, info.value.reason) == (4001, "not today")


def test_http_exception_before_accept_is_an_http_denial(start: Any) -> None:
    async def deny(ws: WebSocket) -> None:
        raise HTTPException(401, "log in first", headers={"WWW-Authenticate": "Bearer"})

    client = start(single_endpoint_app(deny))
    with pytest.raises(WebSocketDenialResponse) as info:
        client.websocket_connect("/").__enter__()
    response = info.value.response
    assert response.status_code == 401
    assert response.text == "log in first"
    assert response.headers["www-authenticate"] == "Bearer"


def test_http_exception_without_the_extension_is_a_403_close(start: Any) -> None:
    async def deny(ws: WebSocket) -> None:
        raise HTTPException(403)

    app = single_endpoint_app(deny, middleware=[Middleware(without_http_response_extension)])
    client = start(app)
    with pytest.raises(WebSocketDisconnect) as info:
        client.websocket_connect("/").__enter__()
    assert info.value.code == 1008


def test_http_exception_after_accept_closes_with_policy_violation(start: Any) -> None:
    async def late(ws: WebSocket) -> None:
        await ws.accept()
        raise HTTPException(403, "forbidden room")

    client = start(single_endpoint_app(late))
    with client.websocket_connect("/") as ws:
        message = ws.receive()
    assert (message["code"], message["reason"]) == (1008, "forbidden room")


def test_send_denial_response(start: Any) -> None:
    async def deny(ws: WebSocket) -> None:
        await ws.send_denial_response(PlainTextResponse("go away", status_code=429))

    client = start(single_endpoint_app(deny))
    with pytest.raises(WebSocketDenialResponse) as info:
        client.websocket_connect("/").__enter__()
    assert (info.value.status_code, info.value.response.text) == (429, "go away")

    app = single_endpoint_app(deny, middleware=[Middleware(without_http_response_extension)])
    client = start(app)
    with pytest.raises(WebSocketDisconnect) as closed:
        client.websocket_connect("/").__enter__()
    assert closed.value.code == 1008


def test_unhandled_error_after_accept_closes_1011(
    start: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(ws: WebSocket) -> None:
        await ws.accept()
        raise ZeroDivisionError

    app = single_endpoint_app(broken)
    with caplog.at_level(logging.ERROR, "lamina.websocket"):
        client = start(app, raise_server_exceptions=False)
        with client.websocket_connect("/") as ws:
            message = ws.receive()
    assert message["code"] == 1011
    assert "unhandled exception in WebSocket" in caplog.text


def test_unhandled_error_before_accept_is_a_500(start: Any) -> None:
    async def broken(ws: WebSocket) -> None:
        raise ZeroDivisionError

    client = start(single_endpoint_app(broken), raise_server_exceptions=False)
    with pytest.raises(WebSocketDenialResponse) as info:
        client.websocket_connect("/").__enter__()
    assert info.value.status_code == 500
    client = start(single_endpoint_app(broken))
    with pytest.raises(ZeroDivisionError):
        client.websocket_connect("/").__enter__()


def test_returning_without_close_closes_normally(start: Any) -> None:
    async def quiet(ws: WebSocket) -> None:
        await ws.accept()

    client = start(single_endpoint_app(quiet))
    with client.websocket_connect("/") as ws:
        assert ws.receive()["code"] == 1000


def test_returning_before_accept_refuses_the_handshake(start: Any) -> None:
    async def nothing(ws: WebSocket) -> None:
        return None

    client = start(single_endpoint_app(nothing))
    with pytest.raises(WebSocketDisconnect) as info:
        client.websocket_connect("/").__enter__()
    assert info.value.code == 1000


#: (reason sent, reason the client gets): a close frame holds 123 bytes of UTF-8, and the
#: cut never splits a character.
LONG_REASONS = [
    ("é" * 120, "é" * 61),  # 240 bytes (once sent whole) -> 122
    ("a" + "😀" * 40, "a" + "😀" * 30),  # 4-byte characters: 121 bytes, the next would not fit
    ("x" * 123, "x" * 123),  # exactly a frame's worth: unchanged
    ("x" * 124, "x" * 123),
]


async def _close_by(how: str, ws: WebSocket, reason: str) -> None:
    """Every way an endpoint can close with a reason."""
    if how == "close":
        await ws.close(4000, reason)
    elif how == "raw-send":
        await ws.send({"type": "websocket.close", "code": 4000, "reason": reason})
    elif how == "websocket-exception":
        raise WebSocketException(4000, reason)
    else:
        raise HTTPException(403, reason)  # after accept: a 1008 close with the detail


@pytest.mark.parametrize("how", ["close", "raw-send", "websocket-exception", "http-exception"])
@pytest.mark.parametrize(("reason", "expected"), LONG_REASONS)
def test_close_reason_is_cut_to_what_a_frame_holds(
    start: Any, how: str, reason: str, expected: str
) -> None:
    async def wordy(ws: WebSocket) -> None:
        await ws.accept()
        await _close_by(how, ws, reason)

    client = start(single_endpoint_app(wordy))
    with client.websocket_connect("/") as ws:
        message = ws.receive()
    assert message["reason"] == expected
    assert message["code"] == (1008 if how == "http-exception" else 4000)


def test_close_reason_edges() -> None:
    assert close_reason(None) == close_reason("") == ""
    assert close_reason("\ud800 lone surrogate") == "? lone surrogate"  # not encodable as is
    assert close_reason("ok") == "ok"


@given(st.text())
def test_close_reason_is_the_longest_prefix_that_fits(text: str) -> None:
    cut = close_reason(text)
    assert len(cut.encode()) <= MAX_CLOSE_REASON_BYTES
    assert text.startswith(cut)
    if cut != text:  # nothing more fits: the next character would overflow the frame
        assert len(text[: len(cut) + 1].encode()) > MAX_CLOSE_REASON_BYTES


def test_message_size_limit_closes_1009(start: Any) -> None:
    received: list[str] = []

    async def small(ws: WebSocket) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            received.append(text)

    app = single_endpoint_app(small, max_message_size=10)
    client = start(app)
    with client.websocket_connect("/") as ws:
        ws.send_text("x" * 10)
        ws.send_text("é" * 6)  # 6 characters, 12 bytes
        message = ws.receive()
    assert (message["type"], message["code"]) == ("websocket.close", 1009)
    assert received == ["x" * 10]

    client = start(app)
    with client.websocket_connect("/") as ws:
        ws.send_bytes(b"y" * 11)
        assert ws.receive()["code"] == 1009


def test_message_size_limit_can_be_lifted(start: Any) -> None:
    async def echo_len(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(str(len(await ws.receive_bytes())))

    app = single_endpoint_app(echo_len, max_message_size=None)
    client = start(app)
    with client.websocket_connect("/") as ws:
        ws.send_bytes(b"z" * (5 * 1024 * 1024))
        assert ws.receive_text() == str(5 * 1024 * 1024)


def test_default_limit_is_4_mib(start: Any) -> None:
    async def echo_len(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(str(len(await ws.receive_bytes())))

    app = single_endpoint_app(echo_len)
    client = start(app)
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


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2999, 5000, 70000, True, "1000"])
def test_close_refuses_codes_a_frame_may_not_carry(start: Any, code: Any) -> None:
    """Servers answer such codes inconsistently (1006, another code, a crash): refuse them."""
    outcome: list[BaseException] = []

    async def closer(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await ws.close(code)
        except ValueError as exc:
            outcome.append(exc)
            await ws.close(4000, "fine")

    client = start(single_endpoint_app(closer))
    with client.websocket_connect("/") as ws:
        message = ws.receive()
    assert (message["code"], message["reason"]) == (4000, "fine")
    assert "not a close code" in str(outcome[0])


@pytest.mark.parametrize("code", [1000, 1003, 1007, 1014, 3000, 4999])
def test_close_accepts_every_sendable_code_range_edge(start: Any, code: int) -> None:
    async def closer(ws: WebSocket) -> None:
        await ws.accept()
        await ws.close(code)

    client = start(single_endpoint_app(closer))
    with client.websocket_connect("/") as ws:
        assert ws.receive()["code"] == code


def test_websocket_exception_with_an_unsendable_code_closes_1011(
    start: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def refuse(ws: WebSocket) -> None:
        await ws.accept()
        raise WebSocketException(1006, "abnormal")

    with caplog.at_level(logging.ERROR, "lamina.websocket"):
        client = start(single_endpoint_app(refuse))
        with client.websocket_connect("/") as ws:
            message = ws.receive()
    assert message["code"] == 1011
    assert "1006 is not a close code" in caplog.text


def test_accept_refuses_a_subprotocol_the_client_did_not_offer(start: Any) -> None:
    errors: list[BaseException] = []

    async def picky(ws: WebSocket) -> None:
        try:
            await ws.accept(subprotocol="chat.v9")
        except ValueError as exc:
            errors.append(exc)
            await ws.accept(subprotocol=ws.subprotocols[0] if ws.subprotocols else None)
        await ws.send_text(str(ws.application_state.name))

    client = start(single_endpoint_app(picky))
    with client.websocket_connect("/", subprotocols=["chat.v1"]) as ws:
        assert ws.accepted_subprotocol == "chat.v1"
        assert ws.receive_text() == "CONNECTED"
    assert "'chat.v9' was not offered" in str(errors[0])
    with client.websocket_connect("/") as ws:  # nothing offered: None is the only choice
        assert ws.accepted_subprotocol is None
    assert len(errors) == 2


def test_json_mode_must_be_text_or_binary(start: Any) -> None:
    errors: list[str] = []

    async def modes(ws: WebSocket) -> None:
        await ws.accept()
        for call in (
            lambda: ws.send_json({}, mode="txt"),
            lambda: ws.receive_json(mode="bin"),
            lambda: ws.iter_json(mode="json").__anext__(),
        ):
            try:
                await call()
            except ValueError as exc:
                errors.append(str(exc))
        await ws.send_json({"ok": True}, mode="binary")

    client = start(single_endpoint_app(modes))
    with client.websocket_connect("/") as ws:
        assert ws.receive_json(mode="binary") == {"ok": True}
    assert errors == [f"mode must be 'text' or 'binary', got {m!r}" for m in ("txt", "bin", "json")]
