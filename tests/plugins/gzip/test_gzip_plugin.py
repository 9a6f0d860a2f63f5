"""lamina-gzip inside a Lamina app: settings, placement, real responses through the kernel."""

from __future__ import annotations

import gzip

import pytest
from gzip_harness import request
from lamina import JSONResponse, PlainTextResponse, SettingsError, StreamingResponse
from lamina.testclient import TestClient
from lamina.testing import make_app, plugin

DATA = {"items": [{"id": i, "name": f"item {i}"} for i in range(200)]}


async def router(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["path"] == "/json":
        response = JSONResponse(DATA)
    elif scope["path"] == "/stream":
        response = StreamingResponse(
            (b"line %d\n" % i * 30 for i in range(5)), media_type="text/plain"
        )
    else:
        response = PlainTextResponse("small")
    await response(scope, receive, send)


ROUTER = plugin("table-router", lamina_make_router=lambda app, routes: router)


def app_with(**settings: object):  # type: ignore[no-untyped-def]
    return make_app("gzip", ROUTER, settings={"gzip": settings})


def test_defaults_and_placement() -> None:
    app = app_with()
    assert app.describe_middleware() == [
        {"name": "GZipMiddleware", "phase": "transport", "priority": 20, "plugin": "gzip"}
    ]
    with TestClient(app) as c:
        big = c.get("/json", headers={"accept-encoding": "gzip"})
        small = c.get("/", headers={"accept-encoding": "gzip"})
        stream = c.get("/stream", headers={"accept-encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert big.json() == DATA  # httpx decoded it
    assert small.headers.get("content-encoding") is None and small.text == "small"
    assert stream.headers["content-encoding"] == "gzip"
    assert stream.text == "".join(f"line {i}\n" * 30 for i in range(5))


def test_settings_are_applied() -> None:
    app = app_with(minimum_size=10**6, level=9)
    with TestClient(app) as c:
        r = c.get("/json", headers={"accept-encoding": "gzip"})
    assert r.headers.get("content-encoding") is None


def test_head_through_the_kernel() -> None:
    with TestClient(app_with()) as c:
        r = c.head("/json", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-encoding"] == "gzip"
    assert "content-length" not in r.headers


@pytest.mark.parametrize(
    "bad", [{"level": 0}, {"level": 10}, {"minimum_size": -1}, {"level": "high"}, {"unknown": 1}]
)
def test_invalid_settings(bad: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        app_with(**bad)


def test_raw_bytes_are_gzip() -> None:
    r = request(app_with(), path="/json", headers={"accept-encoding": "gzip"})
    assert gzip.decompress(r.body).startswith(b'{"items":[')
    assert int(r.header("content-length")) == len(r.body)
    stream = request(app_with(), path="/stream", headers={"accept-encoding": "gzip"})
    assert stream.header("content-length") is None
    assert gzip.decompress(stream.body) == b"".join(b"line %d\n" % i * 30 for i in range(5))
