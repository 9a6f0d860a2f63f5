"""EventSourceResponse driven directly over ASGI: headers, iterators, endings and cleanup.

Timing (heartbeats, the send timeout, producers that sleep) runs on trio's mock clock with
autojump: virtual time moves only when every task waits, so a heartbeat of 0.1 s against a
producer sleeping 0.35 s gives exactly three pings, every run, whatever the machine's load.
Tests that involve worker threads (sync iterators, thread-safe closing) keep the real clock
on asyncio, because virtual time would jump ahead while a thread works; they wait on events.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest
from lamina import HTTPConnection, Lamina, SettingsError, StreamingResponse
from lamina_sse import (
    EventSourceResponse,
    ServerSentEvent,
    close_streams,
    last_event_id,
    open_streams,
)
from sse_harness import Client, http_scope, sse_app
from trio.testing import MockClock

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return "trio", {"clock": MockClock(autojump_threshold=0)}


#: for tests whose producers run in worker threads (see the module docstring)
real_clock = pytest.mark.parametrize("anyio_backend", ["asyncio"])
#: on the real clock, a bound on a hang (never a measurement): generous for a loaded machine
HANG = 30


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    """Yield to the other tasks until ``condition`` holds (fails only on the timeout)."""
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.lowlevel.checkpoint()


async def test_headers_and_mixed_items() -> None:
    async def events() -> AsyncIterator[Any]:
        yield "plain"
        yield {"data": "d", "event": "named", "id": "1"}
        yield ServerSentEvent({"n": 2}, id=2)

    client = Client()
    response = EventSourceResponse(events())
    assert isinstance(response, StreamingResponse)
    await response(http_scope(sse_app()), client.receive, client.send)
    assert client.start["status"] == 200
    assert client.headers == {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
    }
    assert [(e.type, e.data, e.last_event_id) for e in client.events()] == [
        ("message", "plain", ""),
        ("named", "d", "1"),
        ("message", '{"n":2}', "2"),
    ]
    assert client.complete
    # Each event is its own body message: nothing is held back for batching.
    assert len([m for m in client.sent if m.get("body")]) == 3


@pytest.mark.parametrize("name", ["Connection", "transfer-encoding", "Keep-Alive", "Upgrade"])
def test_hop_by_hop_headers_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="hop-by-hop"):
        EventSourceResponse(iter(()), headers={name: "x"})


def test_content_length_is_refused() -> None:
    with pytest.raises(ValueError, match="no length"):
        EventSourceResponse(iter(()), headers={"Content-Length": "10"})


@real_clock
async def test_extra_headers_are_kept_and_may_override_cache_control() -> None:
    client = Client()
    await EventSourceResponse(iter(()), headers={"X-Trace": "t", "Cache-Control": "no-cache"})(
        http_scope(sse_app()), client.receive, client.send
    )
    assert client.headers["x-trace"] == "t"
    assert client.headers["cache-control"] == "no-cache"


@real_clock
async def test_sync_iterator_runs_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def events() -> Iterator[str]:
        for i in range(3):
            threads.append(threading.get_ident())
            yield f"e{i}"

    client = Client()
    await EventSourceResponse(events())(http_scope(sse_app()), client.receive, client.send)
    assert [e.data for e in client.events()] == ["e0", "e1", "e2"]
    assert threads and loop_thread not in threads
    assert client.complete


async def test_heartbeat_comments_when_idle() -> None:
    async def slow() -> AsyncIterator[str]:
        await anyio.sleep(0.35)
        yield "late"

    client = Client()
    app = sse_app(heartbeat_interval=0.1)
    await EventSourceResponse(slow())(http_scope(app), client.receive, client.send)
    assert client.body.count(b": ping\n\n") == 3  # at 0.1, 0.2 and 0.3 s of virtual time
    assert [e.data for e in client.events()] == ["late"]


async def test_heartbeat_is_skipped_while_events_flow() -> None:
    async def busy() -> AsyncIterator[str]:
        for i in range(12):
            await anyio.sleep(0.02)
            yield str(i)

    client = Client()
    await EventSourceResponse(busy(), heartbeat=0.1)(
        http_scope(sse_app()), client.receive, client.send
    )
    assert b": ping" not in client.body
    assert len(client.events()) == 12


async def test_heartbeat_zero_disables_it() -> None:
    async def slow() -> AsyncIterator[str]:
        await anyio.sleep(0.15)
        yield "x"

    client = Client()
    await EventSourceResponse(slow(), heartbeat=0)(
        http_scope(sse_app(heartbeat_interval=0.02)), client.receive, client.send
    )
    assert client.body == b"data: x\n\n"


async def test_disconnect_cancels_generator_and_runs_finally() -> None:
    cleaned = anyio.Event()
    started = anyio.Event()

    async def forever() -> AsyncIterator[str]:
        try:
            while True:
                yield "tick"
                started.set()
                await anyio.sleep(0.01)
        finally:
            cleaned.set()

    client = Client()
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            EventSourceResponse(forever()), http_scope(sse_app()), client.receive, client.send
        )
        await started.wait()
        client.gone.set()
        with anyio.fail_after(1):
            await cleaned.wait()
    assert not client.complete  # nothing is sent to a client that left


async def test_disconnect_while_blocked_in_send_still_closes_generator() -> None:
    """The generator is suspended at ``yield`` (not awaiting): it must still be closed."""
    cleaned = anyio.Event()

    async def forever() -> AsyncIterator[str]:
        try:
            while True:
                yield "tick"
        finally:
            cleaned.set()

    client = Client(stuck=True)
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            EventSourceResponse(forever(), send_timeout=None),
            http_scope(sse_app()),
            client.receive,
            client.send,
        )
        await client.stuck_in_send.wait()
        client.gone.set()
        with anyio.fail_after(1):
            await cleaned.wait()


@real_clock
async def test_sync_generator_finally_runs_on_disconnect() -> None:
    cleaned = threading.Event()

    def forever() -> Iterator[str]:
        try:
            while True:
                time.sleep(0.01)
                yield "tick"
        finally:
            cleaned.set()

    client = Client()
    client.on_body = lambda c: c.gone.set() if len(c.sent) > 3 else None
    with anyio.fail_after(HANG):
        await EventSourceResponse(forever())(http_scope(sse_app()), client.receive, client.send)
    assert cleaned.is_set()


async def test_stuck_client_is_dropped_after_send_timeout(caplog: pytest.LogCaptureFixture) -> None:
    cleaned = anyio.Event()

    async def forever() -> AsyncIterator[str]:
        try:
            while True:
                yield "tick"
        finally:
            cleaned.set()

    client = Client(stuck=True)
    app = sse_app(send_timeout=0.1)
    checked: list[bool] = []

    async def not_before_the_timeout() -> None:
        await anyio.sleep(0.099)  # virtual time (the mock clock), like every bound here
        assert not cleaned.is_set(), "dropped before a send was stuck for send_timeout"
        checked.append(True)

    # the timer checks every timeout/4: dropped at the first check past 0.1 s stuck
    with anyio.fail_after(0.126):
        async with anyio.create_task_group() as tg:
            tg.start_soon(not_before_the_timeout)
            await EventSourceResponse(forever())(http_scope(app), client.receive, client.send)
    assert checked == [True]
    assert cleaned.is_set()
    assert "dropping an event-stream client" in caplog.text
    assert [m["type"] for m in client.sent] == ["http.response.start"]


async def test_error_in_generator_propagates_unwrapped() -> None:
    async def broken() -> AsyncIterator[str]:
        yield "one"
        raise KeyError("boom")

    client = Client()
    with pytest.raises(KeyError, match="boom"):
        await EventSourceResponse(broken())(http_scope(sse_app()), client.receive, client.send)
    assert [e.data for e in client.events()] == ["one"]


async def test_bad_item_is_a_type_error() -> None:
    client = Client()
    with pytest.raises(TypeError, match="yielded int"):
        await EventSourceResponse(iter([1]))(http_scope(sse_app()), client.receive, client.send)


async def test_head_sends_headers_only_and_closes_the_source() -> None:
    async def events() -> AsyncIterator[str]:
        yield "never"

    gen = events()
    client = Client()
    await EventSourceResponse(gen)(
        http_scope(sse_app(), method="HEAD"), client.receive, client.send
    )
    assert client.body == b"" and client.complete
    with pytest.raises(StopAsyncIteration):
        await gen.__anext__()


@real_clock
async def test_background_runs_after_a_complete_stream_only() -> None:
    ran: list[str] = []

    async def task() -> None:
        ran.append("done")

    client = Client()
    await EventSourceResponse(iter(["a"]), background=task)(
        http_scope(sse_app()), client.receive, client.send
    )
    assert ran == ["done"]


async def test_shutdown_ends_every_open_stream_cleanly() -> None:
    app = sse_app()
    cleaned: list[int] = []

    def make(n: int) -> AsyncIterator[str]:
        async def forever() -> AsyncIterator[str]:
            try:
                while True:
                    yield "tick"
                    await anyio.sleep(0.01)
            finally:
                cleaned.append(n)

        return forever()

    clients = [Client() for _ in range(5)]
    config = app.extensions["sse"]
    async with config.registry.running(handle_signals=False):
        async with anyio.create_task_group() as tg:
            for n, client in enumerate(clients):
                tg.start_soon(
                    EventSourceResponse(make(n)), http_scope(app), client.receive, client.send
                )
            await until(lambda: open_streams(app) == 5)
            with anyio.fail_after(1):
                close_streams(app)
        assert open_streams(app) == 0
        assert sorted(cleaned) == [0, 1, 2, 3, 4]
        # Each browser sees a clean end of body, so it reconnects later (to another server).
        assert all(c.complete for c in clients)
        # A stream opened while the server is closing ends at once.
        late = Client()
        with anyio.fail_after(1):
            await EventSourceResponse(make(9))(http_scope(app), late.receive, late.send)
        assert late.complete


async def test_lifespan_shutdown_of_the_app_closes_streams() -> None:
    app = sse_app()
    client = Client()
    to_app_send, to_app = anyio.create_memory_object_stream[dict[str, Any]](4)
    from_app_send, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)

    async def forever() -> AsyncIterator[str]:
        while True:
            yield "tick"
            await anyio.sleep(0.01)

    with to_app_send, to_app, from_app_send, from_app, anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                app, {"type": "lifespan", "state": {}}, to_app.receive, from_app_send.send
            )
            await to_app_send.send({"type": "lifespan.startup"})
            assert (await from_app.receive())["type"] == "lifespan.startup.complete"
            tg.start_soon(
                EventSourceResponse(forever()), http_scope(app), client.receive, client.send
            )
            await until(lambda: open_streams(app) == 1)
            await to_app_send.send({"type": "lifespan.shutdown"})
            assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"
    assert client.complete and open_streams(app) == 0


@real_clock
async def test_server_signal_ends_streams_and_reaches_the_server_handler() -> None:
    """uvicorn waits for open responses before lifespan shutdown; the signal must end them."""
    assert threading.current_thread() is threading.main_thread()
    seen: list[int] = []
    original = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        app = sse_app()
        client = Client()

        async def forever() -> AsyncIterator[str]:
            while True:
                yield "tick"
                await anyio.sleep(0.01)

        registry = app.extensions["sse"].registry
        async with registry.running():
            with anyio.fail_after(HANG):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(
                        EventSourceResponse(forever()), http_scope(app), client.receive, client.send
                    )
                    await until(lambda: open_streams(app) == 1)
                    signal.raise_signal(signal.SIGINT)
        assert client.complete
        assert seen == [signal.SIGINT]
        # The server's own handler is back in place once the app stopped.
        assert signal.getsignal(signal.SIGINT) is not None
        signal.raise_signal(signal.SIGINT)
        assert seen == [signal.SIGINT, signal.SIGINT]
        assert registry.closing
    finally:
        signal.signal(signal.SIGINT, original)


async def test_close_on_signal_false_leaves_handlers_alone() -> None:
    app = sse_app(close_on_signal=False)
    before = signal.getsignal(signal.SIGTERM)
    async with app.extensions["sse"].registry.running(
        handle_signals=app.extensions["sse"].close_on_signal
    ):
        assert signal.getsignal(signal.SIGTERM) is before


def test_last_event_id_from_request_or_scope() -> None:
    scope = http_scope(headers=[(b"last-event-id", b"41")])
    assert last_event_id(HTTPConnection(scope)) == "41"
    assert last_event_id(scope) == "41"
    assert last_event_id(http_scope()) is None
    assert last_event_id(http_scope(headers=[(b"last-event-id", b"")])) is None


def test_settings_are_validated() -> None:
    with pytest.raises(SettingsError, match="heartbeat_interval"):
        sse_app(heartbeat_interval=-1)
    with pytest.raises(SettingsError, match="send_timeout"):
        sse_app(send_timeout=0)
    with pytest.raises(SettingsError, match="unknown setting"):
        sse_app(heartbeat=3)
    app = sse_app(heartbeat_interval=2, send_timeout=None)
    config = app.extensions["sse"]
    assert (config.heartbeat_interval, config.send_timeout) == (2.0, None)


@real_clock
async def test_works_without_the_plugin_using_defaults() -> None:
    client = Client()
    await EventSourceResponse(iter(["x"]))(
        http_scope(Lamina(autoload=False)), client.receive, client.send
    )
    assert client.body == b"data: x\n\n"


async def test_a_ping_and_an_event_are_never_sent_at_once() -> None:
    """The heartbeat and the event pump share one connection: sends must not overlap."""
    in_flight = 0
    overlaps = 0
    slow_pings = 0

    class SlowClient(Client):
        async def send(self, message: dict[str, Any]) -> None:
            nonlocal in_flight, overlaps, slow_pings
            in_flight += 1
            overlaps += in_flight > 1
            try:
                if message.get("body") == b": ping\n\n":
                    slow_pings += 1
                    await anyio.sleep(0.08)  # a ping stuck in the socket for a while
                await super().send(message)
            finally:
                in_flight -= 1

    async def bursty() -> AsyncIterator[str]:
        for i in range(6):
            await anyio.sleep(0.06)
            yield str(i)

    client = SlowClient()
    await EventSourceResponse(bursty(), heartbeat=0.05)(
        http_scope(sse_app()), client.receive, client.send
    )
    assert slow_pings >= 1
    assert overlaps == 0
    assert [e.data for e in client.events()] == [str(i) for i in range(6)]


async def test_a_generator_that_never_awaits_does_not_starve_the_loop() -> None:
    other_ran = anyio.Event()
    produced = 0

    async def greedy() -> AsyncIterator[str]:
        nonlocal produced
        while not other_ran.is_set():
            produced += 1
            yield "x"

    async def other() -> None:
        other_ran.set()

    client = Client()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                EventSourceResponse(greedy(), heartbeat=0, send_timeout=None),
                http_scope(sse_app()),
                client.receive,
                client.send,
            )
            tg.start_soon(other)
    assert produced <= 2  # the stream yields after every event


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_close_streams_from_another_thread(anyio_backend: str) -> None:
    """What a signal handler or a server integration does: thread-safe, on both backends."""
    app = sse_app()
    client = Client()

    async def forever() -> AsyncIterator[str]:
        while True:
            yield "tick"
            await anyio.sleep(0.01)

    async with app.extensions["sse"].registry.running(handle_signals=False):
        with anyio.fail_after(HANG):
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    EventSourceResponse(forever()), http_scope(app), client.receive, client.send
                )
                await until(lambda: open_streams(app) == 1)
                closer = threading.Thread(target=close_streams, args=(app,))
                closer.start()
                await anyio.to_thread.run_sync(closer.join)
    assert client.complete


@pytest.mark.parametrize("heartbeat", [0, 5])
async def test_send_failing_with_oserror_counts_as_a_disconnect(heartbeat: float) -> None:
    """Some servers raise from ``send`` once the client is gone, before any disconnect."""
    cleaned = anyio.Event()

    class BrokenPipe(Client):
        async def send(self, message: dict[str, Any]) -> None:
            if len(self.sent) == 3:
                raise BrokenPipeError("client went away")
            await super().send(message)

    async def forever() -> AsyncIterator[str]:
        try:
            while True:
                yield "tick"
                await anyio.sleep(0.001)
        finally:
            cleaned.set()

    client = BrokenPipe()
    with anyio.fail_after(2):
        await EventSourceResponse(forever(), heartbeat=heartbeat)(
            http_scope(sse_app()), client.receive, client.send
        )
    assert cleaned.is_set()
    assert len(client.sent) == 3 and not client.complete


@pytest.mark.parametrize("ending", ["disconnect", "send_timeout"])
async def test_source_closed_even_when_the_servers_send_cannot_be_cancelled(
    ending: str,
) -> None:
    """Like hypercorn, which shields socket writes: the stuck send only returns much later."""
    cleaned = anyio.Event()
    release = anyio.Event()

    class ShieldedSend(Client):
        async def send(self, message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and len(self.sent) >= 2:
                with anyio.CancelScope(shield=True):
                    await release.wait()
                return
            await super().send(message)

    async def forever() -> AsyncIterator[str]:
        try:
            while True:
                yield "tick"
        finally:
            cleaned.set()

    client = ShieldedSend()
    timeout = 0.2 if ending == "send_timeout" else None
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            EventSourceResponse(forever(), send_timeout=timeout, heartbeat=0),
            http_scope(sse_app()),
            client.receive,
            client.send,
        )
        await until(lambda: len(client.sent) >= 2)  # the next send is the stuck one
        if ending == "disconnect":
            client.gone.set()
        with anyio.fail_after(1):
            await cleaned.wait()
        release.set()  # the server's write finally returns; the response then ends


@real_clock
async def test_streams_leave_the_registry_however_they_end() -> None:
    app = sse_app()

    async def forever() -> AsyncIterator[str]:
        while True:
            yield "tick"
            await anyio.sleep(0.01)

    clients = [Client() for _ in range(20)]
    async with anyio.create_task_group() as tg:
        for client in clients:
            tg.start_soon(
                EventSourceResponse(forever()), http_scope(app), client.receive, client.send
            )
        await until(lambda: open_streams(app) == 20)
        for client in clients:
            client.gone.set()
    assert open_streams(app) == 0
    for content in (iter(["a"]), ["b"]):
        await EventSourceResponse(content)(http_scope(app), Client().receive, Client().send)
    assert open_streams(app) == 0


@real_clock
@pytest.mark.parametrize("ending", ["disconnect", "shutdown"])
async def test_a_sync_source_blocked_in_a_step_does_not_hold_the_stream(ending: str) -> None:
    """A sync generator waiting on a queue cannot be interrupted; the stream still ends within
    about a second (the server can exit), and the generator is closed (its finally runs) when
    the step returns."""
    app = sse_app()
    release, cleaned = threading.Event(), threading.Event()
    steps: list[str] = []

    def blocking() -> Iterator[str]:
        try:
            yield "first"
            steps.append("waiting")
            release.wait(2 * HANG)  # e.g. queue.get(): no way to interrupt it from the loop
            steps.append("released")
            yield "never sent"
        finally:
            cleaned.set()

    client = Client()
    config = app.extensions["sse"]
    finished = anyio.Event()

    async def respond() -> None:
        await EventSourceResponse(blocking(), heartbeat=0)(
            http_scope(app), client.receive, client.send
        )
        finished.set()

    async with config.registry.running(handle_signals=False), anyio.create_task_group() as tg:
        tg.start_soon(respond)
        await until(lambda: steps == ["waiting"])
        if ending == "disconnect":
            client.gone.set()
        else:
            close_streams(app)
        with anyio.fail_after(HANG):  # the step gets SYNC_STEP_GRACE (1 s) to return by itself
            await finished.wait()
        # the verdict, without a clock: the stream ended while the step was still blocked
        assert steps == ["waiting"]
        assert open_streams(app) == 0
        assert not cleaned.is_set()  # the generator is still inside its step
        release.set()  # the step returns: the worker thread closes the generator
        assert await anyio.to_thread.run_sync(cleaned.wait, HANG)
    assert steps == ["waiting", "released"]
    assert b"never sent" not in client.body
    if ending == "shutdown":
        assert client.complete
