"""sentry-sdk's ASGI middleware around and inside Lamina, under uvicorn.

An exception in an endpoint is captured once, marked unhandled, and the error and the
transaction are named by the route (``transaction_style="url"``: the template;
``"endpoint"``: the endpoint function), wherever the middleware sits. sentry-sdk runs with
its default integrations (logging included), as users run it: Lamina's error log must not
become a second, "handled" event.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from eco_apps import PLACEMENTS, placed
from sentry_sdk.integrations.asgi import SentryAsgiMiddleware

from tests.helpers.waiting import wait_until


def errors(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") != "transaction"]


def transactions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == "transaction"]


@pytest.mark.parametrize("where", PLACEMENTS)
def test_endpoint_exception_captured_once_unhandled_named_by_route(
    where: str, sentry_events: list[dict[str, Any]], live: Any
) -> None:
    app, _lamina, prefix = placed(SentryAsgiMiddleware, where, transaction_style="url")
    base = live(app)
    response = httpx.get(f"{base}{prefix}/users/7/boom")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"  # no traceback leaks to the client

    wait_until(lambda: transactions(sentry_events), 10, "the transaction")
    [event] = errors(sentry_events)
    [exception] = event["exception"]["values"][-1:]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "boom for user 7"
    assert exception["mechanism"]["handled"] is False
    assert event["transaction"] == f"{prefix}/users/{{id}}/boom"
    [transaction] = transactions(sentry_events)
    assert transaction["transaction"] == f"{prefix}/users/{{id}}/boom"
    assert transaction["transaction_info"] == {"source": "route"}
    assert transaction["contexts"]["trace"]["status"] == "internal_error"


@pytest.mark.parametrize("where", ["wrapped", "outermost"])
def test_transaction_named_by_endpoint(
    where: str, sentry_events: list[dict[str, Any]], live: Any
) -> None:
    app, _lamina, prefix = placed(SentryAsgiMiddleware, where)  # "endpoint" is the default
    base = live(app)
    assert httpx.get(f"{base}{prefix}/users/7").status_code == 200
    assert httpx.get(f"{base}{prefix}/api/items/3").status_code == 200
    wait_until(lambda: len(transactions(sentry_events)) == 2, 10, "two transactions")
    names = [t["transaction"] for t in transactions(sentry_events)]
    assert names == ["eco_apps.user", "eco_apps.item"]
    assert errors(sentry_events) == []


def test_websocket_transaction_named_by_route(
    sentry_events: list[dict[str, Any]], live: Any
) -> None:
    from websockets.sync.client import connect

    app, _lamina, _prefix = placed(SentryAsgiMiddleware, "wrapped", transaction_style="url")
    base = live(app)
    with connect(base.replace("http", "ws", 1) + "/ws/lobby") as ws:
        ws.send("hi")
        assert ws.recv(timeout=10) == "lobby: hi"
    [transaction] = wait_until(lambda: transactions(sentry_events), 10, "the transaction")
    assert transaction["transaction"] == "/ws/{room}"
