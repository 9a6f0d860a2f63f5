"""A tiny ASGI driver for event streams, plus a WHATWG event-stream parser to check the wire.

The parser follows the "interpreting an event stream" algorithm of the HTML standard, so the
tests check what a browser would see, not just what bytes we wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import anyio
from lamina import Lamina

from tests.helpers import asgi

_LINES = re.compile(r"\r\n|\r|\n")


@dataclass
class ParsedEvent:
    type: str
    data: str
    last_event_id: str


def parse_stream(raw: bytes) -> tuple[list[ParsedEvent], dict[str, Any]]:
    """Events a browser would dispatch from ``raw``, and the final reconnection state."""
    text = raw.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    events: list[ParsedEvent] = []
    data, event_type, last_id, retry = "", "", "", None
    lines = _LINES.split(text)
    # A trailing partial line (no terminator) is never processed.
    for line in lines[:-1]:
        if line == "":
            if data:
                if data.endswith("\n"):
                    data = data[:-1]
                events.append(ParsedEvent(event_type or "message", data, last_id))
            data, event_type = "", ""
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            event_type = value
        elif name == "data":
            data += value + "\n"
        elif name == "id":
            if "\x00" not in value:
                last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
    return events, {"last_event_id": last_id, "retry": retry}


def http_scope(
    app: Any = None, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    scope = asgi.http_scope(method, "/events", headers or [], server=("127.0.0.1", 80))
    if app is not None:
        scope["app"] = app
    return scope


@dataclass
class Client:
    """The server side of one connection: records what the app sends, disconnects on demand."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    gone: anyio.Event = field(default_factory=anyio.Event)
    first: bool = True
    #: Set to block every body send forever (a client that stopped reading).
    stuck: bool = False
    #: Set once a send is stuck (``stuck``): what a test awaits instead of sleeping.
    stuck_in_send: anyio.Event = field(default_factory=anyio.Event)
    on_body: Any = None

    async def receive(self) -> dict[str, Any]:
        if self.first:
            self.first = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if self.gone.is_set():
            raise OSError("client disconnected")
        if self.stuck and message["type"] == "http.response.body":
            self.stuck_in_send.set()
            await anyio.sleep_forever()
        self.sent.append(message)
        if self.on_body is not None and message["type"] == "http.response.body":
            self.on_body(self)

    @property
    def start(self) -> dict[str, Any]:
        assert self.sent[0]["type"] == "http.response.start"
        return self.sent[0]

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.start["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])

    @property
    def complete(self) -> bool:
        last = self.sent[-1]
        return last["type"] == "http.response.body" and not last.get("more_body", False)

    def events(self) -> list[ParsedEvent]:
        return parse_stream(self.body)[0]


def sse_app(**settings: Any) -> Lamina:
    """An app with only the sse plugin loaded, configured with ``settings``."""
    return Lamina(autoload=False, plugins=["sse"], settings={"sse": settings} if settings else None)
