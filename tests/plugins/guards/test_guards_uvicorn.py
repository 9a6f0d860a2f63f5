"""Both guards in a Lamina app under a real uvicorn on 127.0.0.1: HTTP and WebSocket.

The unit tests drive the middleware with hand-made scopes; these check what a real client
sees on the wire, where the server (not the test) decides what a handshake refusal or a
request without ``Host`` looks like.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from guards_apps import guarded, raw_request
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.helpers.servers import serve_uvicorn


@pytest.fixture(scope="module", params=["websockets-sansio", "wsproto"])
def trusted(request: pytest.FixtureRequest) -> Iterator[str]:
    app = guarded(trusted_hosts=["127.0.0.1", "*.example.test"])
    with serve_uvicorn(app, ws=request.param) as url:
        yield url


def test_http_hosts(trusted: str) -> None:
    with httpx.Client(base_url=trusted, timeout=5) as c:
        assert c.get("/").text == "hello"
        assert c.get("/", headers={"host": "deep.a.example.test:8000"}).text == "hello"
        for host in ("example.test", "evil.example", "127.0.0.1.evil.example", "a_b c"):
            r = c.get("/", headers={"host": host})
            assert (r.status_code, r.text) == (400, "Invalid host header"), host


def test_http_10_request_without_host_is_refused_by_the_guard(trusted: str) -> None:
    # HTTP/1.0 may omit Host, so the server passes it on: the guard must answer it.
    answer = raw_request(trusted, b"GET / HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b"Invalid host header")


def test_websocket_with_a_trusted_host_connects(trusted: str) -> None:
    with connect(trusted.replace("http", "ws", 1) + "/ws", open_timeout=5) as ws:
        ws.send("ping")
        assert ws.recv(timeout=5) == "ping"


@pytest.mark.parametrize("host", ["evil.example", "bad host"])
def test_websocket_with_a_bad_host_is_refused_with_400(trusted: str, host: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(
            trusted.replace("http", "ws", 1) + "/ws",
            open_timeout=5,
            additional_headers={"Host": host},
        )
    assert info.value.response.status_code == 400


@pytest.mark.parametrize("status", [307, 308])
def test_https_and_wss_redirects(status: int) -> None:
    app = guarded(trusted_hosts=["127.0.0.1"], https_redirect=True, https_redirect_status=status)
    with serve_uvicorn(app) as url:
        port = urlsplit(url).port
        with httpx.Client(base_url=url, timeout=5) as c:
            r = c.post("/some/path?x=1", content=b"body")
            assert r.status_code == status
            assert r.headers["location"] == f"https://127.0.0.1:{port}/some/path?x=1"
            # The trusted-host guard runs first: a forged Host never becomes a target.
            forged = c.get("/", headers={"host": "evil.example"})
            assert forged.status_code == 400 and "location" not in forged.headers
        # A raw handshake: the websockets client would follow the redirect.
        answer = raw_request(
            url,
            b"GET /ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" % port,
        )
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith(b"http/1.1 %d " % status)
        assert b"\r\nlocation: wss://127.0.0.1:%d/ws?x=1" % port in head
