"""What Lamina hands to middleware, and the entries ``middleware=[...]`` accepts.

Foreign middleware gets a real ASGI 3 app wherever it sits (asgiref's own test decides);
OpenTelemetry's and Sentry's middleware, which run that test, serve every request. The
kernel's plain fast path is kept only for factories that declare they take it. Starlette-
style entries land at the documented phase, in the order listed, and a wrong entry fails
when the app or the route is built.
"""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest
from asgiref.compatibility import is_double_callable
from lamina import Lamina, Middleware, PlainTextResponse
from lamina.plugin import FOREIGN_PHASE, ensure_asgi3, is_asgi3
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_routing import Mount, Route
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sentry_sdk.integrations.asgi import SentryAsgiMiddleware
from starlette.middleware import Middleware as StarletteMiddleware
from starlette.middleware.cors import CORSMiddleware as StarletteCORS
from starlette.middleware.gzip import GZipMiddleware as StarletteGZip

from tests.helpers.servers import serve

ORIGIN = "https://app.example"


async def home(request: Any) -> PlainTextResponse:
    return PlainTextResponse("home")


class Recorder:
    """A foreign middleware noting, per position, whether asgiref takes its app for ASGI 2."""

    seen: dict[str, bool] = {}

    def __init__(self, app: Any, label: str = "?") -> None:
        Recorder.seen[label] = is_double_callable(app)
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


PLACES = ["outermost-alone", "innermost-under-cors", "route", "mount-routes", "mount-app"]


def placed(layer: Any, where: str) -> tuple[Lamina, str]:
    """The app with ``layer(label, phase)`` where a user puts a middleware, and a path."""
    routes = [Route("/", home)]
    return {
        "outermost-alone": lambda: (
            make_app("routing", routes=routes, middleware=[layer("outermost-alone", "outermost")]),
            "/",
        ),
        "innermost-under-cors": lambda: (
            make_app(
                "routing",
                "cors",
                routes=routes,
                settings={"cors": {"allow_origins": [ORIGIN]}},
                middleware=[layer("innermost-under-cors", "innermost")],
            ),
            "/",
        ),
        "route": lambda: (
            make_app("routing", routes=[Route("/", home, middleware=[layer("route", None)])]),
            "/",
        ),
        "mount-routes": lambda: (
            make_app(
                "routing",
                routes=[Mount("/m", routes=routes, middleware=[layer("mount-routes", None)])],
            ),
            "/m/",
        ),
        "mount-app": lambda: (
            make_app(
                "routing",
                routes=[
                    Mount(
                        "/a",
                        app=make_app("routing", routes=routes),
                        middleware=[layer("mount-app", None)],
                    )
                ],
            ),
            "/a/",
        ),
    }[where]()


def recorder(label: str, phase: str | None) -> Middleware:
    if phase is None:
        return Middleware(Recorder, label=label)
    return Middleware(Recorder, label=label, phase=phase)  # type: ignore[arg-type]


@pytest.mark.parametrize("where", PLACES)
def test_every_place_hands_foreign_middleware_an_asgi3_app(where: str) -> None:
    Recorder.seen.clear()
    app, path = placed(recorder, where)
    with TestClient(app) as client:
        assert client.get(path).text == "home"
    assert Recorder.seen == {where: False}
    assert not is_double_callable(app)  # the app a server is handed is ASGI 3 too


