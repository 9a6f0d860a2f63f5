"""The Redis backends: plain pub/sub (``redis://``) and Streams (``redis+stream://``).

Each process keeps two connections whatever its number of subscribers: a dedicated one for
the listener (SUBSCRIBE, or a blocking XREAD over every watched stream) and a small pool for
commands (PUBLISH / XADD, history reads). redis-py's own retries are off: a failure surfaces
at once, as :class:`BroadcastUnavailable` for a publish and as the listener ending for the
supervisor in :mod:`lamina_broadcast._hub`, which reconnects with backoff.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Awaitable
from typing import Any, TypeVar

import anyio
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT, FieldT

from ._backend import Backend, History, Listener
from ._events import BroadcastUnavailable, Event

__all__ = ["RedisPubSubBackend", "RedisStreamBackend", "redis_backend"]

#: Every key and pub/sub channel name starts with this, so that an app's channels never
#: collide with other data in the same Redis database.
PREFIX = "lamina:broadcast:"
CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 5.0
#: A blocking XREAD returns after this long without events (to notice a half-dead link).
BLOCK_MS = 10_000
#: An idle listener (no channel watched) pings this often, to notice a lost server.
IDLE_PING = 1.0
#: Entries one XREAD may return: a burst is delivered in batches, in order.
READ_BATCH = 512
#: How long ``watch`` waits for Redis to confirm a SUBSCRIBE.
SUBSCRIBE_TIMEOUT = 5.0

T = TypeVar("T")
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def redis_backend(url: str, *, history: int, ttl: float) -> Backend:
    scheme, _, rest = url.partition("://")
    if scheme.lower().endswith("+stream"):
        return RedisStreamBackend(scheme[: -len("+stream")] + "://" + rest, history, ttl)
    return RedisPubSubBackend(url, history, ttl)


class _RedisBackend:
    keeps_history = False

    def __init__(self, url: str, history: int, ttl: float) -> None:
        from ._hub import redact

        self.where = redact(url)
        self.history_size = history
        self.ttl = max(1, math.ceil(ttl))
        self.client = Redis.from_url(
            url,
            decode_responses=True,
            protocol=2,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            socket_keepalive=True,
        )
        self.listening: AbstractConnection | None = None
        self.connected_before = False

    async def command(self, call: Awaitable[T]) -> T:
        """Run a command; an unreachable server becomes :class:`BroadcastUnavailable`."""
        try:
            return await call
        except _UNREACHABLE as exc:
            raise BroadcastUnavailable(
                f"broadcast backend {self.where} unreachable ({type(exc).__name__})"
            ) from None

    async def connect_listener(self) -> AbstractConnection:
        pool = self.client.connection_pool
        # redis-py leaves these two unannotated
        connection: AbstractConnection = pool.make_connection()  # type: ignore[no-untyped-call]  # see above
        await connection.connect()  # type: ignore[no-untyped-call]  # see above
        return connection

    def order_key(self, event_id: str) -> Any:
        return stream_id(event_id) or (-1, -1)

    async def aclose(self) -> None:
        connection, self.listening = self.listening, None
        if connection is not None:
            await connection.disconnect(nowait=True)
        await self.client.aclose()


class RedisPubSubBackend(_RedisBackend):
    """Fire-and-forget pub/sub: no ids, no history; a reconnect is a gap for everyone."""

    def __init__(self, url: str, history: int, ttl: float) -> None:
        super().__init__(url, history, ttl)
        self._confirmed: dict[str, anyio.Event] = {}
        self._send_lock = anyio.Lock()

    async def publish(self, channel: str, payload: str, event: str | None) -> str | None:
        message = '{"e":' + json.dumps(event) + ',"d":' + payload + "}"
        await self.command(self.client.publish(PREFIX + channel, message))
        return None

    async def history(self, channel: str, after: str) -> History:
        return [], True

    async def listen(self, hub: Listener) -> None:
        connection = await self.connect_listener()
        try:
            if self.connected_before:
                # Whatever was published while we were away is gone: say so before any
                # live event, then resubscribe.
                hub.gap(hub.channels())
            self.listening = connection
            pending = set(hub.channels())
            if pending:
                await self._send(connection, "SUBSCRIBE", *(PREFIX + c for c in pending))
            else:
                self._ready(hub)
            prefix_length = len(PREFIX)
            while True:
                reply = await connection.read_response(timeout=math.inf)
                kind = reply[0]
                if kind == "message":
                    body = json.loads(reply[2])
                    hub.deliver(Event(reply[1][prefix_length:], body["d"], None, body["e"]))
                elif kind == "subscribe":
                    channel = reply[1][prefix_length:]
                    waiter = self._confirmed.pop(channel, None)
                    if waiter is not None:
                        waiter.set()
                    if pending:
                        pending.discard(channel)
                        if not pending:
                            self._ready(hub)
        finally:
            self.listening = None
            for waiter in self._confirmed.values():
                waiter.set()
            self._confirmed.clear()
            with anyio.CancelScope(shield=True):
                await connection.disconnect(nowait=True)

    def _ready(self, hub: Listener) -> None:
        hub.ready(reconnected=self.connected_before)
        self.connected_before = True

    async def _send(self, connection: AbstractConnection, *args: str) -> None:
        async with self._send_lock:
            await connection.send_command(*args)

    async def watch(self, channel: str) -> None:
        connection = self.listening
        if connection is None:
            return  # (re)connecting: the listener subscribes every channel, after a gap
        waiter = self._confirmed.setdefault(channel, anyio.Event())
        try:
            await self._send(connection, "SUBSCRIBE", PREFIX + channel)
        except (RedisError, OSError):
            return  # the listener is going down too; it resubscribes after a gap
        with anyio.move_on_after(SUBSCRIBE_TIMEOUT):
            await waiter.wait()

    async def unwatch(self, channel: str) -> None:
        connection = self.listening
        if connection is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._send(connection, "UNSUBSCRIBE", PREFIX + channel)


def stream_id(text: str) -> tuple[int, int] | None:
    """``"1733-0"`` -> ``(1733, 0)``; ``None`` if it is not a stream id."""
    ms, sep, seq = text.partition("-")
    if not ms.isdigit() or (sep and not seq.isdigit()) or len(text) > 41:
        return None
    return int(ms), int(seq or 0)


class RedisStreamBackend(_RedisBackend):
    """One stream per channel (``XADD ... MAXLEN ~ history`` and ``EXPIRE ttl``).

    The listener keeps one cursor per channel: after a reconnect each channel goes on from
    its last id, so nothing retained is lost. A new channel starts at the stream's current
    last id (never ``0-0``, which would replay everything); the listener's blocking XREAD is
    interrupted with ``CLIENT UNBLOCK`` so that the new channel is read at once.
    """

    keeps_history = True

    def __init__(self, url: str, history: int, ttl: float) -> None:
        super().__init__(url, history, ttl)
        self.cursors: dict[str, str] = {}
        self._version = 0
        self._reading: int | None = None  # the version the XREAD in flight was built from
        self._client_id: int | None = None
        self._changed = anyio.Event()
        #: A batch this large for one channel means the listener may be behind by more than
        #: the stream retains: check for trimmed entries before delivering it.
        self._behind = max(2, min(READ_BATCH, history // 2))

    async def publish(self, channel: str, payload: str, event: str | None) -> str | None:
        key = PREFIX + channel
        fields: dict[FieldT, EncodableT] = (
            {"d": payload} if event is None else {"d": payload, "e": event}
        )
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(key, fields, maxlen=self.history_size, approximate=True)
            pipe.expire(key, self.ttl)
            event_id, _ = await self.command(pipe.execute())
        return str(event_id)

    async def _info(self, channel: str) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = await self.command(self.client.xinfo_stream(PREFIX + channel))
        except ResponseError:
            return None  # no such key: never written, or expired
        return info

    async def history(self, channel: str, after: str) -> History:
        position = stream_id(after)
        if position is None:
            return [], True
        info = await self._info(channel)
        if info is None:
            return [], True
        if position > _last_id(info) or _lost_before(info, position):
            return [], True
        entries: Any = await self.command(
            self.client.xrange(PREFIX + channel, min="(" + after, count=self.history_size)
        )
        return [_entry(channel, entry_id, fields) for entry_id, fields in entries], False

    async def watch(self, channel: str) -> None:
        if channel in self.cursors:
            return
        newest: Any = await self.command(self.client.xrevrange(PREFIX + channel, count=1))
        self.cursors.setdefault(channel, str(newest[0][0]) if newest else "0-0")
        self._version += 1
        target = self._version
        self._changed.set()
        for _ in range(50):  # bounded: at worst the channel is read when the XREAD times out
            reading, client_id = self._reading, self._client_id
            if reading is None or reading >= target or client_id is None:
                return
            try:
                if await self.client.client_unblock(client_id):
                    return
            except _UNREACHABLE:
                return
            await anyio.sleep(0.002)

    async def unwatch(self, channel: str) -> None:
        self.cursors.pop(channel, None)  # the next XREAD leaves it out

    async def listen(self, hub: Listener) -> None:
        connection = await self.connect_listener()
        try:
            await connection.send_command("CLIENT", "ID")
            self._client_id = int(await connection.read_response())
            if self.connected_before:
                hub.gap(await self._lost_since_cursors())
            self.listening = connection
            hub.ready(reconnected=self.connected_before)
            self.connected_before = True
            await self._read(connection, hub)
        finally:
            self.listening = None
            self._client_id = None
            self._reading = None
            with anyio.CancelScope(shield=True):
                await connection.disconnect(nowait=True)

    async def _check_trimmed(self, channel: str, cursor: str, hub: Listener) -> None:
        """Before delivering a large batch: a gap if entries after ``cursor`` were trimmed
        before we read them (never a silent loss, even while connected)."""
        info = await self._info(channel)
        if info is not None and _lost_before(info, stream_id(cursor) or (0, 0)):
            hub.gap([channel])

    async def _lost_since_cursors(self) -> list[str]:
        """Channels whose stream lost entries past our cursor while we were away (trimmed,
        expired, or Redis came back without its data): those get a gap."""
        lost = []
        for channel, cursor in list(self.cursors.items()):
            info = await self._info(channel)
            position = stream_id(cursor) or (0, 0)
            if info is None:
                if position != (0, 0):
                    lost.append(channel)
                    self.cursors[channel] = "0-0"
                continue
            if _last_id(info) < position:  # the stream restarted from scratch: read it all
                lost.append(channel)
                self.cursors[channel] = "0-0"
            elif _lost_before(info, position):
                lost.append(channel)
        return lost

    async def _read(self, connection: AbstractConnection, hub: Listener) -> None:
        cursors = self.cursors
        while True:
            if not cursors:
                changed = self._changed = anyio.Event()
                with anyio.move_on_after(IDLE_PING):
                    await changed.wait()
                if not changed.is_set():  # idle: make sure the link is alive all the same
                    await connection.send_command("PING")
                    await connection.read_response()
                continue
            channels = list(cursors)
            self._reading = self._version
            await connection.send_command(
                "XREAD",
                "COUNT",
                READ_BATCH,
                "BLOCK",
                BLOCK_MS,
                "STREAMS",
                *(PREFIX + c for c in channels),
                *(cursors[c] for c in channels),
            )
            reply = await connection.read_response(timeout=math.inf)
            self._reading = None
            if not reply:
                continue
            prefix_length = len(PREFIX)
            for key, entries in reply:
                channel = key[prefix_length:]
                if len(entries) >= self._behind and channel in cursors:
                    # A large batch: we may have fallen behind by more than the stream keeps.
                    await self._check_trimmed(channel, cursors[channel], hub)
                for entry_id, fields in entries:
                    if channel in cursors:
                        cursors[channel] = entry_id
                    hub.deliver(_entry(channel, entry_id, fields))


def _last_id(info: dict[str, Any]) -> tuple[int, int]:
    return stream_id(str(info.get("last-generated-id", "0-0"))) or (0, 0)


def _lost_before(info: dict[str, Any], position: tuple[int, int]) -> bool:
    """Whether entries after ``position`` may be gone: trimmed (``MAXLEN``: everything
    before the first entry, if anything was ever trimmed) or deleted (``XDEL``)."""
    deleted = stream_id(str(info.get("max-deleted-entry-id", "0-0"))) or (0, 0)
    if deleted > position:
        return True
    first = info.get("first-entry")
    trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
    first_id = stream_id(str(first[0])) if first else None
    if first_id is None:  # empty stream: everything ever added is gone
        return trimmed and position < _last_id(info)
    return trimmed and position < first_id


def _entry(channel: str, entry_id: str, fields: Any) -> Event:
    if isinstance(fields, list):  # RESP2 flat field/value list
        fields = dict(zip(fields[::2], fields[1::2], strict=False))
    return Event(channel, json.loads(fields["d"]), entry_id, fields.get("e"))
