"""The shipped backends, backend ordering from settings, and backend errors."""

from __future__ import annotations

import base64
import hmac
from typing import Any

import pytest
from auth_harness import auth_app, backends_plugin, whoami
from lamina import AssemblyError, ConflictError, PlainTextResponse, Request
from lamina.testclient import TestClient
from lamina_auth import (
    AuthCredentials,
    AuthenticationError,
    BasicAuthBackend,
    BearerAuthBackend,
    SimpleUser,
    requires,
)
from lamina_routing import Route

USERS = {"alice": "wonderland", "bob": "s3cret:with:colons", "zoë": "pässword"}


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


@requires("authenticated", status_code=401)
async def api(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"hello {request.user.display_name}")


ROUTES = [Route("/me", whoami), Route("/api", api)]


@pytest.fixture
def basic_client() -> TestClient:
    with TestClient(auth_app(ROUTES, {"basic": BasicAuthBackend(USERS, realm="test")})) as c:
        yield c


def test_anonymous_by_default(basic_client: TestClient) -> None:
    assert basic_client.get("/me").json() == {
        "authenticated": False,
        "name": "",
        "identity": "",
        "scopes": [],
    }


@pytest.mark.parametrize(("user", "password"), list(USERS.items()))
def test_basic_valid_credentials(basic_client: TestClient, user: str, password: str) -> None:
    r = basic_client.get("/me", headers=basic(user, password))
    assert r.json() == {
        "authenticated": True,
        "name": user,
        "identity": user,
        "scopes": ["authenticated"],
    }


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("alice", "wrong"),
        ("alice", ""),
        ("alice", "wonderland "),
        ("mallory", "wonderland"),
        ("", ""),
    ],
)
def test_basic_wrong_credentials_are_anonymous_and_challenged(
    basic_client: TestClient, user: str, password: str
) -> None:
    assert basic_client.get("/me", headers=basic(user, password)).json()["authenticated"] is False
    r = basic_client.get("/api", headers=basic(user, password))
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="test", charset="UTF-8"'


def test_basic_scheme_is_case_insensitive(basic_client: TestClient) -> None:
    token = base64.b64encode(b"alice:wonderland").decode()
    r = basic_client.get("/api", headers={"authorization": f"bAsIc {token}"})
    assert r.text == "hello alice"


def test_basic_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    with TestClient(auth_app(ROUTES, {"basic": BasicAuthBackend(USERS)})) as c:
        c.get("/me", headers=basic("alice", "guess"))
        c.get("/me", headers=basic("nobody", "guess"))  # unknown users are compared too
    assert [a for a, _ in calls] == [b"guess", b"guess"]
    assert calls[0][1] == b"wonderland"


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
def test_basic_malformed_is_a_generic_400(basic_client: TestClient, header: str) -> None:
    r = basic_client.get("/me", headers={"authorization": header})
    assert r.status_code == 400
    assert r.text == "Invalid authentication credentials"


def test_basic_with_verify_callable() -> None:
    async def verify(username: str, password: str) -> Any:
        if (username, password) == ("carol", "pw"):
            return SimpleUser("carol", "Carol C.")
        return username == "dave" and password == "pw"

    with TestClient(auth_app(ROUTES, {"basic": BasicAuthBackend(verify=verify)})) as c:
        assert c.get("/me", headers=basic("carol", "pw")).json()["name"] == "Carol C."
        assert c.get("/me", headers=basic("dave", "pw")).json()["name"] == "dave"
        assert c.get("/me", headers=basic("dave", "no")).json()["authenticated"] is False


def test_basic_backend_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one of users= or verify="):
        BasicAuthBackend()
    with pytest.raises(ValueError, match="realm"):
        BasicAuthBackend(USERS, realm='a"b')


TOKENS = {
    "tok-alice": SimpleUser("alice"),
    "tok-admin": (AuthCredentials(["authenticated", "admin"]), SimpleUser("root")),
}


def bearer_backend(**kwargs: Any) -> BearerAuthBackend:
    return BearerAuthBackend(TOKENS.get, realm="api", **kwargs)


