"""One ``WebSocketDisconnect`` for endpoints and tests: lamina's, re-exported by both."""

from __future__ import annotations

from typing import Any

import lamina
import lamina.testclient
import lamina_websocket
import pytest
from lamina.testing import make_app
from lamina_websocket import WebSocket, WebSocketRoute


def test_every_import_path_names_the_same_class() -> None:
    assert lamina_websocket.WebSocketDisconnect is lamina.WebSocketDisconnect
    assert lamina.testclient.WebSocketDisconnect is lamina.WebSocketDisconnect
    assert "WebSocketDisconnect" in lamina.__all__
    exc = lamina.WebSocketDisconnect()
    assert (exc.code, exc.reason) == (1000, "")
    assert str(lamina.WebSocketDisconnect(4001, "bye")) == "WebSocket closed with code 4001: bye"
    assert lamina.WebSocketDisconnect(1001, None).reason == ""  # type: ignore[arg-type]


def test_the_endpoint_and_the_test_see_the_same_exception(start: Any) -> None:
    seen: list[BaseException] = []

    async def echo_until_gone(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text(await ws.receive_text())
        except lamina.WebSocketDisconnect as exc:  # the client left
            seen.append(exc)

    async def hang_up(ws: WebSocket) -> None:
        await ws.accept()
        await ws.close(4002, "done here")

    app = make_app(
        "routing",
        "websocket",
        routes=[WebSocketRoute("/echo", echo_until_gone), WebSocketRoute("/bye", hang_up)],
    )
    client = start(app)
    with client.websocket_connect("/echo") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "hi"
        ws.close(4000, "leaving")
    with (
        client.websocket_connect("/bye") as ws,
        pytest.raises(lamina_websocket.WebSocketDisconnect) as info,
    ):
        ws.receive_text()
    assert (info.value.code, info.value.reason) == (4002, "done here")
    assert [(type(e), e.code) for e in seen] == [(lamina.WebSocketDisconnect, 4000)]
