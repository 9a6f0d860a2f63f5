"""asgi-lifespan's ``LifespanManager`` driving a Lamina app, bare and wrapped by a foreign
middleware: lifespan state reaches requests, shutdown runs, a failing startup raises the
real error (not a timeout)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_correlation_id import CorrelationIdMiddleware
from asgi_lifespan import LifespanManager
from eco_apps import PLUGINS, make_routes
from lamina import JSONResponse, Lamina, Request
from lamina.testing import make_app
from lamina_routing import Route

pytestmark = pytest.mark.anyio

events: list[str] = []


async def state(request: Request) -> JSONResponse:
    return JSONResponse({"db": request.state.db})


def lamina_app(fail: bool = False) -> Lamina:
    @asynccontextmanager
    async def lifespan(app: Lamina) -> AsyncIterator[dict[str, str]]:
        events.append("startup")
        if fail:
            raise ConnectionError("the database is down")
        yield {"db": "connected"}
        events.append("shutdown")

    return make_app(*PLUGINS, routes=[*make_routes(), Route("/db", state)], lifespan=lifespan)


@pytest.fixture(params=["bare", "wrapped"])
def wrap(request: pytest.FixtureRequest) -> Any:
    if request.param == "bare":
        return lambda app: app
    return CorrelationIdMiddleware


async def test_state_reaches_requests_and_shutdown_runs(wrap: Any) -> None:
    events.clear()
    async with LifespanManager(wrap(lamina_app())) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/db")
            assert response.json() == {"db": "connected"}
            assert (await client.get("/users/3")).json() == {"id": "3"}
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


async def test_startup_failure_raises_the_real_error(wrap: Any) -> None:
    events.clear()
    with pytest.raises(BaseException) as caught:
        async with LifespanManager(wrap(lamina_app(fail=True)), startup_timeout=30):
            pass
    error = caught.value
    # the real error, or its message, not a bare TimeoutError after the timeout
    assert not isinstance(error, TimeoutError), repr(error)
    assert "the database is down" in repr(error) + repr(error.__cause__)
    assert events == ["startup"]
