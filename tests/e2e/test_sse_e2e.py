"""lamina-sse under real servers on 127.0.0.1, read with httpx streaming.

Events arrive as they are produced (nothing buffers them, gzip installed or not), Last-Event-ID
comes back on reconnect, a client that goes away has its generator cleaned up (an async one
even while it is parked, so the disconnect itself is noticed), and a server asked to stop
(SIGINT) ends every open stream and exits.

Nothing here reads the clock to judge: the test thread and the server meet on events, and
every timeout is a generous bound on a hang. The timers themselves (heartbeat interval, send
timeout) are tested on a mock clock in tests/plugins/sse/test_sse_response.py.
"""

from __future__ import annotations

import itertools
import signal
import socket
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from lamina import Request
from lamina.testing import make_app
from lamina_routing import Route
from lamina_sse import EventSourceResponse, ServerSentEvent, last_event_id

from tests.helpers.servers import child_process, free_port, serve
from tests.helpers.sse import parse
from tests.helpers.waiting import answer, process_exited, wait_until

ROOT = Path(__file__).resolve().parents[2]

# The test thread and the server thread share these.
release = threading.Event()
pinged = threading.Event()
cleaned: dict[str, threading.Event] = {}
#: a bound on a hang, never a measurement
WAIT = 30


async def until_set(event: threading.Event) -> None:
    """Park the producer until the test thread sets ``event`` (bounded by WAIT)."""
    assert await anyio.to_thread.run_sync(event.wait, WAIT, abandon_on_cancel=True)


async def gated(request: Request) -> EventSourceResponse:
    """One event, then wait until the test saw it: proves the event was not held back."""

    async def events() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent("first", id=1)
        await until_set(release)
        yield ServerSentEvent("second\nline", event="more", id=2)

    return EventSourceResponse(events())


async def resume(request: Request) -> EventSourceResponse:
    start = int(last_event_id(request) or 0)

    async def events() -> AsyncIterator[dict[str, Any]]:
        for n in range(start + 1, start + 4):
            yield {"data": f"n={n}", "id": n}

    return EventSourceResponse(events())


async def endless(request: Request) -> EventSourceResponse:
    key = request.query_params["key"]
    done = cleaned.setdefault(key, threading.Event())

    async def events() -> AsyncIterator[str]:
        try:
            for n in range(1, 5):
                yield f"tick {n}"
            await anyio.sleep_forever()  # parked: only the client's leaving can end it
        finally:
            done.set()

    # no heartbeat: no send can fail and reveal the disconnect; the watcher must see it
    return EventSourceResponse(events(), heartbeat=0)


def sync_endless(request: Request) -> EventSourceResponse:
    key = request.query_params["key"]
    done = cleaned.setdefault(key, threading.Event())

    def events() -> Iterator[str]:
        try:
            while True:
                time.sleep(0.02)  # pacing only: a blocking step between events
                yield "tick"
        finally:
            done.set()

    return EventSourceResponse(events())


async def quiet(request: Request) -> EventSourceResponse:
    async def events() -> AsyncIterator[str]:
        await until_set(pinged)  # until the client has seen three heartbeats
        yield "done"

    return EventSourceResponse(events(), heartbeat=0.1)


async def firehose(request: Request) -> EventSourceResponse:
    """Large events as fast as the socket takes them, with a short send timeout."""
    key = request.query_params["key"]
    done = cleaned.setdefault(key, threading.Event())
    big = "x" * 65536

    async def events() -> AsyncIterator[str]:
        try:
            for _ in range(2000):  # bounded: 128 MiB if nothing ever stalled
                yield big
        finally:
            done.set()

    return EventSourceResponse(events(), send_timeout=0.5)


def build_app() -> Any:
    return make_app(
        "routing",
        "sse",
        "gzip",
        routes=[
            Route("/gated", gated),
            Route("/resume", resume),
            Route("/endless", endless),
            Route("/sync-endless", sync_endless),
            Route("/quiet", quiet),
            Route("/firehose", firehose),
        ],
    )


SERVERS = [("uvicorn", "asyncio"), ("hypercorn", "trio")]


@pytest.fixture(scope="module", params=SERVERS, ids=[f"{s}-{lp}" for s, lp in SERVERS])
def base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    server, loop = request.param
    with serve(build_app(), server=server, loop=loop) as url:
        yield url


def test_events_stream_unbuffered_and_uncompressed(base_url: str) -> None:
    release.clear()
    lines: list[str] = []
    headers = {"accept-encoding": "gzip"}
    with httpx.stream("GET", base_url + "/gated", headers=headers, timeout=5) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers
        assert "content-length" not in response.headers
        for line in response.iter_lines():
            lines.append(line)
            if line == "" and len(lines) == 3:
                assert parse(lines) == [{"id": "1", "data": "first"}]
                release.set()  # only now may the server produce the second event
    assert parse(lines) == [
        {"id": "1", "data": "first"},
        {"id": "2", "event": "more", "data": "second\nline"},
    ]


