"""Reading ``text/event-stream`` lines in tests: events as ``{field: value}`` dicts.

Enough of the format for tests that check what a server sent, line by line, while the
stream is still open (comments skipped, a repeated ``data`` joined with newlines). Tests of
the format itself use the browser-exact parser in tests/plugins/sse/sse_harness.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator

__all__ = ["EventLines", "parse", "take", "take_async"]

Event = dict[str, str]


class EventLines:
    """Fed one line at a time; returns each event when its blank line arrives."""

    def __init__(self) -> None:
        self.fields: Event = {}

    def feed(self, line: str) -> Event | None:
        if line == "":
            event, self.fields = self.fields, {}
            return event or None  # a blank line after nothing is not an event
        if not line.startswith(":"):  # a comment (a heartbeat) is not a field
            name, _, value = line.partition(": ")
            previous = self.fields.get(name)
            self.fields[name] = value if previous is None else previous + "\n" + value
        return None


def parse(lines: Iterable[str]) -> list[Event]:
    """Every complete event in ``lines``."""
    reader = EventLines()
    return [event for line in lines if (event := reader.feed(line)) is not None]


def take(lines: Iterator[str], n: int) -> list[Event]:
    """The next ``n`` events of an open stream (fails if the stream ends first)."""
    reader, events = EventLines(), []
    for line in lines:
        if (event := reader.feed(line)) is not None:
            events.append(event)
            if len(events) == n:
                return events
    raise AssertionError(f"the stream ended after {events}")


async def take_async(lines: AsyncIterator[str], n: int) -> list[Event]:
    """:func:`take` for an async iterator of lines (``response.aiter_lines()``)."""
    reader, events = EventLines(), []
    async for line in lines:
        if (event := reader.feed(line)) is not None:
            events.append(event)
            if len(events) == n:
                return events
    raise AssertionError(f"the stream ended after {events}")
