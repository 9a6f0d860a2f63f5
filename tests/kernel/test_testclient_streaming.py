"""The test client streams response bodies: an endless event stream can be read a few
events at a time and closed, the app then sees ``http.disconnect`` and its task ends (its
``finally`` runs before ``close`` returns); errors after the start are raised when the body
is read or closed; a stream left open does not hang the client's exit."""

from __future__ import annotations

import threading

import anyio
import httpx
import pytest
from lamina import StreamingResponse
from lamina.testclient import AsyncTestClient, TestClient
from lamina.testing import make_app

from tests.helpers import sse
from tests.helpers.apps import router_plugin

BACKENDS = ["asyncio", "trio"]
pytestmark = pytest.mark.timeout(20)


class EndlessEvents:
    """A raw ASGI app sending ``id: N / data: tick N`` events forever.

    It records what ``receive`` told it after the request and whether its ``finally`` ran,
    so a test can see the client's close reach the app.
    """

    def __init__(self) -> None:
        self.received: list[str] = []
        self.sent = 0
        self.cleaned_up = threading.Event()

    async def __call__(self, scope, receive, send) -> None:
        assert scope["type"] == "http"
        await receive()  # the request body
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream; charset=utf-8")],
            }
        )

        async def watch(cancel: anyio.CancelScope) -> None:
            message = await receive()
            self.received.append(message["type"])
            cancel.cancel()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch, tg.cancel_scope)
                while True:
                    self.sent += 1
                    event = f"id: {self.sent}\ndata: tick {self.sent}\n\n".encode()
                    await send({"type": "http.response.body", "body": event, "more_body": True})
                    await anyio.sleep(0)
        finally:
            self.cleaned_up.set()


