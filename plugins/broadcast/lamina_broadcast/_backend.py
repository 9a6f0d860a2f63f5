"""What the hub asks of a backend, and the memory backend.

A backend publishes, answers history questions and runs the process's one listener. The
hub (:class:`lamina_broadcast.Broadcast`) owns everything local: the subscribers, fan-out,
supervision. Payloads reach a backend already JSON-encoded, once per publish.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import anyio

from ._events import Event

__all__ = ["Backend", "History", "Listener", "MemoryBackend"]


class Listener(Protocol):
    """The hub, as a backend's listener sees it."""

    def channels(self) -> list[str]:
        """Every channel with a local subscriber (to (re)subscribe)."""

    def deliver(self, event: Event) -> None:
        """Fan ``event`` out to local subscribers (synchronous: never waits)."""

    def gap(self, channels: list[str]) -> None:
        """Tell the subscribers of ``channels`` that they may have missed events."""

    def ready(self, *, reconnected: bool) -> None:
        """The listener is connected and subscribed to every channel."""


#: (events after the resume point, in order; True if continuity was lost)
History = tuple[list[Event], bool]


class Backend(Protocol):
    keeps_history: bool

    async def publish(self, channel: str, payload: str, event: str | None) -> str | None: ...

    async def listen(self, hub: Listener) -> None:
        """Connect, subscribe, deliver until the connection is lost (then raise)."""

    async def watch(self, channel: str) -> None:
        """Start receiving ``channel``; return once an event published now would arrive."""

    async def unwatch(self, channel: str) -> None: ...

    async def history(self, channel: str, after: str) -> History: ...

    def order_key(self, event_id: str) -> Any:
        """A sort key for this backend's event ids (they are strings on the wire)."""

    async def aclose(self) -> None: ...


class _Ring:
    __slots__ = ("events", "touched", "trimmed_through")

    def __init__(self, size: int, now: float) -> None:
        self.events: deque[Event] = deque(maxlen=size)
        self.trimmed_through = 0  # the highest id the ring has let go of
        self.touched = now


class MemoryBackend:
    """One process: publish hands the event straight to the hub's fan-out.

    Ids are a process-wide sequence (``"1"``, ``"2"``...), so one ``Last-Event-ID`` orders
    events across channels. Each channel keeps its last ``history`` events for ``ttl``
    seconds after its last event (checked on use, with an injectable clock); an expired
    channel keeps only the id it let go of, so a resume from before it is still a gap.
    """

    keeps_history = True

    def __init__(
        self, *, history: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._history = history
        self._ttl = ttl
        self._clock = clock
        self._rings: dict[str, _Ring] = {}
        self._sequence = 0
        self._hub: Listener | None = None

    async def publish(self, channel: str, payload: str, event: str | None) -> str | None:
        self._sequence += 1
        event_id = str(self._sequence)
        item = Event(channel, json.loads(payload), event_id, event)
        if self._history:
            now = self._clock()
            ring = self._ring(channel, now)
            if ring is None:
                ring = self._rings[channel] = _Ring(self._history, now)
            if len(ring.events) == self._history:
                ring.trimmed_through = int(ring.events[0].id or 0)
            ring.events.append(item)
            ring.touched = now
        if self._hub is not None:
            self._hub.deliver(item)
        return event_id

    def _ring(self, channel: str, now: float) -> _Ring | None:
        ring = self._rings.get(channel)
        if ring is not None and ring.events and now - ring.touched >= self._ttl:
            ring.trimmed_through = int(ring.events[-1].id or 0)
            ring.events.clear()
        return ring

    async def history(self, channel: str, after: str) -> History:
        if not after.isdigit() or int(after) > self._sequence:
            return [], True  # not an id of ours (or of this process's life)
        position = int(after)
        ring = self._ring(channel, self._clock())
        if ring is None:
            return [], False  # the channel never had an event
        if position < ring.trimmed_through:
            return [], True
        return [e for e in ring.events if int(e.id or 0) > position], False

    def order_key(self, event_id: str) -> Any:
        return int(event_id) if event_id.isdigit() else -1

    async def listen(self, hub: Listener) -> None:
        self._hub = hub
        hub.ready(reconnected=False)
        try:
            await anyio.sleep_forever()
        finally:
            self._hub = None

    async def watch(self, channel: str) -> None:
        return None

    async def unwatch(self, channel: str) -> None:
        return None

    async def aclose(self) -> None:
        self._rings.clear()
