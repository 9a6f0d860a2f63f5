"""The WHATWG ``text/event-stream`` wire format: one event in, UTF-8 bytes out.

Why a class and not just strings: the format has sharp edges (a newline inside ``event`` or
``id`` would forge extra fields; ``\\r`` alone is a line break too), so every field is checked
once, when the event is built, and encoding is a plain join afterwards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["ServerSentEvent", "encode_event"]

# The event-stream grammar ends a line at CRLF, LF or CR (in that order of preference).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _single_line(field: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"SSE {field} must not contain a line break: {value!r}")
    return value


class ServerSentEvent:
    """One event: ``data``, ``event``, ``id``, ``retry`` and a ``comment``, all optional.

    ``data`` that is not a ``str`` is encoded as compact JSON. Multi-line data and comments
    are split on ``\\r\\n``, ``\\r`` and ``\\n`` and sent as one field line each, which the
    browser joins back with ``\\n``. ``id`` refuses line breaks and NUL (a browser would
    ignore such an id, silently breaking resume); ``retry`` is a non-negative integer
    number of milliseconds.
    """

    __slots__ = ("comment", "data", "event", "id", "retry")

    def __init__(
        self,
        data: Any = None,
        *,
        event: str | None = None,
        id: str | int | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        if data is not None and not isinstance(data, str):
            data = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if event is not None:
            _single_line("event", event)
        if id is not None:
            id = str(id)
            _single_line("id", id)
            if "\x00" in id:
                raise ValueError(f"SSE id must not contain NUL: {id!r}")
        if retry is not None and (
            isinstance(retry, bool) or not isinstance(retry, int) or retry < 0
        ):
            raise ValueError(f"SSE retry must be a non-negative int (milliseconds), got {retry!r}")
        self.data: str | None = data
        self.event = event
        self.id: str | None = id
        self.retry = retry
        self.comment = comment

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in ("data", "event", "id", "retry", "comment")
            if getattr(self, name) is not None
        )
        return f"ServerSentEvent({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # equal by content, so unhashable

    def encode(self) -> bytes:
        """The event as it goes on the wire, ending with the blank line that dispatches it."""
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(": " + line if line else ":" for line in _LINE_BREAK.split(self.comment))
        if self.id is not None:
            lines.append("id: " + self.id)
        if self.event is not None:
            lines.append("event: " + self.event)
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        data = self.data
        if data is not None:
            if "\n" in data or "\r" in data:
                lines.extend("data: " + line for line in _LINE_BREAK.split(data))
            else:
                lines.append("data: " + data)
        lines.append("\n")
        return "\n".join(lines).encode("utf-8")


def encode_event(item: Any) -> bytes:
    """Encode what an event source yields: a ServerSentEvent, a mapping of its fields, or a
    string (sent as ``data``)."""
    if type(item) is str:
        if "\n" in item or "\r" in item:
            return ServerSentEvent(item).encode()
        return ("data: " + item + "\n\n").encode("utf-8")  # the common case, kept short
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, str):
        return ServerSentEvent(str(item)).encode()
    if isinstance(item, Mapping):
        return ServerSentEvent(**item).encode()
    raise TypeError(
        f"an event source yielded {type(item).__name__}; yield ServerSentEvent, dict or str"
    )
