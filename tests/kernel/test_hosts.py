"""The kernel's one Host / :authority parser, and request.url built through it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lamina import JSONResponse, Lamina, Request
from lamina.plugin import Authority, parse_authority
from lamina.testclient import TestClient


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"example.org", Authority("example.org", None)),
        (b"Example.ORG:8443", Authority("example.org", 8443)),
        (b"example.org.", Authority("example.org", None)),
        (b"under_score.example", Authority("under_score.example", None)),
        (b"127.0.0.1:80", Authority("127.0.0.1", 80)),
        (b"[::1]", Authority("[::1]", None)),
        (b"[2001:DB8::1]:443", Authority("[2001:db8::1]", 443)),
        (b"[::ffff:1.2.3.4]", Authority("[::ffff:102:304]", None)),
        ("localhost", Authority("localhost", None)),
    ],
)
def test_valid(raw: bytes | str, expected: Authority) -> None:
    assert parse_authority(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"example.org:",
        b"example.org:evil",
        b"example.org:0",
        b"example.org:65536",
        b"example.org:123456",
        b"a@evil.example",
        b"evil.example/x?",
        b"evil.example#",
        b"exa mple.org",
        b" example.org",
        b"-bad.example",
        b"bad-.example",
        b"a..b",
        b".example",
        b"%65xample.org",
        b"[:::]",
        b"[::ffff:999.999.999.999]",
        b"[::1",
        b"[::1]x",
        b"[::1]:",
        b"[fe80::1%25eth0]",
        b"[v1.fe80::a+en1]",
        b"::1",
        b"999.999.999.999",
        b"1.2.3.04",
        "exämple.org".encode(),
        b"a" * 64 + b".example",
        b"a." * 130 + b"org",
    ],
)
def test_refused(raw: bytes) -> None:
    assert parse_authority(raw) is None


def test_netloc_drops_only_the_schemes_default_port() -> None:
    assert Authority("a.example", 443).netloc("https") == "a.example"
    assert Authority("a.example", 443).netloc("http") == "a.example:443"
    assert Authority("a.example", 8080).netloc() == "a.example:8080"
    assert Authority("[::1]", None).netloc("http") == "[::1]"


async def show_url(request: Request) -> JSONResponse:
    url = request.url
    return JSONResponse({"url": str(url), "host": url.hostname, "port": url.port})


def app() -> Lamina:
    return Lamina(autoload=False, plugins=[_Router()])


class _Router:
    """A throw-away router plugin: every path answers with what request.url says."""

    from lamina import hookimpl

    @hookimpl
    def lamina_make_router(self, app: object, routes: object) -> object:
        async def router(scope: object, receive: object, send: object) -> None:
            request = Request(scope, receive, send)  # type: ignore[arg-type]
            await (await show_url(request))(scope, receive, send)  # type: ignore[arg-type]

        return router


@pytest.mark.parametrize("host", ["[:::]", "[::ffff:999.999.999.999]", "a@evil", "x:65536"])
def test_a_malformed_host_falls_back_to_the_server_address(host: str) -> None:
    # was: the kernel's Host check let these through and request.url raised ValueError
    client = TestClient(app())
    r = client.get("/p", headers={"host": host})
    assert r.status_code == 200
    assert r.json() == {"url": "http://testserver/p", "host": "testserver", "port": None}


def test_a_valid_ipv6_host_is_used() -> None:
    r = TestClient(app()).get("/p", headers={"host": "[::1]:8080"})
    assert r.json() == {"url": "http://[::1]:8080/p", "host": "::1", "port": 8080}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.text(max_size=40).map(lambda t: t.encode("utf-8")))
def test_anything_accepted_reparses_to_itself(raw: bytes) -> None:
    """Whatever is accepted is a clean URL authority: urllib reads back the same host/port."""
    from urllib.parse import urlsplit

    authority = parse_authority(raw)
    if authority is None:
        return
    parts = urlsplit(f"http://{authority.netloc()}/")
    assert parts.port == authority.port
    assert parts.hostname == authority.host.strip("[]")
    assert parse_authority(authority.netloc()) == authority
