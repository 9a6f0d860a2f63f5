"""Request hygiene (on by default in lamina-guards) and the HTTPS redirect's Host handling.

Under a real uvicorn with its default HTTP parser, which serves all three of these requests
when nothing in the app refuses them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from guards_apps import guarded, hello, raw_request
from lamina.testclient import TestClient
from lamina_guards import RequestHygieneMiddleware
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.helpers.servers import serve_uvicorn


def app_with(**guards: object) -> object:
    return guarded(**guards)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_uvicorn(app_with()) as url:  # uvicorn's default parser ("auto": httptools)
        yield url


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_normal_request_passes(server: str) -> None:
    answer = raw_request(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == 200 and answer.endswith(b"hello")


def test_a_1_mib_header_gets_431(server: str) -> None:
    big = b"x-big: " + b"a" * (1024 * 1024) + b"\r\n"
    answer = raw_request(
        server, b"GET / HTTP/1.1\r\nHost: x\r\n" + big + b"Connection: close\r\n\r\n"
    )
    assert status_of(answer) == 431
    assert answer.endswith(b"Request header fields too large")


def test_http_11_without_host_gets_400(server: str) -> None:
    answer = raw_request(server, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == 400 and answer.endswith(b"Missing Host header")


def test_http_11_with_two_hosts_gets_400(server: str) -> None:
    answer = raw_request(
        server, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"
    )
    assert status_of(answer) == 400 and answer.endswith(b"More than one Host header")


def test_http_10_may_omit_host(server: str) -> None:
    answer = raw_request(server, b"GET / HTTP/1.0\r\n\r\n")
    assert status_of(answer) == 200


def test_websocket_handshake_with_two_hosts_gets_400(server: str) -> None:
    answer = raw_request(
        server,
        b"GET /ws HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: Upgrade\r\n"
        b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    assert status_of(answer) == 400


def test_websocket_with_an_oversized_header_gets_431(server: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(
            server.replace("http", "ws", 1) + "/ws",
            open_timeout=5,
            additional_headers={"x-big": "a" * 40_000},
        )
    assert info.value.response.status_code == 431


@pytest.mark.anyio
async def test_plain_asgi_use_without_websocket_extension_closes_1008() -> None:
    sent: list[dict[str, object]] = []

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("must not be reached")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "headers": [(b"host", b"a"), (b"host", b"b")]}
    await RequestHygieneMiddleware(app, max_header_size=100)(scope, None, send)  # type: ignore[arg-type]
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_invalid_limit() -> None:
    with pytest.raises(ValueError):
        RequestHygieneMiddleware(hello, max_header_size=0)  # type: ignore[arg-type]


# --- the HTTPS redirect never points off the request's host -------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "evil.example/x?",
        "a@evil.example",
        "testserver:65536",
        "testserver:",
        "[:::]",
        "[::ffff:999.999.999.999]",
        "evil.example#",
        "evil.example\\@good",
    ],
)
def test_https_redirect_refuses_a_malformed_host(host: str) -> None:
    c = TestClient(app_with(https_redirect=True), follow_redirects=False)
    r = c.get("/", headers={"host": host})
    assert r.status_code == 400 and "location" not in r.headers


@pytest.mark.parametrize(
    ("host", "location"),
    [
        ("Example.ORG", "https://example.org/p?q=1"),
        ("example.org:80", "https://example.org/p?q=1"),
        ("example.org:8080", "https://example.org:8080/p?q=1"),
        ("[::1]:8443", "https://[::1]:8443/p?q=1"),
    ],
)
def test_https_redirect_keeps_a_valid_host(host: str, location: str) -> None:
    c = TestClient(app_with(https_redirect=True), follow_redirects=False)
    r = c.get("/p?q=1", headers={"host": host})
    assert (r.status_code, r.headers["location"]) == (307, location)


def test_https_redirect_under_uvicorn_refuses_the_open_redirect() -> None:
    with serve_uvicorn(app_with(https_redirect=True)) as url:
        for host in (b"evil.example/x?", b"a@evil.example", b"127.0.0.1:65536"):
            answer = raw_request(
                url, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
            )
            assert status_of(answer) == 400, host
            assert b"location" not in answer.lower(), host


def test_websocket_redirect_refusal_uses_the_same_answer() -> None:
    with serve_uvicorn(app_with(https_redirect=True)) as url:
        with pytest.raises(InvalidStatus) as info:
            connect(
                url.replace("http", "ws", 1) + "/ws",
                open_timeout=5,
                additional_headers={"Host": "a@evil.example"},
            )
        assert info.value.response.status_code == 400
