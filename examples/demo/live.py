"""The demo's live page: a WebSocket chat room and a Server-Sent Events counter that resumes.

* ``/live`` renders the page (``templates/live.html``); its script is ``static/live.js``.
* ``/live/ws`` is a chat room: every message is broadcast to everyone connected, signed with
  the logged-in user's name (lamina-auth sees WebSocket connections as it sees requests).
* ``/live/events`` streams numbered events. Each stream ends after ``PER_STREAM`` events on
  purpose, to show what browsers do: ``EventSource`` reconnects by itself and sends the last
  id it saw as ``Last-Event-ID``, and the endpoint carries on from there.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from lamina import Request
from lamina_routing import Route
from lamina_sse import EventSourceResponse, ServerSentEvent, last_event_id
from lamina_templates import TemplateResponse
from lamina_websocket import WebSocket, WebSocketRoute

#: Events per stream before the server ends it (the browser then resumes).
PER_STREAM = 5
#: Seconds between events unless the page asks for another pace (``?interval=``).
DEFAULT_INTERVAL = 1.0
MAX_CHAT_MESSAGE = 500


async def live_page(request: Request) -> TemplateResponse:
    return TemplateResponse(
        request,
        "live.html",
        {
            "ws_url": str(request.url_for("live-ws")),
            "events_url": str(request.url_for("live-events")),
            "per_stream": PER_STREAM,
        },
    )


def _interval(request: Request) -> float:
    try:
        value = float(request.query_params.get("interval", DEFAULT_INTERVAL))
    except ValueError:
        return DEFAULT_INTERVAL
    return min(max(value, 0.02), 5.0) if value == value else DEFAULT_INTERVAL  # NaN check


async def events(request: Request) -> EventSourceResponse:
    """Numbered ``tick`` events, resuming after the ``Last-Event-ID`` the browser resends."""
    resumed_from = last_event_id(request)
    start = int(resumed_from) if resumed_from is not None and resumed_from.isdigit() else 0
    interval = _interval(request)

    async def stream() -> Any:
        # How long the browser waits before reconnecting once this stream ends.
        yield ServerSentEvent(retry=int(min(interval, 1.0) * 1000))
        for n in range(start + 1, start + PER_STREAM + 1):
            yield ServerSentEvent(
                {"n": n, "resumed_from": resumed_from, "time": time.strftime("%H:%M:%S")},
                event="tick",
                id=n,
            )
            await anyio.sleep(interval)

    return EventSourceResponse(stream())


class ChatRoom:
    """Everyone connected to ``/live/ws``; one instance per process (the demo is one)."""

    def __init__(self) -> None:
        self.members: dict[WebSocket, str] = {}
        self.joined = 0

    async def broadcast(self, message: dict[str, Any]) -> None:
        for member in list(self.members):
            try:
                await member.send_json(message)
            except (OSError, RuntimeError):
                self.members.pop(member, None)

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self.joined += 1
        user = websocket.user
        name = user.display_name if user.is_authenticated else f"guest-{self.joined}"
        self.members[websocket] = name
        try:
            await websocket.send_json({"kind": "welcome", "you": name, "online": len(self.members)})
            await self.broadcast({"kind": "joined", "who": name, "online": len(self.members)})
            async for text in websocket.iter_text():
                await self.broadcast(
                    {
                        "kind": "message",
                        "who": name,
                        "text": text[:MAX_CHAT_MESSAGE],
                        "time": time.strftime("%H:%M:%S"),
                    }
                )
        finally:
            self.members.pop(websocket, None)
            await self.broadcast({"kind": "left", "who": name, "online": len(self.members)})


room = ChatRoom()

routes = [
    Route("/live", live_page, name="live"),
    Route("/live/events", events, name="live-events"),
    WebSocketRoute("/live/ws", room.serve, name="live-ws"),
]
