"""``Broadcast``: the process's subscribers, their fan-out, and the supervised listener.

One backend connection for listening and one listener task per process, owned by the app's
lifespan (:meth:`Broadcast.running`). The listener delivers each event to every local
subscriber of its channel with a synchronous, bounded put: a slow subscriber never delays
the others. Publishing goes to the backend only, so a local subscriber gets each event
once, through the backend, like everyone else.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from ._backend import Backend, MemoryBackend
from ._backoff import Backoff
from ._events import BroadcastUnavailable, Event
from ._subscription import Overflow, Subscription

__all__ = ["Broadcast", "make_backend"]

logger = logging.getLogger("lamina.broadcast")

#: How long ``subscribe`` waits for a listener that is (re)connecting before giving up.
READY_TIMEOUT = 5.0
#: How long leaving a subscription may spend telling the backend (it runs shielded).
UNWATCH_TIMEOUT = 2.0


def make_backend(
    url: str, *, history: int, ttl: float, clock: Callable[[], float] = time.monotonic
) -> Backend:
    """The backend a URL names: ``memory://``, ``redis://...`` or ``redis+stream://...``."""
    scheme = url.partition("://")[0].lower()
    if url == "memory://" or scheme == "memory":
        return MemoryBackend(history=history, ttl=ttl, clock=clock)
    if scheme in ("redis", "rediss", "redis+stream", "rediss+stream"):
        from ._redis import redis_backend

        return redis_backend(url, history=history, ttl=ttl)
    raise ValueError(
        f"unsupported broadcast url scheme {scheme!r}: use memory://, redis://HOST:PORT/DB "
        "or redis+stream://HOST:PORT/DB"
    )


class _Channel:
    __slots__ = ("ready", "subscribers")

    def __init__(self) -> None:
        self.subscribers: set[Subscription] = set()
        self.ready = anyio.Event()


