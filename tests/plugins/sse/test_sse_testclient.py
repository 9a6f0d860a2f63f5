"""Endless event streams tested in-process: ``TestClient.stream`` reads a few events, closing
the response reaches the endpoint as a disconnect and its generator's ``finally`` runs; the
stream passes the gzip plugin untouched, whatever gzip's exclusion list says; the [sse]
heartbeat and send timeout settings reach the streams."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest
from lamina import PlainTextResponse, Request
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_routing import Route
from lamina_sse import EventSourceResponse, ServerSentEvent, last_event_id, open_streams
from sse_harness import parse_stream

from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.timeout(20)


class Feed:
    """An endless numbered feed that resumes after ``Last-Event-ID`` and records cleanups."""

    def __init__(self) -> None:
        self.cleaned = threading.Event()
        self.resumed_from: list[str | None] = []

    async def endpoint(self, request: Request) -> EventSourceResponse:
        after = last_event_id(request)
        self.resumed_from.append(after)
        n = int(after) if after is not None and after.isdigit() else 0

        async def events() -> AsyncIterator[ServerSentEvent]:
            nonlocal n
            try:
                while True:
                    n += 1
                    yield ServerSentEvent({"n": n}, event="tick", id=n)
                    await anyio.sleep(0.001)
            finally:
                self.cleaned.set()

        return EventSourceResponse(events(), heartbeat=0)


def read_events(lines: Iterator[str], count: int) -> list[tuple[str, str]]:
    raw = ""
    for line in lines:
        raw += line + "\n"
        events = parse_stream(raw.encode())[0]
        if len(events) == count:
            return [(e.last_event_id, e.data) for e in events]
    raise AssertionError(f"the stream ended early: {raw!r}")


def app_with(feed: Feed, **settings):
    routes = [
        Route("/feed", feed.endpoint),
        Route("/text", lambda request: PlainTextResponse("compress me " * 100)),
    ]
    return make_app("routing", "sse", "gzip", routes=routes, settings=settings or None)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_endless_stream_read_then_closed_in_process(backend: str) -> None:
    feed = Feed()
    app = app_with(feed)
    with TestClient(app, backend=backend) as client:
        headers = {"accept-encoding": "gzip"}
        with client.stream("GET", "/feed", headers=headers) as response:
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert response.headers["cache-control"] == "no-store"
            assert "content-encoding" not in response.headers
            events = read_events(response.iter_lines(), 3)
            assert open_streams(app) == 1
            assert not feed.cleaned.is_set()
        assert events == [("1", '{"n":1}'), ("2", '{"n":2}'), ("3", '{"n":3}')]
        # Closing the response was a disconnect: the generator's finally has run already.
        assert feed.cleaned.is_set()
        assert open_streams(app) == 0

        # A browser reconnecting sends the last id it saw; the feed carries on after it.
        feed.cleaned.clear()
        with client.stream("GET", "/feed", headers={"last-event-id": events[-1][0]}) as again:
            assert read_events(again.iter_lines(), 2) == [("4", '{"n":4}'), ("5", '{"n":5}')]
        assert feed.cleaned.is_set()
    assert feed.resumed_from == [None, "3"]


def test_gzip_never_compresses_events_even_if_told_to() -> None:
    """An exclusion list without text/event-stream still leaves event streams alone."""
    feed = Feed()
    app = app_with(feed, gzip={"excluded_media_types": ["image/*"], "minimum_size": 0})
    with TestClient(app) as client:
        with client.stream("GET", "/feed", headers={"accept-encoding": "gzip"}) as response:
            assert "content-encoding" not in response.headers
            assert read_events(response.iter_lines(), 1) == [("1", '{"n":1}')]
        assert feed.cleaned.is_set()
        # the same settings do compress other text, so the check above is not vacuous
        text = client.get("/text", headers={"accept-encoding": "gzip"})
        assert text.headers["content-encoding"] == "gzip"
        assert text.text == "compress me " * 100


def test_heartbeat_and_send_timeout_from_the_settings_in_process() -> None:
    """The ``[sse]`` settings reach every stream: an idle one gets pings at the configured
    interval, and a client that stops reading is dropped after ``send_timeout``."""
    idle_cleaned, busy_cleaned = threading.Event(), threading.Event()

    async def idle(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[str]:
            try:
                await anyio.sleep_forever()
                yield "never"
            finally:
                idle_cleaned.set()

        return EventSourceResponse(events())

    async def busy(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[str]:
            try:
                for n in range(100_000):  # bounded; the client stops reading long before
                    yield f"event {n} " + "x" * 1000
            finally:
                busy_cleaned.set()

        return EventSourceResponse(events())

    app = make_app(
        "routing",
        "sse",
        routes=[Route("/idle", idle), Route("/busy", busy)],
        settings={"sse": {"heartbeat_interval": 0.05, "send_timeout": 0.2}},
    )
    with TestClient(app) as client:
        with client.stream("GET", "/idle") as response:
            lines = response.iter_lines()
            assert [next(lines) for _ in range(4)] == [": ping", "", ": ping", ""]
        assert idle_cleaned.is_set()

        with client.stream("GET", "/busy") as response:
            assert next(response.iter_lines()).startswith("data: event 0 ")
            # Stop reading: the test client's buffer fills and the server's send blocks.
            assert busy_cleaned.wait(30), "a client that stopped reading was never dropped"
            # The generator's finally runs just before the response leaves the registry (on
            # the app's thread): allow that moment, bounded.
            wait_until(lambda: open_streams(app) == 0, 30, "the stream to leave the registry")
