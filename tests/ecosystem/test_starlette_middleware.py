"""Starlette's own CORS, GZip and TrustedHost middleware used inside Lamina, in every
place; error answers inside the placement (404, 405) carry the policy as successes do."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from eco_apps import PLACEMENTS, placed
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

ORIGIN = "https://app.example"


@pytest.mark.parametrize("where", PLACEMENTS)
def test_cors(where: str, live: Any) -> None:
    app, _lamina, prefix = placed(CORSMiddleware, where, allow_origins=[ORIGIN])
    base = live(app)
    ok = httpx.get(f"{base}{prefix}/users/1", headers={"Origin": ORIGIN})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    other = httpx.get(f"{base}{prefix}/users/1", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    if where == "route":
        return  # a route's middleware sees only that route's requests
    # the error answers of the placement pass through the policy too
    missing = httpx.get(f"{base}{prefix}/users", headers={"Origin": ORIGIN})
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == ORIGIN
    wrong = httpx.delete(f"{base}{prefix}/users/1", headers={"Origin": ORIGIN})
    assert wrong.status_code == 405
    assert wrong.headers["access-control-allow-origin"] == ORIGIN
    preflight = httpx.options(
        f"{base}{prefix}/users/1",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize("where", PLACEMENTS)
def test_gzip(where: str, live: Any) -> None:
    app, _lamina, prefix = placed(GZipMiddleware, where, minimum_size=1)
    base = live(app)
    response = httpx.get(f"{base}{prefix}/users/{'9' * 600}")
    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == {"id": "9" * 600}  # httpx decompressed it
    assert int(response.headers["content-length"]) < 600
    plain = httpx.get(f"{base}{prefix}/users/1", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    # an event stream passes through unbuffered (Starlette skips text/event-stream)
    with httpx.stream("GET", f"{base}{prefix}/events/t?n=2") as stream:
        assert "content-encoding" not in stream.headers
        assert "data: t 1" in list(stream.iter_lines())


@pytest.mark.parametrize("where", PLACEMENTS)
def test_trusted_host(where: str, live: Any) -> None:
    app, _lamina, prefix = placed(TrustedHostMiddleware, where, allowed_hosts=["api.example"])
    base = live(app)
    good = httpx.get(f"{base}{prefix}/users/1", headers={"Host": "api.example"})
    assert good.status_code == 200
    bad = httpx.get(f"{base}{prefix}/users/1", headers={"Host": "evil.example"})
    assert bad.status_code == 400
    assert bad.text == "Invalid host header"
