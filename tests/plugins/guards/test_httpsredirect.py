"""HTTPSRedirectMiddleware: http->https, ws->wss, 307/308, ports, query strings."""

from __future__ import annotations

import pytest
from guards_harness import call, header, inner, status
from lamina_guards import HTTPSRedirectMiddleware

MW = HTTPSRedirectMiddleware(inner)


def test_http_is_redirected_with_path_and_query() -> None:
    sent = call(MW, host="example.com", query=b"q=1&r=%20")
    assert status(sent) == 307
    assert header(sent, b"location") == b"https://example.com/a%20b?q=1&r=%20"
    assert sent[1] == {"type": "http.response.body", "body": b""}


def test_status_is_configurable() -> None:
    assert status(call(HTTPSRedirectMiddleware(inner, status_code=308))) == 308
    with pytest.raises(ValueError):
        HTTPSRedirectMiddleware(inner, status_code=200)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com:80", b"https://example.com/a%20b"),
        ("example.com:443", b"https://example.com/a%20b"),
        ("example.com:8080", b"https://example.com:8080/a%20b"),
        ("[::1]:80", b"https://[::1]/a%20b"),
        ("[::1]:9000", b"https://[::1]:9000/a%20b"),
    ],
)
def test_ports(host: str, expected: bytes) -> None:
    assert header(call(MW, host=host), b"location") == expected


def test_missing_host_falls_back_to_the_server_address() -> None:
    assert header(call(MW, host=None), b"location") == b"https://10.0.0.1:8000/a%20b"


@pytest.mark.parametrize("scheme", ["https", "wss"])
def test_secure_requests_pass_through(scheme: str) -> None:
    kind = "websocket" if scheme == "wss" else "http"
    sent = call(MW, scheme=scheme, type=kind)
    assert sent[0].get("status", 200) == 200 and sent[0]["type"] != "websocket.close"


def test_websocket_redirect_with_the_http_response_extension() -> None:
    sent = call(
        MW,
        type="websocket",
        scheme="ws",
        host="example.com",
        extensions={"websocket.http.response": {}},
    )
    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == 307
    assert header(sent, b"location") == b"https://example.com/a%20b".replace(b"https", b"wss")


def test_websocket_without_the_extension_is_closed() -> None:
    assert call(MW, type="websocket", scheme="ws") == [{"type": "websocket.close", "code": 1008}]