@pytest.mark.parametrize("where", PLACES)
def test_opentelemetry_middleware_serves_in_every_place(where: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    def otel(label: str, phase: str | None) -> Middleware:
        options: dict[str, Any] = {"tracer_provider": provider}
        if phase is not None:
            options["phase"] = phase
        return Middleware(OpenTelemetryMiddleware, **options)

    app, path = placed(otel, where)
    with TestClient(app) as client:
        response = client.get(path)
    assert (response.status_code, response.text) == (200, "home")
    servers = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    assert len(servers) == 1
    assert servers[0].attributes is not None
    assert servers[0].attributes["http.status_code"] == 200


@pytest.mark.parametrize("where", PLACES)
def test_sentry_middleware_serves_in_every_place(where: str) -> None:
    def sentry(label: str, phase: str | None) -> Any:
        if phase is None:
            return SentryAsgiMiddleware
        return Middleware(SentryAsgiMiddleware, phase=phase)  # type: ignore[arg-type]

    app, path = placed(sentry, where)
    with TestClient(app) as client:
        response = client.get(path)
    assert (response.status_code, response.text) == (200, "home")


def test_opentelemetry_outermost_under_uvicorn() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = make_app(
        "routing",
        routes=[Route("/", home)],
        middleware=[
            Middleware(OpenTelemetryMiddleware, phase="outermost", tracer_provider=provider)
        ],
    )
    with serve(app) as url:
        assert httpx.get(url + "/").text == "home"
    assert [s.kind.name for s in exporter.get_finished_spans()].count("SERVER") == 1


def test_first_party_layers_keep_the_plain_fast_path() -> None:
    seen: list[bool] = []

    class FastLayer:
        lamina_accepts_plain_app = True

        def __init__(self, app: Any) -> None:
            seen.append(inspect.iscoroutinefunction(app))
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

    app = make_app("routing", routes=[Route("/", home)], middleware=[Middleware(FastLayer)])
    with TestClient(app) as client:
        assert client.get("/").text == "home"
    assert seen == [False]  # the kernel's dispatch function, unwrapped


def test_ensure_asgi3_wraps_only_what_asgiref_would_misread() -> None:
    async def asgi3(scope: Any, receive: Any, send: Any) -> None: ...

    def plain(scope: Any, receive: Any, send: Any) -> Any:
        return asgi3(scope, receive, send)

    class Instance:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...

    instance = Instance()
    assert ensure_asgi3(asgi3) is asgi3 and ensure_asgi3(instance) is instance
    wrapped = ensure_asgi3(plain)
    assert wrapped is not plain and is_asgi3(wrapped) and not is_double_callable(wrapped)
    assert is_double_callable(plain) and not is_asgi3(plain)
    assert not is_asgi3(Instance)  # a class is double-callable for asgiref


# --------------------------------------------------------------------------- entries
def cors_gzip_app(*entries: Any) -> Lamina:
    async def big(request: Any) -> PlainTextResponse:
        return PlainTextResponse("x" * 2000)

    return make_app("routing", routes=[Route("/", big)], middleware=list(entries))


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param(
            (
                StarletteMiddleware(StarletteCORS, allow_origins=[ORIGIN]),
                StarletteMiddleware(StarletteGZip, minimum_size=100),
            ),
            id="starlette-Middleware",
        ),
        pytest.param(
            ((StarletteCORS, {"allow_origins": [ORIGIN]}), (StarletteGZip, {"minimum_size": 100})),
            id="cls-options-pairs",
        ),
        pytest.param(
            ((StarletteCORS, {"allow_origins": [ORIGIN]}), StarletteGZip),
            id="bare-class",
        ),
    ],
)
def test_starlette_style_entries_serve_at_the_default_phase(entries: Any) -> None:
    app = cors_gzip_app(*entries)
    described = app.describe_middleware()
    assert [(d["name"], d["phase"], d["plugin"]) for d in described] == [
        ("CORSMiddleware", FOREIGN_PHASE, "app"),
        ("GZipMiddleware", FOREIGN_PHASE, "app"),
    ]
    with TestClient(app) as client:
        response = client.get("/", headers={"origin": ORIGIN, "accept-encoding": "gzip"})
        missing = client.get("/nope", headers={"origin": ORIGIN})
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == "x" * 2000
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == ORIGIN  # errors pass through


def test_starlette_entries_keep_the_listed_order_and_meet_plugin_layers() -> None:
    app = make_app(
        "routing",
        "cors",
        routes=[Route("/", home)],
        settings={"cors": {"allow_origins": [ORIGIN]}},
        middleware=[
            StarletteMiddleware(StarletteGZip),
            Middleware(Recorder, name="inner", label="inner"),
            (StarletteCORS, {"allow_origins": ["*"]}),
        ],
    )
    assert [(d["name"], d["phase"]) for d in app.describe_middleware()] == [
        ("GZipMiddleware", "outermost"),
        ("CORSMiddleware", "outermost"),
        ("CORSMiddleware", "transport"),  # the plugin's own layer
        ("inner", "innermost"),
    ]


def test_starlette_middleware_positional_args_reach_the_class() -> None:
    seen: list[Any] = []

    class Positional:
        def __init__(self, app: Any, first: str, *, second: int) -> None:
            seen.append((first, second))
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

    app = make_app(
        "routing",
        routes=[Route("/", home)],
        middleware=[StarletteMiddleware(Positional, "one", second=2)],
    )
    with TestClient(app) as client:
        assert client.get("/").text == "home"
    assert seen == [("one", 2)]


def test_add_middleware_takes_starlette_style_calls() -> None:
    app = make_app("routing", routes=[Route("/", home)])
    app.add_middleware(StarletteCORS, allow_origins=[ORIGIN])
    app.add_middleware(StarletteMiddleware(StarletteGZip, minimum_size=1))
    app.add_middleware(Recorder, label="innermost-added", phase="innermost")
    assert [(d["name"], d["phase"]) for d in app.describe_middleware()] == [
        ("CORSMiddleware", "outermost"),
        ("GZipMiddleware", "outermost"),
        ("Recorder", "innermost"),
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (42, "middleware entry 42 is not one Lamina understands"),
        ((StarletteCORS, "allow_origins"), "is not one Lamina understands"),
        (StarletteMiddleware("not a class"), "is not callable"),  # type: ignore[arg-type]
    ],
)
def test_wrong_entries_fail_when_the_app_or_route_is_built(entry: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Lamina(middleware=[entry], autoload=False)
    with pytest.raises(TypeError, match=message):
        Route("/", home, middleware=[entry])
    with pytest.raises(TypeError, match=message):
        Mount("/m", routes=[], middleware=[entry])


def test_an_asgi_app_given_as_middleware_is_named_for_what_it_is() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None: ...

    with pytest.raises(TypeError, match="does not take \\(request, call_next\\)"):
        Lamina(middleware=[app], autoload=False)
