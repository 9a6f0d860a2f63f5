"""The HTTP side of the test client: backends, lifespan warning, root_path, client address,
cookies, raise_server_exceptions, sync and async."""

from __future__ import annotations

import warnings
from contextlib import asynccontextmanager

import pytest
from lamina import JSONResponse, PlainTextResponse
from lamina.testclient import AsyncTestClient, LifespanNotRunWarning, TestClient
from lamina.testing import make_app, plugin

from tests.helpers.apps import router_plugin

BACKENDS = ["asyncio", "trio"]


def echo(request):
    return JSONResponse(
        {
            "url": str(request.url),
            "path": request.scope["path"],
            "root_path": request.scope["root_path"],
            "client": list(request.client),
            "cookies": request.cookies,
            "state": dict(request.scope.get("state", {})),
        }
    )


def login(request):
    response = PlainTextResponse("logged in")
    response.set_cookie("sid", "abc123", httponly=True)
    return response


def fail(request):
    raise ValueError("endpoint failed")


ROUTES = {
    "/echo": echo,
    "/sub/echo": echo,
    "/login": login,
    "/sub/login": login,
    "/fail": fail,
    "/sub/fail": fail,
}


def app_with(*plugins, **kwargs):
    return make_app(router_plugin(ROUTES), *plugins, **kwargs)


def startup_plugin():
    @asynccontextmanager
    async def ready(app):
        yield {"ready": True}

    return plugin("starter", lamina_lifespan=lambda: ready)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sync_client_on_asyncio_and_trio(backend):
    with TestClient(app_with(startup_plugin()), backend=backend) as client:
        assert client.get("/echo").json()["state"] == {"ready": True}


def test_warns_when_lifespan_work_is_skipped():
    client = TestClient(app_with(startup_plugin()))
    with pytest.warns(LifespanNotRunWarning, match="with TestClient"):
        client.get("/echo")
    # once per client
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.get("/echo")


def test_no_warning_without_lifespan_work_or_inside_with():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TestClient(app_with()).get("/echo")
        with TestClient(app_with(startup_plugin())) as client:
            client.get("/echo")


@pytest.mark.anyio
async def test_async_client_warns_too():
    async with AsyncTestClient(app_with(startup_plugin())) as client:
        assert (await client.get("/echo")).json()["state"] == {"ready": True}
    client = AsyncTestClient(app_with(startup_plugin()))
    with pytest.warns(LifespanNotRunWarning):
        await client.get("/echo")
    await client.aclose()


def test_root_path_and_client_address():
    client = TestClient(app_with(), root_path="/sub", client=("203.0.113.9", 4242))
    data = client.get("/echo?x=1").json()
    assert data["root_path"] == "/sub"
    assert data["path"] == "/sub/echo"
    assert data["url"] == "http://testserver/sub/echo?x=1"
    assert data["client"] == ["203.0.113.9", 4242]


def test_cookies_persist_across_requests():
    client = TestClient(app_with())
    assert client.get("/echo").json()["cookies"] == {}
    client.get("/login")
    assert client.cookies["sid"] == "abc123"
    assert client.get("/echo").json()["cookies"] == {"sid": "abc123"}


def test_raise_server_exceptions():
    with pytest.raises(ValueError, match="endpoint failed"):
        TestClient(app_with()).get("/fail")
    response = TestClient(app_with(), raise_server_exceptions=False).get("/fail")
    assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_lifespan_state_is_copied_per_request():
    def mutate(request):
        request.scope["state"]["changed"] = True
        return PlainTextResponse("ok")

    app = make_app(router_plugin({"/mutate": mutate, "/echo": echo}), startup_plugin())
    with TestClient(app) as client:
        client.get("/mutate")
        assert client.get("/echo").json()["state"] == {"ready": True}


@pytest.mark.parametrize("anyio_backend", BACKENDS)
@pytest.mark.anyio
async def test_async_client_on_both_backends(anyio_backend):
    async with AsyncTestClient(
        app_with(startup_plugin()), root_path="/sub", client=("10.0.0.1", 1)
    ) as client:
        data = (await client.get("/echo")).json()
        assert (data["root_path"], data["client"], data["state"]) == (
            "/sub",
            ["10.0.0.1", 1],
            {"ready": True},
        )
        await client.get("/login")
        assert (await client.get("/echo")).json()["cookies"] == {"sid": "abc123"}
        with pytest.raises(ValueError):
            await client.get("/fail")


def test_bare_asgi_app_without_lifespan_support():
    async def app(scope, receive, send):
        assert scope["type"] == "http"
        await PlainTextResponse("bare")(scope, receive, send)

    with TestClient(app) as client:
        assert client.get("/").text == "bare"


def test_a_lifespan_hook_that_contributes_nothing_does_not_warn():
    app = app_with(plugin("idle", lamina_lifespan=lambda: None))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TestClient(app).get("/echo")
