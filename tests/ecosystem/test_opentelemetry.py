"""opentelemetry-instrumentation-asgi around and inside Lamina, under uvicorn.

Span names and ``http.route`` are route templates (never raw paths) for HTTP, WebSocket and
SSE, wherever the middleware sits; one server span per request, ending when the response
(an event stream included) ends; the duration metric carries the template too.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from eco_apps import PLACEMENTS, placed
from lamina_routing import span_details
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from websockets.sync.client import connect

from tests.helpers.waiting import wait_until


def instrumented(where: str, otel: Any) -> tuple[Any, str]:
    """The app with OpenTelemetry placed ``where``, span names from ``span_details``."""
    if where == "wrapped":
        # Outside the app, the helper is bound to it (the scope has no "app" yet).
        _asgi, lamina, prefix = placed(lambda app, **kw: app, "wrapped")
        return OpenTelemetryMiddleware(
            lamina, default_span_details=span_details(lamina), **otel.options
        ), prefix
    asgi, _lamina, prefix = placed(
        OpenTelemetryMiddleware, where, default_span_details=span_details(), **otel.options
    )
    return asgi, prefix


@pytest.mark.parametrize("where", PLACEMENTS)
def test_http_span_is_named_by_the_template(where: str, otel: Any, live: Any) -> None:
    app, prefix = instrumented(where, otel)
    base = live(app)
    response = httpx.get(f"{base}{prefix}/users/42")
    assert response.status_code == 200 and response.json() == {"id": "42"}
    response = httpx.get(f"{base}{prefix}/api/items/7")
    assert response.json() == {"item": 7}

    spans = wait_until(lambda: len(otel.server_spans()) == 2 and otel.server_spans(), 10, "spans")
    assert [s.name for s in spans] == [
        f"GET {prefix}/users/{{id}}",
        f"GET {prefix}/api/items/{{item:int}}",
    ]
    assert [s.attributes["http.route"] for s in spans] == [
        f"{prefix}/users/{{id}}",
        f"{prefix}/api/items/{{item:int}}",
    ]
    assert all(s.attributes["http.status_code"] == 200 for s in spans)


@pytest.mark.parametrize("where", PLACEMENTS)
def test_websocket_span_is_named_by_the_template(where: str, otel: Any, live: Any) -> None:
    app, prefix = instrumented(where, otel)
    base = live(app)
    with connect(base.replace("http", "ws", 1) + f"{prefix}/ws/lobby") as ws:
        ws.send("hi")
        assert ws.recv(timeout=10) == "lobby: hi"
    spans = wait_until(otel.server_spans, 10, "the websocket span")
    assert [s.name for s in spans] == [f"{prefix}/ws/{{room}}"]
    assert spans[0].attributes["http.route"] == f"{prefix}/ws/{{room}}"


@pytest.mark.parametrize("where", PLACEMENTS)
def test_one_sse_span_ending_with_the_stream(
    where: str, otel: Any, live: Any, release: Any
) -> None:
    app, prefix = instrumented(where, otel)
    base = live(app)
    with httpx.stream("GET", f"{base}{prefix}/events/news?hold=1&n=3") as response:
        lines = response.iter_lines()
        assert next(lines) == "id: 0"
        assert next(lines) == "data: news"
        # the stream is open: its span has not ended
        assert otel.server_spans() == []
        release()
        rest = list(lines)
    assert "data: news 2" in rest
    spans = wait_until(otel.server_spans, 10, "the stream's span")
    assert [s.name for s in spans] == [f"GET {prefix}/events/{{topic}}"]
    assert spans[0].attributes["http.route"] == f"{prefix}/events/{{topic}}"
    # the span covers the whole stream: it ended after the last event was sent
    sent = [s for s in otel.exporter.get_finished_spans() if s.name.endswith("http send")]
    assert sent and spans[0].end_time >= max(s.end_time for s in sent)


def test_unmatched_path_is_not_a_span_name(otel: Any, live: Any) -> None:
    """A 404's span is named by the method alone: raw paths would explode cardinality."""
    app, _prefix = instrumented("outermost", otel)
    base = live(app)
    assert httpx.get(f"{base}/no/such/thing").status_code == 404
    spans = wait_until(otel.server_spans, 10, "the 404 span")
    assert [s.name for s in spans] == ["GET"]
    assert "http.route" not in spans[0].attributes


def test_duration_metric_carries_the_template(otel: Any, live: Any) -> None:
    app, _prefix = instrumented("wrapped", otel)
    base = live(app)
    for user in ("1", "2", "3"):
        assert httpx.get(f"{base}/users/{user}").status_code == 200
    wait_until(lambda: len(otel.server_spans()) == 3, 10, "three spans")
    points = otel.metric_points("http.server.duration")
    targets = {p.attributes.get("http.target") for p in points}
    assert targets == {"/users/{id}"}
    assert sum(p.count for p in points) == 3


def test_without_the_helper_the_route_still_reaches_the_span(otel: Any, live: Any) -> None:
    """OpenTelemetry's own default names the span before routing (raw path), but the route
    the router put on the scope reaches the metric's ``http.target`` (as FastAPI's does)."""
    _app, lamina, _prefix = placed(lambda a, **kw: a, "wrapped")
    base = live(OpenTelemetryMiddleware(lamina, **otel.options))
    assert httpx.get(f"{base}/users/5").status_code == 200
    spans = wait_until(otel.server_spans, 10, "the span")
    assert spans[0].name == "GET /users/5"
    points = otel.metric_points("http.server.duration")
    assert {p.attributes.get("http.target") for p in points} == {"/users/{id}"}
