"""Subscriptions delivered to browsers: an event stream, or an accepted WebSocket."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from lamina import HTTPConnection, Lamina, Request
from lamina_sse import EventSourceResponse, ServerSentEvent, last_event_id
from lamina_websocket import WebSocket, WebSocketDisconnect

from ._events import BroadcastUnavailable, Event
from ._hub import Broadcast

__all__ = ["EXTENSION_KEY", "broadcast_for", "relay", "sse_response"]

logger = logging.getLogger("lamina.broadcast")
EXTENSION_KEY = "broadcast"
#: What the browser waits before reconnecting an event stream that ended (milliseconds).
RETRY_MS = 1000
#: Close code when a WebSocket subscriber is dropped for falling behind (1013: try again).
CLOSE_TRY_AGAIN = 1013


def broadcast_for(app_or_connection: Lamina | HTTPConnection) -> Broadcast:
    """The app's :class:`Broadcast`, from the app or any request or WebSocket of it."""
    app = app_or_connection.app if isinstance(app_or_connection, HTTPConnection) else None
    extensions = getattr(app or app_or_connection, "extensions", None)
    found = extensions.get(EXTENSION_KEY) if extensions is not None else None
    if not isinstance(found, Broadcast):
        raise LookupError("the broadcast plugin is not loaded on this app")
    return found


class _EncodedEvent(ServerSentEvent):
    """An event encoded once: every subscriber of the process writes the same bytes."""

    __slots__ = ("_bytes",)

    def encode(self) -> bytes:
        encoded: bytes | None = getattr(self, "_bytes", None)
        if encoded is None:
            encoded = self._bytes = super().encode()
        return encoded


def as_sse(event: Event) -> ServerSentEvent:
    """``data`` always as JSON (a string too: the browser ``JSON.parse``s every event); a gap
    becomes ``event: reset`` with the channel as data (browsers ignore events without data);
    a message keeps its id, so the browser resumes from it. Built once per event and
    process, however many subscribers write it."""
    wire = event.wire.get("sse")
    if wire is None:
        if event.kind == "gap":
            wire = _EncodedEvent({"channel": event.channel}, event="reset")
        else:
            text = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
            wire = _EncodedEvent(text, event=event.event, id=event.id)
        event.wire["sse"] = wire
    return wire


def sse_response(request: Request, *channels: str, **options: Any) -> EventSourceResponse:
    """Stream ``channels`` to an ``EventSource``, resuming after the request's
    ``Last-Event-ID`` when the backend keeps history. The first thing sent, once subscribed,
    is the ``retry`` field. ``options`` go to :class:`EventSourceResponse`."""
    broadcast = broadcast_for(request)
    resume = last_event_id(request)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        try:
            async with broadcast.subscribe(*channels, last_event_id=resume) as sub:
                yield ServerSentEvent(retry=RETRY_MS)
                async for event in sub:
                    yield as_sse(event)
        except BroadcastUnavailable as exc:
            # The browser reconnects after ``retry``; by then the backend may be back.
            logger.warning("event stream for %s ended: %s", ", ".join(channels), exc)

    return EventSourceResponse(stream(), **options)


def as_json(event: Event) -> str:
    """The JSON text message ``relay`` sends, encoded once per event and process."""
    text = event.wire.get("json")
    if text is None:
        text = event.wire["json"] = json.dumps(
            {
                "channel": event.channel,
                "id": event.id,
                "event": event.event,
                "data": event.data,
                "kind": event.kind,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
    return text


async def relay(
    websocket: WebSocket,
    *channels: str,
    on_message: Callable[[str | bytes], Awaitable[None]] | None = None,
    last_event_id: str | None = None,
) -> None:
    """Forward a subscription to an accepted WebSocket until either side ends.

    Each event goes out as a JSON text message ``{"channel", "id", "event", "data",
    "kind"}`` (a gap has ``kind: "gap"``). What the client sends is passed to
    ``on_message`` (ignored without it). A subscriber dropped by the ``close`` overflow
    policy is closed with 1013 (try again later).
    """
    broadcast = broadcast_for(websocket)
    subscription = broadcast.subscribe(*channels, last_event_id=last_event_id)
    async with subscription as sub, anyio.create_task_group() as group:

        async def receive() -> None:
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    data = message.get("text")
                    if data is None:
                        data = message.get("bytes") or b""
                    if on_message is not None:
                        await on_message(data)
            except WebSocketDisconnect:
                pass
            group.cancel_scope.cancel()

        group.start_soon(receive)
        try:
            async for event in sub:
                await websocket.send_text(as_json(event))
        except (WebSocketDisconnect, OSError, RuntimeError):
            pass
        else:
            if sub.closed_reason == "overflow":
                await websocket.close(CLOSE_TRY_AGAIN, "subscriber fell behind")
        group.cancel_scope.cancel()
