"""An exception after the response started: no second answer, the error reaches the server.

The error layers do not wrap ``send``; Lamina's responses and the router's endpoint wrapper
record such an exception on the scope themselves, and everything foreign the router serves
(a returned ASGI callable, a raw ASGI route, a mounted app, route and mount middleware) is
watched by ``track_response_start``. Each place is checked here, with and without app
middleware (the error layer runs in ``Lamina.__call__`` without it, under ``OuterGuard``
with it).
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from lamina import JSONResponse, Lamina, Middleware, PlainTextResponse
from lamina.testclient import TestClient
from lamina_routing import Mount, Route

from tests.helpers.apps import header_middleware


async def half(scope: Any, receive: Any, send: Any) -> None:
    """Starts a response, sends part of the body, then fails."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError("failed mid-stream")


class HalfResponse:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await half(scope, receive, send)


def passthrough(app: Any) -> Any:
    async def layer(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)

    return layer


async def fail_later() -> None:
    raise RuntimeError("background failed")


ROUTES = [
    Route("/returned", lambda request: HalfResponse()),
    Route("/raw", half),
    Route("/route-mw", half, middleware=[Middleware(passthrough)]),
    Mount("/mounted", half),
    Mount("/mount-mw", routes=[Route("/x", half)], middleware=[Middleware(passthrough)]),
    Route("/background", lambda request: PlainTextResponse("done", background=fail_later)),
    Route("/ok", lambda request: PlainTextResponse("ok")),
    Route("/json", lambda request: JSONResponse({"a": 1})),
]


def app(middleware: bool) -> Lamina:
    return Lamina(
        ROUTES,
        autoload=False,
        plugins=["routing"],
        middleware=[header_middleware()] if middleware else [],
    )


@pytest.mark.parametrize("middleware", [False, True], ids=["bare", "middleware"])
@pytest.mark.parametrize("path", ["/returned", "/raw", "/route-mw", "/mounted", "/mount-mw/x"])
def test_a_failure_mid_stream_ends_the_response_and_reaches_the_server(path, middleware):
    response = TestClient(app(middleware), raise_server_exceptions=False).get(path)
    # no second response start, no 500 body appended to the partial one
    assert (response.status_code, response.content) == (200, b"partial")
    with pytest.raises(RuntimeError, match="mid-stream"):
        TestClient(app(middleware)).get(path)


@pytest.mark.parametrize("middleware", [False, True], ids=["bare", "middleware"])
def test_a_failing_background_task_comes_after_the_whole_response(middleware):
    response = TestClient(app(middleware), raise_server_exceptions=False).get("/background")
    assert (response.status_code, response.text) == (200, "done")
    with pytest.raises(RuntimeError, match="background failed"):
        TestClient(app(middleware)).get("/background")


@pytest.mark.anyio
@pytest.mark.parametrize("middleware", [False, True], ids=["bare", "middleware"])
@pytest.mark.parametrize("path", ["/ok", "/json", "/background"])
async def test_a_send_that_fails_after_the_start_gets_no_second_answer(path, middleware):
    """The server's send raising (the client went away) on the body: the start already went
    out, so nothing else may be sent; the error goes on to the server."""
    sent: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        if message["type"] == "http.response.body":
            raise OSError("connection reset")

    async def receive() -> dict[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
    }
    with pytest.raises(OSError, match="connection reset"):
        await app(middleware)(scope, receive, send)
    assert sent == ["http.response.start", "http.response.body"]
