"""A lifespan that never ran is named, not left to a bare ``AttributeError``.

When the server does not run the lifespan protocol (daphne; here uvicorn with
``lifespan="off"``) or a parent app does not forward it (Starlette's ``Mount``), the app logs
once at the first request, and a route that reads what startup would have put in the state
gets :class:`lamina.LifespanNotRun` naming the cause. Routes that need no state still work.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from lamina import LifespanNotRun
from starlette.applications import Starlette
from starlette.routing import Mount as StarletteMount

from tests.helpers.servers import serve
from tests.kernel.test_request_state import app_with_lifespan


def test_a_server_without_lifespan_gets_a_clear_error_and_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_with_lifespan()

    async def server_without_lifespan(scope: Any, receive: Any, send: Any) -> None:
        # what uvicorn's lifespan="auto" does with an app that refuses the lifespan scope is
        # what daphne does with every app: it serves without running the protocol
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan here")
        await app(scope, receive, send)

    with (
        caplog.at_level(logging.WARNING),
        serve(server_without_lifespan, log_config=None) as url,
    ):
        assert httpx.get(url + "/fine").text == "fine"
        assert httpx.get(url + "/plain").text == "no pool"  # getattr(..., default) still works
        failed = httpx.get(url + "/attr")
    assert (failed.status_code, failed.text) == (500, "Internal Server Error")
    warnings = [r for r in caplog.records if r.name == "lamina"]
    assert len(warnings) == 1  # once, at the first request
    assert "lifespan protocol did not run" in warnings[0].getMessage()
    assert "the app's lifespan" in warnings[0].getMessage()
    (error,) = [r for r in caplog.records if r.exc_info and r.exc_info[0] is LifespanNotRun]
    assert error.name == "uvicorn.error"
    assert "request.state has no attribute 'pool'" in str(error.exc_info[1])  # type: ignore[index]
    assert "asgi_lifespan.LifespanManager" in str(error.exc_info[1])  # type: ignore[index]


@pytest.mark.anyio
async def test_mounted_under_starlette_without_its_lifespan_the_error_says_so() -> None:
    parent = Starlette(routes=[StarletteMount("/lam", app=app_with_lifespan())])
    transport = httpx.ASGITransport(app=parent)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/lam/fine")).text == "fine"
        with pytest.raises(LifespanNotRun, match="did not run"):
            await client.get("/lam/key")


@pytest.mark.anyio
async def test_run_from_the_parents_lifespan_the_state_reaches_mounted_requests() -> None:
    from asgi_lifespan import LifespanManager

    lamina = app_with_lifespan()

    @asynccontextmanager
    async def parent_lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        async with LifespanManager(lamina):  # the parent runs the mounted app's lifespan
            yield {"parent": "own state"}

    parent = Starlette(routes=[StarletteMount("/lam", app=lamina)], lifespan=parent_lifespan)
    async with LifespanManager(parent) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/lam/key")).text == "the pool"
            assert (await client.get("/lam/attr")).text == "the pool"


def test_an_app_assembled_before_its_first_request_still_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_with_lifespan().assemble()  # e.g. a script that listed the routes first

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for _ in range(2):
                with pytest.raises(LifespanNotRun):
                    await client.get("/key")

    with caplog.at_level(logging.WARNING, logger="lamina"):
        anyio.run(main)
    assert [r.name for r in caplog.records if r.name == "lamina"] == ["lamina"]