@pytest.mark.parametrize(("sent", "expected"), [(None, [1, 2, 3]), ("41", [42, 43, 44])])
def test_last_event_id_resumes(base_url: str, sent: str | None, expected: list[int]) -> None:
    headers = {"last-event-id": sent} if sent else {}
    response = httpx.get(base_url + "/resume", headers=headers, timeout=5)
    events = parse(response.text.split("\n"))
    assert [int(e["id"]) for e in events] == expected
    assert [e["data"] for e in events] == [f"n={n}" for n in expected]


@pytest.mark.parametrize("path", ["/endless", "/sync-endless"])
def test_generator_cleaned_up_on_disconnect(base_url: str, path: str) -> None:
    key = f"{path}-{base_url}"
    with httpx.stream("GET", f"{base_url}{path}?key={key}", timeout=WAIT) as response:
        # Keep the iterator referenced: dropping it early would close the connection.
        lines = response.iter_lines()
        ticks = 0
        while ticks < 4:  # the generator is alive: it produced every one of these
            ticks += next(lines).startswith("data: tick")
        assert not cleaned[key].is_set()
    # Leaving the block closed the connection; the wait is a bound on a hang.
    assert cleaned[key].wait(WAIT), "the generator's finally never ran"


def test_a_client_that_stops_reading_is_dropped(base_url: str) -> None:
    key = f"firehose-{base_url}"
    host, port = base_url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(WAIT)  # a connection left open fails the recv below
        sock.connect((host, int(port)))
        sock.sendall(f"GET /firehose?key={key} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        # Stop reading: the server's buffers fill, its send blocks, the timeout drops us.
        assert cleaned_event(key).wait(WAIT), "the stuck client was not dropped"
        # The response never completes: draining what was buffered reaches the end of the
        # connection (uvicorn closes it; hypercorn, whose socket writes cannot be cancelled,
        # may first finish the write it had started). No complete event stream arrives.
        received = b""
        try:
            while chunk := sock.recv(1 << 20):
                received += chunk
        except TimeoutError:
            pytest.fail("the connection was left open")
        assert not received.endswith(b"0\r\n\r\n")


def cleaned_event(key: str) -> threading.Event:
    """The endpoint registers ``key`` when the request reaches it (on the server's thread)."""
    return wait_until(lambda: cleaned.get(key), 10, f"the request {key!r} to arrive")


def test_heartbeat_comments_on_an_idle_stream(base_url: str) -> None:
    pinged.clear()
    lines: list[str] = []
    with httpx.stream("GET", base_url + "/quiet", timeout=WAIT) as response:
        for line in response.iter_lines():
            lines.append(line)
            if lines.count(": ping") == 3:
                pinged.set()  # only now does the producer send its one event
    text = "\n".join(lines)
    assert text.count(": ping\n") >= 3
    assert text.endswith("data: done\n")


SERVER_SCRIPT = textwrap.dedent("""
    import sys, anyio, uvicorn
    from lamina.testing import make_app
    from lamina_routing import Route
    from lamina_sse import EventSourceResponse

    async def forever(request):
        async def events():
            try:
                while True:
                    yield "tick"
                    await anyio.sleep(0.05)
            finally:
                print("generator closed", flush=True)
        return EventSourceResponse(events())

    app = make_app("routing", "sse", routes=[Route("/events", forever)])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info",
                interface="asgi3")
""")


def read_until_end(lines: Iterator[str]) -> list[str]:
    """The rest of a stream, which must end: 1,000 more lines (500 ticks, 25 s at the
    server's pace) bound a stream the signal did not end, without reading a clock."""
    rest = list(itertools.islice(lines, 1000))
    if len(rest) == 1000:
        pytest.fail("the stream was still open long after SIGINT")
    return rest


def test_sigint_ends_open_streams_and_the_server_exits() -> None:
    """uvicorn waits for open responses before lifespan shutdown; streams must end first."""
    port = free_port()
    with child_process([sys.executable, "-c", SERVER_SCRIPT, str(port)], cwd=ROOT) as child:
        proc = child.process
        url = f"http://127.0.0.1:{port}/events"
        wait_until(
            partial(answer, f"http://127.0.0.1:{port}/nothing"),
            30,
            "the server to answer",
            gave_up=process_exited(proc),
        )
        with (
            httpx.stream("GET", url, timeout=WAIT) as a,
            httpx.stream("GET", url, timeout=WAIT) as b,
        ):
            lines_a, lines_b = a.iter_lines(), b.iter_lines()
            assert next(lines_a) == next(lines_b) == "data: tick"
            proc.send_signal(signal.SIGINT)
            # Each stream ends cleanly (no transport error): the body is complete.
            rest_a, rest_b = read_until_end(lines_a), read_until_end(lines_b)
        # uvicorn waits for open responses without a limit: a stream the signal did not end
        # would keep it up, so a generous bound tells the two apart without timing anything
        assert proc.wait(WAIT) == 0, "the server did not exit with streams open"
    assert all(line in ("", "data: tick") for line in rest_a + rest_b)
    assert child.output.count("generator closed") == 2
    assert "Waiting for connections to close" not in child.output
