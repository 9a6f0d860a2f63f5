"""Real cross-origin fetch() calls from headless Chromium to a Lamina app with lamina-cors.

Three servers on 127.0.0.1, distinct origins by port:

* ``page_allowed`` and ``page_denied`` serve a blank HTML page; scripts run from there;
* ``api`` serves ``/strict/...`` through a Lamina app with lamina-cors (only the
  ``page_allowed`` origin, credentials, a custom header, PUT), ``/open/...`` through the
  plain ASGI ``CORSMiddleware`` with ``allow_origins=["*"]`` and no credentials, and
  ``/exposeall/...`` with credentials and ``expose_headers=["*"]``.

The browser, not the test, decides what a script may read: these tests check that our
headers make Chromium enforce exactly what the Fetch standard says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from lamina import HTMLResponse, HTTPException, JSONResponse, Request
from lamina.testing import make_app, plugin
from lamina.types import Receive, Scope, Send
from lamina_cors import CORSMiddleware
from playwright.sync_api import Browser, Page, sync_playwright

from tests.helpers.browser import launch as launch_chromium
from tests.helpers.servers import serve_uvicorn

pytestmark = pytest.mark.browser


# ---------------------------------------------------------------------------- apps
async def page_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await HTMLResponse("<!doctype html><title>page</title><p>origin page</p>")(
            scope, receive, send
        )


class Api:
    """Records every request it sees (method, path, headers) so tests can tell what the
    browser actually sent from what it let the script read."""

    def __init__(self, allowed_origin: str) -> None:
        self.log: list[tuple[str, str, dict[str, str]]] = []
        strict = make_app(
            "cors",
            plugin("table-router", lamina_make_router=lambda app, routes: self.router),
            settings={
                "cors": {
                    "allow_origins": [allowed_origin],
                    "allow_credentials": True,
                    "allow_methods": ["GET", "POST", "PUT"],
                    "allow_headers": ["X-Custom"],
                    "expose_headers": ["X-Total"],
                }
            },
        )
        self.strict = strict
        self.open = CORSMiddleware(self.router, allow_origins=["*"])
        self.exposeall = CORSMiddleware(
            self.router,
            allow_origins=[allowed_origin],
            allow_credentials=True,
            expose_headers=["*"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.strict(scope, receive, send)
        elif scope["path"].startswith("/open/"):
            await self.open(scope, receive, send)
        elif scope["path"].startswith("/exposeall/"):
            await self.exposeall(scope, receive, send)
        else:
            await self.strict(scope, receive, send)

    async def router(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        path = scope["path"].split("/", 2)[-1]
        self.log.append((scope["method"], scope["path"], dict(request.headers)))
        if path == "data":
            response = JSONResponse(
                {"custom": request.headers.get("x-custom"), "method": scope["method"]},
                headers={"x-total": "7", "x-secret": "s"},
            )
        elif path == "login":
            response = JSONResponse({"ok": True})
            response.set_cookie("sid", "abc123", samesite="lax", httponly=True)
        elif path == "whoami":
            response = JSONResponse({"sid": request.cookies.get("sid")})
        else:
            raise HTTPException(404)
        await response(scope, receive, send)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    with serve_uvicorn(page_app) as allowed, serve_uvicorn(page_app) as denied:
        api = Api(allowed)
        with serve_uvicorn(api) as api_url:
            yield {"allowed": allowed, "denied": denied, "api": api_url, "log": api.log}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def on_page(browser: Browser, servers: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context()
    pages: list[Page] = []

    def open_page(which: str) -> Page:
        page = context.new_page()
        page.goto(servers[which] + "/")
        pages.append(page)
        return page

    servers["log"].clear()
    try:
        yield open_page
    finally:
        context.close()


FETCH = """async ([url, init]) => {
    try {
        const r = await fetch(url, init);
        return {ok: true, status: r.status, body: await r.text(),
                total: r.headers.get("x-total"), secret: r.headers.get("x-secret")};
    } catch (e) {
        return {ok: false, error: String(e)};
    }
}"""


def fetch(page: Page, url: str, **init: Any) -> dict[str, Any]:
    return page.evaluate(FETCH, [url, init])  # type: ignore[no-any-return]


def requests_to(servers: dict[str, Any], suffix: str) -> list[str]:
    return [method for method, path, _ in servers["log"] if path.endswith(suffix)]


# ---------------------------------------------------------------------------- tests
def test_allowed_origin_reads_the_response(on_page: Any, servers: dict[str, Any]) -> None:
    page = on_page("allowed")
    result = fetch(page, servers["api"] + "/strict/data")
    assert result["ok"], result
    assert json.loads(result["body"]) == {"custom": None, "method": "GET"}
    assert result["total"] == "7"  # exposed
    assert result["secret"] is None  # not exposed: hidden by the browser


def test_disallowed_origin_is_blocked_by_the_browser(on_page: Any, servers: dict[str, Any]) -> None:
    page = on_page("denied")
    result = fetch(page, servers["api"] + "/strict/data")
    assert not result["ok"]
    assert "Failed to fetch" in result["error"]
    # A simple request does reach the server; only reading the answer is refused.
    assert requests_to(servers, "/strict/data") == ["GET"]


def test_error_responses_are_readable_cross_origin(on_page: Any, servers: dict[str, Any]) -> None:
    result = fetch(on_page("allowed"), servers["api"] + "/strict/missing")
    assert result["ok"] and result["status"] == 404


def test_credentialed_requests(on_page: Any, servers: dict[str, Any]) -> None:
    page = on_page("allowed")
    api = servers["api"]
    login = fetch(page, api + "/strict/login", method="POST", credentials="include")
    assert login["ok"], login
    who = fetch(page, api + "/strict/whoami", credentials="include")
    assert who["ok"] and json.loads(who["body"]) == {"sid": "abc123"}
    # Without credentials: no cookie is sent.
    anon = fetch(page, api + "/strict/whoami", credentials="omit")
    assert json.loads(anon["body"]) == {"sid": None}
    # A wildcard grant without Allow-Credentials: the browser refuses a credentialed read...
    refused = fetch(page, api + "/open/whoami", credentials="include")
    assert not refused["ok"]
    # ...but the same request without credentials is fine.
    assert fetch(page, api + "/open/whoami", credentials="omit")["ok"]


def test_preflighted_custom_header_allowed(on_page: Any, servers: dict[str, Any]) -> None:
    page = on_page("allowed")
    result = fetch(
        page, servers["api"] + "/strict/data", method="PUT", headers={"X-Custom": "hello"}
    )
    assert result["ok"], result
    assert json.loads(result["body"]) == {"custom": "hello", "method": "PUT"}
    # The middleware answered the OPTIONS preflight; the app saw only the actual request.
    assert requests_to(servers, "/strict/data") == ["PUT"]


@pytest.mark.parametrize(("method", "header"), [("PUT", "X-Other"), ("DELETE", "X-Custom")])
def test_preflight_refusal_stops_the_actual_request(
    on_page: Any, servers: dict[str, Any], method: str, header: str
) -> None:
    page = on_page("allowed")
    result = fetch(page, servers["api"] + "/strict/data", method=method, headers={header: "x"})
    assert not result["ok"]
    assert requests_to(servers, "/strict/data") == []  # the browser never sent it


def test_preflight_from_a_disallowed_origin_fails(on_page: Any, servers: dict[str, Any]) -> None:
    page = on_page("denied")
    result = fetch(page, servers["api"] + "/strict/data", method="PUT", headers={"X-Custom": "x"})
    assert not result["ok"]
    assert requests_to(servers, "/strict/data") == []


def test_expose_all_with_credentials_lets_a_credentialed_script_read_every_header(
    on_page: Any, servers: dict[str, Any]
) -> None:
    page = on_page("allowed")
    result = fetch(page, servers["api"] + "/exposeall/data", credentials="include")
    assert result["ok"], result
    # A literal "*" would expose nothing to a credentialed request; the listed names do.
    assert (result["total"], result["secret"]) == ("7", "s")
