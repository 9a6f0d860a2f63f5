"""Fixtures of the ecosystem suite: the real packages, each with an in-memory sink.

* ``otel``: an OpenTelemetry tracer provider and meter provider of the test's own (never the
  global ones), spans to an ``InMemorySpanExporter``, metrics to an ``InMemoryMetricReader``;
  ``otel.options`` is what ``OpenTelemetryMiddleware`` takes to use them.
* ``sentry_events``: ``sentry_sdk`` initialised with a transport that keeps every envelope
  in a list (no network); closed again after the test.
* ``live``: serve an ASGI app under a real server on 127.0.0.1 for the test's duration.
* ``release``: lets held SSE streams of :mod:`eco_apps` finish; reset around each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from eco_apps import RELEASE

from tests.helpers.servers import serve


@dataclass
class Otel:
    exporter: Any
    reader: Any
    options: dict[str, Any] = field(default_factory=dict)

    def server_spans(self) -> list[Any]:
        from opentelemetry.trace import SpanKind

        return [s for s in self.exporter.get_finished_spans() if s.kind is SpanKind.SERVER]

    def metric_points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        points: list[Any] = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points


@pytest.fixture
def otel() -> Iterator[Otel]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Otel(
        exporter,
        reader,
        {"tracer_provider": tracer_provider, "meter_provider": meter_provider},
    )
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture
def sentry_events() -> Iterator[list[dict[str, Any]]]:
    """Every event and transaction ``sentry_sdk`` would have sent, as dicts."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    captured: list[dict[str, Any]] = []

    class MemoryTransport(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            for item in envelope.items:
                if item.type in ("event", "transaction"):
                    captured.append(item.payload.json)

    sentry_sdk.init(
        dsn="http://public@127.0.0.1:9/1",  # never contacted: the transport is replaced
        transport=MemoryTransport,
        traces_sample_rate=1.0,
    )
    yield captured
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: a disabled client, so later tests send nothing


@pytest.fixture
def live() -> Iterator[Callable[..., str]]:
    with ExitStack() as stack:

        def start(app: Any, server: str = "uvicorn", loop: str = "asyncio", **kw: Any) -> str:
            return str(stack.enter_context(serve(app, server=server, loop=loop, **kw)))

        yield start


@pytest.fixture(autouse=True)
def release() -> Iterator[Callable[[], None]]:
    RELEASE.clear()
    yield RELEASE.set
    RELEASE.set()  # nothing stays held after a failing test
