"""The Redis backends against a real redis-server: delivery, ids, resume, outages.

Two :class:`Broadcast` hubs in one process stand in for two workers here (each has its
own connections, as a worker would); ``test_broadcast_workers.py`` does it with real processes.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import anyio
import pytest
from broadcast_harness import take
from lamina_broadcast import (
    Backoff,
    Broadcast,
    BroadcastUnavailable,
    Event,
    Publisher,
)

from tests.helpers.redis import RedisServer

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]
SCHEMES = ["redis", "redis+stream"]
_names = itertools.count()


def channel() -> str:
    return f"ch{next(_names)}"


class GatedBackoff(Backoff):
    """Reconnects only when the test opens the gate: no timing in the test."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = anyio.Event()
        self.waiting = anyio.Event()

    async def wait(self, attempt: int) -> None:
        self.waiting.set()
        await self.gate.wait()


@pytest.fixture(params=SCHEMES)
def url(request: pytest.FixtureRequest, redis_server: RedisServer) -> str:
    return redis_server.url(request.param)


@pytest.fixture
async def hubs(url: str) -> AsyncIterator[tuple[Broadcast, Broadcast]]:
    one, two = Broadcast(url, max_backlog=64), Broadcast(url, max_backlog=64)
    async with one.running(), two.running():
        assert one.connected and two.connected
        yield one, two


async def test_events_cross_hubs_once_and_in_order(
    hubs: tuple[Broadcast, Broadcast], url: str
) -> None:
    one, two = hubs
    name = channel()
    async with one.subscribe(name) as near, two.subscribe(name) as far:
        ids = [await one.publish(name, {"n": n}, event="e") for n in range(50)]
        got_near, got_far = await take(near, 50), await take(far, 50)
    for got in (got_near, got_far):
        assert [e.data for e in got] == [{"n": n} for n in range(50)]
        assert [e.id for e in got] == ids
        assert {(e.channel, e.event, e.kind) for e in got} == {(name, "e", "message")}
    if url.startswith("redis+stream"):
        assert all(ids) and len(set(ids)) == 50
    else:
        assert ids == [None] * 50
    assert len(near._queue) == 0  # the publishing hub delivered each event once


async def test_publisher_without_an_app(hubs: tuple[Broadcast, Broadcast], url: str) -> None:
    one, _ = hubs
    name = channel()
    async with one.subscribe(name) as sub, Publisher.from_url(url) as publisher:
        assert "127.0.0.1" in repr(publisher)
        await publisher.publish(name, "from a script", event="note")
        (event,) = await take(sub, 1)
    assert (event.data, event.event) == ("from a script", "note")


async def test_stream_resume_on_another_hub(hubs: tuple[Broadcast, Broadcast], url: str) -> None:
    if not url.startswith("redis+stream"):  # pub/sub keeps nothing: a resume is a gap
        one, two = hubs
        name = channel()
        await one.publish(name, 1)
        async with two.subscribe(name, last_event_id="1-0") as sub:
            await one.publish(name, "live")
            assert [e.kind for e in await take(sub, 2)] == ["gap", "message"]
        return
    one, two = hubs
    name = channel()
    ids = [await one.publish(name, n) for n in range(15)]
    async with two.subscribe(name, last_event_id=ids[4]) as sub:
        await one.publish(name, "live")
        got = await take(sub, 11)
    assert [e.data for e in got] == [*range(5, 15), "live"]


async def test_stream_id_older_than_history_is_a_gap(redis_server: RedisServer) -> None:
    url = redis_server.url("redis+stream")
    hub = Broadcast(url, history=5)
    name = channel()
    async with hub.running():
        first = await hub.publish(name, 0)
        for n in range(1, 400):  # MAXLEN ~ trims whole nodes: go well past it
            await hub.publish(name, n)
        async with hub.subscribe(name, last_event_id=first) as sub:
            await hub.publish(name, "live")
            got = await take(sub, 2)
    assert got[0] == Event.gap(name)
    assert got[1].data == "live"


async def test_outage_publish_raises_and_listener_recovers(
    redis_server: RedisServer, url: str
) -> None:
    backoff = GatedBackoff()
    hub = Broadcast(url, backoff=backoff)
    name = channel()
    lost, back = anyio.Event(), anyio.Event()
    hub.on_disconnect = lambda exc: lost.set()
    async with hub.running(), hub.subscribe(name) as sub:
        await hub.publish(name, "before")
        assert [e.data for e in await take(sub, 1)] == ["before"]
        redis_server.stop()
        with anyio.fail_after(5):
            await lost.wait()
        with pytest.raises(BroadcastUnavailable) as info:
            await hub.publish(name, "during")
        assert "unreachable" in str(info.value)
        redis_server.start()
        # Published after Redis returned, before our listener is back: Streams keep it.
        async with Publisher.from_url(url) as publisher:
            await publisher.publish(name, "while reconnecting")
        assert not hub.connected
        hub.on_connect = back.set
        backoff.gate.set()
        with anyio.fail_after(5):
            await back.wait()
        after = await hub.publish(name, "after")
        got = await take(sub, 2)
        assert hub.connected and hub.connects == 2
    if url.startswith("redis+stream"):
        assert [e.data for e in got] == ["while reconnecting", "after"]
        assert got[1].id == after
    else:
        assert got == [Event.gap(name), Event(name, "after")]


async def test_stream_history_longer_than_backlog_replays_without_deadlock(
    redis_server: RedisServer,
) -> None:
    """litestar#5011: a history larger than the subscriber backlog deadlocked there."""
    hub = Broadcast(redis_server.url("redis+stream"), max_backlog=4, history=1000)
    name = channel()
    async with hub.running():
        start = await hub.publish(name, -1)
        for n in range(300):
            await hub.publish(name, n)
        async with hub.subscribe(name, last_event_id=start) as sub:
            await hub.publish(name, "live")
            got = await take(sub, 301)
    assert [e.data for e in got] == [*range(300), "live"]
    assert sub.dropped == 0


async def test_a_stream_trimmed_past_the_listener_while_connected_is_a_gap(
    redis_server: RedisServer,
) -> None:
    """A burst far larger than the history, written in one round trip so the listener cannot
    keep up: every run of entries trimmed before it read them is reported by a gap, never
    skipped silently."""
    from redis.asyncio import Redis

    hub = Broadcast(redis_server.url("redis+stream"), history=5, max_backlog=1000)
    name = channel()
    got: list[Event] = []
    async with hub.running(), hub.subscribe(name) as sub:
        await hub.publish(name, "before")
        assert [e.data for e in await take(sub, 1)] == ["before"]
        async with Redis.from_url(redis_server.url()) as raw, raw.pipeline() as pipe:
            for n in range(400):
                pipe.xadd(f"lamina:broadcast:{name}", {"d": str(n)}, maxlen=5)
            await pipe.execute()
        with anyio.fail_after(10):
            async for event in sub:
                got.append(event)
                if event.data == 399:
                    break
    numbers = [e.data for e in got if e.kind == "message"]
    assert got[0] == Event.gap(name) and len(numbers) < 400
    previous = -1
    for before, event in itertools.pairwise([Event.gap(name), *got]):
        if event.kind == "message":
            # Consecutive, or right after a gap: nothing vanished unannounced.
            assert event.data == previous + 1 or before.kind == "gap", (previous, event)
            previous = event.data
