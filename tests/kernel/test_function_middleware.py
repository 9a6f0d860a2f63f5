"""Function middleware: ``async def mw(request, call_next) -> response``.

None of what ``BaseHTTPMiddleware`` users report: the response streams through unbuffered
(the endpoint waits for the client to have read a chunk before it sends the next), SSE
passes and a client that goes away reaches the endpoint, context variables flow to the
endpoint and back, the endpoint still reads a body the middleware read, a 100 MiB upload
streams through without being held, and exceptions stay plain exceptions.
"""

from __future__ import annotations

import contextvars
import threading
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from lamina import JSONResponse, Lamina, Middleware, PlainTextResponse, Request, StreamingResponse
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_routing import Mount, Route
from lamina_sse import EventSourceResponse, ServerSentEvent

from tests.helpers.servers import serve

CallNext = Any
WAIT = 20  # seconds: only ever reached when something is broken

tenant: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="none")
handled_by: contextvars.ContextVar[str] = contextvars.ContextVar("handled_by", default="none")


async def add_header(request: Request, call_next: CallNext) -> Any:
    response = await call_next(request)
    response.headers["x-served-by"] = "lamina"
    return response


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def app_for(*routes: Any, middleware: Any = (add_header,), **kwargs: Any) -> Lamina:
    return make_app("routing", "sse", routes=list(routes), middleware=list(middleware), **kwargs)


@pytest.mark.parametrize("phase", ["outermost", "innermost"])
def test_a_header_adding_function_middleware_at_any_phase(phase: str) -> None:
    app = app_for(Route("/", hello), middleware=[Middleware(add_header, phase=phase)])  # type: ignore[arg-type]
    assert app.describe_middleware()[0]["name"] == "add_header"
    with TestClient(app) as client:
        response = client.get("/")
        missing = client.get("/nope")
    assert (response.text, response.headers["x-served-by"]) == ("hello", "lamina")
    assert (missing.status_code, missing.headers["x-served-by"]) == (404, "lamina")


def test_on_a_route_and_on_a_mount() -> None:
    app = make_app(
        "routing",
        routes=[
            Route("/r", hello, middleware=[add_header]),
            Mount("/m", routes=[Route("/", hello)], middleware=[add_header]),
            Route("/plain", hello),
        ],
    )
    with TestClient(app) as client:
        assert client.get("/r").headers["x-served-by"] == "lamina"
        assert client.get("/m/").headers["x-served-by"] == "lamina"
        assert "x-served-by" not in client.get("/plain").headers


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_context_variables_reach_the_endpoint_and_come_back(backend: str) -> None:
    seen: dict[str, str] = {}

    async def tenancy(request: Request, call_next: CallNext) -> Any:
        tenant.set(request.headers.get("x-tenant", "anon"))
        response = await call_next(request)
        response.headers["x-handled-by"] = handled_by.get()
        seen["after"] = tenant.get()
        return response

    async def endpoint(request: Request) -> PlainTextResponse:
        handled_by.set("endpoint")
        return PlainTextResponse(tenant.get())

    app = app_for(Route("/", endpoint), middleware=[tenancy])
    with TestClient(app, backend=backend) as client:
        response = client.get("/", headers={"x-tenant": "acme"})
    assert response.text == "acme"  # the middleware's value, seen by the endpoint
    assert response.headers["x-handled-by"] == "endpoint"  # the endpoint's, seen back
    assert seen == {"after": "acme"}


def test_the_endpoint_still_reads_a_body_the_middleware_read() -> None:
    async def audit(request: Request, call_next: CallNext) -> Any:
        body = await request.body()
        response = await call_next(request)
        response.headers["x-audited"] = str(len(body))
        return response

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(await request.json())

    app = app_for(Route("/", echo, methods=["POST"]), middleware=[audit])
    with TestClient(app) as client:
        response = client.post("/", content=b'{"a": 1}')
    assert response.json() == {"a": 1}
    assert response.headers["x-audited"] == "8"


def test_a_middleware_may_answer_alone_or_replace_the_response() -> None:
    ended = threading.Event()

    async def gate(request: Request, call_next: CallNext) -> Any:
        if "x-key" not in request.headers:
            return PlainTextResponse("no key", status_code=401)
        response = await call_next(request)
        if response.status_code == 200 and request.headers["x-key"] == "swap":
            return PlainTextResponse("replaced")
        return response

    async def endless(scope: Any, receive: Any, send: Any) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            while True:
                await send({"type": "http.response.body", "body": b"chunk", "more_body": True})
        finally:
            ended.set()

    with TestClient(app_for(Route("/", endless), middleware=[gate])) as client:
        assert client.get("/").status_code == 401
        assert client.get("/", headers={"x-key": "swap"}).text == "replaced"
    assert ended.wait(WAIT)  # the replaced app was stopped, not left running


