"""The message size limit counts UTF-8 bytes exactly, whatever the text."""

from __future__ import annotations

from typing import Any

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina_websocket import MAX_MESSAGE_SIZE_KEY, WebSocket, WebSocketDisconnect


async def _receive_one(message: dict[str, Any], limit: int) -> tuple[bool, list[dict[str, Any]]]:
    queue = [{"type": "websocket.connect"}, message]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    async def send(out: dict[str, Any]) -> None:
        sent.append(out)

    scope = {"type": "websocket", "headers": [], MAX_MESSAGE_SIZE_KEY: limit}
    ws = WebSocket(scope, receive, send)
    await ws.accept()
    try:
        await ws.receive()
    except WebSocketDisconnect as exc:
        assert exc.code == 1009
        return True, sent
    return False, sent


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    limit=st.integers(min_value=1, max_value=120),
)
def test_text_limit_is_exact_in_utf8_bytes(text: str, limit: int) -> None:
    refused, sent = anyio.run(_receive_one, {"type": "websocket.receive", "text": text}, limit)
    assert refused == (len(text.encode("utf-8")) > limit)
    if refused:
        assert sent[-1]["type"] == "websocket.close" and sent[-1]["code"] == 1009


@settings(max_examples=100, deadline=None)
@given(size=st.integers(min_value=0, max_value=64), limit=st.integers(min_value=1, max_value=64))
def test_bytes_limit_is_exact(size: int, limit: int) -> None:
    refused, _ = anyio.run(_receive_one, {"type": "websocket.receive", "bytes": b"x" * size}, limit)
    assert refused == (size > limit)
