"""A server error is answered with a 500 and then raised on, as Starlette does.

Outer middleware (Sentry, OpenTelemetry, a user's) sees the exception after the 500 went
out, so it records it as unhandled; the server logs it, once; Lamina does not log it itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sentry_sdk
from lamina import Middleware, PlainTextResponse
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_routing import Mount, Route
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.asgi import SentryAsgiMiddleware
from sentry_sdk.transport import Transport

from tests.helpers.servers import serve


class Spoiled(Exception):
    pass


async def boom(request: Any) -> PlainTextResponse:
    raise Spoiled("the milk went off")


async def fine(request: Any) -> PlainTextResponse:
    return PlainTextResponse("fine")


class Witness:
    """A foreign outermost middleware: what it saw go out, and what reached it raised."""

    seen: list[tuple[int | None, BaseException | None]] = []

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        status: int | None = None

        async def watch(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except BaseException as exc:
            Witness.seen.append((status, exc))
            raise
        Witness.seen.append((status, None))


def app_with_witness(**kwargs: Any) -> Any:
    return make_app(
        "routing",
        routes=[
            Route("/boom", boom),
            Route("/fine", fine),
            Mount("/in", routes=[Route("/boom", boom)]),
        ],
        middleware=[Witness],
        **kwargs,
    )


@pytest.mark.parametrize("path", ["/boom", "/in/boom"])
def test_outer_middleware_sees_the_error_after_the_500_was_sent(path: str) -> None:
    Witness.seen.clear()
    with TestClient(app_with_witness(), raise_server_exceptions=False) as client:
        response = client.get(path)
        assert client.get("/fine").text == "fine"
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    (status, error), after = Witness.seen
    assert status == 500 and isinstance(error, Spoiled)
    assert after == (200, None)


def test_a_500_handler_answers_and_the_error_still_goes_on() -> None:
    Witness.seen.clear()

    async def sorry(request: Any, exc: BaseException) -> PlainTextResponse:
        return PlainTextResponse("sorry", status_code=500)

    app = app_with_witness(exception_handlers={500: sorry})
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/boom").text == "sorry"
    assert [(s, type(e)) for s, e in Witness.seen] == [(500, Spoiled)]


def test_handled_exceptions_are_not_raised_on() -> None:
    Witness.seen.clear()

    async def handled(request: Any, exc: BaseException) -> PlainTextResponse:
        return PlainTextResponse("handled", status_code=409)

    app = app_with_witness(exception_handlers={Spoiled: handled})
    with TestClient(app) as client:  # raise_server_exceptions on: nothing to raise
        assert client.get("/boom").status_code == 409
    assert Witness.seen == [(409, None)]


def test_a_middleware_error_gets_a_500_and_goes_on_to_the_server() -> None:
    def broken(app: Any) -> Any:
        async def layer(scope: Any, receive: Any, send: Any) -> None:
            raise Spoiled("in the middleware")

        return layer

    app = make_app("routing", routes=[Route("/fine", fine)], middleware=[Middleware(broken)])
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/fine").status_code == 500
    with TestClient(app) as client, pytest.raises(Spoiled, match="in the middleware"):
        client.get("/fine")


def test_under_uvicorn_the_error_is_logged_once_by_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    Witness.seen.clear()
    with caplog.at_level(logging.ERROR), serve(app_with_witness(), log_config=None) as url:
        response = httpx.get(url + "/boom")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    logged = [r for r in caplog.records if "the milk went off" in (r.exc_text or "")]
    assert [r.name for r in logged] == ["uvicorn.error"]
    assert [(s, type(e)) for s, e in Witness.seen] == [(500, Spoiled)]


# --------------------------------------------------------------------------- Sentry
class MemoryTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict[str, Any]]:
        return [
            item.payload.json
            for envelope in self.envelopes
            for item in envelope.items
            if item.type == "event" and item.payload.json is not None
        ]


@pytest.fixture
def sentry() -> Iterator[MemoryTransport]:
    transport = MemoryTransport()
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=transport)
    try:
        yield transport
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


@pytest.mark.parametrize("phase", ["outermost", "innermost"])
def test_sentry_captures_a_500_once_as_unhandled(sentry: MemoryTransport, phase: str) -> None:
    app = make_app(
        "routing",
        routes=[Route("/boom", boom)],
        middleware=[Middleware(SentryAsgiMiddleware, phase=phase)],  # type: ignore[arg-type]
    )
    with serve(app, log_config=None) as url:
        assert httpx.get(url + "/boom").status_code == 500
    sentry_sdk.get_client().flush()
    errors = [e for e in sentry.events() if e.get("level") == "error"]
    assert len(errors) == 1
    (exception,) = errors[0]["exception"]["values"]
    assert exception["type"] == "Spoiled"
    assert exception["mechanism"]["handled"] is False
