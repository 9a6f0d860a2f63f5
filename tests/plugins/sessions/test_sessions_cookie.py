"""Cookie-stored sessions through a full Lamina app: reading, writing, clearing, Vary."""

from __future__ import annotations

import json
import re

import pytest
from lamina import JSONResponse, PlainTextResponse, Request, SettingsError
from lamina.testclient import TestClient
from lamina_sessions import SessionSigner
from sessions_harness import SECRET, session_app


async def set_value(request: Request) -> PlainTextResponse:
    request.session["user"] = request.query_params.get("v", "alice")
    return PlainTextResponse("set")


async def get_value(request: Request) -> JSONResponse:
    return JSONResponse(dict(request.session))


async def untouched(request: Request) -> PlainTextResponse:
    return PlainTextResponse("no session here")


async def clear(request: Request) -> PlainTextResponse:
    request.session.clear()
    return PlainTextResponse("cleared")


async def pop_missing(request: Request) -> PlainTextResponse:
    request.session.pop("nope", None)
    return PlainTextResponse("popped")


ENDPOINTS = {
    "/set": set_value,
    "/get": get_value,
    "/none": untouched,
    "/clear": clear,
    "/pop": pop_missing,
}


@pytest.fixture
def client() -> TestClient:
    with TestClient(session_app(ENDPOINTS)) as c:
        yield c


def test_secret_key_is_required() -> None:
    with pytest.raises(SettingsError) as info:
        session_app(ENDPOINTS, secret_key=None).assemble()
    with pytest.raises(SettingsError) as missing:
        from lamina.testing import make_app

        make_app("sessions")
    assert re.search(r"\[sessions\].* secret_key: required setting is missing", str(missing.value))
    assert "set it in the [sessions] section" in str(missing.value)
    assert re.search(r"\[sessions\].* secret_key: expected", str(info.value))


def test_empty_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="secret_key must be a non-empty"):
        session_app(ENDPOINTS, secret_key="")
    with pytest.raises(SettingsError, match="secret_key must be a non-empty"):
        session_app(ENDPOINTS, secret_key=[])


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SESSION_SECRET", "from-the-env")
    app = session_app(ENDPOINTS, secret_key={"env": "TEST_SESSION_SECRET"})
    with TestClient(app) as c:
        c.get("/set")
        token = c.cookies["session"]
    assert SessionSigner("from-the-env").loads(token, None) == {"user": "alice"}


def test_round_trip_and_cookie_written_only_on_change(client: TestClient) -> None:
    r = client.get("/set?v=bob")
    assert r.text == "set"
    assert "set-cookie" in r.headers
    assert r.headers["vary"] == "Cookie"
    r = client.get("/get")
    assert r.json() == {"user": "bob"}
    assert "set-cookie" not in r.headers  # read, not changed: nothing written
    assert r.headers["vary"] == "Cookie"
    assert SessionSigner(SECRET).loads(client.cookies["session"], None) == {"user": "bob"}


def test_untouched_session_adds_nothing(client: TestClient) -> None:
    client.get("/set")
    r = client.get("/none")
    assert "set-cookie" not in r.headers
    assert "vary" not in r.headers


def test_reading_a_missing_key_does_not_write(client: TestClient) -> None:
    r = client.get("/pop")
    assert "set-cookie" not in r.headers
    assert r.headers["vary"] == "Cookie"


def test_clear_deletes_the_cookie(client: TestClient) -> None:
    client.get("/set")
    assert "session" in client.cookies
    r = client.get("/clear")
    header = r.headers["set-cookie"]
    assert header.startswith("session=;") and "Max-Age=0" in header and "Path=/" in header
    assert "session" not in client.cookies
    assert client.get("/get").json() == {}


def test_clear_without_cookie_sends_no_header(client: TestClient) -> None:
    r = client.get("/clear")
    assert "set-cookie" not in r.headers