def read_events(lines, count: int) -> list[tuple[str, str]]:
    """``count`` events, as (id, data), from an iterator of lines."""
    return [(event["id"], event["data"]) for event in sse.take(lines, count)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_endless_stream_read_three_events_then_closed(backend):
    app = EndlessEvents()
    client = TestClient(app, backend=backend)  # no lifespan: a portal lives for the stream
    with client.stream("GET", "/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response.iter_lines(), 3)
        assert not app.cleaned_up.is_set()  # still streaming while the client holds it
    assert events == [("1", "tick 1"), ("2", "tick 2"), ("3", "tick 3")]
    # close() returned only after the app saw the disconnect and finished
    assert app.received == ["http.disconnect"]
    assert app.cleaned_up.is_set()


@pytest.mark.parametrize("backend", BACKENDS)
def test_endless_stream_inside_lifespan_block(backend):
    app = EndlessEvents()
    with TestClient(app, backend=backend) as client:
        for _ in range(2):  # the portal survives a closed stream and serves the next one
            app.cleaned_up.clear()
            with client.stream("GET", "/events") as response:
                first = read_events(response.iter_lines(), 3)
            assert first[0][1].startswith("tick")
            assert app.cleaned_up.is_set()
    assert app.received == ["http.disconnect", "http.disconnect"]


# asyncio only: on trio, httpx's own aiter_* generators left half-read warn when collected
@pytest.mark.parametrize("backend", ["asyncio"])
def test_async_client_endless_stream(backend):
    app = EndlessEvents()

    async def main() -> list[tuple[str, str]]:
        async with AsyncTestClient(app) as client:
            async with client.stream("GET", "/events") as response:
                lines = response.aiter_lines()
                events = [(e["id"], e["data"]) for e in await sse.take_async(lines, 3)]
                await lines.aclose()
            assert app.cleaned_up.is_set()
            return events

    assert anyio.run(main, backend=backend) == [("1", "tick 1"), ("2", "tick 2"), ("3", "tick 3")]
    assert app.received == ["http.disconnect"]


def gated_app(gate: threading.Event, produced: list[str], finished: threading.Event):
    """A kernel StreamingResponse whose second chunk waits until the reader opens ``gate``."""

    async def chunks():
        try:
            produced.append("first")
            yield "first,"
            # until the reader opens the gate (an event across threads; bounded, 30 s)
            assert await anyio.to_thread.run_sync(gate.wait, 30, abandon_on_cancel=True)
            for name in ("second", "third"):
                produced.append(name)
                yield f"{name},"
        finally:
            finished.set()

    return make_app(router_plugin({"/stream": lambda request: StreamingResponse(chunks())}))


@pytest.mark.parametrize("backend", BACKENDS)
def test_streaming_response_read_chunk_by_chunk(backend):
    gate, finished, produced = threading.Event(), threading.Event(), []
    with TestClient(gated_app(gate, produced, finished), backend=backend) as client:
        with client.stream("GET", "/stream") as response:
            chunks = response.iter_raw()
            assert next(chunks) == b"first,"
            assert produced == ["first"]  # the rest is not produced yet, yet we have a chunk
            gate.set()
            rest = b"".join(chunks)
        assert rest == b"second,third,"
        assert finished.is_set()


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_streaming_response_read_chunk_by_chunk(backend):
    gate, finished, produced = threading.Event(), threading.Event(), []
    app = gated_app(gate, produced, finished)

    async def main() -> None:
        async with AsyncTestClient(app) as client:
            async with client.stream("GET", "/stream") as response:
                chunks = response.aiter_raw()
                assert await chunks.__anext__() == b"first,"
                assert produced == ["first"]
                gate.set()
                rest = b"".join([chunk async for chunk in chunks])
            assert rest == b"second,third,"

    anyio.run(main, backend=backend)
    assert finished.is_set()


def test_plain_responses_are_whole_and_complete():
    """A response whose body is complete at once is returned with the app already done."""
    done = []

    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        for part in (b"a", b"b", b"c"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"d"})
        assert (await receive())["type"] == "http.disconnect"
        done.append(True)

    client = TestClient(app)
    response = client.get("/")
    assert (response.status_code, response.content, done) == (201, b"abcd", [True])
    with client.stream("GET", "/") as streamed:
        assert streamed.read() == b"abcd"


def failing_after(chunks: int, *, in_cleanup: bool = False, gate: threading.Event | None = None):
    """An app that streams ``chunks`` chunks, then fails, or fails only when disconnected.

    With ``gate`` it fails only once the gate is set (the test sets it when it holds the
    response), so the failure is mid-body by construction, not by a guess at a delay."""

    async def app(scope, receive, send):
        assert scope["type"] == "http"  # under `async with`, refuse the lifespan protocol
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(chunks):
            await send({"type": "http.response.body", "body": b"x%d," % i, "more_body": True})
        if in_cleanup:
            assert (await receive())["type"] == "http.disconnect"
            raise RuntimeError("cleanup failed")
        if gate is not None:
            assert await anyio.to_thread.run_sync(gate.wait, 10)
        raise ValueError("failed mid-stream")

    return app


@pytest.mark.parametrize("backend", BACKENDS)
def test_error_after_start_raises_when_the_body_is_read(backend):
    gate = threading.Event()
    client = TestClient(failing_after(2, gate=gate), backend=backend)
    with client.stream("GET", "/") as response:
        assert response.status_code == 200
        gate.set()
        with pytest.raises(ValueError, match="failed mid-stream"):
            response.read()
    # without streaming the same error comes out of the request itself
    with pytest.raises(ValueError, match="failed mid-stream"):
        client.get("/")


@pytest.mark.parametrize("backend", BACKENDS)
def test_error_during_cleanup_raises_when_the_response_is_closed(backend):
    client = TestClient(failing_after(1, in_cleanup=True), backend=backend)
    response = client.send(client.build_request("GET", "/"), stream=True)
    assert next(response.iter_raw()) == b"x0,"
    with pytest.raises(RuntimeError, match="cleanup failed"):
        response.close()


def test_errors_after_start_are_quiet_without_raise_server_exceptions():
    client = TestClient(failing_after(2), raise_server_exceptions=False)
    with client.stream("GET", "/") as response:
        assert response.read() == b"x0,x1,"  # the body simply ends where the app failed
    assert client.get("/").content == b"x0,x1,"


def test_async_error_after_start_raises_when_the_body_is_read():
    gate = threading.Event()

    async def main() -> None:
        async with (
            AsyncTestClient(failing_after(2, gate=gate)) as client,
            client.stream("GET", "/") as response,
        ):
            gate.set()
            with pytest.raises(ValueError, match="failed mid-stream"):
                await response.aread()

    anyio.run(main)


def test_error_before_start_is_raised_or_answered_500():
    async def app(scope, receive, send):
        raise KeyError("early")

    with pytest.raises(KeyError):
        TestClient(app).get("/")
    with pytest.raises(KeyError), TestClient(app).stream("GET", "/"):
        pass
    quiet = TestClient(app, raise_server_exceptions=False)
    assert quiet.get("/").status_code == 500
    with quiet.stream("GET", "/") as response:
        assert (response.status_code, response.read()) == (500, b"Internal Server Error")


def test_stream_left_open_is_closed_when_the_client_exits():
    app = EndlessEvents()
    with TestClient(app) as client:
        response = client.send(client.build_request("GET", "/events"), stream=True)
        assert next(response.iter_lines()).startswith("id: ")
    assert app.cleaned_up.is_set()
    assert app.received == ["http.disconnect"]
    response.close()  # harmless afterwards


def test_app_ignoring_disconnect_is_cancelled():
    """An app that neither reads ``receive`` nor sends again is cancelled after a grace."""
    cancelled = threading.Event()

    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hi", "more_body": True})
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise

    client = TestClient(app)
    with client.stream("GET", "/") as response:
        assert next(response.iter_raw()) == b"hi"
    assert cancelled.is_set()


def test_sends_after_the_client_closed_raise_oserror_in_the_app():
    """Like an ASGI 2.4 server, the client makes ``send`` raise ``OSError`` once it left."""
    seen: list[BaseException] = []

    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for _ in range(10_000):  # bounded: ends long before with the OSError
                await send({"type": "http.response.body", "body": b".", "more_body": True})
        except OSError as exc:
            seen.append(exc)
            raise

    client = TestClient(app)
    with client.stream("GET", "/") as response:
        assert next(response.iter_raw()) == b"."
    assert len(seen) == 1 and isinstance(seen[0], OSError)
    assert isinstance(response, httpx.Response)


def test_async_stream_left_open_is_closed_when_the_client_exits():
    app = EndlessEvents()

    async def main() -> None:
        async with AsyncTestClient(app) as client:
            response = await client.send(client.build_request("GET", "/events"), stream=True)
            assert (await response.aiter_raw().__anext__()).startswith(b"id: ")
        assert app.cleaned_up.is_set()

    anyio.run(main)
    assert app.received == ["http.disconnect"]


def test_streamed_request_follows_redirects_to_the_stream():
    app_events = EndlessEvents()

    async def app(scope, receive, send):
        assert scope["type"] == "http"
        if scope["path"] == "/old":
            await send(
                {
                    "type": "http.response.start",
                    "status": 307,
                    "headers": [(b"location", b"/events")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await app_events(scope, receive, send)

    client = TestClient(app)
    with client.stream("GET", "/old") as response:
        assert response.url.path == "/events"
        assert [r.status_code for r in response.history] == [307]
        assert read_events(response.iter_lines(), 1) == [("1", "tick 1")]
    assert app_events.cleaned_up.is_set()
