"""``EventSourceResponse``: an event stream that cleans up after itself.

One stream is one task group: the endpoint's iterator is pumped by the response task, a
watcher task ends everything when the client disconnects, and (when enabled) a heartbeat
task writes a comment whenever the stream has been idle for the heartbeat interval. Every
way a stream can end (iterator exhausted, client gone, send stuck, server shutting down)
closes the iterator, so the endpoint's ``finally`` blocks run promptly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from lamina import HTTPConnection, StreamingResponse
from lamina.plugin import Receive, Scope, Send, ShutdownRegistry, run_background

from ._event import encode_event

__all__ = ["EventSourceResponse", "SSEConfig", "last_event_id"]

logger = logging.getLogger("lamina.sse")

#: Headers that belong to one transport hop; the server manages them, an endpoint must not.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
        "proxy-authenticate",
        "proxy-authorization",
    }
)
PING = b": ping\n\n"
#: How long closing the endpoint's iterator may take once the stream has ended.
CLOSE_TIMEOUT = 5.0
_UNSET: Any = object()
#: How long an ending stream waits for a sync source's step in progress (it cannot be
#: interrupted) before leaving it to close the source itself once the step returns.
SYNC_STEP_GRACE = 1.0


@dataclass
class SSEConfig:
    """What a stream needs from the plugin: its defaults and the app's stream registry."""

    heartbeat_interval: float = 15.0
    send_timeout: float | None = 30.0
    close_on_signal: bool = True
    registry: ShutdownRegistry = field(default_factory=ShutdownRegistry)


#: Used when the response runs outside an app that loaded the plugin (plain ASGI use).
DEFAULT_CONFIG = SSEConfig()
EXTENSION_KEY = "sse"


def config_for(scope: Scope) -> SSEConfig:
    app = scope.get("app")
    extensions = getattr(app, "extensions", None)
    if extensions is not None:
        config: SSEConfig | None = extensions.get(EXTENSION_KEY)
        if config is not None:
            return config
    return DEFAULT_CONFIG


def last_event_id(connection: HTTPConnection | Scope) -> str | None:
    """The ``Last-Event-ID`` a reconnecting browser sends: the id of the last event it got.

    ``None`` on a first connection. Resume by replaying what came after that id.
    """
    scope = connection.scope if isinstance(connection, HTTPConnection) else connection
    for key, value in scope["headers"]:
        if key == b"last-event-id":
            text = value.decode("utf-8", "replace")
            return text or None
    return None


EventSource = AsyncIterable[Any] | Iterable[Any]
_DONE: Any = object()


class _SyncSource:
    """A sync iterator stepped in worker threads, whose step can be abandoned.

    Why: a step may block for as long as it likes (``queue.get()``) and a thread cannot be
    interrupted, so waiting for it would keep a disconnected stream, or the whole server at
    shutdown, hanging. The stream stops waiting instead, and the iterator is closed exactly
    once by whichever side is last: the stream when no step is running, otherwise the worker
    thread as soon as its step returns (so the generator's ``finally`` still runs).
    """

    __slots__ = ("_closed", "_closing", "_content", "_iterator", "_lock", "running")

    def __init__(self, content: Iterable[Any]) -> None:
        self._content = content
        self._iterator = iter(content)
        self._lock = threading.Lock()
        self._closing = False
        self._closed = False
        self.running = False

    async def next(self) -> Any:
        """The next item, or ``_DONE``."""
        return await anyio.to_thread.run_sync(self._step, abandon_on_cancel=True)

    def _step(self) -> Any:  # in a worker thread
        with self._lock:
            if self._closing:
                return _DONE
            self.running = True
        try:
            return next(self._iterator, _DONE)
        finally:
            with self._lock:
                self.running = False
                close_here = self._closing and not self._closed
                self._closed = self._closed or close_here
            if close_here:
                self.close_now()

    def claim_close(self) -> bool:
        """Ask to close; True if the caller must close now (no step running, not closed)."""
        with self._lock:
            self._closing = True
            if self.running or self._closed:
                return False
            self._closed = True
            return True

    def close_now(self) -> None:
        close = getattr(self._iterator, "close", None) or getattr(self._content, "close", None)
        if close is None:
            return
        try:
            close()
        except Exception:
            logger.exception("closing an event source raised")


