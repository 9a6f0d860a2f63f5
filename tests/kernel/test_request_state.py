"""``request.state`` typed as ``Request[StateT]``, read by attribute or by key.

This file is type-checked by ``uv run mypy`` (``[tool.mypy] files``): the ``assert_type``
calls check what mypy infers, and each ``type: ignore[...]`` asserts that mypy refuses the
line (strict mode reports an ignore that is not needed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypedDict, assert_type

import pytest
from lamina import Lamina, PlainTextResponse, Request, State
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_routing import Route


class AppState(State):
    pool: str


class DictState(TypedDict):
    pool: str


async def by_attribute(request: Request[AppState]) -> PlainTextResponse:
    assert_type(request.state, AppState)
    assert_type(request.state.pool, str)
    return PlainTextResponse(request.state.pool)


async def by_key(request: Request[DictState]) -> PlainTextResponse:
    assert_type(request.state["pool"], str)
    return PlainTextResponse(request.state["pool"])


async def missing(request: Request[AppState]) -> PlainTextResponse:
    return PlainTextResponse(request.state.nothing)  # State answers any name: a run-time miss


def refused(by_attr: Request[AppState], by_dict: Request[DictState]) -> None:
    """Never called: mypy must refuse each line (see the module docstring)."""
    by_dict.state["nothing"]  # type: ignore[typeddict-item]
    by_attr.state.pool = 1  # type: ignore[assignment]


async def plain(request: Request) -> PlainTextResponse:
    assert_type(request.state, State)
    return PlainTextResponse(str(getattr(request.state, "pool", "no pool")))


async def no_state(request: Request) -> PlainTextResponse:
    return PlainTextResponse("fine")


@asynccontextmanager
async def lifespan(app: Lamina) -> AsyncIterator[dict[str, Any]]:
    yield {"pool": "the pool"}


def app_with_lifespan() -> Lamina:
    return make_app(
        "routing",
        routes=[
            Route("/attr", by_attribute),
            Route("/missing", missing),
            Route("/key", by_key),
            Route("/plain", plain),
            Route("/fine", no_state),
        ],
        lifespan=lifespan,
    )


def test_typed_state_reads_both_ways_once_the_lifespan_ran() -> None:
    with TestClient(app_with_lifespan()) as client:
        assert client.get("/attr").text == "the pool"
        assert client.get("/key").text == "the pool"
        assert client.get("/plain").text == "the pool"


def test_a_miss_after_startup_is_a_plain_attribute_error() -> None:
    with TestClient(app_with_lifespan()) as client, pytest.raises(AttributeError) as caught:
        client.get("/missing")
    assert type(caught.value) is AttributeError
    assert str(caught.value) == "state has no attribute 'nothing'"


def test_without_lifespan_work_a_miss_stays_plain() -> None:
    app = make_app("routing", routes=[Route("/missing", missing)])
    with TestClient(app) as client, pytest.raises(AttributeError) as caught:
        client.get("/missing")
    assert type(caught.value) is AttributeError
