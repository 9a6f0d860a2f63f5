"""Per-mount policies through the plugins: ``cors_policy``, ``gzip_policy`` and
``session_policy`` configure CORS, GZip and sessions for one ``Mount`` with the plugins'
own settings, and the mount's error answers (404, 405, handled exceptions, 500) pass back
out through them as app-wide errors pass through app-wide layers. Under uvicorn."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from eco_apps import PLUGINS, make_routes
from lamina import (
    AssemblyError,
    HTTPException,
    JSONResponse,
    PlainTextResponse,
    Request,
    SettingsError,
)
from lamina.testing import make_app
from lamina_cors import cors_policy
from lamina_gzip import gzip_policy
from lamina_routing import Mount, Route
from lamina_sessions import session_policy

ORIGIN = "https://app.example"


class Teapot(Exception):
    pass


async def teapot(request: Request) -> PlainTextResponse:
    raise Teapot()


async def on_teapot(request: Request, exc: BaseException) -> PlainTextResponse:
    return PlainTextResponse("short and stout", status_code=418)


async def big(request: Request) -> PlainTextResponse:
    return PlainTextResponse("lamina " * 200)


async def visit(request: Request) -> JSONResponse:
    request.session["visits"] = request.session.get("visits", 0) + 1
    if request.query_params.get("deny"):
        raise HTTPException(403, "kept out, but counted")
    return JSONResponse({"visits": request.session["visits"]})


@pytest.fixture(scope="module")
def base() -> Any:
    from tests.helpers.servers import serve

    api = Mount(
        "/api",
        routes=[*make_routes(), Route("/teapot", teapot)],
        middleware=[cors_policy(allow_origins=[ORIGIN], allow_methods=["GET", "DELETE"])],
    )
    reports = Mount(
        "/reports", routes=[Route("/big", big)], middleware=[gzip_policy(minimum_size=1)]
    )
    admin = Mount(
        "/admin",
        routes=[Route("/visit", visit)],
        middleware=[
            session_policy(secret_key="s3cret-for-tests", cookie_name="admin", path="/admin")
        ],
    )
    app = make_app(
        *PLUGINS,
        routes=[api, reports, admin, Route("/big", big), Route("/open", big)],
        exception_handlers={Teapot: on_teapot},
    )
    with serve(app) as url:
        yield str(url)


def test_cors_policy_on_a_mount_covers_its_errors(base: str) -> None:
    origin = {"Origin": ORIGIN}
    cases = [
        ("GET", "/api/users/1", 200),
        ("GET", "/api/nope", 404),
        ("PUT", "/api/users/1", 405),
        ("GET", "/api/teapot", 418),  # the app's own handler, answered inside the mount
        ("GET", "/api/users/1/boom", 500),
    ]
    for method, path, status in cases:
        response = httpx.request(method, f"{base}{path}", headers=origin)
        assert response.status_code == status, path
        assert response.headers.get("access-control-allow-origin") == ORIGIN, (method, path)
    preflight = httpx.options(
        f"{base}/api/users/1", headers={**origin, "Access-Control-Request-Method": "DELETE"}
    )
    assert preflight.status_code == 204  # lamina-cors answers a preflight with no body
    assert "DELETE" in preflight.headers["access-control-allow-methods"]
    # outside the mount, no policy
    outside = httpx.get(f"{base}/open", headers=origin)
    assert "access-control-allow-origin" not in outside.headers
    assert "access-control-allow-origin" not in httpx.get(f"{base}/nope", headers=origin).headers


def test_gzip_policy_on_a_mount(base: str) -> None:
    inside = httpx.get(f"{base}/reports/big")
    assert inside.headers["content-encoding"] == "gzip"
    assert inside.text == "lamina " * 200
    missing = httpx.get(f"{base}/reports/nope")
    assert missing.status_code == 404
    assert missing.headers["content-encoding"] == "gzip"  # the 404 went through it too
    assert missing.text == "Not Found"
    outside = httpx.get(f"{base}/big")
    assert "content-encoding" not in outside.headers


def test_session_policy_on_a_mount(base: str) -> None:
    with httpx.Client(base_url=base) as client:
        assert client.get("/admin/visit").json() == {"visits": 1}
        cookie = client.cookies.jar
        [admin] = [c for c in cookie if c.name == "admin"]
        assert admin.path == "/admin"
        assert client.get("/admin/visit").json() == {"visits": 2}
        # an error answered inside the mount still saves the session, as app-wide
        denied = client.get("/admin/visit?deny=1")
        assert denied.status_code == 403
        assert "admin=" in denied.headers["set-cookie"]
        assert client.get("/admin/visit").json() == {"visits": 4}


def test_policies_are_validated_like_the_settings_sections() -> None:
    with pytest.raises(SettingsError, match=r"\[cors\].*allow_origins"):
        cors_policy()
    with pytest.raises(SettingsError, match=r"\[gzip\].*level"):
        gzip_policy(level=12)
    with pytest.raises(SettingsError, match=r"\[sessions\].*unknown setting 'cookie'"):
        session_policy(secret_key="k", cookie="x")
    with pytest.raises(AssemblyError, match="app-wide"):
        session_policy(secret_key="k", store="redis", redis_url="redis://127.0.0.1:1/0")
