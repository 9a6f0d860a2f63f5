"""One subscriber's bounded queue, with the overflow policy applied on put.

Why a deque and not an ``asyncio.Queue``: the fan-out must never wait (a slow subscriber
must not delay the others), and the policy needs to drop from the *front*. ``put`` is
synchronous and O(1); only the subscriber ever waits, on its own wake-up event.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Literal

import anyio

from ._events import Event

__all__ = ["Overflow", "Subscription"]

logger = logging.getLogger("lamina.broadcast")

Overflow = Literal["drop_oldest", "close"]


class Subscription:
    """``async for event in sub``: replayed history first, then live events, in order.

    ``dropped`` counts the events the overflow policy discarded for this subscriber. With
    ``"drop_oldest"`` the oldest queued events go and a gap is yielded where they were; with
    ``"close"`` the queue is discarded and iteration ends (``closed_reason == "overflow"``).
    """

    __slots__ = (
        "_after",
        "_closed",
        "_event_type",
        "_lost_channel",
        "_order_key",
        "_queue",
        "_replay",
        "_wake",
        "channels",
        "closed_reason",
        "dropped",
        "max_backlog",
        "overflow",
    )

    def __init__(self, channels: tuple[str, ...], *, max_backlog: int, overflow: Overflow) -> None:
        self.channels = channels
        self.max_backlog = max_backlog
        self.overflow = overflow
        self.dropped = 0
        self.closed_reason: str | None = None
        self._queue: deque[Event] = deque()
        self._replay: deque[Event] = deque()
        self._after: dict[str, Any] = {}
        self._order_key: Callable[[str], Any] | None = None
        self._lost_channel: str | None = None
        self._closed = False
        self._wake: anyio.Event | None = None
        # The running backend's event class, resolved once: ``anyio.Event()`` looks the
        # backend up on every call, and a subscriber makes one per wait.
        self._event_type: type[anyio.Event] = type(anyio.Event())

    def __repr__(self) -> str:
        return (
            f"<Subscription {list(self.channels)} queued={len(self._queue)} "
            f"dropped={self.dropped}{' closed' if self._closed else ''}>"
        )

    # ------------------------------------------------------------ producer side (never waits)
    def put(self, event: Event) -> None:
        if self._closed:
            return
        queue = self._queue
        if len(queue) >= self.max_backlog:
            if self.overflow == "close":
                self.dropped += len(queue) + 1
                queue.clear()
                self.close("overflow")
                logger.warning(
                    "closed a subscriber of %s: its %d-event backlog was full (overflow=close)",
                    ", ".join(self.channels),
                    self.max_backlog,
                )
                return
            lost = queue.popleft()
            if lost.kind == "message":
                self.dropped += 1
            self._lost_channel = lost.channel
        queue.append(event)
        wake = self._wake
        if wake is not None:
            self._wake = None
            wake.set()

    def preload(
        self, events: Iterable[Event], after: dict[str, Any], order_key: Callable[[str], Any]
    ) -> None:
        """History to yield before anything live; live events up to ``after`` (per channel)
        are then skipped, since the history already held them. Called before the consumer
        starts, and never blocks: history is bounded by the ``history`` setting, not by the
        backlog, so a long history cannot deadlock against a small backlog."""
        self._replay.extend(events)
        self._after = after
        self._order_key = order_key

    def close(self, reason: str = "closed") -> None:
        if self._closed:
            return
        self._closed = True
        self.closed_reason = reason
        wake = self._wake
        if wake is not None:
            self._wake = None
            wake.set()

    # ------------------------------------------------------------ consumer side
    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._replay:
                return self._replay.popleft()
            lost = self._lost_channel
            if lost is not None:
                self._lost_channel = None
                return Event.gap(lost)
            queue = self._queue
            if queue:
                event = queue.popleft()
                if self._after and event.id is not None and self._seen(event):
                    continue
                return event
            if self._closed:
                raise StopAsyncIteration
            wake = self._wake = self._event_type()
            await wake.wait()

    def _seen(self, event: Event) -> bool:
        after = self._after.get(event.channel)
        assert self._order_key is not None and event.id is not None
        return after is not None and self._order_key(event.id) <= after
