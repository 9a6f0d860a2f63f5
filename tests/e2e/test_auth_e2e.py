"""Sessions and auth under a real uvicorn, driven by httpx and websockets over 127.0.0.1.

The demo app's login flow end to end, then tampering, expiry and key rotation with cookies
the running server signed itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from lamina import JSONResponse, Middleware, PlainTextResponse, Request
from lamina.testing import make_app
from lamina_auth import requires
from lamina_routing import Route
from lamina_sessions import SessionMiddleware, SessionSigner
from lamina_websocket import WebSocket, WebSocketRoute

from tests.helpers.browser import launch as launch_chromium
from tests.helpers.servers import serve


# --------------------------------------------------------------------------- the demo's login
@pytest.fixture(scope="module")
def demo_url() -> Any:
    from examples.demo.app import app

    with serve(app) as url:
        yield url


def test_demo_login_logout_flow(demo_url: str) -> None:
    with httpx.Client(base_url=demo_url, follow_redirects=False, timeout=10) as client:
        r = client.get("/account")
        assert r.status_code == 303
        assert httpx.URL(r.headers["location"]).raw_path == b"/login?next=%2Faccount"

        r = client.get("/login?next=/account")
        assert r.status_code == 200 and 'name="next" value="/account"' in r.text

        r = client.post(
            "/login", data={"username": "demo", "password": "wrong", "next": "/account"}
        )
        assert r.status_code == 400 and "wrong password" in r.text
        assert "set-cookie" not in r.headers

        r = client.post(
            "/login", data={"username": "demo", "password": "lamina", "next": "/account"}
        )
        assert r.status_code == 303 and r.headers["location"] == "/account"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "session" in client.cookies

        r = client.get("/account")
        assert r.status_code == 200
        assert "Hello, Demo" in r.text and '<strong id="visits">1</strong>' in r.text
        assert "Cookie" in r.headers["vary"]
        r = client.get("/account")
        assert '<strong id="visits">2</strong>' in r.text

        r = client.post("/logout")
        assert r.status_code == 303
        assert "Max-Age=0" in r.headers["set-cookie"]
        assert "session" not in client.cookies
        assert client.get("/account").status_code == 303


def test_demo_login_refuses_open_redirects(demo_url: str) -> None:
    with httpx.Client(base_url=demo_url, follow_redirects=False, timeout=10) as client:
        for evil in (
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
        ):
            r = client.post("/login", data={"username": "demo", "password": "lamina", "next": evil})
            assert r.status_code == 303
            assert r.headers["location"] == "/account", evil


def test_demo_session_cookie_cannot_be_forged(demo_url: str) -> None:
    forged = SessionSigner("guessed-secret").dumps({"_auth_user": {"id": "demo"}})
    with httpx.Client(base_url=demo_url, follow_redirects=False, timeout=10) as client:
        r = client.get("/account", headers={"cookie": f"session={forged}"})
        assert r.status_code == 303


# --------------------------------------------------------------------------- cookies, signed live
class Clock:
    """The server's notion of "now" for signing and checking, moved by the test."""

    def __init__(self) -> None:
        import time

        self.offset = 0.0
        self._time = time.time

    def __call__(self) -> float:
        return self._time() + self.offset


async def count(request: Request) -> JSONResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    return JSONResponse({"n": request.session["n"]})


async def peek(request: Request) -> JSONResponse:
    return JSONResponse(dict(request.session))


async def big(request: Request) -> PlainTextResponse:
    import os

    request.session["blob"] = os.urandom(4000).hex()
    return PlainTextResponse("never sent")


def session_server(keys: list[str], clock: Any = None, max_age: int = 60) -> Any:
    options: dict[str, Any] = {"secret_key": keys, "max_age": max_age}
    if clock is not None:
        options["clock"] = clock
    return make_app(
        "routing",
        routes=[Route("/count", count), Route("/peek", peek), Route("/big", big)],
        middleware=[Middleware(SessionMiddleware, phase="session", **options)],
    )


