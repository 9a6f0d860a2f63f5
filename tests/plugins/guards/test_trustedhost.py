"""TrustedHostMiddleware: exact names, wildcards, malformed and missing Host."""

from __future__ import annotations

import anyio
import pytest
from guards_harness import call, inner, status
from lamina_guards import TrustedHostMiddleware

MW = TrustedHostMiddleware(inner, ["example.com", "*.example.org", "[::1]", "127.0.0.1"])


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "EXAMPLE.com",
        "example.com:8000",
        "example.com.",
        "a.example.org",
        "deep.sub.example.org:443",
        "[::1]:8000",
        "[::1]",
        "127.0.0.1:80",
    ],
)
def test_allowed(host: str) -> None:
    sent = call(MW, host=host)
    assert status(sent) == 200 and sent[1]["body"] == b"reached"


@pytest.mark.parametrize(
    "host",
    [
        "evil.com",
        "example.com.evil.com",
        "example.org",
        "notexample.org",
        "xexample.com",
        "example.com:",
        "example.com:abc",
        "example.com:123456",
        "exa mple.com",
        "a..example.org",
        "-bad.example.org",
        "example.com/path",
        "[::1",
        "",
        "évil.example.org",
    ],
)
def test_refused_with_400(host: str) -> None:
    sent = call(MW, host=host)
    assert status(sent) == 400
    assert sent[1]["body"] == b"Invalid host header"


def test_missing_host_is_refused() -> None:
    assert status(call(MW, host=None)) == 400


def test_non_ascii_bytes_are_refused() -> None:
    assert status(call(MW, host=b"\xff.example.org")) == 400


def test_overlong_hosts_are_refused() -> None:
    mw = TrustedHostMiddleware(inner, ["*"])
    longest = ".".join(["a" * 63] * 3) + "." + "b" * 61  # 253 characters: a valid name
    assert status(call(mw, host=longest + ".:65535")) == 200
    assert status(call(mw, host="a" + longest)) == 400
    assert status(call(mw, host="a-" * 30000 + "!")) == 400


def test_star_allows_any_valid_host_only() -> None:
    mw = TrustedHostMiddleware(inner, ["*"])
    assert status(call(mw, host="anything.test")) == 200
    assert status(call(mw, host="bad host")) == 400
    assert status(call(mw, host=None)) == 400


def test_websocket_with_bad_host_is_closed_without_the_http_response_extension() -> None:
    sent = call(MW, type="websocket", host="evil.com")
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert call(MW, type="websocket")[0]["type"] == "websocket.accept"


@pytest.mark.parametrize("host", ["evil.com", None, "bad host"])
def test_websocket_with_bad_host_gets_400_with_the_http_response_extension(
    host: str | None,
) -> None:
    ext = {"websocket.http.response": {}}
    sent = call(MW, type="websocket", host=host, extensions=ext)
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert sent[0]["status"] == 400
    assert sent[1]["body"] == b"Invalid host header"
    assert call(MW, type="websocket", extensions=ext)[0]["type"] == "websocket.accept"


def test_repeated_host_is_refused_even_when_each_is_allowed() -> None:
    reached = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        reached.append(scope)

    sent = []

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "scheme": "http",
        "headers": [(b"host", b"example.com"), (b"host", b"example.com")],
    }
    anyio.run(TrustedHostMiddleware(app, ["example.com"]), scope, None, send)
    assert reached == [] and sent[0]["status"] == 400


def test_other_scope_types_pass_through() -> None:
    seen = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["type"])

    call(TrustedHostMiddleware(app, ["example.com"]), type="lifespan", host=None)
    assert seen == ["lifespan"]


@pytest.mark.parametrize("bad", [[], ["exa mple.com"], ["*.*.com"], ["http://x.com"]])
def test_invalid_configuration(bad: list[str]) -> None:
    with pytest.raises(ValueError):
        TrustedHostMiddleware(inner, bad)
