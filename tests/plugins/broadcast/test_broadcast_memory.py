"""lamina-broadcast on ``memory://``: the API, ordering, overflow, history and resume.

These run in-process against the real hub; the same behaviour over Redis and across
worker processes is in ``test_broadcast_redis.py`` and ``test_broadcast_workers.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from broadcast_harness import take
from lamina_broadcast import Broadcast, Event, Subscription

pytestmark = pytest.mark.anyio


def pending(sub: Subscription) -> int:
    return len(sub._queue) + len(sub._replay)


@pytest.fixture
async def hub() -> AsyncIterator[Broadcast]:
    broadcast = Broadcast("memory://", max_backlog=8, history=50)
    async with broadcast.running():
        yield broadcast


async def test_publish_reaches_every_subscriber_once_in_order(hub: Broadcast) -> None:
    async with hub.subscribe("a") as one, hub.subscribe("a", "b") as two:
        ids = [await hub.publish("a", {"n": n}, event="tick") for n in range(5)]
        await hub.publish("b", "to b")
        first = await take(one, 5)
        second = await take(two, 6)
    assert [e.data for e in first] == [{"n": n} for n in range(5)]
    assert [e.id for e in first] == ids
    assert {e.event for e in first} == {"tick"}
    assert [e.data for e in second] == [{"n": n} for n in range(5)] + ["to b"]
    assert second[-1].channel == "b" and second[-1].event is None
    assert all(e.kind == "message" for e in second)
    assert pending(one) == 0 and pending(two) == 0  # nothing delivered twice


async def test_unsubscribed_channels_and_left_subscribers_get_nothing(hub: Broadcast) -> None:
    async with hub.subscribe("a") as sub:
        pass
    await hub.publish("a", 1)
    assert pending(sub) == 0
    assert hub.channels() == []


async def test_drop_oldest_counts_and_yields_a_gap_where_events_were_lost(hub: Broadcast) -> None:
    async with hub.subscribe("a") as slow, hub.subscribe("a") as fast:
        for n in range(20):
            await hub.publish("a", n)
            assert (await take(fast, 1))[0].data == n  # the other is never held up
        got = await take(slow, 9)
    assert slow.dropped == 12
    assert got[0] == Event.gap("a")
    assert [e.data for e in got[1:]] == list(range(12, 20))  # the newest max_backlog kept


async def test_close_policy_ends_the_subscription_and_counts() -> None:
    broadcast = Broadcast(max_backlog=4, overflow="close")
    async with broadcast.running(), broadcast.subscribe("a") as sub:
        for n in range(6):
            await broadcast.publish("a", n)
        got = [e async for e in sub]
    assert got == []
    assert sub.closed_reason == "overflow"
    assert sub.dropped == 5


async def test_resume_after_last_event_id_replays_then_goes_live(hub: Broadcast) -> None:
    ids = [await hub.publish("a", n) for n in range(10)]
    await hub.publish("other", "not mine")
    async with hub.subscribe("a", last_event_id=ids[4]) as sub:
        await hub.publish("a", "live")
        got = await take(sub, 6)
    assert [e.data for e in got] == [5, 6, 7, 8, 9, "live"]


async def test_resume_from_an_id_older_than_the_history_is_a_gap_then_live() -> None:
    broadcast = Broadcast(history=3)
    async with broadcast.running():
        first = await broadcast.publish("a", 0)
        for n in range(1, 10):
            await broadcast.publish("a", n)
        for stale in (first, "junk", "99999"):
            async with broadcast.subscribe("a", last_event_id=stale) as sub:
                live = await broadcast.publish("a", "live")
                assert await take(sub, 2) == [Event.gap("a"), Event("a", "live", live)]


async def test_history_longer_than_backlog_is_replayed_without_deadlock() -> None:
    """litestar#5011: history put with a blocking put before the consumer ran deadlocked."""
    broadcast = Broadcast(max_backlog=4, history=500)
    async with broadcast.running():
        start = await broadcast.publish("a", -1)
        for n in range(300):
            await broadcast.publish("a", n)
        with anyio.fail_after(5):
            async with broadcast.subscribe("a", last_event_id=start) as sub:
                got = await take(sub, 300)
    assert [e.data for e in got] == list(range(300))
    assert sub.dropped == 0


async def test_history_expires_after_ttl_with_an_injected_clock() -> None:
    now = [1000.0]
    broadcast = Broadcast(history=10, ttl=60, clock=lambda: now[0])
    async with broadcast.running():
        start = await broadcast.publish("a", 0)
        await broadcast.publish("a", 1)
        now[0] += 59
        async with broadcast.subscribe("a", last_event_id=start) as sub:
            assert [e.data for e in await take(sub, 1)] == [1]
        now[0] += 1
        async with broadcast.subscribe("a", last_event_id=start) as sub:
            assert await take(sub, 1) == [Event.gap("a")]


async def test_subscribe_outside_the_lifespan_is_refused() -> None:
    with pytest.raises(RuntimeError, match="lifespan"):
        async with Broadcast().subscribe("a"):
            pass


async def test_bad_arguments_are_refused(hub: Broadcast) -> None:
    with pytest.raises(ValueError, match="channel"):
        await hub.publish("", 1)
    with pytest.raises(TypeError):
        await hub.publish("a", object())
    with pytest.raises(ValueError, match="one line"):
        await hub.publish("a", 1, event="x\ny")
    with pytest.raises(ValueError, match="at least one"):
        async with hub.subscribe():
            pass


def test_backoff_is_capped_and_jittered() -> None:
    from lamina_broadcast import Backoff

    high = Backoff(base=0.1, cap=1.0, jitter=0.5, random=lambda: 0.0)
    low = Backoff(base=0.1, cap=1.0, jitter=0.5, random=lambda: 1.0)
    assert [high.delay(a) for a in range(6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert [low.delay(a) for a in range(6)] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.5, 0.5])
    assert high.delay(10_000) == 1.0


def test_default_backoff_reconnects_well_within_two_seconds() -> None:
    """The issue's "back within 2 s of Redis returning", without a clock: the listener never
    sleeps longer than the default cap between attempts, whatever the attempt or the jitter."""
    from lamina_broadcast import Backoff

    for draw in (0.0, 0.5, 1.0):
        backoff = Backoff(random=lambda draw=draw: draw)
        assert max(backoff.delay(attempt) for attempt in range(100)) <= 0.5


async def test_an_error_inside_running_comes_out_as_raised() -> None:
    with pytest.raises(KeyError, match="mine"):
        async with Broadcast().running():
            raise KeyError("mine")