def test_default_cookie_attributes(client: TestClient) -> None:
    header = client.get("/set").headers["set-cookie"]
    parts = [p.strip() for p in header.split(";")]
    assert parts[0].startswith("session=")
    assert set(parts[1:]) == {"Path=/", "Max-Age=1209600", "HttpOnly", "SameSite=Lax"}


def test_custom_cookie_attributes() -> None:
    app = session_app(
        ENDPOINTS,
        cookie_name="sid",
        max_age=60,
        path="/app",
        domain="example.com",
        samesite="none",
        secure=True,
        httponly=False,
        partitioned=True,
    )
    with TestClient(app, base_url="https://example.com") as c:
        header = c.get("/set").headers["set-cookie"]
    parts = [p.strip() for p in header.split(";")]
    assert parts[0].startswith("sid=")
    assert set(parts[1:]) == {
        "Path=/app",
        "Domain=example.com",
        "Max-Age=60",
        "Secure",
        "SameSite=None",
        "Partitioned",
    }


def test_no_max_age_means_browser_session_cookie() -> None:
    with TestClient(session_app(ENDPOINTS, max_age=None)) as c:
        header = c.get("/set").headers["set-cookie"]
    assert "Max-Age" not in header and "Expires" not in header


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"samesite": "none"}, "samesite='none' requires secure=true"),
        ({"partitioned": True}, "partitioned=true requires secure=true"),
        ({"samesite": "sideways"}, "samesite: expected Literal"),
        ({"cookie_name": "bad name"}, "invalid session cookie name"),
        ({"path": "/a;b"}, "invalid session cookie path"),
        ({"max_age": 0}, "max_age must be positive"),
        ({"colour": "blue"}, "unknown setting 'colour'"),
    ],
)
def test_invalid_settings_are_reported(settings: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        session_app(ENDPOINTS, **settings)
    assert message in str(info.value)
    assert "[sessions]" in str(info.value)


def test_session_values_are_json(client: TestClient) -> None:
    client.get("/set?v=" + "%C3%A9t%C3%A9")
    payload = client.cookies["session"].split(".")[0]
    import base64

    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert json.loads(decoded) == {"user": "été"}
    assert client.get("/get").json() == {"user": "été"}


def test_middleware_sits_in_the_session_phase() -> None:
    app = session_app(ENDPOINTS)
    layers = app.describe_middleware()
    assert [(m["name"], m["phase"], m["plugin"]) for m in layers] == [
        ("SessionMiddleware", "session", "sessions")
    ]


def test_request_session_without_plugin_is_a_clear_error() -> None:
    from lamina.testing import make_app
    from sessions_harness import table_router

    async def peek(request: Request) -> PlainTextResponse:
        try:
            request.session  # noqa: B018
        except AttributeError as exc:
            return PlainTextResponse(str(exc))
        return PlainTextResponse("unexpected")

    with TestClient(make_app(table_router({"/": peek}))) as c:
        assert "install and enable the lamina-sessions plugin" in c.get("/").text


@pytest.mark.parametrize(
    "secret_key",
    [["good-key", 987654], {"good-key": 1}, [["good-key"]], 987654, {"env": 1, "x": "good-key"}],
)
def test_a_wrong_secret_key_never_shows_in_the_error(secret_key: object) -> None:
    from lamina.testing import make_app

    with pytest.raises(SettingsError) as info:
        make_app("sessions", settings={"sessions": {"secret_key": secret_key}})
    text = f"{info.value}\n{info.value!r}\n{info.value.errors}"
    assert "secret_key" in text
    assert "good-key" not in text and "987654" not in text


def test_the_secret_key_never_shows_in_what_the_app_describes() -> None:
    from lamina.testing import make_app

    keys = ["good-key-123456", "old-key-98765"]
    app = make_app("routing", "sessions", settings={"sessions": {"secret_key": keys}})
    app.assemble()
    text = " ".join(
        repr(part)
        for part in (
            app.assembly,
            app.settings_for("sessions"),
            app.middleware_layers,
            app.plugin_infos,
            app.describe_middleware(),
        )
    )
    assert "SessionMiddleware" in text
    assert not any(key in text for key in keys)