def test_bearer_tokens() -> None:
    with TestClient(auth_app(ROUTES, {"bearer": bearer_backend()})) as c:
        me = c.get("/me", headers={"authorization": "Bearer tok-alice"}).json()
        assert me["identity"] == "alice" and me["scopes"] == ["authenticated"]
        admin = c.get("/me", headers={"authorization": "Bearer tok-admin"}).json()
        assert admin["identity"] == "root" and admin["scopes"] == ["authenticated", "admin"]
        assert (
            c.get("/me", headers={"authorization": "Bearer nope"}).json()["authenticated"] is False
        )
        r = c.get("/api", headers={"authorization": "Bearer nope"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="api"'
        for bad in ("Bearer", "Bearer ", "Bearer a b"):
            r = c.get("/me", headers={"authorization": bad})
            assert r.status_code == 400, bad


def test_bearer_verify_returning_garbage_is_a_500_without_details() -> None:
    backend = BearerAuthBackend(lambda token: "SECRET-INTERNAL-VALUE")
    app = auth_app(ROUTES, {"bearer": backend})
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/me", headers={"authorization": "Bearer x"})
    assert r.status_code == 500
    assert "SECRET" not in r.text


def test_backends_ordered_by_settings() -> None:
    class Fixed:
        def __init__(self, name: str) -> None:
            self.name = name

        async def authenticate(self, connection: Any) -> Any:
            return AuthCredentials(["authenticated"]), SimpleUser(self.name)

    backends = {"first": Fixed("first"), "second": Fixed("second")}
    with TestClient(auth_app(ROUTES, backends)) as c:
        assert c.get("/me").json()["name"] == "first"  # default: registration order
    app = auth_app(ROUTES, backends, auth={"backends": ["second", "first"]})
    with TestClient(app) as c:
        assert c.get("/me").json()["name"] == "second"
    assert app.extensions["auth"]["backends"] == [backends["second"], backends["first"]]


def test_first_backend_that_answers_wins() -> None:
    backends = {"bearer": bearer_backend(), "basic": BasicAuthBackend(USERS)}
    app = auth_app(ROUTES, backends, auth={"backends": ["bearer", "basic", "session"]})
    with TestClient(app) as c:
        # bearer says "not mine" for Basic credentials, basic recognises them
        assert c.get("/me", headers=basic("alice", "wonderland")).json()["identity"] == "alice"
        assert (
            c.get("/me", headers={"authorization": "Bearer tok-admin"}).json()["identity"] == "root"
        )
        r = c.get("/api")
        assert r.headers["www-authenticate"] == (
            'Bearer realm="api", Basic realm="Restricted", charset="UTF-8"'
        )


def test_unknown_backend_name_refuses_to_start() -> None:
    app = auth_app(ROUTES, {"basic": BasicAuthBackend(USERS)}, auth={"backends": ["ldap"]})
    expected = r"'ldap' not registered \(registered: basic, session\)"
    with pytest.raises(AssemblyError, match=expected):
        app.assemble()


def test_two_plugins_registering_one_name_is_a_conflict() -> None:
    from auth_harness import backends_plugin

    other = backends_plugin({"basic": BasicAuthBackend(USERS)}, name="other-backends")
    app = auth_app(ROUTES, {"basic": BasicAuthBackend(USERS)}, extra_plugins=[other])
    with pytest.raises(ConflictError, match=r"'basic'.*other-backends.*test-backends"):
        app.assemble()


def test_a_backend_without_authenticate_is_refused() -> None:
    app = auth_app(ROUTES, {"broken": object()})
    with pytest.raises(AssemblyError, match=r"'broken'.*has no authenticate"):
        app.assemble()


class Exploding:
    async def authenticate(self, connection: Any) -> Any:
        raise AuthenticationError("database password is hunter2")


def custom_error(connection: Any, exc: AuthenticationError) -> PlainTextResponse:
    return PlainTextResponse(f"custom for {connection.url.path}", status_code=418)


def test_backend_errors_never_leak(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="lamina.auth")
    with TestClient(auth_app(ROUTES, {"x": Exploding()})) as c:
        r = c.get("/me")
    assert r.status_code == 400
    assert r.text == "Invalid authentication credentials"
    assert "hunter2" in caplog.text  # logged for the operator, not sent to the client


def test_backend_error_response_is_configurable() -> None:
    app = auth_app(ROUTES, {"x": Exploding()}, auth={"error_status": 401, "error_detail": "Nope"})
    with TestClient(app) as c:
        r = c.get("/me")
    assert (r.status_code, r.text) == (401, "Nope")
    assert "www-authenticate" not in r.headers  # no backend offers a challenge
    app = auth_app(
        ROUTES,
        {"x": Exploding(), "basic": BasicAuthBackend(USERS, realm="r")},
        auth={"error_status": 401},
    )
    with TestClient(app) as c:
        r = c.get("/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="r", charset="UTF-8"'
    app = auth_app(ROUTES, {"x": Exploding()}, auth={"on_error": "test_auth_backends:custom_error"})
    with TestClient(app) as c:
        r = c.get("/me")
    assert (r.status_code, r.text) == (418, "custom for /me")


def test_bad_auth_settings() -> None:
    from lamina import SettingsError

    with pytest.raises(SettingsError, match="error_status must be a 4xx or 5xx"):
        auth_app(ROUTES, auth={"error_status": 200})
    with pytest.raises(SettingsError, match="backends lists a name twice"):
        auth_app(ROUTES, auth={"backends": ["session", "session"]})
    with pytest.raises(AssemblyError, match="on_error 'nowhere:fn' cannot be imported"):
        auth_app(ROUTES, auth={"on_error": "nowhere:fn"}).assemble()


def test_unexpected_backend_exception_is_a_plain_500() -> None:
    class Buggy:
        async def authenticate(self, connection: Any) -> Any:
            raise KeyError("internal-detail")

    with TestClient(auth_app(ROUTES, {"x": Buggy()}), raise_server_exceptions=False) as c:
        r = c.get("/me")
    assert r.status_code == 500 and "internal-detail" not in r.text


def test_middleware_order() -> None:
    app = auth_app(ROUTES)
    layers = [(m["name"], m["phase"]) for m in app.describe_middleware()]
    assert layers.index(("SessionMiddleware", "session")) < layers.index(("AuthMiddleware", "auth"))


def test_the_session_backend_needs_sessions_and_says_so() -> None:
    from lamina.testing import make_app

    with pytest.raises(AssemblyError) as info:
        make_app("routing", "auth", routes=ROUTES).assemble()
    message = str(info.value)
    assert "plugin 'auth'" in message and "needs plugin 'sessions' (lamina-sessions" in message
    assert "request.session" in message and "Lamina(plugins=['sessions'])" in message


def test_auth_works_without_sessions_when_no_backend_needs_them() -> None:
    from lamina.testing import make_app

    settings = {"auth": {"backends": ["basic"]}}
    basic = backends_plugin({"basic": BasicAuthBackend(USERS)})
    app = make_app("routing", "auth", basic, routes=ROUTES, settings=settings)
    with TestClient(app) as c:
        assert c.get("/me").json()["authenticated"] is False
        assert c.get("/api").status_code == 401


def test_the_backend_hook_is_documented() -> None:
    import inspect

    from lamina_auth import hookspecs

    hooks = [f for name, f in vars(hookspecs).items() if name.startswith("lamina_")]
    assert [h.__name__ for h in hooks] == ["lamina_auth_register_backends"]
    for hook in hooks:
        doc = inspect.getdoc(hook) or ""
        assert "When:" in doc and "Returns:" in doc and "Example::" in doc


def test_no_backends_means_everyone_is_anonymous() -> None:
    app = auth_app(ROUTES, {"basic": BasicAuthBackend(USERS)}, auth={"backends": []})
    with TestClient(app) as c:
        assert c.get("/me", headers=basic("alice", "wonderland")).json()["authenticated"] is False
        r = c.get("/api")
        assert r.status_code == 401 and "www-authenticate" not in r.headers