def test_tampered_cookies_are_empty_sessions() -> None:
    with serve(session_server(["k1"])) as url, httpx.Client(base_url=url, timeout=10) as c:
        c.get("/count")
        c.get("/count")
        good = c.cookies["session"]
        c.cookies.clear()
        assert c.get("/peek", headers={"cookie": f"session={good}"}).json() == {"n": 2}
        payload, stamp, sig = good.split(".")
        tampered = [
            f"{payload}x.{stamp}.{sig}",
            f"{payload}.{stamp}.{sig[:-2]}",
            f"{payload}.{stamp[::-1]}.{sig}",
            good[: len(good) // 2],
            "not-a-cookie",
        ]
        for cookie in tampered:
            r = c.get("/peek", headers={"cookie": f"session={cookie}"})
            assert (r.status_code, r.json()) == (200, {}), cookie


def test_expiry_is_enforced_by_the_server() -> None:
    clock = Clock()
    app = session_server(["k1"], clock=clock, max_age=60)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        c.get("/count")
        cookie = c.cookies["session"]
        c.cookies.clear()
        headers = {"cookie": f"session={cookie}"}
        clock.offset = 59
        assert c.get("/peek", headers=headers).json() == {"n": 1}
        clock.offset = 61
        assert c.get("/peek", headers=headers).json() == {}
        r = c.get("/count", headers=headers)
        assert r.json() == {"n": 1}  # a fresh session replaces the expired one


def test_key_rotation() -> None:
    with serve(session_server(["k1"])) as url, httpx.Client(base_url=url, timeout=10) as c:
        c.get("/count")
        old_cookie = c.cookies["session"]
    with serve(session_server(["k2", "k1"])) as url, httpx.Client(base_url=url, timeout=10) as c:
        assert c.get("/peek", headers={"cookie": f"session={old_cookie}"}).json() == {"n": 1}
        r = c.get("/count", headers={"cookie": f"session={old_cookie}"})
        assert r.json() == {"n": 2}
        new_cookie = r.cookies["session"]
    assert SessionSigner("k2").loads(new_cookie, 60) == {"n": 2}
    with serve(session_server(["k2"])) as url, httpx.Client(base_url=url, timeout=10) as c:
        assert c.get("/peek", headers={"cookie": f"session={old_cookie}"}).json() == {}
        assert c.get("/peek", headers={"cookie": f"session={new_cookie}"}).json() == {"n": 2}


def test_oversized_session_is_a_500_not_a_dropped_cookie() -> None:
    with serve(session_server(["k1"])) as url, httpx.Client(base_url=url, timeout=10) as c:
        # a server error is raised on to uvicorn after the 500, which then closes the
        # connection (as under Starlette): do not race a reused one against that close
        r = c.get("/big", headers={"connection": "close"})
        assert r.status_code == 500
        assert r.text == "Internal Server Error"
        assert "set-cookie" not in r.headers
        assert c.get("/count").json() == {"n": 1}  # the server carries on


# --------------------------------------------------------------------------- WebSocket + login
async def ws_me(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"hello {websocket.user.display_name}")
    await websocket.close()


ws_guarded = requires("authenticated")(ws_me)


def test_websocket_uses_the_login_session() -> None:
    import websockets

    from examples.demo import auth_pages

    app = make_app(
        "routing",
        "sessions",
        "auth",
        "websocket",
        "templates",
        routes=[
            *auth_pages.routes,
            Route("/", peek, name="home"),
            WebSocketRoute("/ws", ws_guarded),
        ],
        settings={
            "sessions": {"secret_key": "ws-secret"},
            "templates": {"directories": ["examples/demo/templates"]},
        },
    )
    with serve(app) as url, httpx.Client(base_url=url, follow_redirects=False, timeout=10) as c:
        r = c.post("/login", data={"username": "demo", "password": "lamina"})
        assert r.status_code == 303
        cookie = f"session={c.cookies['session']}"
        ws_url = url.replace("http://", "ws://") + "/ws"

        async def talk() -> tuple[str, int | None]:
            async with websockets.connect(ws_url, additional_headers={"cookie": cookie}) as ws:
                greeting = await asyncio.wait_for(ws.recv(), 5)
            try:
                async with websockets.connect(ws_url):
                    pass
            except websockets.exceptions.InvalidStatus as exc:
                return str(greeting), exc.response.status_code
            return str(greeting), None

        greeting, refused = asyncio.run(talk())
    assert greeting == "hello Demo"
    assert refused == 403


# --------------------------------------------------------------------------- a real browser
@pytest.mark.browser
def test_browser_logs_in_and_out(demo_url: str) -> None:
    """Headless Chromium: the login form, the guarded page, the HttpOnly cookie, logout."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.goto(demo_url + "/account", wait_until="load", timeout=15_000)
            landed_on_login = page.url
            page.fill("#username", "demo")
            page.fill("#password", "lamina")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(demo_url + "/account", timeout=5_000)
            heading = page.inner_text("h1")
            cookies = {c["name"]: c for c in context.cookies()}
            script_sees = page.evaluate("document.cookie")
            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(demo_url + "/", timeout=5_000)
            after_logout = [c["name"] for c in context.cookies()]
            page.goto(demo_url + "/account", wait_until="load", timeout=5_000)
            again = page.url
        finally:
            browser.close()
    assert landed_on_login == demo_url + "/login?next=%2Faccount"
    assert heading == "Hello, Demo"
    assert cookies["session"]["httpOnly"] is True
    assert cookies["session"]["sameSite"] == "Lax"
    assert "session" not in script_sees  # HttpOnly: invisible to scripts
    assert after_logout == []
    assert again.startswith(demo_url + "/login")


@pytest.mark.browser
def test_browser_keeps_the_largest_cookie_we_allow() -> None:
    """The size check is not stricter than needed for nothing: Chromium stores and returns a
    session cookie right at our limit, so refusing anything larger loses no valid session."""
    import random
    import string

    from playwright.sync_api import sync_playwright

    # Incompressible text (payloads are zlib-compressed when that makes them shorter).
    noise = "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=8000))

    async def fill(request: Request) -> PlainTextResponse:
        size = int(request.query_params["size"])
        request.session["blob"] = noise[:size]
        return PlainTextResponse("filled")

    async def length(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(request.session.get("blob", ""))))

    app = make_app(
        "routing",
        routes=[Route("/fill", fill), Route("/length", length)],
        middleware=[Middleware(SessionMiddleware, phase="session", secret_key="k")],
    )
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        lo, hi = 1000, 6000  # the largest size the server accepts, found by bisection
        for _ in range(16):
            if lo >= hi:
                break
            mid = (lo + hi + 1) // 2
            # a refused size is a server error, raised on to uvicorn, which then closes the
            # connection: do not race a reused one against that close
            if c.get(f"/fill?size={mid}", headers={"connection": "close"}).status_code == 200:
                lo = mid
            else:
                hi = mid - 1
        header = c.get(f"/fill?size={lo}").headers["set-cookie"]
        assert 4096 - 16 < len(header) <= 4096
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                page = browser.new_page()
                page.goto(f"{url}/fill?size={lo}", timeout=15_000)
                page.goto(f"{url}/length", timeout=5_000)
                kept = page.inner_text("body")
            finally:
                browser.close()
    assert kept == str(lo)
