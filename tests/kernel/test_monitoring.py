"""After assembly no request touches pluggy: 1,000 requests through an app with several
plugins (routing, CORS, gzip, sessions, openapi and local plugins with middleware and
routes) make zero hook calls, through the plugin manager or directly on a hook implementation."""

from __future__ import annotations

import functools
from contextlib import asynccontextmanager

import pytest
from lamina import JSONResponse, Middleware, PlainTextResponse
from lamina.testclient import TestClient
from lamina.testing import make_app, plugin

from tests.helpers.apps import header_middleware

N_REQUESTS = 1000


class HookCounter:
    """Counts hook calls: pluggy's monitoring for ``pm.hook.x(...)``, and a wrapper around
    every implementation for calls that bypass the hook caller."""

    def __init__(self, pm) -> None:
        self.pm = pm
        self.calls: list[str] = []
        self._undo = None
        self._originals: list[tuple[object, object]] = []

    def start(self) -> None:
        self._undo = self.pm.add_hookcall_monitoring(
            lambda name, impls, kwargs: self.calls.append(name),
            lambda outcome, name, impls, kwargs: None,
        )
        for caller in self.pm.hook.__dict__.values():
            for impl in getattr(caller, "get_hookimpls", list)():
                original = impl.function

                @functools.wraps(original)
                def counting(*args, __name=caller.name, __original=original, **kwargs):
                    self.calls.append(f"direct:{__name}")
                    return __original(*args, **kwargs)

                impl.function = counting
                self._originals.append((impl, original))

    def stop(self) -> None:
        if self._undo is not None:
            self._undo()
        for impl, original in self._originals:
            impl.function = original


def local_plugins():
    @asynccontextmanager
    async def started(app):
        yield {"started": True}

    def register_routes(register):
        from lamina_routing import Route

        async def hello(request):
            request.session["n"] = request.session.get("n", 0) + 1
            return PlainTextResponse("Hello, World!" * 60)  # big enough to gzip

        async def item(request):
            return JSONResponse({"id": request.path_params["id"]})

        register(Route("/hello", hello, name="hello"))
        register(Route("/items/{id:int}", item, name="item"))

    def timing_factory(app):
        async def layer(scope, receive, send):
            await app(scope, receive, send)

        return layer

    return [
        plugin(
            "pages",
            lamina_register_routes=register_routes,
            lamina_register_middleware=lambda register: register(
                header_middleware("x-pages", "1", phase="innermost")
            ),
        ),
        plugin(
            "timing",
            lamina_register_middleware=lambda register: register(
                Middleware(timing_factory, phase="outermost")
            ),
            lamina_lifespan=lambda: started,
            lamina_register_exception_handlers=lambda register: register(
                404, lambda request, exc: PlainTextResponse("custom 404", 404)
            ),
        ),
    ]


@pytest.fixture
def assembled():
    app = make_app(
        "routing",
        "cors",
        "gzip",
        "sessions",
        "openapi",
        *local_plugins(),
        settings={
            "cors": {"allow_origins": ["https://app.example"]},
            "sessions": {"secret_key": "x" * 32},
        },
    )
    with TestClient(
        app, headers={"origin": "https://app.example", "accept-encoding": "gzip"}
    ) as client:
        client.get("/hello")  # warm up: every lazy path taken once
        yield app, client


def test_no_hook_is_called_while_serving(assembled):
    app, client = assembled
    counter = HookCounter(app.pm)
    counter.start()
    try:
        statuses = {}
        for i in range(N_REQUESTS):
            path = ("/hello", f"/items/{i}", "/missing", "/openapi.json")[i % 4]
            response = client.get(path)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if i < 3:  # the plugins really run on these requests
                assert response.headers["access-control-allow-origin"] == "https://app.example"
                assert response.headers["x-pages"] == "1"
        assert statuses == {200: 750, 404: 250}
        assert counter.calls == []
        # the counter does see hook calls, both through pluggy and directly
        app.pm.hook.lamina_make_router(app=app, settings=app.settings_for("routing"), routes=[])
        for impl in app.pm.hook.lamina_lifespan.get_hookimpls():
            if impl.plugin_name == "timing":
                impl.function()
        assert "lamina_make_router" in counter.calls
        assert "direct:lamina_lifespan" in counter.calls
    finally:
        counter.stop()


def test_the_served_responses_went_through_every_plugin(assembled):
    _app, client = assembled
    response = client.get("/hello")
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == "Hello, World!" * 60
    assert "set-cookie" in response.headers or client.cookies
    assert client.get("/missing").text == "custom 404"
    assert client.get("/items/7").json() == {"id": 7}
    assert set(client.get("/openapi.json").json()["paths"]) == {"/hello", "/items/{id}"}