class Broadcast:
    """Publish to channels and subscribe to them, in this process and across processes.

    Build it with the settings of ``[broadcast]`` (the plugin does), enter :meth:`running`
    for the app's lifetime, then :meth:`publish` and :meth:`subscribe`.
    """

    def __init__(
        self,
        url: str = "memory://",
        *,
        max_backlog: int = 256,
        overflow: Overflow = "drop_oldest",
        history: int = 1000,
        ttl: float = 3600,
        backend: Backend | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.max_backlog = max_backlog
        self.overflow: Overflow = overflow
        self.backend = backend or make_backend(url, history=history, ttl=ttl, clock=clock)
        self.backoff = backoff or Backoff()
        self._channels: dict[str, _Channel] = {}
        self._ready = anyio.Event()
        self._running = False
        #: Times the listener (re)connected; ``connected`` says whether it is now.
        self.connects = 0
        self.connected = False
        #: Called with each listener failure (for metrics and tests).
        self.on_disconnect: Callable[[BaseException], None] | None = None
        self.on_connect: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"<Broadcast {redact(self.url)} channels={len(self._channels)}>"

    # ------------------------------------------------------------------ lifecycle
    @asynccontextmanager
    async def running(self) -> AsyncIterator[Broadcast]:
        """Run the supervised listener for as long as the block lasts."""
        if self._running:
            raise RuntimeError("this Broadcast is already running")
        self._running = True
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._supervise)
                with anyio.move_on_after(READY_TIMEOUT):
                    await self._ready.wait()
                if not self.connected:
                    logger.warning(
                        "broadcast backend %s unreachable at startup; retrying in the background",
                        redact(self.url),
                    )
                try:
                    yield self
                finally:
                    group.cancel_scope.cancel()
        except BaseExceptionGroup as group_error:
            # The supervised listener never raises, so the one error is the caller's own:
            # hand it back as raised, not wrapped in a group.
            if len(group_error.exceptions) == 1:
                raise group_error.exceptions[0] from None
            raise
        finally:
            self._running = False
            self.connected = False
            self._ready = anyio.Event()
            for channel in self._channels.values():
                for sub in channel.subscribers:
                    sub.close("shutdown")
            with anyio.CancelScope(shield=True):
                await self.backend.aclose()

    async def _supervise(self) -> None:
        attempt = 0
        while True:
            try:
                await self.backend.listen(self)
            except Exception as exc:
                was_connected = self.connected
                self.connected = False
                if self._ready.is_set():
                    self._ready = anyio.Event()
                if was_connected:
                    attempt = 0
                    logger.warning(
                        "broadcast listener lost %s (%s); reconnecting",
                        redact(self.url),
                        type(exc).__name__,
                    )
                if self.on_disconnect is not None:
                    self.on_disconnect(exc)
            await self.backoff.wait(attempt)
            attempt += 1

    # ------------------------------------------------------------------ Listener protocol
    def channels(self) -> list[str]:
        return list(self._channels)

    def deliver(self, event: Event) -> None:
        channel = self._channels.get(event.channel)
        if channel is not None:
            for sub in channel.subscribers:
                sub.put(event)

    def gap(self, channels: list[str]) -> None:
        seen: set[Subscription] = set()
        for name in channels:
            channel = self._channels.get(name)
            if channel is None:
                continue
            for sub in channel.subscribers:
                if sub not in seen:
                    seen.add(sub)
                    sub.put(Event.gap(name))

    def ready(self, *, reconnected: bool) -> None:
        self.connected = True
        self.connects += 1
        self._ready.set()
        if self.connects > 1:
            logger.info("broadcast listener reconnected to %s", redact(self.url))
        if self.on_connect is not None:
            self.on_connect()

    # ------------------------------------------------------------------ API
    async def publish(self, channel: str, data: Any, *, event: str | None = None) -> str | None:
        """Publish ``data`` (any JSON value) on ``channel``; the event id, where the backend
        assigns one. Raises :class:`BroadcastUnavailable` if the backend cannot be reached."""
        _check_channel(channel)
        if event is not None and ("\n" in event or "\r" in event):
            raise ValueError(f"event name must be one line: {event!r}")
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return await self.backend.publish(channel, payload, event)

    @asynccontextmanager
    async def subscribe(
        self, *channels: str, last_event_id: str | None = None
    ) -> AsyncIterator[Subscription]:
        """Subscribe to ``channels``; events published once this is entered are delivered.

        With ``last_event_id`` (a backend that keeps history), the events after it are
        yielded first; if it is older than what is retained (or unknown), a gap instead.
        """
        if not channels:
            raise ValueError("subscribe to at least one channel")
        for name in channels:
            _check_channel(name)
        if not self._running:
            raise RuntimeError(
                "the broadcast is not running: subscribe inside the app's lifespan "
                "(or inside `async with broadcast.running()`)"
            )
        if not self._ready.is_set():
            with anyio.move_on_after(READY_TIMEOUT):
                await self._ready.wait()
            if not self._ready.is_set():
                raise BroadcastUnavailable(f"broadcast backend {redact(self.url)} unreachable")
        sub = Subscription(
            tuple(dict.fromkeys(channels)), max_backlog=self.max_backlog, overflow=self.overflow
        )
        try:
            for name in sub.channels:
                await self._add(name, sub)
            if last_event_id is not None:
                await self._replay(sub, last_event_id)
            yield sub
        finally:
            sub.close()
            with anyio.CancelScope(shield=True), anyio.move_on_after(UNWATCH_TIMEOUT):
                for name in sub.channels:
                    await self._remove(name, sub)

    async def _add(self, name: str, sub: Subscription) -> None:
        channel = self._channels.get(name)
        if channel is not None:
            channel.subscribers.add(sub)
            await channel.ready.wait()
            return
        channel = self._channels[name] = _Channel()
        channel.subscribers.add(sub)
        try:
            await self.backend.watch(name)
        finally:
            channel.ready.set()

    async def _remove(self, name: str, sub: Subscription) -> None:
        channel = self._channels.get(name)
        if channel is None:
            return
        channel.subscribers.discard(sub)
        if not channel.subscribers:
            del self._channels[name]
            await self.backend.unwatch(name)

    async def _replay(self, sub: Subscription, last_event_id: str) -> None:
        backend = self.backend
        if not backend.keeps_history:
            sub.preload([Event.gap(sub.channels[0])], {}, backend.order_key)
            return
        replay: list[Event] = []
        after: dict[str, Any] = {}
        for name in sub.channels:
            events, lost = await backend.history(name, last_event_id)
            if lost:
                sub.preload([Event.gap(name)], {}, backend.order_key)
                return
            replay.extend(events)
            if events:
                after[name] = backend.order_key(events[-1].id or "")
        replay.sort(key=lambda e: backend.order_key(e.id or ""))
        sub.preload(replay, after, backend.order_key)


def _check_channel(name: object) -> None:
    if not isinstance(name, str) or not name or len(name) > 256:
        raise ValueError(f"a channel is a non-empty string of at most 256 characters: {name!r}")


def redact(url: str) -> str:
    """``url`` without its password: safe for logs, errors and reprs."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}://{user + ':' if user else ''}***@{host}"
