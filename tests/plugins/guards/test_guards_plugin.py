"""lamina-guards in a Lamina app: each guard enabled by its own setting."""

from __future__ import annotations

from typing import Any

import pytest
from lamina import PlainTextResponse, SettingsError
from lamina.testclient import TestClient
from lamina.testing import make_app, plugin


async def router(scope: Any, receive: Any, send: Any) -> None:
    await PlainTextResponse("hello")(scope, receive, send)


def app_with(**settings: Any) -> Any:
    return make_app(
        "guards",
        plugin("table-router", lamina_make_router=lambda app, routes: router),
        settings={"guards": settings},
    )


def test_only_request_hygiene_by_default() -> None:
    app = app_with()
    assert [r["name"] for r in app.describe_middleware()] == ["RequestHygieneMiddleware"]
    assert TestClient(app, base_url="http://whatever.test").get("/").text == "hello"


def test_request_hygiene_can_be_turned_off() -> None:
    app = app_with(request_hygiene=False)
    assert app.describe_middleware() == []
    c = TestClient(app)
    assert c.get("/", headers={"x-big": "x" * 40_000}).text == "hello"


def test_max_header_size_is_configurable() -> None:
    c = TestClient(app_with(max_header_size=1000))
    assert c.get("/", headers={"x-big": "x" * 1000}).status_code == 431
    assert c.get("/", headers={"x-big": "x" * 100}).text == "hello"


def test_trusted_hosts_only() -> None:
    app = app_with(trusted_hosts=["testserver", "*.example.com"], request_hygiene=False)
    assert [r["name"] for r in app.describe_middleware()] == ["TrustedHostMiddleware"]
    c = TestClient(app)
    assert c.get("/").text == "hello"
    assert c.get("http://api.example.com/").text == "hello"
    r = c.get("http://evil.test/")
    assert r.status_code == 400


def test_https_redirect_only() -> None:
    app = app_with(https_redirect=True, https_redirect_status=308)
    c = TestClient(app, follow_redirects=False)
    r = c.get("/path?x=1")
    assert r.status_code == 308
    assert r.headers["location"] == "https://testserver/path?x=1"
    assert c.get("https://testserver/path").text == "hello"


def test_both_guards_trusted_host_outside_the_redirect() -> None:
    app = app_with(trusted_hosts=["testserver"], https_redirect=True)
    rows = app.describe_middleware()
    assert [(r["name"], r["phase"], r["priority"]) for r in rows] == [
        ("RequestHygieneMiddleware", "outermost", 5),
        ("TrustedHostMiddleware", "outermost", 10),
        ("HTTPSRedirectMiddleware", "outermost", 20),
    ]
    c = TestClient(app, follow_redirects=False)
    # A forged Host never becomes a redirect target.
    assert c.get("http://evil.test/").status_code == 400
    assert c.get("/").status_code == 307


@pytest.mark.parametrize(
    "bad",
    [
        {"trusted_hosts": []},
        {"trusted_hosts": ["bad host"]},
        {"https_redirect_status": 302},
        {"https_redirect": "maybe"},
        {"trusted_hosts": "example.com"},
        {"trusted_hosts": ["example.com:80"]},
        {"max_header_size": 0},
    ],
)
def test_invalid_settings(bad: dict[str, Any]) -> None:
    with pytest.raises(SettingsError):
        app_with(**bad)
