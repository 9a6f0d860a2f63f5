"""The demo's live page: a WebSocket chat room and a resumable event stream, both through
lamina-broadcast, so they work across worker processes and hosts.

* ``/live`` renders the page (``templates/live.html``); its script is ``static/live.js``.
* ``/live/ws`` is a chat room: what a member sends is published on the ``demo:chat`` channel
  and :func:`lamina_broadcast.relay` forwards the channel to every member, whichever worker
  they are connected to. Messages are signed with the logged-in user's name.
* ``/live/say`` (POST, form field ``text``) publishes a message from outside the room: try
  it with curl against another worker than the one your browser talks to.
* ``/live/events`` streams the same channel as Server-Sent Events with the broadcast's event
  ids. Each stream ends after ``PER_STREAM`` events on purpose, to show what browsers do:
  ``EventSource`` reconnects by itself, sends the last id it saw as ``Last-Event-ID``, and
  the stream resumes after it, on any worker, with nothing lost or repeated.

Run it on several workers (``lamina serve --workers 2``) with ``LAMINA_DEMO_BROADCAST_URL``
set to ``redis+stream://127.0.0.1:6379/0``; with the default ``memory://`` each worker is
its own room (and the broadcast plugin warns at startup).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from typing import Any

from lamina import HTMLResponse, Request
from lamina_broadcast import BroadcastUnavailable, as_sse, broadcast_for, relay
from lamina_routing import Route
from lamina_sse import EventSourceResponse, ServerSentEvent, last_event_id
from lamina_templates import TemplateResponse
from lamina_websocket import WebSocket, WebSocketRoute

CHANNEL = "demo:chat"
#: Events per stream before the server ends it (the browser then resumes).
PER_STREAM = 5
MAX_CHAT_MESSAGE = 500
#: Guest numbers, per worker (the pid tells workers apart).
_guests = itertools.count(1)


async def live_page(request: Request) -> TemplateResponse:
    return TemplateResponse(
        request,
        "live.html",
        {
            "ws_url": str(request.url_for("live-ws")),
            "events_url": str(request.url_for("live-events")),
            "per_stream": PER_STREAM,
            "worker": os.getpid(),
        },
    )


def message(kind: str, who: str, text: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "who": who, "time": time.strftime("%H:%M:%S")}
    if text is not None:
        body["text"] = text[:MAX_CHAT_MESSAGE]
    return body


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    user = websocket.user
    name = user.display_name if user.is_authenticated else f"guest-{os.getpid()}-{next(_guests)}"
    broadcast = broadcast_for(websocket)
    await websocket.send_json({"kind": "welcome", "you": name, "worker": os.getpid()})

    async def say(text: str | bytes) -> None:
        if isinstance(text, str) and text:
            await broadcast.publish(CHANNEL, message("message", name, text), event="chat")

    await broadcast.publish(CHANNEL, message("joined", name), event="chat")
    try:
        await relay(websocket, CHANNEL, on_message=say)
    finally:
        with contextlib.suppress(BroadcastUnavailable):  # down: nobody to tell anyway
            await broadcast.publish(CHANNEL, message("left", name), event="chat")


async def say(request: Request) -> HTMLResponse:
    """Publish a chat message from outside the room (``curl -d text=hi .../live/say``)."""
    form = await request.form()
    text = str(form.get("text") or "").strip()
    if not text:
        return HTMLResponse("text is required\n", 422)
    try:
        await broadcast_for(request).publish(
            CHANNEL, message("message", "curl", text), event="chat"
        )
    except BroadcastUnavailable:
        return HTMLResponse("the broadcast backend is unreachable; try again\n", 503)
    return HTMLResponse("sent\n", 202)


async def events(request: Request) -> EventSourceResponse:
    """The room as an event stream, ending after ``PER_STREAM`` events to show resuming."""
    broadcast = broadcast_for(request)
    resume = last_event_id(request)

    async def stream() -> Any:
        async with broadcast.subscribe(CHANNEL, last_event_id=resume) as subscription:
            # How long the browser waits before reconnecting once this stream ends.
            yield ServerSentEvent(retry=500)
            sent = 0
            async for event in subscription:
                yield as_sse(event)
                sent += 1
                if sent == PER_STREAM:
                    return

    return EventSourceResponse(stream())


routes = [
    Route("/live", live_page, name="live"),
    Route("/live/events", events, name="live-events"),
    Route("/live/say", say, methods=["POST"], name="live-say"),
    WebSocketRoute("/live/ws", chat, name="live-ws"),
]