class EventSourceResponse(StreamingResponse):
    """Stream events to an ``EventSource``.

    ``content`` is an async or sync iterable of :class:`ServerSentEvent`, dicts of its fields,
    or strings (sent as ``data``); a sync iterable is advanced in a worker thread.
    ``heartbeat`` (seconds, ``0`` to disable) and ``send_timeout`` (seconds, ``None`` to wait
    forever) default to the plugin's settings.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: EventSource,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        heartbeat: float | None = None,
        send_timeout: float | None = _UNSET,
        background: Any = None,
    ) -> None:
        merged = {"cache-control": "no-store", "x-accel-buffering": "no"}
        for name, value in (headers or {}).items():
            lower = name.lower()
            if lower in HOP_BY_HOP:
                raise ValueError(f"{name!r} is a hop-by-hop header; the server manages it")
            if lower == "content-length":
                raise ValueError("an event stream has no length: the server would cut it off")
            merged[lower] = value
        super().__init__(content, status_code, merged, background=background)
        self.heartbeat = heartbeat
        self.send_timeout = send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = config_for(scope)
        heartbeat = config.heartbeat_interval if self.heartbeat is None else self.heartbeat
        timeout = config.send_timeout if self.send_timeout is _UNSET else self.send_timeout
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            await self._close_iterator()
            return
        stream = _Stream(send, receive, heartbeat, timeout)
        content = self.body_iterator
        source: AsyncIterable[Any] | _SyncSource
        if isinstance(content, AsyncIterable):
            source = content
        else:
            source = self._sync_source = _SyncSource(content)
        registry = config.registry
        try:
            with anyio.CancelScope() as stop:
                registry.add(stop)
                try:
                    await stream.run(stop, source, self._close_iterator)
                finally:
                    await self._close_iterator()
            if stream.ended_by_server:
                # Finished or shutting down: end the body cleanly so the browser reconnects.
                await stream.finish()
        finally:
            registry.discard(stop)  # after the last chunk: a shutdown waits for it
        if self.background is not None and not stream.lost:
            await run_background(scope, self.background)

    _sync_source: _SyncSource | None = None

    async def _close_iterator(self) -> None:
        source = self._sync_source
        if source is not None:
            with anyio.CancelScope(shield=True):
                with anyio.move_on_after(SYNC_STEP_GRACE):
                    while source.running:  # polled: only while a stream ends
                        await anyio.sleep(0.005)
                if source.claim_close():
                    with anyio.move_on_after(CLOSE_TIMEOUT):
                        await anyio.to_thread.run_sync(source.close_now)
            return  # else the worker thread closes it when its step returns
        content = self.body_iterator
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT):
            try:
                aclose = getattr(content, "aclose", None)
                if aclose is not None:
                    await aclose()
                    return
                close = getattr(content, "close", None)
                if close is not None:
                    await anyio.to_thread.run_sync(close)
            except Exception:
                logger.exception("closing an event source raised")


class _Stream:
    """The per-connection state of one event stream.

    Per event the hot path only flips a flag and bumps a counter around ``send``: no lock,
    no cancel scope, no clock read. One timer task (only when a heartbeat or a send timeout
    is configured) wakes every ``period`` seconds and reads those two fields to decide
    whether the stream was idle long enough for a ping, or stuck in one send long enough to
    drop the client.
    """

    __slots__ = (
        "_idle",
        "close_source",
        "disconnected",
        "dropped",
        "heartbeat",
        "receive",
        "send",
        "sending",
        "sends",
        "stop",
        "timeout",
    )

    def __init__(
        self, send: Send, receive: Receive, heartbeat: float, timeout: float | None
    ) -> None:
        self.send = send
        self.receive = receive
        self.heartbeat = heartbeat
        self.timeout = timeout
        self.disconnected = False
        self.dropped = False
        #: True while a message is being sent; ``sends`` counts completed sends.
        self.sending = False
        self.sends = 0
        self._idle: anyio.Event | None = None
        self.stop = anyio.CancelScope()  # run() hands in the stream's own

    @property
    def lost(self) -> bool:
        return self.disconnected or self.dropped

    @property
    def ended_by_server(self) -> bool:
        return not self.lost

    async def run(
        self,
        stop: anyio.CancelScope,
        content: AsyncIterable[Any] | _SyncSource,
        close_source: Callable[[], Awaitable[None]],
    ) -> None:
        self.stop = stop
        self.close_source = close_source
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch_disconnect)
            if self.heartbeat or self.timeout is not None:
                tg.start_soon(self._timer)
            try:
                if isinstance(content, _SyncSource):
                    await self._pump_sync(content)
                else:
                    await self._pump_async(content)
            except Exception as exc:
                # Raised below, outside the task group, so it is not wrapped in a group.
                error = exc
            tg.cancel_scope.cancel()
        if error is not None:
            raise error

    async def _pump_async(self, content: AsyncIterable[Any]) -> None:
        # The hot loop: ``write`` inlined, and the plain-string case encoded in place.
        # A generator that never awaits, writing to a client that keeps up, would never give
        # the event loop back: after every event the stream yields once (a checkpoint), so
        # other requests, the disconnect watcher and the heartbeat all get their turn.
        send = self.send
        async for item in content:
            if type(item) is str and "\n" not in item and "\r" not in item:
                body = ("data: " + item + "\n\n").encode("utf-8")
            else:
                body = encode_event(item)
            if self.sending:
                await self.write(body)
            else:
                self.sending = True
                try:
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                except OSError:  # the server says the client is gone
                    self._lost()
                    return
                self.sending = False
                self.sends += 1
            await anyio.lowlevel.checkpoint()

    async def _pump_sync(self, source: _SyncSource) -> None:
        while True:
            item = await source.next()
            if item is _DONE:
                return
            await self.write(encode_event(item))

    async def write(self, body: bytes) -> None:
        while self.sending:  # a heartbeat ping is in flight: never interleave two sends
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()
        self.sending = True
        try:
            await self.send({"type": "http.response.body", "body": body, "more_body": True})
        except OSError:  # the server says the client is gone
            self._lost()
        finally:
            self.sending = False
            self.sends += 1
            if self._idle is not None:
                self._idle.set()
                self._idle = None

    async def _timer(self) -> None:
        heartbeat, timeout = self.heartbeat, self.timeout
        period = min(heartbeat or float("inf"), timeout or float("inf"))
        if timeout is not None:
            # Check a few times per timeout so a stuck client is dropped close to it.
            period = min(period, timeout / 4)
        seen = self.sends
        idle_for = stuck_for = 0.0
        while True:
            await anyio.sleep(period)
            if self.sends != seen:
                seen = self.sends
                idle_for = stuck_for = 0.0
                continue
            if self.sending:
                stuck_for += period
                if timeout is not None and stuck_for >= timeout - 1e-9:
                    logger.warning(
                        "dropping an event-stream client: one send blocked for over %ss", timeout
                    )
                    self.dropped = True
                    self.stop.cancel()
                    # Some servers shield socket writes from cancellation (hypercorn), so the
                    # stuck send may never return: close the event source now, not after it.
                    await self.close_source()
                    return
                continue
            idle_for += period
            if heartbeat and idle_for >= heartbeat - 1e-9:
                idle_for = 0.0
                await self.write(PING)
                seen = self.sends

    def _lost(self) -> None:
        self.disconnected = True
        self.stop.cancel()

    async def _watch_disconnect(self) -> None:
        while True:
            message = await self.receive()
            if message.get("type") == "http.disconnect":
                self._lost()
                if self.sending:
                    # The event source is parked at ``yield`` while a send is in flight, and
                    # that send may not be cancellable: close the source without waiting.
                    await self.close_source()
                return

    async def finish(self) -> None:
        with anyio.move_on_after(self.timeout if self.timeout is not None else CLOSE_TIMEOUT):
            await self.send({"type": "http.response.body", "body": b""})
