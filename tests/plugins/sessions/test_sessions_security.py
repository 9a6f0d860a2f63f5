"""Tampered, expired, truncated, garbage and rotated cookies, with real signatures."""

from __future__ import annotations

import base64
import logging
import random
import re
import string
import time

import pytest
from lamina import JSONResponse, PlainTextResponse, Request
from lamina.testclient import TestClient
from lamina_sessions import SessionError, SessionSigner, SessionTooLarge
from sessions_harness import SECRET, session_app


async def get_value(request: Request) -> JSONResponse:
    return JSONResponse(dict(request.session))


async def set_value(request: Request) -> PlainTextResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    return PlainTextResponse("ok")


#: Incompressible text (itsdangerous zlib-compresses payloads when that makes them shorter).
NOISE = "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=20_000))


async def set_big(request: Request) -> PlainTextResponse:
    request.session["blob"] = NOISE[: int(request.query_params["size"])]
    return PlainTextResponse("should not be seen")


async def set_bad(request: Request) -> PlainTextResponse:
    request.session["when"] = object()
    return PlainTextResponse("should not be seen")


ENDPOINTS = {"/get": get_value, "/set": set_value, "/big": set_big, "/bad": set_bad}


def get_with(cookie: str, **settings: object) -> tuple[int, object]:
    with TestClient(session_app(ENDPOINTS, **settings)) as c:
        r = c.get("/get", headers={"cookie": f"session={cookie}".encode()})
    return r.status_code, r.json()


def signed(data: object, key: str | list[str] = SECRET, age: float = 0) -> str:
    return SessionSigner(key, clock=lambda: time.time() - age).dumps(data)


def test_valid_cookie_is_read() -> None:
    assert get_with(signed({"user": "alice"})) == (200, {"user": "alice"})


def _flip(token: str, index: int) -> str:
    c = token[index]
    return token[:index] + ("A" if c != "A" else "B") + token[index + 1 :]


@pytest.mark.parametrize("part", ["payload", "timestamp", "signature"])
def test_tampered_cookie_is_an_empty_session(part: str) -> None:
    token = signed({"user": "alice"})
    payload, stamp, _sig = token.split(".")
    index = {
        "payload": 1,
        "timestamp": len(payload) + 2,
        "signature": len(payload) + len(stamp) + 3,
    }[part]
    assert get_with(_flip(token, index)) == (200, {})


def test_forged_payload_with_old_signature_is_rejected() -> None:
    token = signed({"user": "alice"})
    _, stamp, sig = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"user":"admin"}').rstrip(b"=").decode()
    assert get_with(f"{forged}.{stamp}.{sig}") == (200, {})


@pytest.mark.parametrize(
    "cookie",
    ["", "garbage", "a.b.c", "....", "%%%", "\u00e9t\u00e9", "x" * 3000, '"quoted"'],
)
def test_garbage_cookie_is_an_empty_session(cookie: str) -> None:
    assert get_with(cookie) == (200, {})


def test_truncated_cookie_is_an_empty_session() -> None:
    token = signed({"user": "alice", "roles": ["a", "b"]})
    for cut in (1, 5, len(token) // 2, len(token) - 1):
        assert get_with(token[:cut]) == (200, {}), cut


def test_signed_non_dict_is_an_empty_session() -> None:
    assert get_with(signed(["not", "a", "dict"])) == (200, {})
    assert get_with(signed("string")) == (200, {})


def test_other_salt_is_rejected() -> None:
    token = SessionSigner(SECRET, salt="something-else").dumps({"user": "alice"})
    assert get_with(token) == (200, {})


def test_expiry_is_enforced_from_the_signed_timestamp() -> None:
    assert get_with(signed({"u": 1}, age=50), max_age=60) == (200, {"u": 1})
    assert get_with(signed({"u": 1}, age=70), max_age=60) == (200, {})
    # Without max_age nothing expires server-side.
    assert get_with(signed({"u": 1}, age=10**6), max_age=None) == (200, {"u": 1})


def test_timestamp_from_the_future_is_rejected() -> None:
    assert get_with(signed({"u": 1}, age=-3600), max_age=60) == (200, {})


def test_rotation_accepts_old_keys_and_signs_with_the_first() -> None:
    old_cookie = signed({"user": "alice"}, key="old-key")
    keys = ["new-key", "old-key"]
    assert get_with(old_cookie, secret_key=keys) == (200, {"user": "alice"})
    with TestClient(session_app(ENDPOINTS, secret_key=keys)) as c:
        c.cookies.set("session", old_cookie, domain="testserver.local")
        c.get("/set")
        fresh = c.cookies["session"]
    assert SessionSigner("new-key").loads(fresh, None) == {"user": "alice", "n": 1}
    assert SessionSigner("old-key").loads(fresh, None) is None
    # Once the old key is retired, its cookies are worthless.
    assert get_with(old_cookie, secret_key=["new-key"]) == (200, {})


def test_unknown_key_is_rejected() -> None:
    assert get_with(signed({"user": "alice"}, key="attacker")) == (200, {})


def test_invalid_cookie_replaced_on_write() -> None:
    with TestClient(session_app(ENDPOINTS)) as c:
        c.cookies.set("session", "garbage", domain="testserver.local")
        r = c.get("/set")
        assert r.status_code == 200
        assert SessionSigner(SECRET).loads(c.cookies["session"], None) == {"n": 1}


def test_session_too_large_raises_a_clear_error() -> None:
    with TestClient(session_app(ENDPOINTS)) as c:
        assert c.get("/big?size=2000").status_code == 200
        with pytest.raises(SessionTooLarge, match=r"over the 4096-byte limit of browsers"):
            c.get("/big?size=5000")


def test_session_too_large_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    app = session_app(ENDPOINTS)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/big?size=5000")
    assert r.status_code == 500
    assert r.text == "Internal Server Error"
    assert "should not be seen" not in r.text
    assert "set-cookie" not in r.headers
    # logged once, by the server (here the test client), with the request in a note
    logged = [
        rec.exc_text or "" for rec in caplog.records if "4096-byte limit" in (rec.exc_text or "")
    ]
    assert [rec.name for rec in caplog.records] == ["lamina.testclient"]
    assert len(logged) == 1
    assert "would be" in logged[0] and "GET /big" in logged[0]


def test_size_limit_counts_name_value_and_attributes() -> None:
    # Find the largest payload that fits, then check one more byte is refused.
    with TestClient(session_app(ENDPOINTS)) as c:
        lo, hi = 1000, 4096
        while lo < hi:
            mid = (lo + hi + 1) // 2
            try:
                c.get(f"/big?size={mid}")
                lo = mid
            except SessionTooLarge:
                hi = mid - 1
        header = c.get(f"/big?size={lo}").headers["set-cookie"]
        assert 4096 - 16 < len(header) <= 4096
        with pytest.raises(SessionTooLarge) as info:
            c.get(f"/big?size={lo + 1}")
        size = int(re.search(r"would be (\d+) bytes", str(info.value)).group(1))
        assert 4096 < size <= 4096 + 16


def test_non_json_session_is_a_clear_error() -> None:
    with (
        TestClient(session_app(ENDPOINTS)) as c,
        pytest.raises(SessionError, match="JSON-serializable"),
    ):
        c.get("/bad")