def test_exceptions_stay_plain_and_reach_outer_layers() -> None:
    class Broken(Exception):
        pass

    async def crash(request: Request) -> PlainTextResponse:
        raise Broken("endpoint bug")

    caught: list[BaseException] = []

    async def catcher(request: Request, call_next: CallNext) -> Any:
        try:
            return await call_next(request)
        except Broken as exc:  # before the response started: call_next raises it
            caught.append(exc)
            return PlainTextResponse("recovered", status_code=503)

    app = app_for(Route("/", crash), middleware=[add_header])
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/")
    assert (response.status_code, response.headers["x-served-by"]) == (500, "lamina")
    with TestClient(app) as client, pytest.raises(Broken, match="endpoint bug"):
        client.get("/")  # the 500's exception goes on to the server, not an ExceptionGroup
    on_route = make_app("routing", routes=[Route("/", crash, middleware=[catcher])])
    with TestClient(on_route) as client:
        assert client.get("/").text == "recovered"
    assert [type(e) for e in caught] == [Broken]


def test_call_next_once_and_no_options() -> None:
    async def twice(request: Request, call_next: CallNext) -> Any:
        await call_next(request)
        return await call_next(request)

    with (
        TestClient(app_for(Route("/", hello), middleware=[twice])) as client,
        pytest.raises(RuntimeError, match="only once"),
    ):
        client.get("/")
    with pytest.raises(TypeError, match="takes no options"):
        Middleware(add_header, flag=True)


def test_background_work_set_by_the_middleware_runs_after_the_body() -> None:
    order: list[str] = []

    async def later(request: Request, call_next: CallNext) -> Any:
        response = await call_next(request)

        async def work() -> None:
            order.append("background")

        response.background = work
        return response

    with TestClient(app_for(Route("/", hello), middleware=[later])) as client:
        assert client.get("/").text == "hello"
        order.append("client")
    assert order == ["background", "client"]


# --------------------------------------------------------------------------- real server
SERVERS = [
    pytest.param(("uvicorn", "asyncio"), id="uvicorn"),
    pytest.param(("hypercorn", "asyncio"), id="hypercorn-asyncio"),
    pytest.param(("hypercorn", "trio"), id="hypercorn-trio"),
]


@pytest.mark.parametrize("server", SERVERS)
def test_the_response_streams_through_unbuffered(server: tuple[str, str]) -> None:
    """The endpoint sends its second chunk only once the client has the first: a layer
    that buffered the body would deadlock here (and fail on the wait)."""
    client_has_first = threading.Event()

    async def stepwise(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"first\n"
            assert await anyio.to_thread.run_sync(client_has_first.wait, WAIT)
            yield b"second\n"

        return StreamingResponse(body())

    app = app_for(Route("/", stepwise))
    name, loop = server
    with (
        serve(app, server=name, loop=loop) as url,  # type: ignore[arg-type]
        httpx.stream("GET", url + "/", timeout=WAIT) as response,
    ):
        assert response.headers["x-served-by"] == "lamina"
        lines = response.iter_lines()
        assert next(lines) == "first"
        client_has_first.set()
        assert next(lines) == "second"


@pytest.mark.parametrize("server", SERVERS)
def test_sse_passes_through_and_a_disconnect_reaches_the_endpoint(server: tuple[str, str]) -> None:
    closed = threading.Event()

    async def feed(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[ServerSentEvent]:
            try:
                n = 0
                while True:
                    n += 1
                    yield ServerSentEvent(str(n), id=n)
                    await anyio.sleep(0.01)
            finally:
                closed.set()

        return EventSourceResponse(events())

    app = app_for(Route("/feed", feed))
    name, loop = server
    with serve(app, server=name, loop=loop) as url:  # type: ignore[arg-type]
        with httpx.stream("GET", url + "/feed", timeout=WAIT) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["x-served-by"] == "lamina"
            data: list[str] = []
            for line in response.iter_lines():
                if line.startswith("data:"):
                    data.append(line)
                if len(data) == 3:
                    break
        assert data == ["data: 1", "data: 2", "data: 3"]
        assert closed.wait(WAIT)  # the client left: the endpoint's generator was closed


def test_a_100_mib_upload_streams_through_without_being_held() -> None:
    size = 100 * 1024 * 1024
    chunk = b"\xab" * (256 * 1024)

    async def count(request: Request) -> JSONResponse:
        total = 0
        async for part in request.stream():
            total += len(part)
        return JSONResponse({"received": total})

    def upload() -> Iterator[bytes]:
        for _ in range(size // len(chunk)):
            yield chunk

    app = app_for(
        Route("/upload", count, methods=["POST"]), settings={"lamina": {"max_body_size": None}}
    )
    with serve(app) as url:
        tracemalloc.start()
        try:
            response = httpx.post(url + "/upload", content=upload(), timeout=60)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.json() == {"received": size}
    assert response.headers["x-served-by"] == "lamina"
    assert peak < 32 * 1024 * 1024  # a held body alone would be 100 MiB
