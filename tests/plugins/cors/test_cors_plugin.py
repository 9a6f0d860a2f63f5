"""lamina-cors inside a Lamina app: settings, placement, and grants on error responses."""

from __future__ import annotations

import pytest
from cors_harness import cors_app
from lamina import HTTPException, JSONResponse, PlainTextResponse, SettingsError
from lamina.testclient import TestClient
from lamina.testing import make_app
from lamina_cors import InsecureCORSWarning

ORIGIN = "https://app.example"


async def ok(request: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def boom(request: object) -> PlainTextResponse:
    raise RuntimeError("boom")


async def not_allowed(request: object) -> PlainTextResponse:
    raise HTTPException(405, headers={"allow": "GET"})


class Teapot(Exception):
    pass


async def teapot(request: object) -> PlainTextResponse:
    raise Teapot


ENDPOINTS = {"/": ok, "/boom": boom, "/405": not_allowed, "/teapot": teapot}


def test_allow_origins_is_required() -> None:
    with pytest.raises(SettingsError, match=r"allow_origins: required setting is missing"):
        make_app("cors")


def test_invalid_settings_are_reported() -> None:
    with pytest.raises(SettingsError) as info:
        make_app("cors", settings={"cors": {"allow_origins": ["https://x.example/path"]}})
    assert "invalid CORS origin" in str(info.value)
    with pytest.raises(SettingsError, match="nothing would be allowed"):
        make_app("cors", settings={"cors": {"allow_origins": []}})


def test_empty_origins_with_regex_is_accepted() -> None:
    app = cors_app(ENDPOINTS, allow_origins=[], allow_origin_regex=r"https://.*\.example")
    with TestClient(app) as c:
        r = c.get("/", headers={"origin": "https://a.example"})
    assert r.headers["access-control-allow-origin"] == "https://a.example"


def test_placed_in_the_transport_phase_with_settings_applied() -> None:
    app = cors_app(ENDPOINTS, allow_origins=[ORIGIN], max_age=42, allow_methods=["PUT"])
    [row] = app.describe_middleware()
    assert row == {"name": "CORSMiddleware", "phase": "transport", "priority": 10, "plugin": "cors"}
    with TestClient(app) as c:
        r = c.options("/", headers={"origin": ORIGIN, "access-control-request-method": "PUT"})
    assert r.status_code == 204
    assert r.headers["access-control-max-age"] == "42"
    assert r.headers["access-control-allow-methods"] == "PUT"


def test_insecure_combination_warns_at_assembly() -> None:
    app = cors_app(ENDPOINTS, allow_origins=["*"], allow_credentials=True)
    with pytest.warns(InsecureCORSWarning):
        app.assemble()


@pytest.mark.parametrize(
    ("path", "status"), [("/missing", 404), ("/405", 405), ("/boom", 500), ("/teapot", 418)]
)
def test_error_responses_carry_the_grant(path: str, status: int) -> None:
    app = cors_app(ENDPOINTS, allow_origins=[ORIGIN], allow_credentials=True)
    app.add_exception_handler(Teapot, lambda request, exc: JSONResponse({"t": 1}, 418))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get(path, headers={"origin": ORIGIN})
    assert r.status_code == status
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in r.headers["vary"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("DELETE", "/", 405),
        ("GET", "/boom", 500),
        ("GET", "/", 200),
    ],
)
def test_grant_on_lamina_routing_responses(method: str, path: str, status: int) -> None:
    from lamina_routing import Route

    app = make_app(
        "routing",
        "cors",
        routes=[Route("/", ok), Route("/boom", boom)],
        settings={"cors": {"allow_origins": [ORIGIN], "expose_headers": ["Allow"]}},
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.request(method, path, headers={"origin": ORIGIN})
    assert r.status_code == status
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["access-control-expose-headers"] == "Allow"
    if status == 405:
        assert "GET" in r.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("PUT", "/", 405),
        ("GET", "/boom", 500),
        ("GET", "/big", 200),
    ],
)
def test_grant_on_error_responses_with_every_onion_plugin(
    method: str, path: str, status: int
) -> None:
    """Routing, guards, background, cors and gzip together: errors still get the grant."""
    from lamina_routing import Route

    async def big(request: object) -> PlainTextResponse:
        return PlainTextResponse("lamina " * 200)

    app = make_app(
        "routing",
        "guards",
        "background",
        "cors",
        "gzip",
        routes=[Route("/", ok), Route("/boom", boom), Route("/big", big)],
        settings={
            "guards": {"trusted_hosts": ["testserver"]},
            "cors": {"allow_origins": [ORIGIN], "allow_credentials": True},
        },
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.request(method, path, headers={"origin": ORIGIN, "accept-encoding": "gzip"})
        assert r.status_code == status
        assert r.headers["access-control-allow-origin"] == ORIGIN
        assert r.headers["access-control-allow-credentials"] == "true"
        assert "origin" in {v.strip().lower() for v in r.headers["vary"].split(",")}
        if status == 200:
            assert r.headers["content-encoding"] == "gzip" and r.text == "lamina " * 200
        # A preflight for the same path is answered by CORS whatever the router would say.
        pre = c.options(path, headers={"origin": ORIGIN, "access-control-request-method": "GET"})
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == ORIGIN
